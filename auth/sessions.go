package auth

import (
	"context"

	"github.com/tideline-dev/tideline"
)

// Logout ends the caller's session: its refresh tokens stop working at once, its access
// tokens within SessionCheckTTL on other nodes.
func (s *Service) Logout(ctx context.Context, p Principal, c Client) error {
	if p.SessionID == "" {
		return tideline.Errorf(tideline.CodeForbidden, "Only a user's session can log out.")
	}
	if err := s.store.RevokeSession(ctx, p.SessionID, s.clock.Now()); err != nil {
		return err
	}
	s.sessions.forget(p.SessionID)
	s.sessionsEnded(ctx, p.UserID, p.SessionID, "")
	s.audit(ctx, "logout", p.UserID, p.SessionID, "", c, nil)
	return nil
}

// ListSessions returns the caller's active sessions, newest first.
func (s *Service) ListSessions(ctx context.Context, p Principal) ([]Session, error) {
	return s.activeSessions(ctx, p.UserID)
}

func (s *Service) activeSessions(ctx context.Context, userID string) ([]Session, error) {
	all, err := s.store.ListSessions(ctx, userID)
	if err != nil {
		return nil, err
	}
	now := s.clock.Now()
	out := all[:0]
	for _, sess := range all {
		if now.Before(sess.ExpiresAt) {
			out = append(out, sess)
		}
	}
	return out, nil
}

// RevokeSession ends one of the caller's sessions. A session of another user is not_found,
// as if it did not exist.
func (s *Service) RevokeSession(ctx context.Context, p Principal, id string, c Client) error {
	sess, err := s.store.FindSession(ctx, id)
	if err != nil || sess.UserID != p.UserID || p.UserID == "" {
		if err == nil || tideline.ErrorCode(err) == tideline.CodeNotFound {
			return tideline.Errorf(tideline.CodeNotFound, "No such session.")
		}
		return err
	}
	if err := s.store.RevokeSession(ctx, id, s.clock.Now()); err != nil {
		return err
	}
	s.sessions.forget(id)
	s.sessionsEnded(ctx, p.UserID, id, "")
	s.audit(ctx, "session_revoked", p.UserID, id, p.Actor(), c, nil)
	return nil
}
