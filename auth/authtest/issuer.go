// Package authtest holds test helpers for code that uses auth: a local OpenID Connect
// issuer that publishes a JWKS over HTTP and signs ID tokens.
package authtest

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/rand"
	"crypto/rsa"
	"encoding/base64"
	"encoding/json"
	"math/big"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

// Issuer is a local OIDC issuer on 127.0.0.1. It starts with one RSA key, "rsa-1".
type Issuer struct {
	// URL is the iss of its tokens; JWKSURL serves its keys.
	URL, JWKSURL string
	// Audience is the aud of its tokens.
	Audience string

	t    testing.TB
	mu   sync.Mutex
	keys map[string]crypto.Signer
	hits int
}

// NewIssuer starts an issuer whose tokens are for audience; it stops when the test ends.
func NewIssuer(t testing.TB, audience string) *Issuer {
	t.Helper()
	is := &Issuer{t: t, URL: "https://login.example.com/", Audience: audience, keys: map[string]crypto.Signer{}}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		is.mu.Lock()
		defer is.mu.Unlock()
		is.hits++
		keys := []map[string]string{}
		for kid, k := range is.keys {
			keys = append(keys, jwk(kid, k.Public()))
		}
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(map[string]any{"keys": keys})
	}))
	t.Cleanup(srv.Close)
	is.JWKSURL = srv.URL
	k, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	is.AddKey("rsa-1", k)
	return is
}

// AddKey publishes a new signing key (an RSA or P-256 ECDSA private key) under kid.
func (is *Issuer) AddKey(kid string, k crypto.Signer) {
	is.mu.Lock()
	defer is.mu.Unlock()
	is.keys[kid] = k
}

// Key returns the key published under kid.
func (is *Issuer) Key(kid string) crypto.Signer {
	is.mu.Lock()
	defer is.mu.Unlock()
	return is.keys[kid]
}

// Fetches returns how many times the JWKS has been fetched.
func (is *Issuer) Fetches() int {
	is.mu.Lock()
	defer is.mu.Unlock()
	return is.hits
}

// Token signs a valid ID token for subject "user-42" (email ada@example.com, verified)
// with the key kid, after change has edited its claims.
func (is *Issuer) Token(kid string, change func(jwt.MapClaims)) string {
	is.t.Helper()
	now := time.Now()
	claims := jwt.MapClaims{"iss": is.URL, "aud": is.Audience, "sub": "user-42", "iat": now.Unix(), "exp": now.Add(time.Hour).Unix(),
		"email": "Ada@Example.com", "email_verified": true}
	if change != nil {
		change(claims)
	}
	key := is.Key(kid)
	method := jwt.SigningMethod(jwt.SigningMethodRS256)
	if _, ok := key.(*ecdsa.PrivateKey); ok {
		method = jwt.SigningMethodES256
	}
	tok := jwt.NewWithClaims(method, claims)
	tok.Header["kid"] = kid
	s, err := tok.SignedString(key)
	if err != nil {
		is.t.Fatal(err)
	}
	return s
}

func b64(b []byte) string { return base64.RawURLEncoding.EncodeToString(b) }

func jwk(kid string, pub crypto.PublicKey) map[string]string {
	switch p := pub.(type) {
	case *rsa.PublicKey:
		return map[string]string{"kty": "RSA", "kid": kid, "use": "sig", "alg": "RS256", "n": b64(p.N.Bytes()), "e": b64(big.NewInt(int64(p.E)).Bytes())}
	case *ecdsa.PublicKey:
		return map[string]string{"kty": "EC", "kid": kid, "use": "sig", "alg": "ES256", "crv": "P-256", "x": b64(p.X.FillBytes(make([]byte, 32))), "y": b64(p.Y.FillBytes(make([]byte, 32)))}
	}
	panic("authtest: unsupported key type")
}
