package auth_test

import (
	"context"
	"sync"
	"testing"

	"github.com/tideline-dev/tideline"
	"github.com/tideline-dev/tideline/auth"
)

// pausingStore is a real auth store whose FindSession runs hook after reading, once: a
// test holds an Authenticate between its read of the session and what it does next.
type pausingStore struct {
	auth.Store
	once sync.Once
	hook func()
}

func (s *pausingStore) FindSession(ctx context.Context, id string) (auth.Session, error) {
	sess, err := s.Store.FindSession(ctx, id)
	s.once.Do(s.hook)
	return sess, err
}

// TestRevokedSessionNotCachedAgain: an Authenticate that read the session before a logout
// on the same node must not put the session back into the cache after the logout forgot it
// (finding 7 of issue 15): the next request with the token is refused at once.
func TestRevokedSessionNotCachedAgain(t *testing.T) { eachEngine(t, testRevokedSessionNotCachedAgain) }

func testRevokedSessionNotCachedAgain(t *testing.T, engine string) {
	e := newEnv(t, engine, nil)
	read, release := make(chan struct{}), make(chan struct{})
	store := &pausingStore{Store: e.store, hook: func() { close(read); <-release }}
	svc, err := auth.New(t.Context(), store, e.cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(svc.Close)
	up, err := svc.SignUp(t.Context(), "ada@example.com", goodPassword, client)
	if err != nil {
		t.Fatal(err)
	}
	inFlight := make(chan error, 1)
	go func() {
		_, err := svc.Authenticate(context.Background(), up.Tokens.AccessToken)
		inFlight <- err
	}()
	<-read // the in-flight Authenticate has read the session: active
	p := auth.Principal{UserID: up.User.ID, SessionID: up.Tokens.SessionID}
	if err := svc.Logout(t.Context(), p, client); err != nil {
		t.Fatal(err)
	}
	close(release)
	if err := <-inFlight; err != nil {
		t.Fatalf("the in-flight Authenticate (it read the session before the logout): %v", err)
	}
	_, err = svc.Authenticate(t.Context(), up.Tokens.AccessToken)
	wantCode(t, err, tideline.CodeUnauthenticated)
}

// TestResetTokensEndWithPasswordChange: a password reset link stops working once the
// password changes, by a reset with another link or by the user (finding 10 of issue 15).
func TestResetTokensEndWithPasswordChange(t *testing.T) {
	eachEngine(t, testResetTokensEndWithPasswordChange)
}

func testResetTokensEndWithPasswordChange(t *testing.T, engine string) {
	e := newEnv(t, engine, nil)
	up := e.signUp("ada@example.com")
	e.mail.next(t) // the verification email
	resetLink := func() string {
		t.Helper()
		if err := e.svc.ForgotPassword(t.Context(), "ada@example.com", client); err != nil {
			t.Fatal(err)
		}
		return tokenIn(t, e.mail.next(t))
	}

	first, second := resetLink(), resetLink()
	if err := e.svc.ResetPassword(t.Context(), second, "a brand new passphrase", client); err != nil {
		t.Fatal(err)
	}
	wantCode(t, e.svc.ResetPassword(t.Context(), first, "the attacker's passphrase", client), tideline.CodeInvalid)

	third := resetLink()
	res, err := e.svc.Login(t.Context(), "ada@example.com", "a brand new passphrase", client)
	if err != nil {
		t.Fatal(err)
	}
	p := e.principal(res.Tokens.AccessToken)
	newer := "an even newer passphrase"
	if _, err := e.svc.UpdateMe(t.Context(), p, auth.MeUpdate{Password: &newer, CurrentPassword: "a brand new passphrase"}, client); err != nil {
		t.Fatal(err)
	}
	wantCode(t, e.svc.ResetPassword(t.Context(), third, "the attacker's passphrase", client), tideline.CodeInvalid)
	if _, err := e.svc.Login(t.Context(), "ada@example.com", newer, client); err != nil {
		t.Fatalf("the user's own password: %v", err)
	}
	_ = up
}
