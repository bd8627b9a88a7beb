package auth_test

import (
	"testing"

	"github.com/tideline-dev/tideline"
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

// BenchmarkLogin measures a failed login (a wrong password) for an email with an account
// and for one without, with the default argon2id parameters: the two take the same time,
// because both derive one argon2id key (TestLoginWorkHidesAccounts checks that).
func BenchmarkLogin(b *testing.B) {
	db, err := sqlite.Open(b.Context(), b.TempDir(), sqlite.Options{})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { db.Close() })
	svc, err := auth.New(b.Context(), db.Auth(), auth.Config{Argon2: auth.DefaultArgon2, Limits: &auth.Limits{}, Mailer: newMailbox()})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(svc.Close)
	if _, err := svc.SignUp(b.Context(), "ada@example.com", goodPassword, client); err != nil {
		b.Fatal(err)
	}
	for _, email := range []string{"ada@example.com", "nobody@example.com"} {
		b.Run(map[bool]string{true: "known-email", false: "unknown-email"}[email == "ada@example.com"], func(b *testing.B) {
			for b.Loop() {
				if _, err := svc.Login(b.Context(), email, "wrong password!", client); tideline.ErrorCode(err) != tideline.CodeInvalidCredentials {
					b.Fatal(err)
				}
			}
		})
	}
}
