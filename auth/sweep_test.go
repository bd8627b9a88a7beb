package auth_test

import (
	"testing"
	"time"

	"github.com/tideline-dev/tideline"
	"github.com/tideline-dev/tideline/auth"
)

// TestSweep: the sweep deletes expired refresh tokens at once, a revoked session once it
// ended more than SessionRetention ago, an expired one likewise, and audit events past
// AuditRetention; it leaves what is within them.
func TestSweep(t *testing.T) {
	t.Parallel()
	eachEngine(t, func(t *testing.T, engine string) {
		e := newEnv(t, engine, func(c *auth.Config) { c.AuditRetention = 48 * time.Hour })
		ada := e.signUp("ada@example.com")
		if _, err := e.svc.Refresh(t.Context(), ada.Tokens.RefreshToken, client); err != nil {
			t.Fatal(err)
		}
		bob := e.signUp("bob@example.com")
		if err := e.svc.Logout(t.Context(), e.principal(bob.Tokens.AccessToken), client); err != nil {
			t.Fatal(err)
		}
		sweep := func() int {
			t.Helper()
			n, err := e.svc.Sweep(t.Context())
			if err != nil {
				t.Fatal(err)
			}
			return n
		}
		if n := sweep(); n != 0 {
			t.Fatalf("a sweep with nothing expired deleted %d records", n)
		}
		e.clock.Advance(31 * 24 * time.Hour) // every token expired; ada's session 1 day ago, bob's ended 31 days ago
		if n := sweep(); n < 3 {
			t.Fatalf("the sweep deleted %d records, want at least ada's two tokens and bob's session", n)
		}
		if _, err := e.store.FindSession(t.Context(), ada.Tokens.SessionID); err != nil {
			t.Fatalf("ada's session, ended a day ago, within the retention: %v", err)
		}
		_, err := e.store.FindSession(t.Context(), bob.Tokens.SessionID) // revoked 31 days ago
		wantCode(t, err, tideline.CodeNotFound)
		_, _, err = e.store.SpendRefreshToken(t.Context(), hash(ada.Tokens.RefreshToken), e.clock.Now()) // spent, expired
		wantCode(t, err, tideline.CodeNotFound)
		if events, err := e.svc.ListAudit(t.Context(), auth.AuditQuery{Limit: 10}); err != nil || len(events) != 0 {
			t.Fatalf("audit events past the retention: %d left (%v)", len(events), err)
		}
		e.clock.Advance(30 * 24 * time.Hour)
		sweep()
		_, err = e.store.FindSession(t.Context(), ada.Tokens.SessionID) // ended 31 days ago
		wantCode(t, err, tideline.CodeNotFound)
	})
}
