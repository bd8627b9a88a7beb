package auth

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/tideline-dev/tideline"
)

// sendVerification queues a verification email for u's email, if it has one that is not
// verified yet.
func (s *Service) sendVerification(ctx context.Context, u User) {
	if u.Email == "" || u.EmailVerified {
		return
	}
	raw, err := s.newActionToken(ctx, ActionVerifyEmail, u, s.cfg.VerifyEmailTTL)
	if err != nil {
		s.log.ErrorContext(ctx, "verification email not sent", "user_id", u.ID, "err", err.Error())
		return
	}
	s.outbox.enqueue(ctx, Email{To: u.Email, Subject: "Confirm your email for " + s.cfg.AppName,
		Text: s.emailText("confirm this email address for your "+s.cfg.AppName+" account", s.cfg.VerifyEmailURL, raw, s.cfg.VerifyEmailTTL.String())})
}

// SendVerification sends the caller a new verification email. Conflict when the account
// has no email or it is verified already; rate limited per account.
func (s *Service) SendVerification(ctx context.Context, p Principal) error {
	u, err := s.activeUser(ctx, p.UserID)
	if err != nil {
		return err
	}
	if u.Email == "" || u.EmailVerified {
		return tideline.Errorf(tideline.CodeConflict, "There is no unverified email on this account.")
	}
	if err := s.limits.email.take(ctx, "email:"+u.Email, "emails to this address"); err != nil {
		return err
	}
	s.sendVerification(ctx, u)
	return nil
}

func (s *Service) newActionToken(ctx context.Context, kind string, u User, ttl time.Duration) (string, error) {
	raw := newSecret(actionPrefix)
	now := s.clock.Now()
	t := ActionToken{Hash: hashToken(raw), Kind: kind, UserID: u.ID, Email: u.Email, CreatedAt: now, ExpiresAt: now.Add(ttl)}
	return raw, s.store.CreateActionToken(ctx, t)
}

func (s *Service) emailText(purpose, linkTemplate, token, valid string) string {
	var b strings.Builder
	fmt.Fprintf(&b, "Hello,\n\nSomeone, hopefully you, asked to %s.\n\n", purpose)
	if linkTemplate != "" {
		fmt.Fprintf(&b, "Open this link to continue:\n\n%s\n\n", strings.ReplaceAll(linkTemplate, "{token}", token))
	} else {
		fmt.Fprintf(&b, "Enter this code in the app to continue:\n\n%s\n\n", token)
	}
	fmt.Fprintf(&b, "It works once and expires in %s. If it was not you, ignore this email.\n\n-- %s\n", valid, s.cfg.AppName)
	return b.String()
}

// ForgotPassword emails a password reset link when email has an account, and does nothing
// otherwise; the caller answers the same either way, at the same speed (the email is sent
// in the background). Rate limited per IP and per email address.
func (s *Service) ForgotPassword(ctx context.Context, email string, c Client) error {
	if err := s.limits.email.take(ctx, "ip:"+c.IP, "emails requested from this address"); err != nil {
		return err
	}
	email, err := NormalizeEmail(email)
	if err != nil {
		return err
	}
	if err := s.limits.email.take(ctx, "email:"+email, "emails to this address"); err != nil {
		return err
	}
	u, err := s.store.FindUserByEmail(ctx, email)
	if tideline.ErrorCode(err) == tideline.CodeNotFound {
		s.audit(ctx, "password_reset_requested", "", "", "", c, map[string]string{"email": email, "account": "none"})
		return nil
	}
	if err != nil {
		return err
	}
	raw, err := s.newActionToken(ctx, ActionResetPassword, u, s.cfg.ResetPasswordTTL)
	if err != nil {
		return err
	}
	s.outbox.enqueue(ctx, Email{To: u.Email, Subject: "Reset your " + s.cfg.AppName + " password",
		Text: s.emailText("reset the password of your "+s.cfg.AppName+" account", s.cfg.ResetPasswordURL, raw, s.cfg.ResetPasswordTTL.String())})
	s.audit(ctx, "password_reset_requested", u.ID, "", "", c, nil)
	return nil
}

var errBadActionToken = &tideline.Error{Code: tideline.CodeInvalid, Message: "The link is invalid, used or expired; ask for a new one.",
	Fields: map[string]string{"token": "is invalid, used or expired"}}

// ResetPassword sets a new password with a token from a reset email. The token works once,
// and the user's other reset tokens stop working. Every session of the user is revoked,
// and the email counts as verified (the user proved they read it).
func (s *Service) ResetPassword(ctx context.Context, token, password string, c Client) error {
	if err := checkPassword(password, "", s.cfg.MinPasswordLength); err != nil {
		return err // before spending the token, so a weak password does not waste it
	}
	t, err := s.useActionToken(ctx, token, ActionResetPassword)
	if err != nil {
		return err
	}
	if err := checkPassword(password, t.Email, s.cfg.MinPasswordLength); err != nil {
		return err
	}
	hash, err := s.hasher.Hash(ctx, password)
	if err != nil {
		return err
	}
	u, err := s.updateUser(ctx, t.UserID, func(u *User) error {
		u.PasswordHash = hash
		if u.Email == t.Email {
			u.EmailVerified = true
		}
		return nil
	})
	if err != nil {
		return err
	}
	if err := s.passwordChanged(ctx, u.ID, ""); err != nil {
		return err
	}
	s.audit(ctx, "password_reset", u.ID, "", "", c, nil)
	return nil
}

// VerifyEmail marks the email of a verification token as verified. The token works once;
// if the account's email changed since it was sent, nothing is verified.
func (s *Service) VerifyEmail(ctx context.Context, token string, c Client) error {
	t, err := s.useActionToken(ctx, token, ActionVerifyEmail)
	if err != nil {
		return err
	}
	u, err := s.updateUser(ctx, t.UserID, func(u *User) error {
		if u.Email != t.Email {
			return errBadActionToken
		}
		u.EmailVerified = true
		return nil
	})
	if err != nil {
		return err
	}
	s.audit(ctx, "email_verified", u.ID, "", "", c, nil)
	return nil
}

// useActionToken spends the emailed token raw of kind; a malformed, unknown, used or
// expired token is errBadActionToken.
func (s *Service) useActionToken(ctx context.Context, raw, kind string) (ActionToken, error) {
	if !wellFormed(raw, actionPrefix) {
		return ActionToken{}, errBadActionToken
	}
	t, err := s.store.UseActionToken(ctx, hashToken(raw), kind, s.clock.Now())
	if tideline.ErrorCode(err) == tideline.CodeNotFound {
		return t, errBadActionToken
	}
	return t, err
}

// updateUser applies change to the stored user and writes it, retrying when another
// writer changed the user meanwhile.
func (s *Service) updateUser(ctx context.Context, id string, change func(*User) error) (User, error) {
	for attempt := 0; ; attempt++ {
		u, err := s.store.FindUserByID(ctx, id)
		if err != nil {
			return u, err
		}
		if err := change(&u); err != nil {
			return u, err
		}
		u.UpdatedAt = s.clock.Now()
		updated, err := s.store.UpdateUser(ctx, u)
		if tideline.ErrorCode(err) == tideline.CodeConflict && attempt < 5 {
			if cur, ferr := s.store.FindUserByID(ctx, id); ferr == nil && cur.Version != u.Version {
				continue // a concurrent update: apply the change to the new version
			}
		}
		return updated, err
	}
}
