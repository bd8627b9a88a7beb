package tideline

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"time"

	"github.com/tideline-dev/tideline/sdk/go/internal/api"
)

// Receipt is the server's answer to one local write. Status is applied, merged (newer
// writes won some fields, or server-wins kept the server's), rejected (Code and Message
// say why; nothing changed) or conflict (optimistic policy: the write was based on an old
// version; nothing changed). Doc is the server's document for merged and conflict.
// Local is true for a rejection the client made itself (a mutation too large to push
// even alone: Code too_large), which never reached the server.
type Receipt struct {
	MutationID int64
	Collection string
	DocID      string
	Status     string
	Code       string
	Message    string
	Field      string
	Doc        map[string]any
	Deleted    bool
	Duplicate  bool
	HLCClamped bool
	Local      bool
	// Attachment is set on the receipt of an upload refused for good (too large, over
	// the quota, forbidden, a wrong hash): the local id of the attachment, whose field
	// now holds a failed reference (docs/sdk-core.md "Attachments"). MutationID is 0.
	Attachment string
}

// ServerError is an answer of the server that is not a success (docs/sdk-core.md "Errors"
// says what the client does with each). RetryAfter is the server's Retry-After, if any.
type ServerError struct {
	Status     int
	Code       string
	Body       string
	RetryAfter time.Duration
}

func (e *ServerError) Error() string {
	return fmt.Sprintf("tideline: the server answered %d %s: %s", e.Status, e.Code, e.Body)
}

// Unwrap makes a 403 (the client id belongs to another user) an ErrOtherUser.
func (e *ServerError) Unwrap() error {
	if e.Status == http.StatusForbidden {
		return ErrOtherUser
	}
	return nil
}

// serverError reads a problem answer.
func serverError(res *http.Response, body []byte) error {
	var p struct{ Code string }
	json.Unmarshal(body, &p)
	e := &ServerError{Status: res.StatusCode, Code: p.Code, Body: string(body)}
	if ra := res.Header.Get("Retry-After"); ra != "" {
		if s, err := strconv.Atoi(ra); err == nil && s >= 0 {
			e.RetryAfter = time.Duration(s) * time.Second
		} else if t, err := http.ParseTime(ra); err == nil {
			e.RetryAfter = max(0, t.Sub(time.Now()))
		}
	}
	return e
}

// errInvalidCursor is what a pull answers when the stored cursor is no longer valid (400
// invalid_cursor, or 410): the pull starts over (pending writes are kept and rebased).
var errInvalidCursor = errors.New("tideline: invalid cursor")

// errTooLarge is a 413 to a push: the batch is split.
var errTooLarge = errors.New("tideline: push too large")

// Sync pushes the outbox and pulls until the local cache is caught up. It returns the
// first error (a network error, a ServerError, ErrSignedOut, ErrOtherUser); what was
// done before it is kept, and the next Sync continues.
func (c *Client) Sync(ctx context.Context) error {
	c.syncMu.Lock()
	defer c.syncMu.Unlock()
	err := c.push(ctx)
	if err == nil {
		err = c.pull(ctx)
	}
	return c.finish(ctx, err, true)
}

// Push sends the outbox without pulling.
func (c *Client) Push(ctx context.Context) error {
	c.syncMu.Lock()
	defer c.syncMu.Unlock()
	return c.finish(ctx, c.push(ctx), false)
}

// Pull pulls until caught up without pushing: pending writes stay in the outbox and are
// rebased on what arrives.
func (c *Client) Pull(ctx context.Context) error {
	c.syncMu.Lock()
	defer c.syncMu.Unlock()
	return c.finish(ctx, c.pull(ctx), false)
}

// finish records a sync's outcome in the status.
func (c *Client) finish(ctx context.Context, err error, whole bool) error {
	if rerr := c.refreshStatus(ctx); rerr != nil && err == nil {
		err = rerr
	}
	c.setStatus(func(s *Status) {
		s.Online = err == nil || !isNetwork(err)
		s.LastError = err
		s.Uploading, s.Downloading = false, false
		if err == nil && whole {
			s.LastSynced = c.opts.Now()
		}
	})
	return err
}

func isNetwork(err error) bool {
	var se *ServerError
	return !errors.As(err, &se) && !errors.Is(err, ErrSignedOut)
}

// call sends a request with the access token, refreshing it once after a 401, and maps
// the answers that are not 200 to errors (docs/sdk-core.md "Errors").
func (c *Client) call(ctx context.Context, send func(token string) (*http.Response, []byte, error)) ([]byte, error) {
	token, err := c.token(ctx)
	if err != nil {
		return nil, err
	}
	for attempt := 0; ; attempt++ {
		res, body, err := send(token)
		if err != nil {
			return nil, err
		}
		switch {
		case res.StatusCode == http.StatusOK:
			return body, nil
		case res.StatusCode == http.StatusUnauthorized && attempt == 0:
			if token, err = c.refresh(ctx, token); err != nil {
				return nil, err
			}
			continue
		case res.StatusCode == http.StatusUnauthorized:
			return nil, c.signedOut(ctx)
		case res.StatusCode == http.StatusRequestEntityTooLarge:
			return nil, errTooLarge
		case res.StatusCode == http.StatusGone:
			return nil, errInvalidCursor
		}
		se := serverError(res, body)
		if res.StatusCode == http.StatusBadRequest && se.(*ServerError).Code == "invalid_cursor" {
			return nil, errInvalidCursor
		}
		return nil, se
	}
}

func bearer(token string) api.RequestEditorFn {
	return func(_ context.Context, r *http.Request) error {
		r.Header.Set("Authorization", "Bearer "+token)
		return nil
	}
}

func decodeJSON(body []byte, v any) error {
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	return dec.Decode(v)
}

func deref[T any](p *T) T {
	var zero T
	if p == nil {
		return zero
	}
	return *p
}
