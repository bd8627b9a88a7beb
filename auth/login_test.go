package auth_test

import (
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/tideline-dev/tideline"
	"github.com/tideline-dev/tideline/auth"
)

func TestLogin(t *testing.T) { eachEngine(t, testLogin) }

func testLogin(t *testing.T, engine string) {
	t.Run("OK", func(t *testing.T) {
		e := newEnv(t, engine, nil)
		up := e.signUp("ada@example.com")
		res, err := e.svc.Login(t.Context(), "ADA@example.com", goodPassword, client)
		if err != nil {
			t.Fatal(err)
		}
		if res.User.ID != up.User.ID || res.Tokens.SessionID == up.Tokens.SessionID {
			t.Fatal("login did not start a new session for the same user")
		}
		if got := e.auditTypes(up.User.ID); !slices.Equal(got, []string{"signup", "login"}) {
			t.Fatalf("audit %v", got)
		}
	})

	t.Run("ErrSameAnswerForWrongPasswordAndUnknownEmail", func(t *testing.T) {
		e := newEnv(t, engine, nil)
		e.signUp("ada@example.com")
		_, wrong := e.svc.Login(t.Context(), "ada@example.com", "not the password", client)
		_, unknown := e.svc.Login(t.Context(), "nobody@example.com", goodPassword, client)
		wantCode(t, wrong, tideline.CodeInvalidCredentials)
		wantCode(t, unknown, tideline.CodeInvalidCredentials)
		if tideline.ErrorMessage(wrong) != tideline.ErrorMessage(unknown) {
			t.Fatalf("messages differ: %q vs %q", tideline.ErrorMessage(wrong), tideline.ErrorMessage(unknown))
		}
		events, _ := e.svc.ListAudit(t.Context(), auth.AuditQuery{Type: "login_failed"})
		if len(events) != 2 {
			t.Fatalf("%d login_failed events, want 2", len(events))
		}
	})

	t.Run("ErrDisabledOnlyWithRightPassword", func(t *testing.T) {
		e := newEnv(t, engine, nil)
		up := e.signUp("ada@example.com")
		disabled := true
		if _, err := e.svc.UpdateUser(t.Context(), auth.Principal{AdminKeyID: "k"}, up.User.ID, auth.AdminUserUpdate{Disabled: &disabled}, client); err != nil {
			t.Fatal(err)
		}
		_, err := e.svc.Login(t.Context(), "ada@example.com", "wrong password!", client)
		wantCode(t, err, tideline.CodeInvalidCredentials)
		_, err = e.svc.Login(t.Context(), "ada@example.com", goodPassword, client)
		wantCode(t, err, tideline.CodeAccountDisabled)
	})

	t.Run("FailuresPerAccountRefill", func(t *testing.T) {
		e := newEnv(t, engine, func(c *auth.Config) {
			c.Limits = &auth.Limits{LoginFailures: auth.Rate{Burst: 3, Per: 15 * time.Minute}}
		})
		e.signUp("ada@example.com")
		for range 3 {
			_, err := e.svc.Login(t.Context(), "ada@example.com", "wrong password!", client)
			wantCode(t, err, tideline.CodeInvalidCredentials)
		}
		// Spent: even the right password waits, from any IP, and the error says for how long.
		other := client
		other.IP = "198.51.100.1"
		_, err := e.svc.Login(t.Context(), "ada@example.com", goodPassword, other)
		wantCode(t, err, tideline.CodeRateLimited)
		var ra interface{ RetryAfter() time.Duration }
		if !asRetry(err, &ra) || ra.RetryAfter() <= 0 || ra.RetryAfter() > 5*time.Minute {
			t.Fatalf("no sensible retry time in %v", err)
		}
		// Unknown emails are limited the same way, so the limit reveals nothing.
		for range 3 {
			e.svc.Login(t.Context(), "nobody@example.com", "wrong password!", client)
		}
		_, err = e.svc.Login(t.Context(), "nobody@example.com", goodPassword, client)
		wantCode(t, err, tideline.CodeRateLimited)
		// Not forever: a token comes back after a third of the period.
		e.clock.Advance(5 * time.Minute)
		if _, err := e.svc.Login(t.Context(), "ada@example.com", goodPassword, client); err != nil {
			t.Fatalf("still locked out after the refill: %v", err)
		}
	})

	t.Run("ErrPerIP", func(t *testing.T) {
		e := newEnv(t, engine, func(c *auth.Config) { c.Limits = &auth.Limits{Login: auth.Rate{Burst: 2, Per: time.Minute}} })
		e.signUp("ada@example.com")
		for range 2 {
			if _, err := e.svc.Login(t.Context(), "ada@example.com", goodPassword, client); err != nil {
				t.Fatal(err)
			}
		}
		_, err := e.svc.Login(t.Context(), "ada@example.com", goodPassword, client)
		wantCode(t, err, tideline.CodeRateLimited)
	})

	t.Run("RehashOnNewParameters", func(t *testing.T) {
		e := newEnv(t, engine, nil)
		up := e.signUp("ada@example.com")
		e.cfg.Argon2 = auth.Argon2Params{MemoryKiB: 128, Iterations: 2, Parallelism: 1}
		node := e.service()
		if _, err := node.Login(t.Context(), "ada@example.com", goodPassword, client); err != nil {
			t.Fatal(err)
		}
		u, _ := e.store.FindUserByID(t.Context(), up.User.ID)
		if !strings.HasPrefix(u.PasswordHash, "$argon2id$v=19$m=128,t=2,p=1$") {
			t.Fatalf("hash not upgraded: %s", u.PasswordHash)
		}
		if _, err := e.svc.Login(t.Context(), "ada@example.com", goodPassword, client); err != nil {
			t.Fatalf("the upgraded hash does not verify: %v", err)
		}
	})
}

func asRetry(err error, target *interface{ RetryAfter() time.Duration }) bool {
	for err != nil {
		if r, ok := err.(interface{ RetryAfter() time.Duration }); ok {
			*target = r
			return true
		}
		u, ok := err.(interface{ Unwrap() error })
		if !ok {
			return false
		}
		err = u.Unwrap()
	}
	return false
}

// TestLoginTimingHidesAccounts checks that a login naming no account costs what one naming
// an account costs: one password verification. Without the dummy verification, the unknown
// email would answer about a hundred times faster than this tolerance allows.
func TestLoginTimingHidesAccounts(t *testing.T) {
	if testing.Short() {
		t.Skip("-short: runs 30 real password verifications")
	}
	e := newEnv(t, "sqlite", func(c *auth.Config) { c.Argon2 = auth.Argon2Params{MemoryKiB: 8 * 1024, Iterations: 2, Parallelism: 1} })
	e.signUp("ada@example.com")
	median := func(email string) time.Duration {
		var d []time.Duration
		for range 15 {
			start := time.Now()
			_, err := e.svc.Login(t.Context(), email, "wrong password!", client)
			d = append(d, time.Since(start))
			wantCode(t, err, tideline.CodeInvalidCredentials)
		}
		sort.Slice(d, func(i, j int) bool { return d[i] < d[j] })
		return d[len(d)/2]
	}
	known, unknown := median("ada@example.com"), median("nobody@example.com")
	ratio := float64(unknown) / float64(known)
	t.Logf("median login: known email %v, unknown email %v (ratio %.2f)", known, unknown, ratio)
	if ratio < 0.5 || ratio > 2 {
		t.Fatalf("unknown-email logins take %.2fx the time of known-email ones", ratio)
	}
}
