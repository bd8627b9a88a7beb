package auth

import (
	"context"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"github.com/tideline-dev/tideline"
)

// DefaultPage and MaxPage are the default and largest sizes of a page of an admin list.
const (
	DefaultPage = 50
	MaxPage     = 100
)

// PageSize is the size of the page that a requested limit n gets: DefaultPage for 0 (or
// less), at most MaxPage.
func PageSize(n int) int {
	switch {
	case n <= 0:
		return DefaultPage
	case n > MaxPage:
		return MaxPage
	}
	return n
}

// ListUsers returns a page of users (admin).
func (s *Service) ListUsers(ctx context.Context, q UserQuery) ([]User, error) {
	q.Limit = PageSize(q.Limit)
	if len(q.EmailContains) > 254 {
		return nil, tideline.Errorf(tideline.CodeInvalid, "The email filter is too long.")
	}
	return s.store.ListUsers(ctx, q)
}

// GetUser returns a user (admin).
func (s *Service) GetUser(ctx context.Context, id string) (User, error) {
	if !tideline.ValidID(id) {
		return User{}, tideline.Errorf(tideline.CodeNotFound, "No such user.")
	}
	u, err := s.store.FindUserByID(ctx, id)
	if tideline.ErrorCode(err) == tideline.CodeNotFound {
		return u, tideline.Errorf(tideline.CodeNotFound, "No such user.")
	}
	return u, err
}

// CountUsers counts the users (admin).
func (s *Service) CountUsers(ctx context.Context) (UserCounts, error) {
	return s.store.CountUsers(ctx)
}

// UserSessions returns a user's active sessions (admin).
func (s *Service) UserSessions(ctx context.Context, id string) ([]Session, error) {
	if _, err := s.GetUser(ctx, id); err != nil {
		return nil, err
	}
	return s.activeSessions(ctx, id)
}

// RevokeUserSession ends one of a user's sessions (admin): its refresh tokens stop at once,
// its access tokens within SessionCheckTTL on other nodes, and the push tokens it bound are
// unbound. A session that is not the user's is not_found.
func (s *Service) RevokeUserSession(ctx context.Context, actor Principal, userID, sessionID string, c Client) error {
	sess, err := s.store.FindSession(ctx, sessionID)
	if err != nil || sess.UserID != userID || userID == "" {
		if err == nil || tideline.ErrorCode(err) == tideline.CodeNotFound {
			return tideline.Errorf(tideline.CodeNotFound, "No such session.")
		}
		return err
	}
	if err := s.store.RevokeSession(ctx, sessionID, s.clock.Now()); err != nil {
		return err
	}
	s.sessions.forget(sessionID)
	s.sessionsEnded(ctx, userID, sessionID, "")
	s.audit(ctx, "session_revoked", userID, sessionID, actor.Actor(), c, nil)
	return nil
}

// AdminUserUpdate is an admin's change to a user; nil fields stay as they are.
type AdminUserUpdate struct {
	Disabled      *bool
	Roles         *[]string
	EmailVerified *bool
	DisplayName   *string
}

var roleName = regexp.MustCompile(`^[a-z][a-z0-9_-]{0,31}$`)

// UpdateUser changes a user (admin). Disabling a user revokes their sessions. An admin
// cannot disable themselves or take their own admin role away (someone must be left to
// undo it).
func (s *Service) UpdateUser(ctx context.Context, actor Principal, id string, m AdminUserUpdate, c Client) (User, error) {
	if _, err := s.GetUser(ctx, id); err != nil {
		return User{}, err
	}
	detail := map[string]string{}
	if m.Roles != nil {
		roles := slices.Clone(*m.Roles)
		for _, r := range roles {
			if !roleName.MatchString(r) {
				return User{}, &tideline.Error{Code: tideline.CodeInvalid, Message: "Role " + strconv.Quote(r) + " is not a valid role name.",
					Fields: map[string]string{"roles": "each must match " + roleName.String()}}
			}
		}
		slices.Sort(roles)
		roles = slices.Compact(roles)
		if len(roles) > 32 {
			return User{}, &tideline.Error{Code: tideline.CodeInvalid, Message: "A user has at most 32 roles.", Fields: map[string]string{"roles": "at most 32"}}
		}
		if id == actor.UserID && !slices.Contains(roles, RoleAdmin) {
			return User{}, tideline.Errorf(tideline.CodeForbidden, "You cannot take your own admin role away.")
		}
		m.Roles = &roles
		detail["roles"] = strings.Join(roles, ",")
	}
	if m.Disabled != nil {
		if *m.Disabled && id == actor.UserID {
			return User{}, tideline.Errorf(tideline.CodeForbidden, "You cannot disable your own account.")
		}
		detail["disabled"] = strconv.FormatBool(*m.Disabled)
	}
	if m.DisplayName != nil {
		if err := checkDisplayName(*m.DisplayName); err != nil {
			return User{}, err
		}
	}
	if m.EmailVerified != nil {
		detail["emailVerified"] = strconv.FormatBool(*m.EmailVerified)
	}
	u, err := s.updateUser(ctx, id, func(u *User) error {
		if m.Disabled != nil {
			u.Disabled = *m.Disabled
		}
		if m.Roles != nil {
			u.Roles = *m.Roles
		}
		if m.EmailVerified != nil {
			u.EmailVerified = *m.EmailVerified
		}
		if m.DisplayName != nil {
			u.DisplayName = *m.DisplayName
		}
		return nil
	})
	if err != nil {
		return u, err
	}
	if u.Disabled && m.Disabled != nil {
		if _, err := s.store.RevokeUserSessions(ctx, id, "", s.clock.Now()); err != nil {
			return u, err
		}
		s.sessionsEnded(ctx, id, "", "")
	}
	s.sessions.forgetUser(id)
	s.audit(ctx, "user_updated", id, "", actor.Actor(), c, detail)
	return u, nil
}

// DeleteUser deletes a user and everything they own (admin).
func (s *Service) DeleteUser(ctx context.Context, actor Principal, id string, c Client) error {
	if _, err := s.GetUser(ctx, id); err != nil {
		return err
	}
	if id == actor.UserID {
		return tideline.Errorf(tideline.CodeForbidden, "Delete your own account with DELETE /v1/me.")
	}
	return s.deleteUser(ctx, id, actor.Actor(), c)
}

// CreateAdminKey makes an admin API key and returns it with the key itself, which is
// shown this once and stored only as a hash.
func (s *Service) CreateAdminKey(ctx context.Context, actor Principal, name string, c Client) (AdminKey, string, error) {
	if name == "" || len(name) > 100 || !validText(name) {
		return AdminKey{}, "", &tideline.Error{Code: tideline.CodeInvalid, Message: "The key needs a name of 1 to 100 printable characters.",
			Fields: map[string]string{"name": "must be 1 to 100 printable characters"}}
	}
	raw := newSecret(adminKeyPrefix)
	k := AdminKey{ID: tideline.NewID(), Name: name, Hash: hashToken(raw), Prefix: raw[:len(adminKeyPrefix)+6], CreatedBy: actor.Actor(), CreatedAt: s.clock.Now()}
	if err := s.store.CreateAdminKey(ctx, k); err != nil {
		return AdminKey{}, "", err
	}
	s.audit(ctx, "admin_key_created", actor.UserID, "", actor.Actor(), c, map[string]string{"key_id": k.ID, "name": name})
	return k, raw, nil
}

// ListAdminKeys returns the admin keys (without the keys themselves).
func (s *Service) ListAdminKeys(ctx context.Context) ([]AdminKey, error) {
	return s.store.ListAdminKeys(ctx)
}

// DeleteAdminKey revokes an admin key at once.
func (s *Service) DeleteAdminKey(ctx context.Context, actor Principal, id string, c Client) error {
	if err := s.store.DeleteAdminKey(ctx, id); err != nil {
		if tideline.ErrorCode(err) == tideline.CodeNotFound {
			return tideline.Errorf(tideline.CodeNotFound, "No such admin key.")
		}
		return err
	}
	s.audit(ctx, "admin_key_deleted", actor.UserID, "", actor.Actor(), c, map[string]string{"key_id": id})
	return nil
}

// ListAudit returns a page of the audit log, newest first (admin).
func (s *Service) ListAudit(ctx context.Context, q AuditQuery) ([]AuditEvent, error) {
	q.Limit = PageSize(q.Limit)
	return s.store.ListAudit(ctx, q)
}

// RotateSigningKey makes a new signing key active; access tokens signed with the old keys
// keep working until they expire, so nobody is signed out. It returns the new key's id.
func (s *Service) RotateSigningKey(ctx context.Context, actor string, c Client) (string, error) {
	kid, err := s.keys.rotate(ctx)
	if err != nil {
		return "", err
	}
	s.audit(ctx, "signing_key_rotated", "", "", actor, c, map[string]string{"kid": kid})
	return kid, nil
}

// JWKS returns the public keys that verify access tokens.
func (s *Service) JWKS(ctx context.Context) ([]JWK, error) { return s.keys.jwks(ctx) }

// CreateAdmin makes email an admin: it creates the account (email verified) with the admin
// role, or, when grantExisting is set, gives an existing account the admin role, leaving
// its password alone (otherwise an existing account is returned unchanged). It reports
// whether it created the account. Used by `api admin create` (granting) and at start
// (admin.email: creating only).
func (s *Service) CreateAdmin(ctx context.Context, email, password, actor string, grantExisting bool) (User, bool, error) {
	email, err := NormalizeEmail(email)
	if err != nil {
		return User{}, false, err
	}
	if existing, err := s.store.FindUserByEmail(ctx, email); err == nil {
		if !grantExisting {
			return existing, false, nil
		}
		u, err := s.updateUser(ctx, existing.ID, func(u *User) error {
			if !u.HasRole(RoleAdmin) {
				u.Roles = append(slices.Clone(u.Roles), RoleAdmin)
				slices.Sort(u.Roles)
			}
			return nil
		})
		if err == nil {
			s.sessions.forgetUser(u.ID)
			s.audit(ctx, "admin_granted", u.ID, "", actor, Client{}, nil)
		}
		return u, false, err
	} else if tideline.ErrorCode(err) != tideline.CodeNotFound {
		return User{}, false, err
	}
	if err := checkPassword(password, email, s.cfg.MinPasswordLength); err != nil {
		return User{}, false, err
	}
	hash, err := s.hasher.Hash(ctx, password)
	if err != nil {
		return User{}, false, err
	}
	now := s.clock.Now()
	u := User{ID: tideline.NewID(), Email: email, EmailVerified: true, PasswordHash: hash, Roles: []string{RoleAdmin}, CreatedAt: now, UpdatedAt: now, Version: 1}
	if err := s.store.CreateUser(ctx, u); err != nil {
		if tideline.ErrorCode(err) == tideline.CodeConflict {
			return User{}, false, emailTaken(err)
		}
		return User{}, false, err
	}
	s.audit(ctx, "admin_created", u.ID, "", actor, Client{}, nil)
	return u, true, nil
}
