package auth_test

import (
	"crypto/sha256"
	"encoding/hex"
	"testing"
	"time"

	"github.com/tideline-dev/tideline"
	"github.com/tideline-dev/tideline/auth"
)

func hash(raw string) string {
	sum := sha256.Sum256([]byte(raw))
	return hex.EncodeToString(sum[:])
}

func TestRefresh(t *testing.T) {
	t.Parallel()
	eachEngine(t, testRefresh)
}

func testRefresh(t *testing.T, engine string) {
	t.Run("RotatesEveryTime", func(t *testing.T) {
		e := newEnv(t, engine, nil)
		up := e.signUp("ada@example.com")
		first, err := e.svc.Refresh(t.Context(), up.Tokens.RefreshToken, client)
		if err != nil {
			t.Fatal(err)
		}
		e.clock.Advance(time.Minute)
		second, err := e.svc.Refresh(t.Context(), first.Tokens.RefreshToken, client)
		if err != nil {
			t.Fatal(err)
		}
		seen := map[string]bool{up.Tokens.RefreshToken: true}
		for _, r := range []auth.Result{first, second} {
			if seen[r.Tokens.RefreshToken] || r.Tokens.SessionID != up.Tokens.SessionID || r.User.ID != up.User.ID {
				t.Fatalf("refresh gave %+v", r.Tokens)
			}
			seen[r.Tokens.RefreshToken] = true
			e.principal(r.Tokens.AccessToken)
		}
		sess, _ := e.store.FindSession(t.Context(), up.Tokens.SessionID)
		if !sess.LastUsedAt.Equal(e.clock.Now()) || !sess.ExpiresAt.Equal(e.clock.Now().Add(30*24*time.Hour)) {
			t.Fatalf("session not touched: %+v", sess)
		}
	})

	t.Run("GraceReturnsSameSuccessor", func(t *testing.T) {
		e := newEnv(t, engine, nil)
		up := e.signUp("ada@example.com")
		a, err := e.svc.Refresh(t.Context(), up.Tokens.RefreshToken, client)
		if err != nil {
			t.Fatal(err)
		}
		e.clock.Advance(5 * time.Second) // the client lost the response and retries
		b, err := e.svc.Refresh(t.Context(), up.Tokens.RefreshToken, client)
		if err != nil {
			t.Fatalf("retry within the grace window: %v", err)
		}
		if a.Tokens.RefreshToken != b.Tokens.RefreshToken {
			t.Fatal("the retry got another successor")
		}
		if _, err := e.svc.Refresh(t.Context(), b.Tokens.RefreshToken, client); err != nil {
			t.Fatalf("the successor does not work: %v", err)
		}
	})

	t.Run("ErrReuseRevokesSession", func(t *testing.T) {
		e := newEnv(t, engine, nil)
		up := e.signUp("ada@example.com")
		next, err := e.svc.Refresh(t.Context(), up.Tokens.RefreshToken, client)
		if err != nil {
			t.Fatal(err)
		}
		e.principal(next.Tokens.AccessToken)
		e.clock.Advance(11 * time.Second)
		_, err = e.svc.Refresh(t.Context(), up.Tokens.RefreshToken, client) // a thief replays the old token
		wantCode(t, err, tideline.CodeRefreshTokenReused)
		_, err = e.svc.Refresh(t.Context(), next.Tokens.RefreshToken, client) // the whole family is gone
		wantCode(t, err, tideline.CodeUnauthenticated)
		_, err = e.svc.Authenticate(t.Context(), next.Tokens.AccessToken)
		wantCode(t, err, tideline.CodeUnauthenticated)
		if sess, _ := e.store.FindSession(t.Context(), up.Tokens.SessionID); sess.RevokedAt.IsZero() {
			t.Fatal("session not revoked")
		}
		events, _ := e.svc.ListAudit(t.Context(), auth.AuditQuery{Type: "refresh_token_reused"})
		if len(events) != 1 || events[0].SessionID != up.Tokens.SessionID {
			t.Fatalf("audit %+v", events)
		}
		// Other sessions of the user are untouched.
		other, err := e.svc.Login(t.Context(), "ada@example.com", goodPassword, client)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := e.svc.Refresh(t.Context(), other.Tokens.RefreshToken, client); err != nil {
			t.Fatalf("another session was hit: %v", err)
		}
	})

	t.Run("CrashAfterSpendingHealsOnRetry", func(t *testing.T) {
		e := newEnv(t, engine, nil)
		up := e.signUp("ada@example.com")
		// A node spent the token and died before storing the successor.
		if _, spent, err := e.store.SpendRefreshToken(t.Context(), hash(up.Tokens.RefreshToken), e.clock.Now()); err != nil || !spent {
			t.Fatalf("spend: %v %v", spent, err)
		}
		e.clock.Advance(2 * time.Second)
		res, err := e.service().Refresh(t.Context(), up.Tokens.RefreshToken, client) // the client retries on another node
		if err != nil {
			t.Fatalf("retry after the crash: %v", err)
		}
		if _, err := e.svc.Refresh(t.Context(), res.Tokens.RefreshToken, client); err != nil {
			t.Fatalf("the healed successor does not work: %v", err)
		}
	})

	t.Run("ErrInvalid", func(t *testing.T) {
		e := newEnv(t, engine, nil)
		e.signUp("ada@example.com")
		for _, raw := range []string{"", "tlrt_", "tlrt_" + "A", "nonsense", "tlrt_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", `{"$ne":""}`} {
			_, err := e.svc.Refresh(t.Context(), raw, client)
			wantCode(t, err, tideline.CodeUnauthenticated)
		}
	})

	t.Run("ErrSessionEnded", func(t *testing.T) {
		e := newEnv(t, engine, nil)
		up := e.signUp("ada@example.com")
		e.clock.Advance(31 * 24 * time.Hour)
		_, err := e.svc.Refresh(t.Context(), up.Tokens.RefreshToken, client)
		wantCode(t, err, tideline.CodeUnauthenticated)

		up2, _ := e.svc.Login(t.Context(), "ada@example.com", goodPassword, client)
		if err := e.svc.Logout(t.Context(), e.principal(up2.Tokens.AccessToken), client); err != nil {
			t.Fatal(err)
		}
		_, err = e.svc.Refresh(t.Context(), up2.Tokens.RefreshToken, client)
		wantCode(t, err, tideline.CodeUnauthenticated)
	})

	t.Run("ErrDisabledUser", func(t *testing.T) {
		e := newEnv(t, engine, nil)
		up := e.signUp("ada@example.com")
		u, _ := e.store.FindUserByID(t.Context(), up.User.ID)
		u.Disabled = true
		if _, err := e.store.UpdateUser(t.Context(), u); err != nil { // disabled directly in the store: no session was revoked
			t.Fatal(err)
		}
		_, err := e.svc.Refresh(t.Context(), up.Tokens.RefreshToken, client)
		wantCode(t, err, tideline.CodeAccountDisabled)
	})

	t.Run("ConcurrentRefreshesGetOneSuccessor", func(t *testing.T) {
		e := newEnv(t, engine, nil)
		up := e.signUp("ada@example.com")
		results := make(chan string, 4)
		for range 4 {
			go func() {
				res, err := e.svc.Refresh(t.Context(), up.Tokens.RefreshToken, client)
				if err != nil {
					results <- "error: " + err.Error()
					return
				}
				results <- res.Tokens.RefreshToken
			}()
		}
		first := <-results
		for range 3 {
			if got := <-results; got != first {
				t.Fatalf("concurrent refreshes of one token got %q and %q", first, got)
			}
		}
	})
}
