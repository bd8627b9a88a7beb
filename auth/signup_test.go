package auth_test

import (
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/tideline-dev/tideline"
	"github.com/tideline-dev/tideline/auth"
)

func TestSignUp(t *testing.T) {
	t.Parallel()
	eachEngine(t, testSignUp)
}

func testSignUp(t *testing.T, engine string) {
	t.Run("OK", func(t *testing.T) {
		e := newEnv(t, engine, nil)
		res, err := e.svc.SignUp(t.Context(), "  Ada@Example.COM ", goodPassword, client)
		if err != nil {
			t.Fatal(err)
		}
		if res.User.Email != "ada@example.com" || res.User.Anonymous || res.User.EmailVerified || !tideline.ValidID(res.User.ID) {
			t.Fatalf("user %+v", res.User)
		}
		if !strings.HasPrefix(res.User.PasswordHash, "$argon2id$v=19$m=64,t=1,p=1$") {
			t.Fatalf("password stored as %q", res.User.PasswordHash)
		}
		if res.Tokens.ExpiresIn != 15*time.Minute || !strings.HasPrefix(res.Tokens.RefreshToken, "tlrt_") {
			t.Fatalf("tokens %+v", res.Tokens)
		}
		p := e.principal(res.Tokens.AccessToken)
		if p.UserID != res.User.ID || p.SessionID != res.Tokens.SessionID || p.Anonymous || p.Admin() {
			t.Fatalf("principal %+v", p)
		}
		mail := e.mail.next(t)
		if mail.To != "ada@example.com" || !strings.Contains(mail.Subject, "Confirm") {
			t.Fatalf("verification email %+v", mail)
		}
		if got := e.auditTypes(res.User.ID); !slices.Equal(got, []string{"signup"}) {
			t.Fatalf("audit %v", got)
		}
	})

	t.Run("AccessTokenClaims", func(t *testing.T) {
		e := newEnv(t, engine, nil)
		res := e.signUp("ada@example.com")
		tok, _, err := jwt.NewParser().ParseUnverified(res.Tokens.AccessToken, &auth.AccessClaims{})
		if err != nil {
			t.Fatal(err)
		}
		c := tok.Claims.(*auth.AccessClaims)
		keys, _ := e.svc.JWKS(t.Context())
		if tok.Method.Alg() != "EdDSA" || tok.Header["kid"] != keys[0].Kid {
			t.Fatalf("header %v", tok.Header)
		}
		now := e.clock.Now()
		if c.Issuer != "tideline" || !slices.Equal(c.Audience, []string{"tideline"}) || c.Subject != res.User.ID || c.SessionID != res.Tokens.SessionID ||
			!c.IssuedAt.Equal(now) || !c.ExpiresAt.Equal(now.Add(15*time.Minute)) || c.Anonymous || c.Email != "ada@example.com" || c.ID == "" {
			t.Fatalf("claims %+v", c)
		}
	})

	t.Run("ErrEmailTaken", func(t *testing.T) {
		e := newEnv(t, engine, nil)
		e.signUp("ada@example.com")
		_, err := e.svc.SignUp(t.Context(), "ADA@example.com", goodPassword, client)
		wantCode(t, err, tideline.CodeEmailTaken)
	})

	t.Run("ErrBadInput", func(t *testing.T) {
		e := newEnv(t, engine, nil)
		for _, tt := range []struct {
			email, password string
			code            tideline.Code
			field           string
		}{
			{"", goodPassword, tideline.CodeInvalid, "email"},
			{"not-an-email", goodPassword, tideline.CodeInvalid, "email"},
			{"Ada <ada@example.com>", goodPassword, tideline.CodeInvalid, "email"},
			{"ada@localhost", goodPassword, tideline.CodeInvalid, "email"},
			{"ada@example.com\r\nBcc: x@example.com", goodPassword, tideline.CodeInvalid, "email"},
			{strings.Repeat("a", 250) + "@example.com", goodPassword, tideline.CodeInvalid, "email"},
			{"ada@example.com", "short", tideline.CodeWeakPassword, "password"},
			{"ada@example.com", "password123", tideline.CodeWeakPassword, "password"},
			{"ada@example.com", "Iloveyou1", tideline.CodeWeakPassword, "password"},
			{"ada@example.com", "ada@example.com", tideline.CodeWeakPassword, "password"},
			{"ada@example.com", strings.Repeat("x", auth.MaxPasswordBytes+1), tideline.CodeWeakPassword, "password"},
			{"ada@example.com", "abc\xffdefgh", tideline.CodeWeakPassword, "password"},
		} {
			_, err := e.svc.SignUp(t.Context(), tt.email, tt.password, client)
			if tideline.ErrorCode(err) != tt.code || tideline.ErrorFields(err)[tt.field] == "" {
				t.Errorf("SignUp(%q, %.20q): %v, want %s on %s", tt.email, tt.password, err, tt.code, tt.field)
			}
		}
		if users, _ := e.svc.ListUsers(t.Context(), auth.UserQuery{}); len(users) != 0 {
			t.Fatalf("bad sign-ups created %d users", len(users))
		}
	})

	t.Run("ErrRateLimited", func(t *testing.T) {
		e := newEnv(t, engine, func(c *auth.Config) { c.Limits = &auth.Limits{Signup: auth.Rate{Burst: 2, Per: time.Hour}} })
		e.signUp("a@example.com")
		e.signUp("b@example.com")
		_, err := e.svc.SignUp(t.Context(), "c@example.com", goodPassword, client)
		wantCode(t, err, tideline.CodeRateLimited)
		other := client
		other.IP = "198.51.100.9"
		if _, err := e.svc.SignUp(t.Context(), "c@example.com", goodPassword, other); err != nil {
			t.Fatalf("another IP was limited too: %v", err)
		}
		e.clock.Advance(30 * time.Minute) // half the period refills one
		if _, err := e.svc.SignUp(t.Context(), "d@example.com", goodPassword, client); err != nil {
			t.Fatalf("the bucket did not refill: %v", err)
		}
	})
}

func TestAnonymousAndLink(t *testing.T) {
	t.Parallel()
	eachEngine(t, testAnonymousAndLink)
}

func testAnonymousAndLink(t *testing.T, engine string) {
	e := newEnv(t, engine, nil)
	anon, err := e.svc.SignInAnonymously(t.Context(), client)
	if err != nil {
		t.Fatal(err)
	}
	if !anon.User.Anonymous || anon.User.Email != "" {
		t.Fatalf("user %+v", anon.User)
	}
	p := e.principal(anon.Tokens.AccessToken)
	if !p.Anonymous {
		t.Fatal("principal of an anonymous user is not anonymous")
	}
	tok, _, _ := jwt.NewParser().ParseUnverified(anon.Tokens.AccessToken, &auth.AccessClaims{})
	if !tok.Claims.(*auth.AccessClaims).Anonymous {
		t.Fatal("is_anonymous claim is false")
	}

	e.signUp("taken@example.com")
	_, err = e.svc.Link(t.Context(), p, "taken@example.com", goodPassword, client)
	wantCode(t, err, tideline.CodeEmailTaken)
	_, err = e.svc.Link(t.Context(), p, "ada@example.com", "123456", client)
	wantCode(t, err, tideline.CodeWeakPassword)

	linked, err := e.svc.Link(t.Context(), p, "Ada@Example.com", goodPassword, client)
	if err != nil {
		t.Fatal(err)
	}
	if linked.User.ID != anon.User.ID || linked.User.Anonymous || linked.User.Email != "ada@example.com" {
		t.Fatalf("linked user %+v", linked.User)
	}
	if p2 := e.principal(linked.Tokens.AccessToken); p2.UserID != anon.User.ID || p2.Anonymous || p2.SessionID != anon.Tokens.SessionID {
		t.Fatalf("principal after link %+v", p2)
	}
	// The anonymous session's refresh token still works, and the password signs in to the same user.
	if _, err := e.svc.Refresh(t.Context(), anon.Tokens.RefreshToken, client); err != nil {
		t.Fatalf("refresh after link: %v", err)
	}
	login, err := e.svc.Login(t.Context(), "ada@example.com", goodPassword, client)
	if err != nil || login.User.ID != anon.User.ID {
		t.Fatalf("login after link: %v %v", login.User.ID, err)
	}
	_, err = e.svc.Link(t.Context(), e.principal(login.Tokens.AccessToken), "other@example.com", goodPassword, client)
	wantCode(t, err, tideline.CodeConflict)
}
