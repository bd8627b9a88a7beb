package auth_test

import (
	"crypto/ed25519"
	"encoding/base64"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/tideline-dev/tideline"
	"github.com/tideline-dev/tideline/auth"
)

// forge signs claims like the real token's, changed by change, with method and key.
func forge(t *testing.T, e *env, real string, change func(*auth.AccessClaims, *jwt.Token), method jwt.SigningMethod, key any) string {
	t.Helper()
	parsed, _, err := jwt.NewParser().ParseUnverified(real, &auth.AccessClaims{})
	if err != nil {
		t.Fatal(err)
	}
	claims := *parsed.Claims.(*auth.AccessClaims)
	tok := jwt.NewWithClaims(method, &claims)
	tok.Header["kid"] = parsed.Header["kid"]
	if change != nil {
		change(&claims, tok)
	}
	s, err := tok.SignedString(key)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestAccessTokenVerification(t *testing.T) {
	t.Parallel()
	eachEngine(t, testAccessTokenVerification)
}

func testAccessTokenVerification(t *testing.T, engine string) {
	e := newEnv(t, engine, nil)
	up := e.signUp("ada@example.com")
	real := up.Tokens.AccessToken
	keys, _ := e.svc.JWKS(t.Context())
	pub, _ := base64.RawURLEncoding.DecodeString(keys[0].X)
	_, otherKey, _ := ed25519.GenerateKey(nil)

	tests := []struct {
		name  string
		token string
	}{
		{"Empty", ""},
		{"Garbage", "not.a.token"},
		{"AlgNone", forge(t, e, real, nil, jwt.SigningMethodNone, jwt.UnsafeAllowNoneSignatureType)},
		{"HS256WithPublicKey", forge(t, e, real, nil, jwt.SigningMethodHS256, pub)},
		{"HS256WithPublicKeyBase64", forge(t, e, real, nil, jwt.SigningMethodHS256, []byte(keys[0].X))},
		{"OtherEd25519Key", forge(t, e, real, nil, jwt.SigningMethodEdDSA, otherKey)},
		{"UnknownKid", forge(t, e, real, func(_ *auth.AccessClaims, tok *jwt.Token) { tok.Header["kid"] = "nope" }, jwt.SigningMethodEdDSA, otherKey)},
		{"TamperedPayload", tamper(real)},
		// The same bytes spelled another way: base64url's unused low bits set. The
		// signature still verifies, but the token is not the one issued.
		{"NonCanonicalSignature", nonCanonical(real, 2)},
		{"PaddedSignature", real + "=="},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := e.svc.Authenticate(t.Context(), tt.token)
			wantCode(t, err, tideline.CodeUnauthenticated)
		})
	}

	// Claims checks need a token signed with the real key: mint one through a second
	// service whose issuer or audience differs (same store, same keys).
	for name, change := range map[string]func(*auth.Config){
		"WrongIssuer":   func(c *auth.Config) { c.Issuer = "someone-else" },
		"WrongAudience": func(c *auth.Config) { c.Audience = "another-app" },
	} {
		t.Run(name, func(t *testing.T) {
			e2 := *e
			change(&e2.cfg)
			res, err := e2.service().Login(t.Context(), "ada@example.com", goodPassword, client)
			if err != nil {
				t.Fatal(err)
			}
			_, err = e.svc.Authenticate(t.Context(), res.Tokens.AccessToken)
			wantCode(t, err, tideline.CodeUnauthenticated)
		})
	}
	t.Run("Expired", func(t *testing.T) {
		res, _ := e.svc.Login(t.Context(), "ada@example.com", goodPassword, client)
		e.clock.Advance(15*time.Minute + 11*time.Second)
		defer e.clock.Advance(-15*time.Minute - 11*time.Second)
		_, err := e.svc.Authenticate(t.Context(), res.Tokens.AccessToken)
		wantCode(t, err, tideline.CodeUnauthenticated)
		if !strings.Contains(tideline.ErrorMessage(err), "expired") {
			t.Fatalf("message %q does not say expired", tideline.ErrorMessage(err))
		}
	})
	// A token verified once is remembered (the signature check is skipped next time), but
	// what time changes is checked again, and other text is never taken for it.
	t.Run("ExpiredAfterCached", func(t *testing.T) {
		res, _ := e.svc.Login(t.Context(), "ada@example.com", goodPassword, client)
		for range 2 {
			if _, err := e.svc.Authenticate(t.Context(), res.Tokens.AccessToken); err != nil {
				t.Fatal(err)
			}
		}
		e.clock.Advance(15*time.Minute + 9*time.Second) // within the leeway: still valid
		if _, err := e.svc.Authenticate(t.Context(), res.Tokens.AccessToken); err != nil {
			t.Fatalf("within the leeway: %v", err)
		}
		e.clock.Advance(2 * time.Second)
		defer e.clock.Advance(-15*time.Minute - 11*time.Second)
		_, err := e.svc.Authenticate(t.Context(), res.Tokens.AccessToken)
		wantCode(t, err, tideline.CodeUnauthenticated)
		if !strings.Contains(tideline.ErrorMessage(err), "expired") {
			t.Fatalf("message %q does not say expired", tideline.ErrorMessage(err))
		}
	})
	t.Run("TamperedAfterCached", func(t *testing.T) {
		if _, err := e.svc.Authenticate(t.Context(), real); err != nil {
			t.Fatal(err)
		}
		parts := strings.Split(real, ".")
		sig := []byte(parts[2])
		sig[len(sig)/2] ^= 1 // one character of the signature
		for _, bad := range []string{tamper(real), parts[0] + "." + parts[1] + "." + string(sig), real + "x", " " + real} {
			_, err := e.svc.Authenticate(t.Context(), bad)
			wantCode(t, err, tideline.CodeUnauthenticated)
		}
		if _, err := e.svc.Authenticate(t.Context(), real); err != nil {
			t.Fatalf("the real token after the forgeries: %v", err)
		}
	})
	t.Run("NotYetValid", func(t *testing.T) {
		e.clock.Advance(time.Hour)
		res, _ := e.svc.Login(t.Context(), "ada@example.com", goodPassword, client)
		e.clock.Advance(-time.Hour)
		_, err := e.svc.Authenticate(t.Context(), res.Tokens.AccessToken)
		wantCode(t, err, tideline.CodeUnauthenticated)
	})
	t.Run("RevokedSessionOnThisNodeAtOnce", func(t *testing.T) {
		res, _ := e.svc.Login(t.Context(), "ada@example.com", goodPassword, client)
		p := e.principal(res.Tokens.AccessToken)
		if err := e.svc.Logout(t.Context(), p, client); err != nil {
			t.Fatal(err)
		}
		_, err := e.svc.Authenticate(t.Context(), res.Tokens.AccessToken)
		wantCode(t, err, tideline.CodeUnauthenticated)
	})
	t.Run("RevokedSessionOnOtherNodeWithinCheckTTL", func(t *testing.T) {
		other := e.service()
		res, _ := e.svc.Login(t.Context(), "ada@example.com", goodPassword, client)
		if _, err := other.Authenticate(t.Context(), res.Tokens.AccessToken); err != nil {
			t.Fatal(err) // other caches the session as active
		}
		if err := e.svc.Logout(t.Context(), e.principal(res.Tokens.AccessToken), client); err != nil {
			t.Fatal(err)
		}
		if _, err := other.Authenticate(t.Context(), res.Tokens.AccessToken); err != nil {
			t.Fatalf("within the check TTL the other node still trusts its cache, as documented: %v", err)
		}
		e.clock.Advance(31 * time.Second)
		defer e.clock.Advance(-31 * time.Second)
		_, err := other.Authenticate(t.Context(), res.Tokens.AccessToken)
		wantCode(t, err, tideline.CodeUnauthenticated)
	})
}

// tamper changes one character of the token's payload.
func tamper(token string) string {
	parts := strings.Split(token, ".")
	payload, _ := base64.RawURLEncoding.DecodeString(parts[1])
	payload = []byte(strings.Replace(string(payload), `"roles":[]`, `"roles":["admin"]`, 1))
	parts[1] = base64.RawURLEncoding.EncodeToString(payload)
	return strings.Join(parts, ".")
}

// nonCanonical sets the lowest bit of the last character of the token's segment part,
// which base64url leaves unused when the segment's length is not a multiple of 4: the
// segment decodes to the same bytes (with a lenient decoder) but is another string.
func nonCanonical(token string, part int) string {
	parts := strings.Split(token, ".")
	seg := parts[part]
	if len(seg)%4 == 0 {
		panic("segment without unused bits")
	}
	const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
	last := strings.IndexByte(alphabet, seg[len(seg)-1])
	parts[part] = seg[:len(seg)-1] + string(alphabet[last^1])
	return strings.Join(parts, ".")
}

func TestKeyRotation(t *testing.T) {
	t.Parallel()
	eachEngine(t, testKeyRotation)
}

func testKeyRotation(t *testing.T, engine string) {
	e := newEnv(t, engine, nil)
	nodeB := e.service()
	up := e.signUp("ada@example.com")
	before, _ := e.svc.JWKS(t.Context())
	if len(before) != 1 || before[0].Kty != "OKP" || before[0].Crv != "Ed25519" || before[0].Alg != "EdDSA" || before[0].Use != "sig" {
		t.Fatalf("JWKS %+v", before)
	}
	kid, err := e.svc.RotateSigningKey(t.Context(), "cli", client)
	if err != nil {
		t.Fatal(err)
	}
	after, _ := e.svc.JWKS(t.Context())
	if len(after) != 2 || after[0].Kid != before[0].Kid || after[1].Kid != kid {
		t.Fatalf("JWKS after rotation %+v", after)
	}
	// Nobody is logged out: the old token still verifies, on both nodes.
	e.principal(up.Tokens.AccessToken)
	if _, err := nodeB.Authenticate(t.Context(), up.Tokens.AccessToken); err != nil {
		t.Fatal(err)
	}
	// New tokens use the new key; node B learns it on first sight of the unknown kid.
	res, err := e.svc.Login(t.Context(), "ada@example.com", goodPassword, client)
	if err != nil {
		t.Fatal(err)
	}
	tok, _, _ := jwt.NewParser().ParseUnverified(res.Tokens.AccessToken, &auth.AccessClaims{})
	if tok.Header["kid"] != kid {
		t.Fatalf("new token signed by %v, want %s", tok.Header["kid"], kid)
	}
	if _, err := nodeB.Authenticate(t.Context(), res.Tokens.AccessToken); err != nil {
		t.Fatalf("node B refused a token of the new key: %v", err)
	}
	// Once every token of the old key has expired, the old key leaves the JWKS.
	e.clock.Advance(17 * time.Minute)
	later, _ := e.svc.JWKS(t.Context())
	if len(later) != 1 || later[0].Kid != kid {
		t.Fatalf("JWKS after the old tokens expired %+v", later)
	}
	events, _ := e.svc.ListAudit(t.Context(), auth.AuditQuery{Type: "signing_key_rotated"})
	if len(events) != 1 || events[0].Detail["kid"] != kid {
		t.Fatalf("audit %+v", events)
	}
}
