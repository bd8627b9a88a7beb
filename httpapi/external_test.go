package httpapi_test

import (
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/tideline-dev/tideline"
	"github.com/tideline-dev/tideline/app"
	"github.com/tideline-dev/tideline/auth"
	"github.com/tideline-dev/tideline/auth/authtest"
)

func TestExchangeTokenOverHTTP(t *testing.T) {
	t.Parallel()
	is := authtest.NewIssuer(t, "tideline-app")
	v, err := auth.NewOIDCVerifier(auth.OIDCProvider{Name: "acme", Issuer: is.URL, JWKSURL: is.JWKSURL, Audience: is.Audience}, auth.OIDCOptions{UnknownKIDEvery: time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	a := newAPI(t, func(c *app.Config) { c.Auth.Providers = map[string]auth.ExternalVerifier{"oidc:acme": v} })

	first := decode[sessionBody](t, a.call("POST", "/v1/auth/token", "", map[string]string{"provider": "oidc:acme", "token": is.Token("rsa-1", nil)}), 201)
	again := decode[sessionBody](t, a.call("POST", "/v1/auth/token", "", map[string]string{"provider": "oidc:acme", "token": is.Token("rsa-1", nil)}), 200)
	if first.User.ID != again.User.ID || first.User.Email != "ada@example.com" {
		t.Fatalf("first %+v, again %+v", first.User, again.User)
	}
	checkProblem(t, a.call("POST", "/v1/auth/token", "", map[string]string{"provider": "oidc:acme", "token": is.Token("rsa-1", func(c jwt.MapClaims) { c["aud"] = "x" })}), 401, tideline.CodeUnauthenticated)
	p := checkProblem(t, a.call("POST", "/v1/auth/token", "", map[string]string{"provider": "oidc:other", "token": is.Token("rsa-1", nil)}), 400, tideline.CodeInvalid)
	if p.Fields["provider"] == "" {
		t.Fatalf("%+v", p)
	}
	p = checkProblem(t, a.call("POST", "/v1/auth/token", "", map[string]string{"provider": "saml:Evil Corp", "token": "x"}), 400, tideline.CodeInvalid)
	if p.Fields["provider"] == "" {
		t.Fatalf("the pattern did not name the field: %+v", p)
	}

	bob := a.signUp("bob@example.com")
	link := decode[map[string]any](t, a.call("POST", "/v1/auth/identities", bob.AccessToken, map[string]string{"provider": "oidc:acme", "token": is.Token("rsa-1", func(c jwt.MapClaims) { c["sub"] = "bob-at-acme" })}), 200)
	if link["provider"] != "oidc:acme" || link["subject"] != "bob-at-acme" {
		t.Fatalf("link %v", link)
	}
	checkProblem(t, a.call("POST", "/v1/auth/identities", bob.AccessToken, map[string]string{"provider": "oidc:acme", "token": is.Token("rsa-1", nil)}), 409, tideline.CodeConflict)
	viaAcme := decode[sessionBody](t, a.call("POST", "/v1/auth/token", "", map[string]string{"provider": "oidc:acme", "token": is.Token("rsa-1", func(c jwt.MapClaims) { c["sub"] = "bob-at-acme" })}), 200)
	if viaAcme.User.ID != bob.User.ID {
		t.Fatal("the linked identity signs in to another user")
	}
}
