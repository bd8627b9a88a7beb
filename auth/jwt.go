package auth

import (
	"context"
	"crypto/sha256"
	"errors"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/tideline-dev/tideline"
)

// AccessClaims are the claims of an access token.
type AccessClaims struct {
	jwt.RegisteredClaims
	// SessionID is the session the token belongs to (claim sid).
	SessionID string `json:"sid"`
	// Roles are the user's roles when the token was issued.
	Roles []string `json:"roles"`
	// Anonymous is true for anonymous users (claim is_anonymous).
	Anonymous bool `json:"is_anonymous"`
	// Email is the user's email, if any.
	Email string `json:"email,omitempty"`
}

// tokenLeeway tolerates clock differences between the nodes that sign and verify.
const tokenLeeway = 10 * time.Second

// issueAccessToken signs an access token for the user's session.
func (s *Service) issueAccessToken(ctx context.Context, u User, sessionID string) (string, error) {
	key, err := s.keys.current(ctx)
	if err != nil {
		return "", err
	}
	now := s.clock.Now()
	claims := AccessClaims{
		RegisteredClaims: jwt.RegisteredClaims{
			Issuer:    s.cfg.Issuer,
			Subject:   u.ID,
			Audience:  jwt.ClaimStrings{s.cfg.Audience},
			IssuedAt:  jwt.NewNumericDate(now),
			NotBefore: jwt.NewNumericDate(now),
			ExpiresAt: jwt.NewNumericDate(now.Add(s.cfg.AccessTokenTTL)),
			ID:        tideline.NewID(),
		},
		SessionID: sessionID,
		Roles:     u.Roles,
		Anonymous: u.Anonymous,
		Email:     u.Email,
	}
	if claims.Roles == nil {
		claims.Roles = []string{}
	}
	tok := jwt.NewWithClaims(jwt.SigningMethodEdDSA, claims)
	tok.Header["kid"] = key.id
	return tok.SignedString(key.key)
}

// parseAccessToken verifies an access token's signature and claims: EdDSA only (so "none"
// and HMAC signed with the public key are refused), a known kid, our issuer and audience,
// and exp, iat and nbf against the clock (with tokenLeeway). Segments are decoded strictly
// (unpadded base64url whose unused bits are zero, RFC 4648 section 3.5): a token is valid
// in exactly one spelling, the one issued, so nobody can mint another string that verifies
// (a cache or a log keyed by the token sees one token, not many). A token verified before is
// taken from the tokenCache after checking its expiry and key again; the claims returned
// are shared and must not be changed.
func (s *Service) parseAccessToken(ctx context.Context, raw string) (*AccessClaims, error) {
	sum := sha256.Sum256([]byte(raw))
	if v, ok := s.tokens.get(sum); ok {
		if s.clock.Now().Before(v.claims.ExpiresAt.Add(tokenLeeway)) {
			if _, known := s.keys.publicKey(ctx, v.kid); known {
				return v.claims, nil
			}
		}
		s.tokens.delete(sum) // expired, or its key is gone: the full check says which
	}
	var claims AccessClaims
	var kid string
	_, err := jwt.ParseWithClaims(raw, &claims, func(t *jwt.Token) (any, error) {
		kid, _ = t.Header["kid"].(string)
		pub, ok := s.keys.publicKey(ctx, kid)
		if !ok {
			return nil, errors.New("unknown kid")
		}
		return pub, nil
	},
		jwt.WithValidMethods([]string{jwt.SigningMethodEdDSA.Alg()}),
		jwt.WithStrictDecoding(),
		jwt.WithIssuer(s.cfg.Issuer),
		jwt.WithAudience(s.cfg.Audience),
		jwt.WithExpirationRequired(),
		jwt.WithIssuedAt(),
		jwt.WithLeeway(tokenLeeway),
		jwt.WithTimeFunc(s.clock.Now),
	)
	if err != nil {
		msg := "The access token is invalid."
		if errors.Is(err, jwt.ErrTokenExpired) {
			msg = "The access token has expired; refresh it."
		}
		return nil, tideline.Wrap(err, tideline.CodeUnauthenticated, msg)
	}
	if claims.Subject == "" || claims.SessionID == "" {
		return nil, tideline.Errorf(tideline.CodeUnauthenticated, "The access token is invalid.")
	}
	s.tokens.put(sum, verifiedToken{claims: &claims, kid: kid})
	return &claims, nil
}
