package auth

import (
	"context"

	"github.com/tideline-dev/tideline"
)

// Refresh exchanges a refresh token for a new access token and a new refresh token; the
// presented token is spent.
//
// Presenting a spent token again is answered in one of two ways. Within RefreshReuseGrace
// of its first use it gets the same successor again: the client lost the response, or
// crashed, and retries. Later, it is treated as stolen: the session (every token of the
// family) is revoked and the error is refresh_token_reused.
//
// The successor is derived from the presented token (see successor), so the retry needs
// no stored plaintext, and a crash between spending the token and storing its successor
// heals on the client's retry.
func (s *Service) Refresh(ctx context.Context, raw string, c Client) (Result, error) {
	if err := s.limits.refresh.take(ctx, "ip:"+c.IP, "token refreshes from this address"); err != nil {
		return Result{}, err
	}
	invalid := tideline.Errorf(tideline.CodeUnauthenticated, "The refresh token is invalid.")
	if !wellFormed(raw, refreshPrefix) {
		return Result{}, invalid
	}
	now := s.clock.Now()
	tok, spentNow, err := s.store.SpendRefreshToken(ctx, hashToken(raw), now)
	if tideline.ErrorCode(err) == tideline.CodeNotFound {
		return Result{}, invalid
	}
	if err != nil {
		return Result{}, err
	}
	sess, err := s.store.FindSession(ctx, tok.SessionID)
	if tideline.ErrorCode(err) == tideline.CodeNotFound {
		return Result{}, invalid
	}
	if err != nil {
		return Result{}, err
	}
	if !sess.RevokedAt.IsZero() || !now.Before(sess.ExpiresAt) || !now.Before(tok.ExpiresAt) {
		return Result{}, tideline.Errorf(tideline.CodeUnauthenticated, "The session has ended; sign in again.")
	}
	if !spentNow && now.Sub(tok.UsedAt) > s.cfg.RefreshReuseGrace {
		if err := s.store.RevokeSession(ctx, sess.ID, now); err != nil {
			return Result{}, err
		}
		s.sessions.forget(sess.ID)
		s.sessionsEnded(ctx, sess.UserID, sess.ID, "")
		s.audit(ctx, "refresh_token_reused", sess.UserID, sess.ID, "", c, map[string]string{"first_used": tok.UsedAt.UTC().Format("2006-01-02T15:04:05.000Z07:00")})
		return Result{}, tideline.Errorf(tideline.CodeRefreshTokenReused, "This refresh token was already used, so it may have been stolen: the session is revoked. Sign in again.")
	}
	u, err := s.activeUser(ctx, sess.UserID)
	if err != nil {
		return Result{}, err
	}
	next := s.successor(raw)
	expires := now.Add(s.cfg.RefreshTokenTTL)
	err = s.store.CreateRefreshToken(ctx, RefreshToken{Hash: hashToken(next), SessionID: sess.ID, UserID: u.ID, CreatedAt: now, ExpiresAt: expires})
	if err != nil && tideline.ErrorCode(err) != tideline.CodeConflict { // conflict: stored by the first attempt
		return Result{}, err
	}
	if err := s.store.TouchSession(ctx, sess.ID, now, c.IP, expires); err != nil {
		return Result{}, err
	}
	access, err := s.issueAccessToken(ctx, u, sess.ID)
	if err != nil {
		return Result{}, err
	}
	return Result{User: u, Tokens: Tokens{AccessToken: access, RefreshToken: next, ExpiresIn: s.cfg.AccessTokenTTL, SessionID: sess.ID}}, nil
}
