package main

import (
	"context"
	"errors"
	"net/http"
	"sync"
	"time"
)

// user is one signed-up account: its devices share its session.
//
// The session's access token is renewed before it expires by keepFresh, and on a 401 by
// renew. The refresh token rotates at every refresh and presenting a spent one again
// (after the server's short grace for a lost response) revokes the whole session, so
// refreshes of one user are serialized by refreshMu and each uses the token the previous
// one returned.
type user struct {
	idx    int
	email  string
	id     string // the user id; its bucket is "user:" + id
	bucket string

	refreshMu sync.Mutex // held for a whole refresh: one at a time per user

	mu      sync.Mutex // guards the fields below; never held across a request
	access  string
	refresh string
	renewAt time.Time // refresh proactively from then on (two thirds of the token's lifetime)
	ended   bool      // the session is gone (refresh refused with 401): no more refreshes
}

// authResponse is the part of a sign-up or refresh response the load generator uses.
type authResponse struct {
	User struct {
		ID string `json:"id"`
	} `json:"user"`
	AccessToken  string `json:"accessToken"`
	RefreshToken string `json:"refreshToken"`
	ExpiresIn    int64  `json:"expiresIn"` // seconds
}

// setTokens stores a sign-up's or refresh's tokens; sent is when that request was sent
// (the token's lifetime runs from about then, by the server's clock).
func (u *user) setTokens(r authResponse, sent time.Time) {
	life := time.Duration(max(r.ExpiresIn, 1)) * time.Second
	u.mu.Lock()
	u.access, u.refresh, u.renewAt = r.AccessToken, r.RefreshToken, sent.Add(life*2/3)
	u.mu.Unlock()
}

// token is the current access token.
func (u *user) token() string {
	u.mu.Lock()
	defer u.mu.Unlock()
	return u.access
}

func (u *user) renewTime() time.Time {
	u.mu.Lock()
	defer u.mu.Unlock()
	return u.renewAt
}

var errSessionEnded = errors.New("the session has ended (its refresh was refused)")

// renew returns an access token other than stale (the one a request was refused with, or
// the one a stream was told has expired): the current one when another device of the
// user has refreshed since, otherwise a new one from a refresh.
func (g *loadgen) renew(ctx context.Context, u *user, stale string) (string, error) {
	u.refreshMu.Lock()
	defer u.refreshMu.Unlock()
	if cur := u.token(); cur != stale && time.Now().Before(u.renewTime()) {
		return cur, nil
	}
	if err := g.refreshSession(ctx, u); err != nil {
		return "", err
	}
	g.refreshesOnDemand.Add(1)
	return u.token(), nil
}

// keepFresh refreshes u's session when two thirds of its access token's lifetime have
// passed, until ctx ends or the session does.
func (g *loadgen) keepFresh(ctx context.Context, u *user) {
	for {
		if !sleepCtx(ctx, time.Until(u.renewTime())) {
			return
		}
		u.refreshMu.Lock()
		var err error
		if !time.Now().Before(u.renewTime()) { // not refreshed by renew meanwhile
			err = g.refreshSession(ctx, u)
		}
		u.refreshMu.Unlock()
		if errors.Is(err, errSessionEnded) {
			return
		}
		if err != nil && !sleepCtx(ctx, time.Second) {
			return
		}
	}
}

// refreshGrace is how long after a refresh whose answer was lost the load generator
// presents the same refresh token again. The server gives such a retry the same successor
// within auth.refreshReuseGrace (10 s by default); later it revokes the session.
const refreshGrace = 8 * time.Second

// refreshSession exchanges u's refresh token for new tokens; the caller holds
// u.refreshMu. A 429 is waited out (the token was not spent). A lost answer (network
// error, 5xx) may have spent the token, so it is presented again only within
// refreshGrace; past that, and at a 401, the session is given up for lost.
func (g *loadgen) refreshSession(ctx context.Context, u *user) error {
	u.mu.Lock()
	ended, refresh := u.ended, u.refresh
	u.mu.Unlock()
	if ended {
		return errSessionEnded
	}
	var maybeSpent time.Time // when an answer was first lost
	for {
		if !maybeSpent.IsZero() && time.Since(maybeSpent) > refreshGrace {
			return g.endSession(u, "refresh:gave-up")
		}
		sent := time.Now()
		var out authResponse
		status, _, err := g.post(ctx, "/v1/auth/refresh", "", map[string]string{"refreshToken": refresh}, &out)
		switch {
		case ctx.Err() != nil:
			return ctx.Err()
		case err == nil && status == http.StatusOK && out.AccessToken != "" && out.RefreshToken != "":
			u.setTokens(out, sent)
			g.refreshes.Add(1)
			return nil
		case err == nil && status == http.StatusTooManyRequests:
			g.fail("refresh:http-429") // the server's auth.limits.refresh: see --help
			if !sleepCtx(ctx, time.Duration(min(max(g.retryAfterSec.Load(), 1), 30))*time.Second) {
				return ctx.Err()
			}
		case err == nil && status == http.StatusUnauthorized:
			return g.endSession(u, "refresh:http-401")
		default:
			g.fail(kindOf("refresh", status, err))
			if maybeSpent.IsZero() {
				maybeSpent = sent
			}
			if !sleepCtx(ctx, 500*time.Millisecond) {
				return ctx.Err()
			}
		}
	}
}

// endSession marks u's session as lost: its devices keep failing with 401s, counted in
// the report, rather than reusing a refresh token and getting the session revoked.
func (g *loadgen) endSession(u *user, kind string) error {
	g.fail(kind)
	u.mu.Lock()
	u.ended = true
	u.mu.Unlock()
	return errSessionEnded
}

// authPost is post with u's access token; at a 401 it renews the token (once for all of
// the user's devices) and sends the request once more.
func (g *loadgen) authPost(ctx context.Context, u *user, path string, body, out any) (int, []byte, error) {
	tok := u.token()
	status, raw, err := g.post(ctx, path, tok, body, out)
	if err != nil || status != http.StatusUnauthorized {
		return status, raw, err
	}
	fresh, rerr := g.renew(ctx, u, tok)
	if rerr != nil {
		return status, raw, err // the 401 stands
	}
	g.retriedAfter401.Add(1)
	return g.post(ctx, path, fresh, body, out)
}
