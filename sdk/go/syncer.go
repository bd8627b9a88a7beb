package tideline

import (
	"context"
	"encoding/json"
	"errors"
	"math/rand/v2"
	"net/http"
	"strings"
	"time"

	"github.com/coder/websocket"
)

// Backoff bounds the waits of the background syncer between failed attempts: exponential
// from Min to Max, with full jitter.
type Backoff struct {
	Min, Max time.Duration
}

func (b Backoff) wait(failures int) time.Duration {
	lo, hi := b.Min, b.Max
	if lo <= 0 {
		lo = 500 * time.Millisecond
	}
	if hi < lo {
		hi = 30 * time.Second
	}
	d := lo << min(failures, 16)
	if d > hi || d <= 0 {
		d = hi
	}
	return d/2 + rand.N(d/2+1)
}

// Start runs the background syncer until ctx ends (docs/sdk-core.md "Realtime loop"): it
// syncs at once, then follows the server's realtime stream (a WebSocket) and syncs at each
// hello and poke, after each local write, and every minute as a safety net; when the
// server cannot be reached it backs off (exponentially, with jitter, and at least the
// server's Retry-After) and resumes when it can. It returns when ctx ends, or with
// ErrSignedOut when the session cannot be refreshed, or ErrOtherUser.
func (c *Client) Start(ctx context.Context, backoff Backoff) error {
	wake := make(chan struct{}, 1)
	poke := func() {
		select {
		case wake <- struct{}{}:
		default:
		}
	}
	stopWrites := c.Subscribe(func(e Event) {
		if e.Local {
			poke() // a local write: push it
		}
	})
	defer stopWrites()
	streamCtx, stopStream := context.WithCancel(ctx)
	defer stopStream()
	go c.follow(streamCtx, backoff, poke)

	failures := 0
	for {
		err := c.Sync(ctx)
		if errors.Is(err, ErrSignedOut) || errors.Is(err, ErrOtherUser) {
			return err
		}
		var next time.Duration
		if err != nil && ctx.Err() == nil {
			failures++
			next = backoff.wait(failures)
			var se *ServerError
			if errors.As(err, &se) {
				next = max(next, se.RetryAfter)
			}
		} else {
			failures = 0
			next = time.Minute
		}
		select {
		case <-ctx.Done():
			return nil
		case <-wake:
		case <-time.After(next):
		}
	}
}

// follow keeps the realtime stream open and pokes the syncer at every hello and poke.
func (c *Client) follow(ctx context.Context, backoff Backoff, poke func()) {
	failures := 0
	for ctx.Err() == nil {
		err := c.stream(ctx, poke, func() { failures = 0 })
		if ctx.Err() != nil {
			return
		}
		if errors.Is(err, ErrSignedOut) || errors.Is(err, ErrOtherUser) {
			return
		}
		failures++
		wait := backoff.wait(failures)
		var se *ServerError
		if errors.As(err, &se) {
			wait = max(wait, se.RetryAfter) // a full node says when to come back
		}
		select {
		case <-ctx.Done():
			return
		case <-time.After(wait):
		}
	}
}

// stream reads one WebSocket connection until it closes; each message goes through
// HandleStreamMessage, with hello and poke answered by a poke of the syncer rather than a
// sync on the reading goroutine.
func (c *Client) stream(ctx context.Context, poke, connected func()) error {
	token, err := c.token(ctx)
	if err != nil {
		return err
	}
	url := "ws" + strings.TrimPrefix(c.server, "http") + "/v1/sync/stream"
	dial := func(token string) (*websocket.Conn, *http.Response, error) {
		return websocket.Dial(ctx, url, &websocket.DialOptions{
			HTTPClient: c.opts.HTTPClient,
			HTTPHeader: http.Header{"Authorization": {"Bearer " + token}, "Tideline-Client": {c.clientHeader()}},
		})
	}
	conn, res, err := dial(token)
	if res != nil && res.StatusCode == http.StatusUnauthorized {
		if token, err = c.refresh(ctx, token); err != nil {
			return err
		}
		conn, res, err = dial(token)
	}
	if err != nil {
		if res != nil && res.StatusCode >= 400 {
			return serverError(res, nil)
		}
		return err
	}
	defer conn.CloseNow()
	conn.SetReadLimit(64 << 10)
	connected()
	for {
		_, data, err := conn.Read(ctx)
		if err != nil {
			return err
		}
		reply, err := c.streamMessage(ctx, data, poke)
		if err != nil {
			return err
		}
		if reply != nil {
			if err := conn.Write(ctx, websocket.MessageText, reply); err != nil {
				return err
			}
		}
	}
}

// HandleStreamMessage is the realtime loop's reaction to one message of the server's
// stream (docs/sdk-core.md "Realtime loop"): at hello and poke it syncs (push, then pull
// from the cursor); at expired it refreshes the session and returns the message to send
// back ({"type":"auth","token":...}). Start does this for its own stream; an app that
// runs its own transport, and a conformance runner, call it directly.
func (c *Client) HandleStreamMessage(ctx context.Context, msg []byte) ([]byte, error) {
	var syncErr error
	reply, err := c.streamMessage(ctx, msg, func() { syncErr = c.Sync(ctx) })
	if err == nil {
		err = syncErr
	}
	return reply, err
}

func (c *Client) streamMessage(ctx context.Context, msg []byte, sync func()) (reply []byte, err error) {
	var m struct{ Type string }
	if json.Unmarshal(msg, &m) != nil {
		return nil, nil // not ours: ignored
	}
	switch m.Type {
	case "hello", "poke":
		sync()
	case "expired":
		used, err := c.token(ctx)
		if err != nil {
			return nil, err
		}
		token, err := c.refresh(ctx, used)
		if err != nil {
			return nil, err
		}
		return json.Marshal(map[string]string{"type": "auth", "token": token})
	}
	return nil, nil
}
