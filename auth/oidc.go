package auth

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/MicahParks/keyfunc/v3"
	"github.com/golang-jwt/jwt/v5"
	"github.com/tideline-dev/tideline"
	"golang.org/x/time/rate"
)

// OIDCProvider configures an external OpenID Connect issuer whose ID tokens sign users in
// (bring-your-own-auth: Auth0, Okta, Keycloak, Google, Apple, Cognito...).
type OIDCProvider struct {
	// Name makes the provider "oidc:<name>" in requests.
	Name string `json:"name"`
	// Issuer is the iss the tokens must carry.
	Issuer string `json:"issuer"`
	// JWKSURL is where the issuer publishes its keys.
	JWKSURL string `json:"jwksURL"`
	// Audience is the aud the tokens must carry: your app's client id at the issuer.
	Audience string `json:"audience"`
}

// OIDCOptions tune how keys are fetched; the zero value is right for production.
type OIDCOptions struct {
	// Client fetches the JWKS (a client with a 10 s timeout).
	Client *http.Client
	// RefreshInterval is how often the JWKS is fetched again (1 h).
	RefreshInterval time.Duration
	// UnknownKIDEvery is the least time between fetches caused by tokens naming a kid not
	// in the cached set, so forged kids cannot hammer the issuer (10 s).
	UnknownKIDEvery time.Duration
	// Clock checks exp, iat and nbf (the system clock).
	Clock tideline.Clock
}

// oidcVerifier verifies ID tokens against an issuer's JWKS, cached and refreshed
// periodically and when a token names an unknown kid (the issuer rotated its keys).
type oidcVerifier struct {
	p      OIDCProvider
	kf     keyfunc.Keyfunc
	clock  tideline.Clock
	cancel context.CancelFunc
}

// oidcAlgorithms are the signature algorithms accepted from issuers: asymmetric only, so a
// token "signed" with a public key as an HMAC secret never verifies.
var oidcAlgorithms = []string{"RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512", "EdDSA"}

// NewOIDCVerifier fetches the provider's JWKS and returns its verifier. An unreachable JWKS
// at start is not fatal: the keys are fetched again when the first token arrives. Close it
// to stop the background refresh.
func NewOIDCVerifier(p OIDCProvider, o OIDCOptions) (ExternalVerifier, error) {
	if p.Issuer == "" || p.JWKSURL == "" || p.Audience == "" {
		return nil, fmt.Errorf("oidc provider %q: issuer, jwksURL and audience are required", p.Name)
	}
	if o.Client == nil {
		o.Client = &http.Client{Timeout: 10 * time.Second}
	}
	if o.RefreshInterval <= 0 {
		o.RefreshInterval = time.Hour
	}
	if o.UnknownKIDEvery <= 0 {
		o.UnknownKIDEvery = 10 * time.Second
	}
	if o.Clock == nil {
		o.Clock = tideline.SystemClock{}
	}
	ctx, cancel := context.WithCancel(context.Background())
	noErr := true
	kf, err := keyfunc.NewDefaultOverrideCtx(ctx, []string{p.JWKSURL}, keyfunc.Override{
		Client:                    o.Client,
		HTTPTimeout:               10 * time.Second,
		RefreshInterval:           o.RefreshInterval,
		RefreshUnknownKID:         rate.NewLimiter(rate.Every(o.UnknownKIDEvery), 1),
		NoErrorReturnFirstHTTPReq: &noErr,
	})
	if err != nil {
		cancel()
		return nil, fmt.Errorf("oidc provider %q: %w", p.Name, err)
	}
	return &oidcVerifier{p: p, kf: kf, clock: o.Clock, cancel: cancel}, nil
}

// Close stops the background refresh of the keys.
func (v *oidcVerifier) Close() error { v.cancel(); return nil }

type oidcClaims struct {
	jwt.RegisteredClaims
	Email         string `json:"email"`
	EmailVerified any    `json:"email_verified"` // a bool, or "true" from some issuers
}

// Verify checks the token's signature with the issuer's keys and its iss, aud, exp, iat and
// nbf (with a minute of leeway for clock differences), and returns the identity.
func (v *oidcVerifier) Verify(ctx context.Context, token string) (ExternalIdentity, error) {
	var c oidcClaims
	_, err := jwt.ParseWithClaims(token, &c, v.kf.KeyfuncCtx(ctx),
		jwt.WithValidMethods(oidcAlgorithms),
		jwt.WithIssuer(v.p.Issuer),
		jwt.WithAudience(v.p.Audience),
		jwt.WithExpirationRequired(),
		jwt.WithIssuedAt(),
		jwt.WithLeeway(time.Minute),
		jwt.WithTimeFunc(v.clock.Now),
	)
	if err == nil && c.Subject == "" {
		err = errors.New("no sub claim")
	}
	if err != nil {
		return ExternalIdentity{}, tideline.Wrap(err, tideline.CodeUnauthenticated, "The ID token of oidc:"+v.p.Name+" is invalid or expired.")
	}
	verified := c.EmailVerified == true || c.EmailVerified == "true"
	return ExternalIdentity{Subject: c.Subject, Email: c.Email, EmailVerified: verified}, nil
}
