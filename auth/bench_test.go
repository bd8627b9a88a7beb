package auth_test

import (
	"testing"

	"github.com/tideline-dev/tideline/auth"
	"github.com/tideline-dev/tideline/store/sqlite"
)

// benchService is a Service on the embedded engine in a temporary directory.
func benchService(b *testing.B) *auth.Service {
	b.Helper()
	db, err := sqlite.Open(b.Context(), b.TempDir(), sqlite.Options{})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { db.Close() })
	svc, err := auth.New(b.Context(), db.Auth(), auth.Config{Argon2: cheap, Limits: &auth.Limits{}, Mailer: newMailbox(), Secrets: db.Secrets()})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(svc.Close)
	return svc
}

// BenchmarkAuthenticate measures what an authenticated request pays, its session having
// been checked recently: "first" is a token's first use (its EdDSA signature and claims
// verified), "again" every later use of it (the verified token remembered: its expiry and
// key checked).
func BenchmarkAuthenticate(b *testing.B) {
	svc := benchService(b)
	res, err := svc.SignUp(b.Context(), "ada@example.com", goodPassword, client)
	if err != nil {
		b.Fatal(err)
	}
	for _, first := range []bool{true, false} {
		b.Run(map[bool]string{true: "first", false: "again"}[first], func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if first {
					auth.ForgetVerifiedTokens(svc)
				}
				if _, err := svc.Authenticate(b.Context(), res.Tokens.AccessToken); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkRefresh measures a refresh on the embedded engine: spend the token, store its
// successor, touch the session, sign an access token.
func BenchmarkRefresh(b *testing.B) {
	svc := benchService(b)
	res, err := svc.SignUp(b.Context(), "ada@example.com", goodPassword, client)
	if err != nil {
		b.Fatal(err)
	}
	token := res.Tokens.RefreshToken
	b.ReportAllocs()
	for b.Loop() {
		r, err := svc.Refresh(b.Context(), token, client)
		if err != nil {
			b.Fatal(err)
		}
		token = r.Tokens.RefreshToken
	}
}
