package main

import (
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"net/http"
	"strings"
	"time"

	"github.com/coder/websocket"
)

// runDevice opens the device's stream (if it has one) and pulls at each hello and poke,
// or every poll interval, until ctx ends. With protocol 2 it also applies the stream's
// changes messages, one at a time with its pulls (the order the client core requires).
func (g *loadgen) runDevice(ctx context.Context, d *device, dialSem chan struct{}) {
	d.since = time.Now().UnixNano()
	if d.stream {
		hello := make(chan struct{})
		go g.stream(ctx, d, dialSem, hello)
		select {
		case <-hello:
		case <-ctx.Done():
			return
		}
	} else {
		g.pullAll(ctx, d)
	}
	g.connected.Add(1)
	var tick <-chan time.Time
	if !d.stream {
		// spread the pollers over the interval
		time.Sleep(rand.N(g.cfg.pollEvery))
		t := time.NewTicker(g.cfg.pollEvery)
		defer t.Stop()
		tick = t.C
	}
	for {
		select {
		case <-ctx.Done():
			return
		case <-d.wake:
		case <-tick:
		case msg := <-d.msgs:
			g.applyChanges(d, msg)
			continue
		}
		g.pullAll(ctx, d)
	}
}

// applyChanges applies a protocol 2 changes message as a pulled page: its changes
// (propagation samples) and its cursor.
func (g *loadgen) applyChanges(d *device, msg []byte) {
	var m struct {
		Changes []pulledChange `json:"changes"`
		Cursor  string         `json:"cursor"`
	}
	if json.Unmarshal(msg, &m) != nil || m.Cursor == "" {
		g.fail("stream:changes:malformed")
		return
	}
	now := time.Now()
	g.streamMessages.Add(1)
	g.changes.Add(int64(len(m.Changes)))
	d.cursor = m.Cursor
	g.see(d, m.Changes, now)
}

// withProtocol adds the protocol to a push or pull body (nothing for version 1, whose
// clients send nothing).
func (g *loadgen) withProtocol(body map[string]any) map[string]any {
	if g.cfg.protocol >= 2 {
		body["protocol"] = g.cfg.protocol
	}
	return body
}

// stream keeps the device's WebSocket open, reconnecting after a second when it drops,
// and wakes the puller at every hello and poke. hello is closed at the first hello. The
// stream authenticates when it connects, with the user's current access token (renewed
// and dialled again at once on a 401), and answers "expired" with a renewed token.
func (g *loadgen) stream(ctx context.Context, d *device, dialSem chan struct{}, hello chan struct{}) {
	wsURL := "ws" + strings.TrimPrefix(g.base, "http") + "/v1/sync/stream"
	if g.cfg.protocol >= 2 {
		wsURL += "?protocol=2"
	}
	first, renewed := true, false
	for ctx.Err() == nil {
		tok := d.user.token()
		dialSem <- struct{}{}
		c, resp, err := websocket.Dial(ctx, wsURL, &websocket.DialOptions{
			HTTPClient: g.client, HTTPHeader: http.Header{"Authorization": {"Bearer " + tok}},
		})
		<-dialSem
		if err != nil {
			if ctx.Err() != nil {
				return
			}
			if resp != nil && resp.StatusCode == http.StatusUnauthorized && !renewed {
				renewed = true
				if _, rerr := g.renew(ctx, d.user, tok); rerr == nil {
					g.retriedAfter401.Add(1)
					continue
				}
			}
			kind := "stream:dial"
			if resp != nil {
				kind = fmt.Sprintf("stream:dial:http-%d", resp.StatusCode)
			}
			g.fail(kind)
			sleepCtx(ctx, time.Second)
			continue
		}
		renewed = false
		c.SetReadLimit(1 << 20) // a changes message is at most 256 KiB
		g.streams.Add(1)
		g.readStream(ctx, c, d, tok, func() {
			if first {
				first = false
				close(hello)
			}
		})
		d.streamID.Store(nil) // closed: pulls name no stream until the next hello
		g.streams.Add(-1)
		c.CloseNow()
		if ctx.Err() != nil {
			return
		}
		g.fail("stream:closed")
		sleepCtx(ctx, time.Second)
	}
}

// readStream reads the stream's messages until it fails: a hello or poke wakes the
// device's puller (and calls onWake), an "expired" is answered with a renewed token, and
// (protocol 2) a hello's stream id is kept for the pulls, and a changes message goes to
// the puller (waiting when 64 are queued: the server then falls back to a poke).
func (g *loadgen) readStream(ctx context.Context, c *websocket.Conn, d *device, tok string, onWake func()) {
	for {
		_, msg, err := c.Read(ctx)
		if err != nil {
			return
		}
		var m struct {
			Type   string `json:"type"`
			Stream string `json:"stream"`
		}
		_ = json.Unmarshal(msg, &m)
		if m.Type == "changes" && g.cfg.protocol >= 2 {
			select {
			case d.msgs <- msg:
			case <-ctx.Done():
				return
			}
			continue
		}
		if m.Type == "hello" && m.Stream != "" && g.cfg.protocol >= 2 {
			id := m.Stream
			d.streamID.Store(&id)
		}
		if m.Type == "expired" {
			fresh, err := g.renew(ctx, d.user, tok)
			if err != nil {
				if ctx.Err() == nil { // not the run's end cutting the renewal short
					g.fail("stream:reauth")
				}
				return
			}
			b, _ := json.Marshal(map[string]string{"type": "auth", "token": fresh})
			if err := c.Write(ctx, websocket.MessageText, b); err != nil {
				return
			}
			tok = fresh
			g.streamReauths.Add(1)
			continue
		}
		select {
		case d.wake <- struct{}{}:
		default:
		}
		onWake()
	}
}

type pullResponse struct {
	Cursor  string         `json:"cursor"`
	HasMore bool           `json:"hasMore"`
	Live    bool           `json:"live"`
	Changes []pulledChange `json:"changes"`
}

type pulledChange struct {
	Collection string                     `json:"collection"`
	DocID      string                     `json:"docId"`
	Op         string                     `json:"op"`
	Doc        map[string]json.RawMessage `json:"doc"`
}

// pullAll pulls from the device's cursor until hasMore is false, recording the
// propagation of the writes of other devices it sees: of its own user's, and of other
// users' that were shared with it.
func (g *loadgen) pullAll(ctx context.Context, d *device) {
	for ctx.Err() == nil {
		// A load device keeps no documents: it is fresh (no tombstones in initial syncs).
		body := g.withProtocol(map[string]any{"collections": g.collections, "limit": 500, "fresh": true})
		if d.cursor != "" {
			body["cursor"] = d.cursor
		}
		if id := d.streamID.Load(); id != nil {
			body["stream"] = *id // protocol 2: the pull that completes hands the stream over
		}
		var out pullResponse
		t0 := time.Now()
		status, _, err := g.authPost(ctx, d.user, "/v1/sync/pull", body, &out)
		now := time.Now()
		if ctx.Err() != nil {
			return
		}
		if err != nil || status != http.StatusOK {
			g.fail(kindOf("pull", status, err))
			return
		}
		if g.measuring.Load() {
			g.pull.add(now.Sub(t0))
			g.pulls.Add(1)
		}
		g.changes.Add(int64(len(out.Changes)))
		d.cursor = out.Cursor
		g.see(d, out.Changes, now)
		if !out.HasMore {
			if out.Live {
				g.handovers.Add(1)
			}
			return
		}
	}
}

// see records the propagation of the writes of other devices among changes d received
// at now: of its own user's, and of other users' that were shared with it.
func (g *loadgen) see(d *device, changes []pulledChange, now time.Time) {
	for _, ch := range changes {
		if ch.Op != "upsert" {
			continue
		}
		var w string
		var t int64
		var writer int
		if json.Unmarshal(ch.Doc["lg_w"], &w) != nil || json.Unmarshal(ch.Doc["lg_t"], &t) != nil || json.Unmarshal(ch.Doc["lg_d"], &writer) != nil {
			continue
		}
		key := ch.Collection + "/" + ch.DocID
		if d.seen[key] == w {
			continue
		}
		d.seen[key] = w
		if writer == d.idx || writer < 0 || writer >= len(g.devices) || t < d.since || !g.measuring.Load() {
			continue
		}
		g.propagation(d, g.devices[writer].user != d.user).add(now.Sub(time.Unix(0, t)))
	}
}

// propagation is where a propagation sample seen by d goes.
func (g *loadgen) propagation(d *device, shared bool) *samples {
	switch {
	case shared && d.stream:
		return &g.propSharedStream
	case shared:
		return &g.propSharedPoll
	case d.stream:
		return &g.propStream
	default:
		return &g.propPoll
	}
}
