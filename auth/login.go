package auth

import (
	"context"

	"github.com/tideline-dev/tideline"
)

// Login signs in with email and password. A wrong password and an unknown email give the
// same invalid_credentials error after the same work (one argon2id verification), so
// neither the answer nor its timing tells whether the email has an account. Failed logins
// are limited per account (Limits.LoginFailures; the bucket refills, so nobody is locked
// out for good: see checkPassword) and all attempts per IP (Limits.Login). A disabled
// account is reported as such only to someone who knows its password.
func (s *Service) Login(ctx context.Context, email, password string, c Client) (Result, error) {
	if err := s.limits.login.take(ctx, "ip:"+c.IP, "sign-in attempts from this address"); err != nil {
		return Result{}, err
	}
	email, err := NormalizeEmail(email)
	if err != nil {
		return Result{}, err
	}
	u, err := s.store.FindUserByEmail(ctx, email)
	if err != nil && tideline.ErrorCode(err) != tideline.CodeNotFound {
		return Result{}, err
	}
	ok, rehash, err := s.checkPassword(ctx, email, password, u.PasswordHash) // u is zero when not found: the dummy hash runs
	if err != nil {
		return Result{}, err
	}
	if !ok {
		s.audit(ctx, "login_failed", u.ID, "", "", c, map[string]string{"email": email})
		return Result{}, errInvalidCredentials
	}
	if u.Disabled {
		s.audit(ctx, "login_failed", u.ID, "", "", c, map[string]string{"reason": "disabled"})
		return Result{}, tideline.Errorf(tideline.CodeAccountDisabled, "The account is disabled.")
	}
	if rehash {
		s.upgradeHash(ctx, u, password)
	}
	res, err := s.startSession(ctx, u, c)
	if err != nil {
		return Result{}, err
	}
	s.audit(ctx, "login", u.ID, res.Tokens.SessionID, "", c, nil)
	return res, nil
}

// checkPassword verifies password against the PHC string hash for the account with email
// (normalised; "" for an account without one) under the account's failed-login limit,
// which every check of an account's password goes through: sign-in, and the current
// password of a change. The attempt is counted before the hash runs, atomically (on every
// node with a RateStore), so concurrent guesses cannot all be checked while the count
// lags; a right password gives its count back, so only failures are limited. A refused
// attempt is rate_limited, whatever the password.
func (s *Service) checkPassword(ctx context.Context, email, password, hash string) (ok, rehash bool, err error) {
	release, err := s.limits.loginFailures.reserve(ctx, "email:"+email, "failed sign-ins for this account")
	if err != nil {
		return false, false, err
	}
	ok, rehash, err = s.hasher.Verify(ctx, password, hash)
	if ok || err != nil {
		release() // not a failure: a right password, or no check made
	}
	return ok, rehash, err
}

// upgradeHash rehashes the password with the current parameters; failing is harmless (it
// is tried again at the next login).
func (s *Service) upgradeHash(ctx context.Context, u User, password string) {
	hash, err := s.hasher.Hash(ctx, password)
	if err != nil {
		return
	}
	u.PasswordHash, u.UpdatedAt = hash, s.clock.Now()
	if _, err := s.store.UpdateUser(ctx, u); err != nil {
		s.log.WarnContext(ctx, "password hash not upgraded", "user_id", u.ID, "err", err.Error())
	}
}
