package tideline

import (
	"context"
	"encoding/json"
	"errors"
	"math/rand/v2"
	"net/http"
	"strings"
	"sync/atomic"
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
// server's Retry-After) and resumes when it can. With protocol 2 it applies the changes
// the stream sends, and while the stream is live a local write is pushed without a pull.
// It returns when ctx ends, or with ErrSignedOut when the session cannot be refreshed, or
// ErrOtherUser.
func (c *Client) Start(ctx context.Context, backoff Backoff) error {
	wake := make(chan struct{}, 1)
	var pullWanted atomic.Bool
	signal := func() {
		select {
		case wake <- struct{}{}:
		default:
		}
	}
	poke := func() { // hello, poke: pull
		pullWanted.Store(true)
		signal()
	}
	uploadWake := make(chan struct{}, 1)
	wakeUploads := func() {
		select {
		case uploadWake <- struct{}{}:
		default:
		}
	}
	stopWrites := c.Subscribe(func(e Event) {
		if e.Local {
			signal() // a local write: push it
		}
		if e.Attachment != "" {
			wakeUploads() // a file attached: upload it
		}
	})
	defer stopWrites()
	streamCtx, stopStream := context.WithCancel(ctx)
	defer stopStream()
	go c.follow(streamCtx, backoff, poke)
	uploading := make(chan struct{})
	defer func() { stopStream(); <-uploading }() // Start returns once the upload worker has stopped
	go func() {
		defer close(uploading)
		c.uploads(streamCtx, backoff, uploadWake)
	}()

	failures := 0
	pull := true
	for {
		var err error
		if wanted := pullWanted.Swap(false); pull || wanted || !c.Live() {
			err = c.Sync(ctx)
		} else {
			err = c.Push(ctx) // the stream is live: it brings what others write
		}
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
			wakeUploads() // the server is reachable: uploads waiting for it go on
		}
		pull = false
		select {
		case <-ctx.Done():
			return nil
		case <-wake:
		case <-time.After(next):
			pull = true // the safety net, or the wait after a failure: a whole sync
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
	if c.opts.Protocol >= 2 {
		url += "?protocol=2"
	}
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
	defer c.streamClosed()
	conn.SetReadLimit(1 << 20) // a changes message is at most 256 KiB
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
// from the cursor, naming the stream with protocol 2); at changes (protocol 2) it applies
// the message as a pulled page; at expired it refreshes the session and returns the
// message to send back ({"type":"auth","token":...}). Start does this for its own stream;
// an app that runs its own transport, and a conformance runner, call it directly (and
// StreamClosed when the transport closes).
func (c *Client) HandleStreamMessage(ctx context.Context, msg []byte) ([]byte, error) {
	var syncErr error
	reply, err := c.streamMessage(ctx, msg, func() { syncErr = c.Sync(ctx) })
	if err == nil {
		err = syncErr
	}
	return reply, err
}

func (c *Client) streamMessage(ctx context.Context, msg []byte, sync func()) (reply []byte, err error) {
	var m struct{ Type, Stream string }
	if json.Unmarshal(msg, &m) != nil {
		return nil, nil // not ours: ignored
	}
	switch m.Type {
	case "hello":
		c.setStream(m.Stream, false)
		sync()
	case "poke":
		c.setStream(c.streamName(), false) // it fell behind: pull, naming it, to hand it over again
		sync()
	case "changes":
		if c.opts.Protocol >= 2 {
			return nil, c.applyStreamPage(ctx, msg)
		}
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

// protocol is what push and pull bodies say of the protocol: nothing for 1, as version 1
// clients always sent.
func (c *Client) protocol() *int {
	if c.opts.Protocol < 2 {
		return nil
	}
	v := c.opts.Protocol
	return &v
}

// streamName is the open stream's id a pull names (protocol 2), or "".
func (c *Client) streamName() string {
	c.streamMu.Lock()
	defer c.streamMu.Unlock()
	return c.streamID
}

// setStream records the open stream's id (from its hello; "" for none) and whether it is
// live, and tells the app when that changes.
func (c *Client) setStream(id string, live bool) {
	if c.opts.Protocol < 2 {
		id, live = "", false
	}
	c.streamMu.Lock()
	changed := c.streamID != id || c.live != live
	c.streamID, c.live = id, live
	c.streamMu.Unlock()
	if changed {
		c.setStatus(func(s *Status) { s.Live = live })
	}
}

// handedOver records a completed pull's answer: the stream it named is live when the
// server said so, and still the open one.
func (c *Client) handedOver(stream string, live bool) {
	if stream != "" && stream == c.streamName() {
		c.setStream(stream, live)
	}
}

// StreamClosed tells the client that its stream closed (an app that runs its own
// transport calls it): it pulls again until a new stream is handed over.
func (c *Client) StreamClosed() { c.setStream("", false) }

func (c *Client) streamClosed() { c.StreamClosed() }

// Live reports whether the realtime stream is live: it took over from the last completed
// pull (protocol 2) and sends the changes itself, so the client need not pull.
func (c *Client) Live() bool {
	c.streamMu.Lock()
	defer c.streamMu.Unlock()
	return c.live
}

// applyStreamPage applies a changes message as a page: its changes and cursor, in one
// transaction, one at a time with syncs (so it comes after the pull it continues).
func (c *Client) applyStreamPage(ctx context.Context, msg []byte) error {
	var m struct {
		Changes []pageChange `json:"changes"`
		Cursor  string       `json:"cursor"`
	}
	if err := json.Unmarshal(msg, &m); err != nil {
		return err
	}
	page := pullPage{Changes: m.Changes} // a stream page has changes and a cursor, nothing else
	page.Cursor = m.Cursor
	c.syncMu.Lock()
	defer c.syncMu.Unlock()
	if !c.Live() {
		// It continues from a hand-over this client has not applied (a pull that failed,
		// or none yet): ignored; the next pull brings what it holds.
		return nil
	}
	changed, err := c.applyPage(ctx, page, true)
	if err != nil {
		return err
	}
	if len(changed) > 0 {
		c.emit(Event{Changed: changed})
	}
	return nil
}
