package auth_test

import (
	"strings"
	"testing"
	"time"

	"github.com/tideline-dev/tideline"
	"github.com/tideline-dev/tideline/auth"
	"github.com/tideline-dev/tideline/store/sqlite"
)

// FuzzAuthenticate feeds the access token parser (Authenticate, with the JWT checks of
// parseAccessToken) arbitrary bearer strings, seeded with real tokens and their
// look-alikes. Nothing may panic, every refusal is unauthenticated, and nothing is
// accepted but a token the service issued, spelled exactly as issued.
func FuzzAuthenticate(f *testing.F) {
	db, err := sqlite.Open(f.Context(), f.TempDir(), sqlite.Options{})
	if err != nil {
		f.Fatal(err)
	}
	f.Cleanup(func() { db.Close() })
	clock := tideline.NewManualClock(time.Date(2026, 5, 1, 9, 0, 0, 0, time.UTC))
	svc, err := auth.New(f.Context(), db.Auth(), auth.Config{Argon2: cheap, Clock: clock, Mailer: newMailbox(), Limits: &auth.Limits{}, Secrets: db.Secrets()})
	if err != nil {
		f.Fatal(err)
	}
	f.Cleanup(svc.Close)
	issued := map[string]bool{}
	for _, email := range []string{"ada@example.com", "bob@example.com"} {
		res, err := svc.SignUp(f.Context(), email, goodPassword, client)
		if err != nil {
			f.Fatal(err)
		}
		issued[res.Tokens.AccessToken] = true
		f.Add(res.Tokens.AccessToken)
		parts := strings.Split(res.Tokens.AccessToken, ".")
		f.Add(parts[0] + "." + parts[1] + ".")
		f.Add(parts[0] + ".." + parts[2])
		f.Add(res.Tokens.AccessToken + "=")
		f.Add(nonCanonical(res.Tokens.AccessToken, 2))
	}
	f.Add("")
	f.Add("tladm_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA")
	f.Add("eyJhbGciOiJub25lIn0.eyJzdWIiOiJ4In0.")
	f.Fuzz(func(t *testing.T, bearer string) {
		p, err := svc.Authenticate(t.Context(), bearer)
		if err != nil {
			if code := tideline.ErrorCode(err); code != tideline.CodeUnauthenticated {
				t.Fatalf("Authenticate(%q): %v, want unauthenticated", bearer, err)
			}
			return
		}
		if !issued[bearer] || p.UserID == "" || p.SessionID == "" {
			t.Fatalf("accepted %q, which the service did not issue (principal %+v)", bearer, p)
		}
	})
}
