package tideline

import (
	"context"
	"errors"
	"sync"

	"github.com/tideline-dev/tideline/sdk/go/internal/api"
)

// Auth gives the client its access token, and a new one when the server says it expired.
type Auth interface {
	// Token returns the current access token.
	Token(ctx context.Context) (string, error)
	// Refresh gets a new access token after a 401; an error ends the sync (the user must
	// sign in again: ErrSignedOut).
	Refresh(ctx context.Context, c *Client) (string, error)
}

// ErrSignedOut is returned when the session ended and cannot be refreshed.
var ErrSignedOut = errors.New("tideline: the session has ended: sign in again")

// Token is an Auth with a fixed access token (tests, short scripts): a 401 is ErrSignedOut.
type Token string

// Token implements Auth.
func (t Token) Token(context.Context) (string, error) { return string(t), nil }

// Refresh implements Auth.
func (t Token) Refresh(context.Context, *Client) (string, error) { return "", ErrSignedOut }

// SessionAuth holds a signed-in session: it refreshes the access token with the refresh
// token (rotating both, as the server does) and tells OnRefresh the new pair, for the app
// to keep them (in the keychain).
type SessionAuth struct {
	mu              sync.Mutex
	access, refresh string
	OnRefresh       func(access, refresh string)
}

// Session returns the Auth of a session from sign-in (its access and refresh tokens).
func Session(access, refresh string) *SessionAuth {
	return &SessionAuth{access: access, refresh: refresh}
}

// Token implements Auth.
func (s *SessionAuth) Token(context.Context) (string, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.access, nil
}

// Refresh implements Auth.
func (s *SessionAuth) Refresh(ctx context.Context, c *Client) (string, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	res, err := c.api.RefreshSessionWithResponse(ctx, api.RefreshRequest{RefreshToken: s.refresh})
	if err != nil {
		return "", err
	}
	if res.JSON200 == nil {
		if code := res.StatusCode(); code == 401 || code == 403 || code == 400 {
			return "", ErrSignedOut
		}
		return "", &ServerError{Status: res.StatusCode(), Body: string(res.Body)}
	}
	s.access, s.refresh = res.JSON200.AccessToken, res.JSON200.RefreshToken
	if s.OnRefresh != nil {
		s.OnRefresh(s.access, s.refresh)
	}
	return s.access, nil
}
