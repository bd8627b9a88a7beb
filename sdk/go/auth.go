package tideline

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/tideline-dev/tideline/sdk/core"
	"github.com/tideline-dev/tideline/sdk/go/internal/api"
)

// Auth is a session handed to Open: Token or Session. The client keeps it in the cache
// (tl_meta), refreshes it there, and binds the cache to its user.
type Auth interface {
	session() sessionSeed
}

type sessionSeed struct {
	userID, access, refresh string
	onRefresh               func(access, refresh string)
}

// ErrSignedOut is returned when the cache holds no session, or the session ended and
// could not be refreshed: sign in again. Local reads and writes go on; the outbox is kept.
var ErrSignedOut = errors.New("tideline: the session has ended: sign in again")

// Token is an Auth with a fixed access token (tests, short scripts): a 401 is
// ErrSignedOut. Its user is the token's sub claim, when it is a JWT.
type Token string

func (t Token) session() sessionSeed {
	return sessionSeed{userID: subject(string(t)), access: string(t)}
}

// SessionAuth is a signed-in session: the client refreshes its access token with the
// refresh token (rotating both, as the server does) and tells OnRefresh the new pair.
type SessionAuth struct {
	UserID       string // the user (Session reads it from the access token's sub claim)
	AccessToken  string
	RefreshToken string
	OnRefresh    func(access, refresh string)
}

// Session returns the Auth of a session from sign-in (its access and refresh tokens).
func Session(access, refresh string) *SessionAuth {
	return &SessionAuth{UserID: subject(access), AccessToken: access, RefreshToken: refresh}
}

func (s *SessionAuth) session() sessionSeed {
	return sessionSeed{userID: s.UserID, access: s.AccessToken, refresh: s.RefreshToken, onRefresh: s.OnRefresh}
}

// subject is a JWT's sub claim, read without verifying it (the server verifies tokens;
// the client only needs to know whose cache this is). "" when it is not a JWT.
func subject(token string) string {
	parts := strings.Split(token, ".")
	if len(parts) != 3 {
		return ""
	}
	b, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		return ""
	}
	var claims struct{ Sub string }
	if json.Unmarshal(b, &claims) != nil {
		return ""
	}
	return claims.Sub
}

// bindSession stores a session in the cache, binding the cache to its user (procedure
// "bind session"): a cache bound to another user is refused, or cleared when clear.
func (c *Client) bindSession(ctx context.Context, s sessionSeed, clear bool) error {
	var cleared bool
	err := c.inTx(ctx, func(tx *stmtTx) error {
		owner, err := getMeta(ctx, tx, "user_id")
		if err != nil {
			return err
		}
		if s.userID != "" && owner != "" && owner != s.userID {
			if !clear {
				return fmt.Errorf("%w (%s, not %s): sign out with clearLocal, or open with ClearOtherUser", ErrOtherUser, owner, s.userID)
			}
			if err := c.clearTx(ctx, tx); err != nil {
				return err
			}
			cleared = true
		}
		if s.userID != "" {
			if err := setMeta(ctx, tx, "user_id", s.userID); err != nil {
				return err
			}
		}
		if err := setMeta(ctx, tx, "access_token", s.access); err != nil {
			return err
		}
		return setMeta(ctx, tx, "refresh_token", s.refresh)
	})
	if err != nil {
		return err
	}
	if cleared {
		if err := c.sweepFiles(ctx); err != nil {
			return err
		}
		c.emit(Event{Changed: []string{"*"}})
	}
	return c.refreshStatus(ctx)
}

// token is the access token kept in the cache (ErrSignedOut when there is none).
func (c *Client) token(ctx context.Context) (string, error) {
	t, err := c.meta(ctx, "access_token")
	if err == nil && t == "" {
		err = ErrSignedOut
	}
	return t, err
}

// refresh replaces the session's tokens after the access token used was refused. When
// another process on the cache refreshed meanwhile (the kept token is not the one used),
// it takes that one. A refresh the server refuses (400, 401, 403) ends the session: the
// tokens are removed, the outbox and the documents stay (ErrSignedOut).
func (c *Client) refresh(ctx context.Context, used string) (string, error) {
	c.authMu.Lock()
	defer c.authMu.Unlock()
	access, err := c.token(ctx)
	if err != nil || access != used {
		return access, err
	}
	rt, err := c.meta(ctx, "refresh_token")
	if err != nil {
		return "", err
	}
	if rt == "" {
		return "", c.signedOut(ctx)
	}
	res, err := c.api.RefreshSessionWithResponse(ctx, api.RefreshRequest{RefreshToken: rt})
	if err != nil {
		return "", err
	}
	if res.JSON200 == nil {
		switch code := res.StatusCode(); code {
		case http.StatusBadRequest, http.StatusUnauthorized, http.StatusForbidden:
			return "", c.signedOut(ctx)
		default:
			return "", serverError(res.HTTPResponse, res.Body)
		}
	}
	if err := c.storeTokens(ctx, res.JSON200); err != nil {
		return "", err
	}
	return res.JSON200.AccessToken, nil
}

// storeTokens keeps a new session of the cache's user.
func (c *Client) storeTokens(ctx context.Context, r *api.AuthResponse) error {
	s := sessionSeed{userID: r.User.Id, access: r.AccessToken, refresh: r.RefreshToken}
	if err := c.bindSession(ctx, s, false); err != nil {
		return err
	}
	if c.onRefresh != nil {
		c.onRefresh(r.AccessToken, r.RefreshToken)
	}
	return nil
}

// signedOut removes the session's tokens (the user binding, documents and outbox stay)
// and returns ErrSignedOut.
func (c *Client) signedOut(ctx context.Context) error {
	err := c.inTx(ctx, func(tx *stmtTx) error {
		if err := setMeta(ctx, tx, "access_token", ""); err != nil {
			return err
		}
		return setMeta(ctx, tx, "refresh_token", "")
	})
	if err != nil {
		return err
	}
	if err := c.refreshStatus(ctx); err != nil {
		return err
	}
	c.setStatus(func(*Status) {})
	return ErrSignedOut
}

// SignUp creates an account with email and password and signs it in; the session is
// kept in the cache. A cache bound to another user fails with ErrOtherUser.
func (c *Client) SignUp(ctx context.Context, email, password string) error {
	res, err := c.api.SignUpWithResponse(ctx, api.Credentials{Email: email, Password: password})
	if err != nil {
		return err
	}
	return c.signedIn(ctx, res.JSON201, res.HTTPResponse, res.Body)
}

// SignIn signs in with email and password; the session is kept in the cache.
func (c *Client) SignIn(ctx context.Context, email, password string) error {
	res, err := c.api.LoginWithResponse(ctx, api.Credentials{Email: email, Password: password})
	if err != nil {
		return err
	}
	return c.signedIn(ctx, res.JSON200, res.HTTPResponse, res.Body)
}

// SignInAnonymously signs in as a new anonymous user; the session is kept in the cache.
func (c *Client) SignInAnonymously(ctx context.Context) error {
	res, err := c.api.SignInAnonymouslyWithResponse(ctx, api.AnonymousRequest{})
	if err != nil {
		return err
	}
	return c.signedIn(ctx, res.JSON201, res.HTTPResponse, res.Body)
}

func (c *Client) signedIn(ctx context.Context, r *api.AuthResponse, res *http.Response, body []byte) error {
	if r == nil {
		return serverError(res, body)
	}
	s := sessionSeed{userID: r.User.Id, access: r.AccessToken, refresh: r.RefreshToken}
	if err := c.bindSession(ctx, s, false); err != nil {
		return err
	}
	c.setStatus(func(*Status) {})
	return nil
}

// SignOut ends the session: it tells the server (best effort: offline, the session stays
// valid there until it expires) and removes the tokens from the cache. With clearLocal the
// cache is cleared as well (Clear); without, the documents and unsent writes stay, for
// the same user's next sign-in (another user's is refused: ErrOtherUser).
func (c *Client) SignOut(ctx context.Context, clearLocal bool) error {
	c.syncMu.Lock()
	defer c.syncMu.Unlock()
	if token, err := c.token(ctx); err == nil {
		if res, err := c.api.LogoutWithResponse(ctx, bearer(token)); err == nil {
			res.HTTPResponse.Body.Close()
		}
	}
	if clearLocal {
		if err := c.clear(ctx); err != nil {
			return err
		}
	}
	if err := c.signedOut(ctx); !errors.Is(err, ErrSignedOut) {
		return err
	}
	return nil
}

// Clear empties the cache: documents, unsent writes, cursor, session and user binding;
// the install gets a new client id (the server binds one to its first user).
func (c *Client) Clear(ctx context.Context) error {
	c.syncMu.Lock()
	defer c.syncMu.Unlock()
	return c.clear(ctx)
}

func (c *Client) clear(ctx context.Context) error {
	if err := c.inTx(ctx, func(tx *stmtTx) error { return c.clearTx(ctx, tx) }); err != nil {
		return err
	}
	if err := c.sweepFiles(ctx); err != nil { // the files of the rows clear deleted
		return err
	}
	if err := c.refreshStatus(ctx); err != nil {
		return err
	}
	c.emit(Event{Changed: []string{"*"}})
	c.setStatus(func(s *Status) { s.LastSynced, s.Initial = time.Time{}, Progress{} })
	return nil
}

// clearTx is the procedure "clear", inside the caller's transaction.
func (c *Client) clearTx(ctx context.Context, tx execer) error {
	for _, s := range []string{"clear_outbox", "clear_server", "clear_view", "clear_meta", "clear_attachments", "clear_files", "clear_downloads"} {
		if _, err := tx.ExecContext(ctx, core.Statement(s)); err != nil {
			return err
		}
	}
	return c.newClientID(ctx, tx)
}
