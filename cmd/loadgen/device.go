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
// or every poll interval, until ctx ends.
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
		}
		g.pullAll(ctx, d)
	}
}

// stream keeps the device's WebSocket open, reconnecting after a second when it drops,
// and wakes the puller at every hello and poke. hello is closed at the first hello. The
// stream authenticates when it connects, with the user's current access token (renewed
// and dialled again at once on a 401), and answers "expired" with a renewed token.
func (g *loadgen) stream(ctx context.Context, d *device, dialSem chan struct{}, hello chan struct{}) {
	wsURL := "ws" + strings.TrimPrefix(g.base, "http") + "/v1/sync/stream"
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
		c.SetReadLimit(1 << 14)
		g.streams.Add(1)
		g.readStream(ctx, c, d, tok, func() {
			if first {
				first = false
				close(hello)
			}
		})
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
// device's puller (and calls onWake), an "expired" is answered with a renewed token.
func (g *loadgen) readStream(ctx context.Context, c *websocket.Conn, d *device, tok string, onWake func()) {
	for {
		_, msg, err := c.Read(ctx)
		if err != nil {
			return
		}
		var m struct {
			Type string `json:"type"`
		}
		if json.Unmarshal(msg, &m) == nil && m.Type == "expired" {
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
	Cursor  string `json:"cursor"`
	HasMore bool   `json:"hasMore"`
	Changes []struct {
		Collection string                     `json:"collection"`
		DocID      string                     `json:"docId"`
		Op         string                     `json:"op"`
		Doc        map[string]json.RawMessage `json:"doc"`
	} `json:"changes"`
}

// pullAll pulls from the device's cursor until hasMore is false, recording the
// propagation of the writes of other devices it sees: of its own user's, and of other
// users' that were shared with it.
func (g *loadgen) pullAll(ctx context.Context, d *device) {
	for ctx.Err() == nil {
		// A load device keeps no documents: it is fresh (no tombstones in initial syncs).
		body := map[string]any{"collections": g.collections, "limit": 500, "fresh": true}
		if d.cursor != "" {
			body["cursor"] = d.cursor
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
		for _, ch := range out.Changes {
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
		if !out.HasMore {
			return
		}
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
