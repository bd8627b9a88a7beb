package auth_test

import (
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/tideline-dev/tideline"
	"github.com/tideline-dev/tideline/auth"
)

func TestLogin(t *testing.T) {
	t.Parallel()
	eachEngine(t, testLogin)
}

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

// TestLoginWorkHidesAccounts checks that a login naming no account costs what one naming
// an account costs: exactly one argon2id derivation with the current parameters, salt and
// key length, which is all the time either takes (BenchmarkLogin measures both). The hasher
// reports its derivations, so the check counts work instead of timing it and cannot be
// upset by a busy machine. Without the dummy verification the unknown email would derive
// nothing.
func TestLoginWorkHidesAccounts(t *testing.T) {
	t.Parallel()
	e := newEnv(t, "sqlite", nil)
	e.signUp("ada@example.com")
	var work []string
	auth.WatchArgon2(e.svc, func(p auth.Argon2Params, saltLen, keyLen int) {
		work = append(work, fmt.Sprintf("argon2id %+v, %d-byte salt, %d-byte key", p, saltLen, keyLen))
	})
	login := func(email string) []string {
		work = nil
		_, err := e.svc.Login(t.Context(), email, "wrong password!", client)
		wantCode(t, err, tideline.CodeInvalidCredentials)
		return work
	}
	known, unknown := login("ada@example.com"), login("nobody@example.com")
	want := []string{fmt.Sprintf("argon2id %+v, 16-byte salt, 32-byte key", e.cfg.Argon2)}
	if !slices.Equal(known, want) {
		t.Fatalf("a wrong password for a known email derives %q, want %q", known, want)
	}
	if !slices.Equal(unknown, known) {
		t.Fatalf("an unknown email derives %q, a known one %q", unknown, known)
	}
}
