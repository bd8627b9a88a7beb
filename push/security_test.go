package push_test

import (
	"context"
	"testing"
	"time"

	"github.com/tideline-dev/tideline"
	"github.com/tideline-dev/tideline/auth"
	"github.com/tideline-dev/tideline/push"
)

// signIn makes sure user exists with an active session called session in the engine's
// auth store, which devices bind to.
func (e *env) signIn(user, session string) {
	e.t.Helper()
	ctx, now := e.t.Context(), e.clock.Now()
	if _, err := e.auth.FindUserByID(ctx, user); tideline.ErrorCode(err) == tideline.CodeNotFound {
		if err := e.auth.CreateUser(ctx, auth.User{ID: user, CreatedAt: now, UpdatedAt: now, Version: 1, Anonymous: true}); err != nil {
			e.t.Fatal(err)
		}
	}
	if _, err := e.auth.FindSession(ctx, session); tideline.ErrorCode(err) != tideline.CodeNotFound {
		return
	}
	s := auth.Session{ID: session, UserID: user, CreatedAt: now, LastUsedAt: now, ExpiresAt: now.Add(30 * 24 * time.Hour)}
	if err := e.auth.CreateSession(ctx, s, auth.RefreshToken{Hash: "rt-" + session, SessionID: session, UserID: user, CreatedAt: now, ExpiresAt: s.ExpiresAt}); err != nil {
		e.t.Fatal(err)
	}
}

// signOut ends the session as auth does: revoke it, then tell push (the hook).
func (e *env) signOut(user, session string) {
	e.t.Helper()
	if err := e.auth.RevokeSession(e.t.Context(), session, e.clock.Now()); err != nil {
		e.t.Fatal(err)
	}
	if err := e.svc.SessionsEnded(e.t.Context(), user, session, ""); err != nil {
		e.t.Fatal(err)
	}
}

func (e *env) bound(user, device string) bool {
	e.t.Helper()
	d, err := e.store.FindDevice(e.t.Context(), user, device)
	if tideline.ErrorCode(err) == tideline.CodeNotFound {
		return false
	}
	if err != nil {
		e.t.Fatal(err)
	}
	return d.PushToken != ""
}

// signingOutStore is a real push store that runs hook before its first UpsertDevice: a
// sign-out that lands between a registration's check of the session and its write.
type signingOutStore struct {
	push.Store
	hook func()
}

func (s *signingOutStore) UpsertDevice(ctx context.Context, d push.Device) (push.Device, error) {
	if s.hook != nil {
		s.hook()
		s.hook = nil
	}
	return s.Store.UpsertDevice(ctx, d)
}

// TestRegisterBindsActiveSessionsOnly: a device binds its token only to a session that is
// active when the token is stored; whichever way a registration and a sign-out interleave,
// no token stays bound to the ended session, and a sweep clears any that a failure left
// (finding 3 of issue 15: a device registered through another node within the 30 s
// session-check window after sign-out kept getting the user's pushes).
func TestRegisterBindsActiveSessionsOnly(t *testing.T) {
	eachEngine(t, testRegisterBindsActiveSessionsOnly)
}

func testRegisterBindsActiveSessionsOnly(t *testing.T, e *env) {
	phone := push.Registration{DeviceID: "phone", Platform: push.PlatformIOS, PushToken: "tok-phone"}

	t.Run("AfterSignOut", func(t *testing.T) {
		e.signIn("ada", "s-ended")
		e.signOut("ada", "s-ended")
		_, err := e.svc.RegisterDevice(t.Context(), "ada", "s-ended", phone)
		if tideline.ErrorCode(err) != tideline.CodeUnauthenticated {
			t.Fatalf("a registration with an ended session: %v, want unauthenticated", err)
		}
		if e.bound("ada", "phone") {
			t.Fatal("the token was bound to the ended session")
		}
		_, err = e.svc.RegisterDevice(t.Context(), "ada", "never-was", phone)
		if tideline.ErrorCode(err) != tideline.CodeUnauthenticated {
			t.Fatalf("a registration with an unknown session: %v", err)
		}
	})

	t.Run("SignOutBetweenCheckAndWrite", func(t *testing.T) {
		e.signIn("bob", "s-racing")
		racing := &signingOutStore{Store: e.store, hook: func() { e.signOut("bob", "s-racing") }}
		svc := push.New(racing, push.Config{Clock: e.clock})
		_, err := svc.RegisterDevice(t.Context(), "bob", "s-racing", push.Registration{DeviceID: "tablet", Platform: push.PlatformAndroid, PushToken: "tok-tablet"})
		if tideline.ErrorCode(err) != tideline.CodeUnauthenticated {
			t.Fatalf("a registration whose session ended before its write: %v, want unauthenticated", err)
		}
		if e.bound("bob", "tablet") {
			t.Fatal("the token stayed bound to the session that ended during the registration")
		}
	})

	t.Run("Sweep", func(t *testing.T) {
		// A sign-out whose hook never ran (the node stopped between the two), and a session
		// that expired: the sweep unbinds both, and only them.
		e.signIn("cyd", "s-crashed")
		e.register("cyd", "s-crashed", push.Registration{DeviceID: "phone", Platform: push.PlatformIOS, PushToken: "tok-cyd"})
		if err := e.auth.RevokeSession(t.Context(), "s-crashed", e.clock.Now()); err != nil {
			t.Fatal(err)
		}
		e.register("cyd", "s-live", push.Registration{DeviceID: "laptop", Platform: push.PlatformWeb, PushToken: "tok-cyd-web"})
		n, err := e.svc.SweepEndedSessions(t.Context())
		if err != nil || n != 1 || e.bound("cyd", "phone") || !e.bound("cyd", "laptop") {
			t.Fatalf("sweep: %d, %v; phone bound %v, laptop bound %v", n, err, e.bound("cyd", "phone"), e.bound("cyd", "laptop"))
		}
		e.clock.Advance(31 * 24 * time.Hour) // past s-live's expiry
		if n, err := e.svc.SweepEndedSessions(t.Context()); err != nil || n < 1 || e.bound("cyd", "laptop") {
			t.Fatalf("sweep after the expiry: %d, %v", n, err)
		}
	})
}
