package auth_test

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/tideline-dev/tideline"
	"github.com/tideline-dev/tideline/auth"
	"github.com/tideline-dev/tideline/auth/authtest"
)

const clientID = "tideline-app"

func newIssuer(t *testing.T) *authtest.Issuer { return authtest.NewIssuer(t, clientID) }

func oidcVerifier(t *testing.T, is *authtest.Issuer) auth.ExternalVerifier {
	v, err := auth.NewOIDCVerifier(auth.OIDCProvider{Name: "acme", Issuer: is.URL, JWKSURL: is.JWKSURL, Audience: is.Audience},
		auth.OIDCOptions{UnknownKIDEvery: time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { v.(interface{ Close() error }).Close() })
	return v
}

func mustRSA(t *testing.T) crypto.Signer {
	k, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func TestOIDCVerifier(t *testing.T) {
	t.Parallel()
	is := newIssuer(t)
	v := oidcVerifier(t, is)
	id, err := v.Verify(t.Context(), is.Token("rsa-1", nil))
	if err != nil {
		t.Fatal(err)
	}
	if id.Subject != "user-42" || id.Email != "Ada@Example.com" || !id.EmailVerified {
		t.Fatalf("identity %+v", id)
	}
	// email_verified as the string some issuers send.
	id, _ = v.Verify(t.Context(), is.Token("rsa-1", func(c jwt.MapClaims) { c["email_verified"] = "true" }))
	if !id.EmailVerified {
		t.Fatal(`email_verified "true" not understood`)
	}

	t.Run("IssuerRotatesKeys", func(t *testing.T) {
		before := is.Fetches()
		ec, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		is.AddKey("ec-2", ec)
		if _, err := v.Verify(t.Context(), is.Token("ec-2", nil)); err != nil {
			t.Fatalf("a token of the issuer's new key: %v", err)
		}
		if n := is.Fetches() - before; n != 1 {
			t.Fatalf("the JWKS was fetched %d times for the unknown kid, want once", n)
		}
	})

	rsaPub, _ := x509.MarshalPKIXPublicKey(is.Key("rsa-1").Public())
	stranger := mustRSA(t)
	forged := func(method jwt.SigningMethod, key any, kid string) string {
		tok := jwt.NewWithClaims(method, jwt.MapClaims{"iss": is.URL, "aud": clientID, "sub": "user-42", "iat": time.Now().Unix(), "exp": time.Now().Add(time.Hour).Unix()})
		tok.Header["kid"] = kid
		s, err := tok.SignedString(key)
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	for _, tt := range []struct{ name, token string }{
		{"WrongIssuer", is.Token("rsa-1", func(c jwt.MapClaims) { c["iss"] = "https://evil.example.com/" })},
		{"WrongAudience", is.Token("rsa-1", func(c jwt.MapClaims) { c["aud"] = "another-app" })},
		{"Expired", is.Token("rsa-1", func(c jwt.MapClaims) { c["exp"] = time.Now().Add(-2 * time.Minute).Unix() })},
		{"NoExpiry", is.Token("rsa-1", func(c jwt.MapClaims) { delete(c, "exp") })},
		{"NoSubject", is.Token("rsa-1", func(c jwt.MapClaims) { delete(c, "sub") })},
		{"AlgNone", forged(jwt.SigningMethodNone, jwt.UnsafeAllowNoneSignatureType, "rsa-1")},
		{"HS256WithPublicKey", forged(jwt.SigningMethodHS256, rsaPub, "rsa-1")},
		{"StrangersKeySameKid", forged(jwt.SigningMethodRS256, stranger, "rsa-1")},
		{"UnknownKid", forged(jwt.SigningMethodRS256, stranger, "nope")},
		{"Garbage", "eyJ.not.a.jwt"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			_, err := v.Verify(t.Context(), tt.token)
			wantCode(t, err, tideline.CodeUnauthenticated)
		})
	}

	if _, err := auth.NewOIDCVerifier(auth.OIDCProvider{Name: "x", Issuer: is.URL}, auth.OIDCOptions{}); err == nil {
		t.Fatal("a provider without a JWKS URL was accepted")
	}
}

func TestExchangeToken(t *testing.T) {
	t.Parallel()
	eachEngine(t, testExchangeToken)
}

func testExchangeToken(t *testing.T, engine string) {
	is := newIssuer(t)
	e := newEnv(t, engine, func(c *auth.Config) { c.Providers = map[string]auth.ExternalVerifier{"oidc:acme": oidcVerifier(t, is)} })

	first, created, err := e.svc.ExchangeToken(t.Context(), "oidc:acme", is.Token("rsa-1", nil), client)
	if err != nil || !created {
		t.Fatalf("first exchange: %v created=%v", err, created)
	}
	if first.User.Email != "ada@example.com" || !first.User.EmailVerified || first.User.PasswordHash != "" {
		t.Fatalf("user %+v", first.User)
	}
	again, created, err := e.svc.ExchangeToken(t.Context(), "oidc:acme", is.Token("rsa-1", nil), client)
	if err != nil || created || again.User.ID != first.User.ID {
		t.Fatalf("second exchange: %v created=%v user %s", err, created, again.User.ID)
	}
	e.principal(again.Tokens.AccessToken)

	t.Run("NoEmailTakeover", func(t *testing.T) {
		victim := e.signUp("bob@example.com")
		res, _, err := e.svc.ExchangeToken(t.Context(), "oidc:acme", is.Token("rsa-1", func(c jwt.MapClaims) {
			c["sub"], c["email"] = "attacker", "bob@example.com"
		}), client)
		if err != nil {
			t.Fatal(err)
		}
		if res.User.ID == victim.User.ID || res.User.Email != "" {
			t.Fatalf("an external identity claiming bob's email got %+v", res.User)
		}
	})
	t.Run("UnverifiedEmailNotTaken", func(t *testing.T) {
		res, _, _ := e.svc.ExchangeToken(t.Context(), "oidc:acme", is.Token("rsa-1", func(c jwt.MapClaims) {
			c["sub"], c["email"], c["email_verified"] = "unverified", "carol@example.com", false
		}), client)
		if res.User.Email != "" {
			t.Fatalf("an unverified email was taken: %+v", res.User)
		}
	})
	t.Run("ErrUnknownProvider", func(t *testing.T) {
		_, _, err := e.svc.ExchangeToken(t.Context(), "oidc:other", is.Token("rsa-1", nil), client)
		wantCode(t, err, tideline.CodeInvalid)
	})
	t.Run("ErrBadToken", func(t *testing.T) {
		_, _, err := e.svc.ExchangeToken(t.Context(), "oidc:acme", is.Token("rsa-1", func(c jwt.MapClaims) { c["aud"] = "x" }), client)
		wantCode(t, err, tideline.CodeUnauthenticated)
	})
	t.Run("LinkIdentity", func(t *testing.T) {
		dave := e.signUp("dave@example.com")
		p := e.principal(dave.Tokens.AccessToken)
		tok := is.Token("rsa-1", func(c jwt.MapClaims) { c["sub"] = "dave-at-acme" })
		if _, err := e.svc.LinkIdentity(t.Context(), p, "oidc:acme", tok, client); err != nil {
			t.Fatal(err)
		}
		if _, err := e.svc.LinkIdentity(t.Context(), p, "oidc:acme", tok, client); err != nil {
			t.Fatalf("linking again: %v", err)
		}
		res, created, err := e.svc.ExchangeToken(t.Context(), "oidc:acme", tok, client)
		if err != nil || created || res.User.ID != dave.User.ID {
			t.Fatalf("exchange after link: %v %v %s", err, created, res.User.ID)
		}
		// Ada's identity cannot be linked to Dave.
		_, err = e.svc.LinkIdentity(t.Context(), p, "oidc:acme", is.Token("rsa-1", nil), client)
		wantCode(t, err, tideline.CodeConflict)
	})
	t.Run("AnonymousBecomesPermanent", func(t *testing.T) {
		anon, _ := e.svc.SignInAnonymously(t.Context(), client)
		tok := is.Token("rsa-1", func(c jwt.MapClaims) { c["sub"], c["email"] = "erin", "erin@example.com" })
		if _, err := e.svc.LinkIdentity(t.Context(), e.principal(anon.Tokens.AccessToken), "oidc:acme", tok, client); err != nil {
			t.Fatal(err)
		}
		u, _ := e.store.FindUserByID(t.Context(), anon.User.ID)
		if u.Anonymous || u.Email != "erin@example.com" || !u.EmailVerified {
			t.Fatalf("after linking: %+v", u)
		}
	})
}
