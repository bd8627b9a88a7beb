package auth

import (
	"context"
	"slices"
	"strings"
	"time"

	"github.com/tideline-dev/tideline"
)

// Principal is who is calling: a user's session (from an access token) or an admin API key.
type Principal struct {
	UserID    string
	SessionID string
	// Roles are the user's current roles (re-read with the session, see SessionCheckTTL).
	Roles     []string
	Anonymous bool
	// AdminKeyID is set when the caller authenticated with an admin API key.
	AdminKeyID string
	// ExpiresAt is when the access token expires (zero for an admin key): a long-lived
	// stream asks for a new one then.
	ExpiresAt time.Time
}

// Admin reports whether the caller may use the admin API.
func (p Principal) Admin() bool { return p.AdminKeyID != "" || slices.Contains(p.Roles, RoleAdmin) }

// Actor names the caller in the audit log.
func (p Principal) Actor() string {
	if p.AdminKeyID != "" {
		return "admin-key:" + p.AdminKeyID
	}
	return "user:" + p.UserID
}

// Authenticate checks the bearer credential of a request: an admin API key (tladm_...) or
// an access token. For an access token the session must be active and the user enabled; a
// node checks that in the store at most once per SessionCheckTTL per session, so a
// revocation or a disabled account takes effect on other nodes within that time (at once
// on the node that made it). It fails with unauthenticated, or account_disabled.
func (s *Service) Authenticate(ctx context.Context, bearer string) (Principal, error) {
	if strings.HasPrefix(bearer, adminKeyPrefix) {
		return s.authenticateAdminKey(ctx, bearer)
	}
	claims, err := s.parseAccessToken(ctx, bearer)
	if err != nil {
		return Principal{}, err
	}
	p := Principal{UserID: claims.Subject, SessionID: claims.SessionID, ExpiresAt: claims.ExpiresAt.Time}
	if entry, ok := s.sessions.get(p.SessionID); ok && entry.userID == p.UserID {
		p.Roles, p.Anonymous = entry.roles, entry.anonymous
		return p, nil
	}
	gen := s.sessions.generation() // before the read: a revocation after it voids what is read
	sess, err := s.store.FindSession(ctx, p.SessionID)
	if tideline.ErrorCode(err) == tideline.CodeNotFound || (err == nil && sess.UserID != p.UserID) {
		return Principal{}, tideline.Errorf(tideline.CodeUnauthenticated, "The session has ended; sign in again.")
	}
	if err != nil {
		return Principal{}, err
	}
	if !sess.RevokedAt.IsZero() || !s.clock.Now().Before(sess.ExpiresAt) {
		return Principal{}, tideline.Errorf(tideline.CodeUnauthenticated, "The session has ended; sign in again.")
	}
	u, err := s.activeUser(ctx, p.UserID)
	if err != nil {
		return Principal{}, err
	}
	p.Roles, p.Anonymous = u.Roles, u.Anonymous
	s.sessions.remember(p.SessionID, cachedSession{userID: u.ID, roles: u.Roles, anonymous: u.Anonymous}, gen)
	return p, nil
}

// adminKeyTouchEvery limits how often a key's LastUsedAt is written.
const adminKeyTouchEvery = time.Minute

func (s *Service) authenticateAdminKey(ctx context.Context, raw string) (Principal, error) {
	if !wellFormed(raw, adminKeyPrefix) {
		return Principal{}, tideline.Errorf(tideline.CodeUnauthenticated, "The admin key is invalid.")
	}
	key, err := s.store.FindAdminKeyByHash(ctx, hashToken(raw))
	if tideline.ErrorCode(err) == tideline.CodeNotFound {
		return Principal{}, tideline.Errorf(tideline.CodeUnauthenticated, "The admin key is invalid.")
	}
	if err != nil {
		return Principal{}, err
	}
	if now := s.clock.Now(); now.Sub(key.LastUsedAt) >= adminKeyTouchEvery {
		if err := s.store.TouchAdminKey(ctx, key.ID, now); err != nil {
			s.log.WarnContext(ctx, "admin key use not recorded", "key_id", key.ID, "err", err.Error())
		}
	}
	return Principal{AdminKeyID: key.ID, Roles: []string{RoleAdmin}}, nil
}

type principalKey struct{}

// WithPrincipal returns ctx carrying the authenticated caller p (the HTTP layer does this
// for every authenticated request, before its handler runs).
func WithPrincipal(ctx context.Context, p Principal) context.Context {
	return context.WithValue(ctx, principalKey{}, p)
}

// PrincipalFrom returns the caller ctx carries, and false when it carries none (an
// unauthenticated route, or work outside a request).
func PrincipalFrom(ctx context.Context) (Principal, bool) {
	p, ok := ctx.Value(principalKey{}).(Principal)
	return p, ok
}
