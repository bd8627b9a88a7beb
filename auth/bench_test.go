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
	svc, err := auth.New(b.Context(), db.Auth(), auth.Config{Argon2: cheap, Limits: &auth.Limits{}, Mailer: newMailbox()})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(svc.Close)
	return svc
}

// BenchmarkAuthenticate measures what every authenticated request pays: verifying the
// access token's EdDSA signature and claims, the session having been checked recently.
func BenchmarkAuthenticate(b *testing.B) {
	svc := benchService(b)
	res, err := svc.SignUp(b.Context(), "ada@example.com", goodPassword, client)
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := svc.Authenticate(b.Context(), res.Tokens.AccessToken); err != nil {
			b.Fatal(err)
		}
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
