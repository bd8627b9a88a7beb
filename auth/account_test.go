package auth_test

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/tideline-dev/tideline"
	"github.com/tideline-dev/tideline/auth"
)

func TestSessions(t *testing.T) {
	t.Parallel()
	eachEngine(t, testSessions)
}

func testSessions(t *testing.T, engine string) {
	e := newEnv(t, engine, nil)
	a := e.signUp("ada@example.com")
	phone2 := client
	phone2.DeviceName, phone2.Platform = "Tablet", "android"
	e.clock.Advance(time.Minute)
	b, err := e.svc.Login(t.Context(), "ada@example.com", goodPassword, phone2)
	if err != nil {
		t.Fatal(err)
	}
	p := e.principal(a.Tokens.AccessToken)
	list, err := e.svc.ListSessions(t.Context(), p)
	if err != nil {
		t.Fatal(err)
	}
	if len(list) != 2 || list[0].ID != b.Tokens.SessionID || list[0].DeviceName != "Tablet" || list[0].Platform != "android" || list[1].IP != client.IP {
		t.Fatalf("sessions %+v", list)
	}
	// Another user cannot see or revoke them.
	mallory := e.signUp("mallory@example.com")
	pm := e.principal(mallory.Tokens.AccessToken)
	wantCode(t, e.svc.RevokeSession(t.Context(), pm, b.Tokens.SessionID, client), tideline.CodeNotFound)
	wantCode(t, e.svc.RevokeSession(t.Context(), pm, "not-an-id", client), tideline.CodeNotFound)
	e.principal(b.Tokens.AccessToken)

	if err := e.svc.RevokeSession(t.Context(), p, b.Tokens.SessionID, client); err != nil {
		t.Fatal(err)
	}
	_, err = e.svc.Authenticate(t.Context(), b.Tokens.AccessToken)
	wantCode(t, err, tideline.CodeUnauthenticated)
	_, err = e.svc.Refresh(t.Context(), b.Tokens.RefreshToken, client)
	wantCode(t, err, tideline.CodeUnauthenticated)
	if list, _ := e.svc.ListSessions(t.Context(), p); len(list) != 1 {
		t.Fatalf("%d sessions after revoking one", len(list))
	}
	if err := e.svc.Logout(t.Context(), p, client); err != nil {
		t.Fatal(err)
	}
	_, err = e.svc.Refresh(t.Context(), a.Tokens.RefreshToken, client)
	wantCode(t, err, tideline.CodeUnauthenticated)
	if got := e.auditTypes(a.User.ID); !slices.Equal(got, []string{"signup", "login", "session_revoked", "logout"}) {
		t.Fatalf("audit %v", got)
	}
}

func TestPasswordReset(t *testing.T) {
	t.Parallel()
	eachEngine(t, testPasswordReset)
}

func testPasswordReset(t *testing.T, engine string) {
	e := newEnv(t, engine, nil)
	up := e.signUp("ada@example.com")
	e.mail.next(t) // the verification email

	if err := e.svc.ForgotPassword(t.Context(), "nobody@example.com", client); err != nil {
		t.Fatalf("forgot for an unknown email: %v", err)
	}
	if err := e.svc.ForgotPassword(t.Context(), "ADA@example.com", client); err != nil {
		t.Fatal(err)
	}
	mail := e.mail.next(t)
	if mail.To != "ada@example.com" || !strings.Contains(mail.Subject, "Reset") {
		t.Fatalf("email %+v", mail)
	}
	token := tokenIn(t, mail)
	if e.mail.count() != 2 {
		t.Fatalf("%d emails; the unknown address must get none", e.mail.count())
	}

	wantCode(t, e.svc.ResetPassword(t.Context(), token, "123456", client), tideline.CodeWeakPassword)
	if err := e.svc.ResetPassword(t.Context(), token, "a brand new passphrase", client); err != nil {
		t.Fatalf("the weak attempt spent the token: %v", err)
	}
	wantCode(t, e.svc.ResetPassword(t.Context(), token, "another new passphrase", client), tideline.CodeInvalid)
	_, err := e.svc.Refresh(t.Context(), up.Tokens.RefreshToken, client)
	wantCode(t, err, tideline.CodeUnauthenticated)
	_, err = e.svc.Login(t.Context(), "ada@example.com", goodPassword, client)
	wantCode(t, err, tideline.CodeInvalidCredentials)
	res, err := e.svc.Login(t.Context(), "ada@example.com", "a brand new passphrase", client)
	if err != nil {
		t.Fatal(err)
	}
	if !res.User.EmailVerified {
		t.Fatal("a completed reset did not verify the email")
	}

	t.Run("ErrExpired", func(t *testing.T) {
		if err := e.svc.ForgotPassword(t.Context(), "ada@example.com", client); err != nil {
			t.Fatal(err)
		}
		token := tokenIn(t, e.mail.next(t))
		e.clock.Advance(time.Hour)
		wantCode(t, e.svc.ResetPassword(t.Context(), token, "yet another passphrase", client), tideline.CodeInvalid)
	})
	t.Run("ErrMalformedToken", func(t *testing.T) {
		for _, tok := range []string{"", "tlact_x", "tlrt_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", strings.Repeat("a", 5000)} {
			wantCode(t, e.svc.ResetPassword(t.Context(), tok, "yet another passphrase", client), tideline.CodeInvalid)
		}
	})
	t.Run("ErrRateLimitedPerAccount", func(t *testing.T) {
		e := newEnv(t, engine, func(c *auth.Config) { c.Limits = &auth.Limits{Email: auth.Rate{Burst: 2, Per: time.Hour}} })
		for i := range 2 {
			ip := client
			ip.IP = "198.51.100." + string(rune('1'+i))
			if err := e.svc.ForgotPassword(t.Context(), "victim@example.com", ip); err != nil {
				t.Fatal(err)
			}
		}
		ip := client
		ip.IP = "198.51.100.9"
		wantCode(t, e.svc.ForgotPassword(t.Context(), "victim@example.com", ip), tideline.CodeRateLimited)
	})
}

func TestVerifyEmail(t *testing.T) {
	t.Parallel()
	eachEngine(t, testVerifyEmail)
}

func testVerifyEmail(t *testing.T, engine string) {
	e := newEnv(t, engine, func(c *auth.Config) { c.VerifyEmailURL = "https://app.example.com/verify?token={token}" })
	up := e.signUp("ada@example.com")
	mail := e.mail.next(t)
	if !strings.Contains(mail.Text, "https://app.example.com/verify?token=tlact_") {
		t.Fatalf("no link in %q", mail.Text)
	}
	token := tokenIn(t, mail)
	token = token[strings.Index(token, "tlact_"):]
	if err := e.svc.VerifyEmail(t.Context(), token, client); err != nil {
		t.Fatal(err)
	}
	u, _ := e.svc.Me(t.Context(), e.principal(up.Tokens.AccessToken))
	if !u.EmailVerified {
		t.Fatal("not verified")
	}
	wantCode(t, e.svc.VerifyEmail(t.Context(), token, client), tideline.CodeInvalid)
	wantCode(t, e.svc.SendVerification(t.Context(), e.principal(up.Tokens.AccessToken)), tideline.CodeConflict)
}

func TestMe(t *testing.T) {
	t.Parallel()
	eachEngine(t, testMe)
}

func testMe(t *testing.T, engine string) {
	e := newEnv(t, engine, nil)
	up := e.signUp("ada@example.com")
	other, _ := e.svc.Login(t.Context(), "ada@example.com", goodPassword, client)
	p := e.principal(up.Tokens.AccessToken)

	name := "Ada L."
	u, err := e.svc.UpdateMe(t.Context(), p, auth.MeUpdate{DisplayName: &name}, client)
	if err != nil || u.DisplayName != name || u.Version != 2 {
		t.Fatalf("display name: %+v %v", u, err)
	}
	bad := "bell\x07"
	_, err = e.svc.UpdateMe(t.Context(), p, auth.MeUpdate{DisplayName: &bad}, client)
	wantCode(t, err, tideline.CodeInvalid)

	newPW := "an entirely new passphrase"
	_, err = e.svc.UpdateMe(t.Context(), p, auth.MeUpdate{Password: &newPW, CurrentPassword: "wrong"}, client)
	wantCode(t, err, tideline.CodeInvalidCredentials)
	if _, err := e.svc.UpdateMe(t.Context(), p, auth.MeUpdate{Password: &newPW, CurrentPassword: goodPassword}, client); err != nil {
		t.Fatal(err)
	}
	// This session stays; the others end.
	e.principal(up.Tokens.AccessToken)
	_, err = e.svc.Refresh(t.Context(), other.Tokens.RefreshToken, client)
	wantCode(t, err, tideline.CodeUnauthenticated)

	var deleted []string
	e.svc.OnUserDeleted(func(_ context.Context, id string) error { deleted = append(deleted, id); return nil })
	if err := e.svc.DeleteMe(t.Context(), p, client); err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(deleted, []string{up.User.ID}) {
		t.Fatalf("deletion hooks saw %v", deleted)
	}
	_, err = e.svc.Authenticate(t.Context(), up.Tokens.AccessToken)
	wantCode(t, err, tideline.CodeUnauthenticated)
	_, err = e.svc.Login(t.Context(), "ada@example.com", newPW, client)
	wantCode(t, err, tideline.CodeInvalidCredentials)
}

func TestDeleteRetriesAfterHookFailure(t *testing.T) {
	t.Parallel()
	eachEngine(t, testDeleteRetriesAfterHookFailure)
}

func testDeleteRetriesAfterHookFailure(t *testing.T, engine string) {
	e := newEnv(t, engine, nil)
	up := e.signUp("ada@example.com")
	p := e.principal(up.Tokens.AccessToken)
	fail := true
	e.svc.OnUserDeleted(func(context.Context, string) error {
		if fail {
			return errors.New("devices store down")
		}
		return nil
	})
	if err := e.svc.DeleteMe(t.Context(), p, client); err == nil {
		t.Fatal("deletion succeeded while a hook failed")
	}
	e.principal(up.Tokens.AccessToken) // the account is still there
	fail = false
	if err := e.svc.DeleteMe(t.Context(), p, client); err != nil {
		t.Fatalf("retry: %v", err)
	}
}

// TestSessionsEndedHook: every way a session ends tells the OnSessionsEnded hooks, which
// push uses to unbind the session's device tokens; a failing hook does not undo the end.
func TestSessionsEndedHook(t *testing.T) {
	t.Parallel()
	eachEngine(t, testSessionsEndedHook)
}

func testSessionsEndedHook(t *testing.T, engine string) {
	e := newEnv(t, engine, nil)
	var got []string
	e.svc.OnSessionsEnded(func(_ context.Context, user, session, except string) error {
		got = append(got, user+"|"+session+"|"+except)
		return errors.New("push store down") // logged; the sign-out stands
	})
	up := e.signUp("ada@example.com")
	p := e.principal(up.Tokens.AccessToken)
	if err := e.svc.Logout(t.Context(), p, client); err != nil {
		t.Fatal(err)
	}
	_, err := e.svc.Authenticate(t.Context(), up.Tokens.AccessToken)
	wantCode(t, err, tideline.CodeUnauthenticated)
	second, err := e.svc.Login(t.Context(), "ada@example.com", goodPassword, client)
	if err != nil {
		t.Fatal(err)
	}
	newPW := "an even better passphrase 2"
	if _, err := e.svc.UpdateMe(t.Context(), e.principal(second.Tokens.AccessToken), auth.MeUpdate{Password: &newPW, CurrentPassword: goodPassword}, client); err != nil {
		t.Fatal(err)
	}
	want := []string{up.User.ID + "|" + up.Tokens.SessionID + "|", up.User.ID + "||" + second.Tokens.SessionID}
	if !slices.Equal(got, want) {
		t.Fatalf("hooks saw %v, want %v", got, want)
	}
}
