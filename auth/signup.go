package auth

import (
	"context"

	"github.com/tideline-dev/tideline"
)

// SignUp creates an account with email and password and signs it in. It fails with
// invalid or weak_password for bad input, email_taken when the email has an account,
// and rate_limited past Limits.Signup. A verification email is sent.
func (s *Service) SignUp(ctx context.Context, email, password string, c Client) (Result, error) {
	if err := s.limits.signup.take(ctx, "ip:"+c.IP, "sign-ups from this address"); err != nil {
		return Result{}, err
	}
	email, err := NormalizeEmail(email)
	if err != nil {
		return Result{}, err
	}
	if err := checkPassword(password, email, s.cfg.MinPasswordLength); err != nil {
		return Result{}, err
	}
	hash, err := s.hasher.Hash(ctx, password)
	if err != nil {
		return Result{}, err
	}
	now := s.clock.Now()
	u := User{ID: tideline.NewID(), Email: email, PasswordHash: hash, CreatedAt: now, UpdatedAt: now, Version: 1}
	if err := s.store.CreateUser(ctx, u); err != nil {
		if tideline.ErrorCode(err) == tideline.CodeConflict {
			return Result{}, emailTaken(err)
		}
		return Result{}, err
	}
	s.audit(ctx, "signup", u.ID, "", "", c, nil)
	s.sendVerification(ctx, u)
	return s.startSession(ctx, u, c)
}

func emailTaken(cause error) error {
	return &tideline.Error{Code: tideline.CodeEmailTaken, Message: "An account with this email exists; sign in instead.",
		Fields: map[string]string{"email": "is taken"}, Err: cause}
}

// SignInAnonymously creates an anonymous user and signs it in. The user can later link an
// email and password (Link) and keeps its id and data. Rate limited like SignUp.
func (s *Service) SignInAnonymously(ctx context.Context, c Client) (Result, error) {
	if err := s.limits.signup.take(ctx, "ip:"+c.IP, "sign-ups from this address"); err != nil {
		return Result{}, err
	}
	now := s.clock.Now()
	u := User{ID: tideline.NewID(), Anonymous: true, CreatedAt: now, UpdatedAt: now, Version: 1}
	if err := s.store.CreateUser(ctx, u); err != nil {
		return Result{}, err
	}
	s.audit(ctx, "signup_anonymous", u.ID, "", "", c, nil)
	return s.startSession(ctx, u, c)
}

// Link turns the calling anonymous user into a permanent account with email and password,
// keeping its id (and so everything it owns). It returns the updated user and a new access
// token for the same session (the refresh token is unchanged). Conflict when the caller is
// not anonymous; email_taken when another account has the email.
func (s *Service) Link(ctx context.Context, p Principal, email, password string, c Client) (Result, error) {
	email, err := NormalizeEmail(email)
	if err != nil {
		return Result{}, err
	}
	if err := checkPassword(password, email, s.cfg.MinPasswordLength); err != nil {
		return Result{}, err
	}
	u, err := s.activeUser(ctx, p.UserID)
	if err != nil {
		return Result{}, err
	}
	if !u.Anonymous {
		return Result{}, tideline.Errorf(tideline.CodeConflict, "The account is not anonymous; it already has a way to sign in.")
	}
	if _, err := s.store.FindUserByEmail(ctx, email); err == nil {
		return Result{}, emailTaken(nil)
	}
	hash, err := s.hasher.Hash(ctx, password)
	if err != nil {
		return Result{}, err
	}
	u.Email, u.PasswordHash, u.Anonymous, u.UpdatedAt = email, hash, false, s.clock.Now()
	if u, err = s.store.UpdateUser(ctx, u); err != nil {
		if tideline.ErrorCode(err) == tideline.CodeConflict {
			return Result{}, emailTaken(err) // taken between our check and the update
		}
		return Result{}, err
	}
	s.sessions.forget(p.SessionID)
	s.audit(ctx, "link", u.ID, p.SessionID, "", c, map[string]string{"method": "password"})
	s.sendVerification(ctx, u)
	access, err := s.issueAccessToken(ctx, u, p.SessionID)
	if err != nil {
		return Result{}, err
	}
	return Result{User: u, Tokens: Tokens{AccessToken: access, ExpiresIn: s.cfg.AccessTokenTTL, SessionID: p.SessionID}}, nil
}
