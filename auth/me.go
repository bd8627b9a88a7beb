package auth

import (
	"context"

	"github.com/tideline-dev/tideline"
)

// Me returns the caller's account.
func (s *Service) Me(ctx context.Context, p Principal) (User, error) {
	if p.UserID == "" {
		return User{}, tideline.Errorf(tideline.CodeForbidden, "An admin key has no account.")
	}
	return s.activeUser(ctx, p.UserID)
}

// MeUpdate is a change to the caller's own account; nil fields stay as they are.
type MeUpdate struct {
	DisplayName *string
	// Password sets a new password; CurrentPassword must then be the current one (when
	// the account has one). The caller's other sessions are revoked.
	Password        *string
	CurrentPassword string
}

// MaxDisplayName is the longest display name, in bytes.
const MaxDisplayName = 200

// UpdateMe changes the caller's account. It fails with invalid_credentials when the
// current password is wrong, rate_limited when the account's failed-login limit is spent
// (wrong current passwords count against it as failed sign-ins do), weak_password for a
// weak new one.
func (s *Service) UpdateMe(ctx context.Context, p Principal, m MeUpdate, c Client) (User, error) {
	u, err := s.Me(ctx, p)
	if err != nil {
		return u, err
	}
	if m.DisplayName != nil {
		if err := checkDisplayName(*m.DisplayName); err != nil {
			return u, err
		}
	}
	var hash string
	if m.Password != nil {
		if u.PasswordHash != "" {
			ok, _, err := s.checkPassword(ctx, u.Email, m.CurrentPassword, u.PasswordHash)
			if err != nil {
				return u, err
			}
			if !ok {
				return u, &tideline.Error{Code: tideline.CodeInvalidCredentials, Message: "The current password is wrong.", Fields: map[string]string{"currentPassword": "is wrong"}}
			}
		}
		if err := checkPassword(*m.Password, u.Email, s.cfg.MinPasswordLength); err != nil {
			return u, err
		}
		if hash, err = s.hasher.Hash(ctx, *m.Password); err != nil {
			return u, err
		}
	}
	u, err = s.updateUser(ctx, u.ID, func(u *User) error {
		if m.DisplayName != nil {
			u.DisplayName = *m.DisplayName
		}
		if hash != "" {
			u.PasswordHash = hash
		}
		return nil
	})
	if err != nil {
		return u, err
	}
	if hash != "" {
		if err := s.passwordChanged(ctx, u.ID, p.SessionID); err != nil {
			return u, err
		}
		s.audit(ctx, "password_changed", u.ID, p.SessionID, "", c, nil)
	}
	return u, nil
}

// passwordChanged ends what the old password let in: every session of the user but except
// ("" for none), and every outstanding password reset link (one sent before the change
// must not undo it).
func (s *Service) passwordChanged(ctx context.Context, userID, except string) error {
	now := s.clock.Now()
	if _, err := s.store.RevokeUserSessions(ctx, userID, except, now); err != nil {
		return err
	}
	s.sessions.forgetUser(userID)
	s.sessionsEnded(ctx, userID, "", except)
	_, err := s.store.EndActionTokens(ctx, userID, ActionResetPassword, now)
	return err
}

func checkDisplayName(name string) error {
	if len(name) > MaxDisplayName || !validText(name) {
		return &tideline.Error{Code: tideline.CodeInvalid, Message: "The display name is too long or contains control characters.",
			Fields: map[string]string{"displayName": "must be at most 200 bytes of printable text"}}
	}
	return nil
}

// validText reports whether s is valid UTF-8 without control characters.
func validText(s string) bool {
	for _, r := range s {
		if r == 0xFFFD || r < 0x20 || r == 0x7F {
			return false
		}
	}
	return true
}

// DeleteMe deletes the caller's account and everything it owns.
func (s *Service) DeleteMe(ctx context.Context, p Principal, c Client) error {
	if _, err := s.Me(ctx, p); err != nil {
		return err
	}
	return s.deleteUser(ctx, p.UserID, p.Actor(), c)
}

// deleteUser removes the user's data in the other features first (OnUserDeleted), then the
// account; a failure halfway can be retried.
func (s *Service) deleteUser(ctx context.Context, id, actor string, c Client) error {
	for _, fn := range s.deleted {
		if err := fn(ctx, id); err != nil {
			return err
		}
	}
	if err := s.store.DeleteUser(ctx, id); err != nil {
		return err
	}
	s.sessions.forgetUser(id)
	s.audit(ctx, "user_deleted", id, "", actor, c, nil)
	return nil
}
