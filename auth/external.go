package auth

import (
	"context"
	"io"
	"regexp"

	"github.com/tideline-dev/tideline"
)

// ExternalIdentity is what an external identity provider vouches for in an ID token.
type ExternalIdentity struct {
	// Subject is the provider's stable id of the account.
	Subject       string
	Email         string
	EmailVerified bool
}

// ExternalVerifier checks ID tokens of one external identity provider (an OIDC issuer,
// Firebase Auth). Verify fails with unauthenticated for a token it does not accept.
// Verifiers that hold resources also implement io.Closer; Service.Close closes them.
type ExternalVerifier interface {
	Verify(ctx context.Context, token string) (ExternalIdentity, error)
}

// ProviderName is the form of provider names: "firebase" or "oidc:<name>".
var ProviderName = regexp.MustCompile(`^(firebase|oidc:[a-z0-9][a-z0-9-]{0,31})$`)

func (s *Service) verifier(provider string) (ExternalVerifier, error) {
	v, ok := s.cfg.Providers[provider]
	if !ok {
		return nil, &tideline.Error{Code: tideline.CodeInvalid, Message: "Unknown identity provider " + quote(provider) + ".",
			Fields: map[string]string{"provider": "is not a configured provider"}}
	}
	return v, nil
}

func quote(s string) string { return `"` + clip(s, 40) + `"` }

// ExchangeToken signs in with an external provider's ID token (bring-your-own-auth, or a
// Firebase ID token when moving from Firebase). The identity (provider, subject) gets a
// stable Tideline user: the first exchange creates one, later ones sign in to it. A new
// user takes the token's email only when the provider verified it and no other account
// has it: an identity is never joined to an existing account by email (that is
// LinkIdentity, by a signed-in user). created reports a new user. Rate limited like
// refresh.
func (s *Service) ExchangeToken(ctx context.Context, provider, token string, c Client) (res Result, created bool, err error) {
	if err := s.limits.refresh.take(ctx, "ip:"+c.IP, "token exchanges from this address"); err != nil {
		return Result{}, false, err
	}
	v, err := s.verifier(provider)
	if err != nil {
		return Result{}, false, err
	}
	id, err := v.Verify(ctx, token)
	if err != nil {
		return Result{}, false, err
	}
	link, err := s.store.FindIdentity(ctx, provider, id.Subject)
	switch tideline.ErrorCode(err) {
	case "":
	case tideline.CodeNotFound:
		if link, err = s.createExternalUser(ctx, provider, id, c); err != nil {
			return Result{}, false, err
		}
		created = true
	default:
		return Result{}, false, err
	}
	u, err := s.activeUser(ctx, link.UserID)
	if err != nil {
		return Result{}, false, err
	}
	if res, err = s.startSession(ctx, u, c); err != nil {
		return Result{}, false, err
	}
	s.audit(ctx, "login", u.ID, res.Tokens.SessionID, "", c, map[string]string{"provider": provider})
	return res, created, nil
}

// createExternalUser makes the user of a first sign-in with an external identity and links
// the identity. When another exchange of the same identity wins the race, its link is used
// and this user is removed.
func (s *Service) createExternalUser(ctx context.Context, provider string, id ExternalIdentity, c Client) (Identity, error) {
	now := s.clock.Now()
	u := User{ID: tideline.NewID(), CreatedAt: now, UpdatedAt: now, Version: 1}
	if email, err := NormalizeEmail(id.Email); err == nil && id.EmailVerified {
		u.Email, u.EmailVerified = email, true
	}
	err := s.store.CreateUser(ctx, u)
	if tideline.ErrorCode(err) == tideline.CodeConflict && u.Email != "" {
		u.Email, u.EmailVerified = "", false // the email has an account: not ours to take
		err = s.store.CreateUser(ctx, u)
	}
	if err != nil {
		return Identity{}, err
	}
	link := Identity{Provider: provider, Subject: id.Subject, UserID: u.ID, Email: id.Email, CreatedAt: now}
	if err := s.store.CreateIdentity(ctx, link); err != nil {
		_ = s.store.DeleteUser(context.WithoutCancel(ctx), u.ID)
		if tideline.ErrorCode(err) == tideline.CodeConflict {
			return s.store.FindIdentity(ctx, provider, id.Subject)
		}
		return Identity{}, err
	}
	s.audit(ctx, "signup", u.ID, "", "", c, map[string]string{"provider": provider})
	return link, nil
}

// LinkIdentity links an external identity to the caller's account, so that it signs in
// to this account from now on. An anonymous caller becomes a permanent account (keeping
// its id), with the token's email when verified and free. Conflict when the identity is
// linked to another account; linking it again to the same account succeeds.
func (s *Service) LinkIdentity(ctx context.Context, p Principal, provider, token string, c Client) (Identity, error) {
	v, err := s.verifier(provider)
	if err != nil {
		return Identity{}, err
	}
	id, err := v.Verify(ctx, token)
	if err != nil {
		return Identity{}, err
	}
	u, err := s.activeUser(ctx, p.UserID)
	if err != nil {
		return Identity{}, err
	}
	link := Identity{Provider: provider, Subject: id.Subject, UserID: u.ID, Email: id.Email, CreatedAt: s.clock.Now()}
	if err := s.store.CreateIdentity(ctx, link); err != nil {
		if tideline.ErrorCode(err) != tideline.CodeConflict {
			return Identity{}, err
		}
		existing, ferr := s.store.FindIdentity(ctx, provider, id.Subject)
		if ferr == nil && existing.UserID == u.ID {
			return existing, nil
		}
		return Identity{}, tideline.Errorf(tideline.CodeConflict, "This identity is linked to another account.")
	}
	if u.Anonymous {
		_, err := s.updateUser(ctx, u.ID, func(u *User) error {
			u.Anonymous = false
			if email, err := NormalizeEmail(id.Email); err == nil && id.EmailVerified && u.Email == "" {
				if _, ferr := s.store.FindUserByEmail(ctx, email); tideline.ErrorCode(ferr) == tideline.CodeNotFound {
					u.Email, u.EmailVerified = email, true
				}
			}
			return nil
		})
		if err != nil {
			return Identity{}, err
		}
		s.sessions.forgetUser(u.ID)
	}
	s.audit(ctx, "link", u.ID, p.SessionID, "", c, map[string]string{"provider": provider})
	return link, nil
}

// closeVerifiers closes the verifiers that hold resources.
func (s *Service) closeVerifiers() {
	for _, v := range s.cfg.Providers {
		if c, ok := v.(io.Closer); ok {
			_ = c.Close()
		}
	}
}
