package httpapi

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"time"

	"github.com/coder/websocket"
	"github.com/gin-gonic/gin"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/tideline-dev/tideline"
	"github.com/tideline-dev/tideline/httpapi/oapi"
	datasync "github.com/tideline-dev/tideline/sync"
)

// streamTimings are the timings of realtime streams (a Server field, so tests can shorten
// them).
type streamTimings struct {
	ping       time.Duration // WebSocket pings (and SSE comments) keep proxies from closing idle streams
	write      time.Duration // a client that cannot take a message in this long is dropped: no unbounded buffers
	recheck    time.Duration // how often the session behind a stream is checked again
	reauthWait time.Duration // how long after "expired" a WebSocket client has to send a new token
}

var defaultStreamTimings = streamTimings{ping: 30 * time.Second, write: 10 * time.Second, recheck: time.Minute, reauthWait: 30 * time.Second}

// streamMessage is what the server sends on a stream besides changes: hello and poke
// carry seq (0 too), expired does not; a hello of protocol 2 also the protocol and the
// stream's id.
type streamMessage struct {
	Type     string `json:"type"`
	Seq      int64  `json:"seq"`
	Protocol int    `json:"protocol,omitempty"`
	Stream   string `json:"stream,omitempty"`
}

func (m streamMessage) MarshalJSON() ([]byte, error) {
	if m.Type == "expired" {
		return json.Marshal(struct {
			Type string `json:"type"`
		}{m.Type})
	}
	type plain streamMessage
	return json.Marshal(plain(m))
}

// subscribe opens the hub stream of the request's caller, or answers with the problem (503
// with Retry-After past the node's limit).
func (s *Server) subscribe(c *gin.Context, protocol int) (*datasync.Subscriber, bool) {
	sub, err := s.cfg.Hub.Subscribe(c.Request.Context(), callerOf(c.Request.Context()), protocol)
	if err != nil {
		writeProblem(c, s.log, tideline.Wrap(retryLater{err}, tideline.ErrorCode(err), tideline.ErrorMessage(err)))
		return nil, false
	}
	return sub, true
}

// stream serves GET /v1/sync/stream: a WebSocket of pokes, and with protocol 2 of changes.
func (s *Server) stream(c *gin.Context, protocol int) {
	p := principal(c.Request.Context())
	sub, ok := s.subscribe(c, protocol)
	if !ok {
		return
	}
	defer s.cfg.Hub.Unsubscribe(sub)
	conn, err := websocket.Accept(c.Writer, c.Request, &websocket.AcceptOptions{OriginPatterns: s.originPatterns()})
	if err != nil {
		return // Accept has answered the client
	}
	conn.SetReadLimit(16 << 10)
	ctx, cancel := context.WithCancel(context.WithoutCancel(c.Request.Context()))
	defer cancel()
	tokens := make(chan string, 1)
	go func() { // the client speaks only to renew its token
		defer cancel()
		for {
			_, data, err := conn.Read(ctx)
			if err != nil {
				return
			}
			var m struct{ Type, Token string }
			if json.Unmarshal(data, &m) == nil && m.Type == "auth" {
				select {
				case tokens <- m.Token:
				default:
				}
			}
		}
	}()
	write := func(b []byte) error {
		wctx, wcancel := context.WithTimeout(ctx, s.timings.write)
		defer wcancel()
		return conn.Write(wctx, websocket.MessageText, b)
	}
	status, reason := s.serveStream(ctx, sub, tokenOf(c.Request.Context()), p.ExpiresAt, streamIO{
		send:    func(m streamMessage) error { b, _ := json.Marshal(m); return write(b) },
		changes: write,
		tokens:  tokens,
		ping: func() error {
			pctx, pcancel := context.WithTimeout(ctx, s.timings.write)
			defer pcancel()
			return conn.Ping(pctx)
		},
	})
	conn.Close(status, reason)
}

// streamIO is how serveStream writes to one transport: a message, a changes message
// (protocol 2, encoded by the hub), a ping; tokens are the client's renewals (nil: none).
type streamIO struct {
	send    func(streamMessage) error
	changes func([]byte) error
	ping    func() error
	tokens  <-chan string
}

// serveStream sends hello, pokes and changes until the stream ends, and returns why it
// ended.
func (s *Server) serveStream(ctx context.Context, sub *datasync.Subscriber, token string, expires time.Time, wire streamIO) (websocket.StatusCode, string) {
	hello := streamMessage{Type: "hello", Seq: sub.Seq()}
	if sub.ID() != "" {
		hello.Protocol, hello.Stream = 2, sub.ID()
	}
	if err := wire.send(hello); err != nil {
		return websocket.StatusGoingAway, "write failed"
	}
	pinger := time.NewTicker(s.timings.ping)
	defer pinger.Stop()
	recheck := time.NewTicker(s.timings.recheck)
	defer recheck.Stop()
	expiry := s.timerAt(expires)
	defer expiry.Stop()
	var deadline <-chan time.Time // set after "expired": the new token must come by then
	for {
		select {
		case <-s.draining:
			return websocket.StatusGoingAway, "the server is restarting: reconnect"
		case <-ctx.Done():
			return websocket.StatusGoingAway, "closed"
		case <-sub.Pokes():
			changes, poke := sub.Take()
			for _, m := range changes {
				if err := wire.changes(m); err != nil {
					return websocket.StatusGoingAway, "write failed"
				}
			}
			if poke {
				if err := wire.send(streamMessage{Type: "poke", Seq: sub.Seq()}); err != nil {
					return websocket.StatusGoingAway, "write failed"
				}
			}
		case <-pinger.C:
			if wire.ping() != nil {
				return websocket.StatusGoingAway, "no pong"
			}
		case <-expiry.C:
			if err := wire.send(streamMessage{Type: "expired"}); err != nil {
				return websocket.StatusGoingAway, "write failed"
			}
			deadline = time.After(s.timings.reauthWait)
		case <-deadline:
			return websocket.StatusPolicyViolation, "the access token expired"
		case t := <-wire.tokens:
			p, err := s.cfg.Auth.Authenticate(ctx, t)
			if err != nil || p.UserID != sub.UserID() {
				return websocket.StatusPolicyViolation, "the new access token is not valid for this stream"
			}
			token, deadline = t, nil
			expiry.Stop()
			expiry = s.timerAt(p.ExpiresAt)
		case <-recheck.C: // a signed-out session or a disabled user ends the stream
			if deadline == nil {
				p, err := s.cfg.Auth.Authenticate(ctx, token)
				if err != nil && tideline.ErrorCode(err) == tideline.CodeUnauthenticated {
					return websocket.StatusPolicyViolation, "the session has ended"
				}
				if err == nil {
					s.cfg.Hub.SetRoles(ctx, sub, p.Roles) // roles granted or taken since
				}
			}
		}
	}
}

// timerAt fires at t by the server's clock (never, for the zero time).
func (s *Server) timerAt(t time.Time) *time.Timer {
	if t.IsZero() {
		tm := time.NewTimer(time.Hour)
		tm.Stop()
		return tm
	}
	return time.NewTimer(max(0, t.Sub(s.cfg.Clock.Now())))
}

// events serves GET /v1/sync/events: the pokes (and with protocol 2 the changes) as
// server-sent events.
func (s *Server) events(c *gin.Context, protocol int) {
	p := principal(c.Request.Context())
	sub, ok := s.subscribe(c, protocol)
	if !ok {
		return
	}
	defer s.cfg.Hub.Unsubscribe(sub)
	h := c.Writer.Header()
	h.Set("Content-Type", "text/event-stream")
	h.Set("X-Accel-Buffering", "no") // nginx: do not buffer the stream
	c.Status(http.StatusOK)
	rc := http.NewResponseController(c.Writer)
	// write sends an event with data (a comment, for a nil data).
	write := func(event string, data []byte) error {
		_ = rc.SetWriteDeadline(time.Now().Add(s.timings.write))
		var err error
		if data == nil {
			_, err = fmt.Fprintf(c.Writer, ": %s\n\n", event)
		} else {
			_, err = fmt.Fprintf(c.Writer, "event: %s\ndata: %s\n\n", event, data)
		}
		if err == nil {
			err = rc.Flush()
		}
		return err
	}
	send := func(m streamMessage) error {
		var data []byte
		if protocol >= 2 { // the whole message, as on the WebSocket
			data, _ = json.Marshal(m)
		} else {
			data, _ = json.Marshal(map[string]int64{"seq": m.Seq})
		}
		if err := write(m.Type, data); err != nil || m.Type != "expired" {
			return err
		}
		return errors.New("expired") // an EventSource reconnects with a new token
	}
	s.serveStream(c.Request.Context(), sub, tokenOf(c.Request.Context()), p.ExpiresAt, streamIO{
		send:    send,
		changes: func(m []byte) error { return write("changes", m) },
		ping:    func() error { return write("ping", nil) },
	})
}

// retryLater makes a stream refused for lack of room carry Retry-After; what it wraps (the
// limit's setting) stays reachable.
type retryLater struct{ error }

func (retryLater) RetryAfter() time.Duration { return 5 * time.Second }
func (r retryLater) Unwrap() error           { return r.error }

// originPatterns are the browser origins allowed to open a WebSocket: the CORS origins.
// Requests without an Origin (mobile apps, servers) are always accepted.
func (s *Server) originPatterns() []string {
	var out []string
	for _, o := range s.cfg.CORSOrigins {
		if o == "*" {
			return []string{"*"}
		}
		if u, err := url.Parse(o); err == nil {
			out = append(out, u.Host)
		}
	}
	return out
}

// registerHubMetrics exposes the realtime streams in /metrics.
func registerHubMetrics(reg prometheus.Registerer, hub *datasync.Hub) error {
	for _, c := range []prometheus.Collector{
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "tideline_sync_streams", Help: "Realtime streams open on this node."}, func() float64 { return float64(hub.Streams()) }),
		prometheus.NewCounterFunc(prometheus.CounterOpts{Name: "tideline_sync_pokes_total", Help: "Pokes sent to realtime streams."}, func() float64 { return float64(hub.Pokes()) }),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "tideline_sync_watermark", Help: "The last sync watermark this node has seen."}, func() float64 { return float64(hub.Watermark()) }),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "tideline_sync_streams_live", Help: "Protocol 2 streams that send changes (live) on this node."}, func() float64 { return float64(hub.Fanout().Live) }),
		prometheus.NewCounterFunc(prometheus.CounterOpts{Name: "tideline_sync_stream_messages_total", Help: "Changes messages sent to live protocol 2 streams."}, func() float64 { return float64(hub.Fanout().Messages) }),
		prometheus.NewCounterFunc(prometheus.CounterOpts{Name: "tideline_sync_stream_changes_total", Help: "Changes sent in them."}, func() float64 { return float64(hub.Fanout().Changes) }),
		prometheus.NewCounterFunc(prometheus.CounterOpts{Name: "tideline_sync_stream_handoffs_total", Help: "Pulls that handed a protocol 2 stream over (it went live)."}, func() float64 { return float64(hub.Fanout().Handoffs) }),
		prometheus.NewCounterFunc(prometheus.CounterOpts{Name: "tideline_sync_stream_handoffs_refused_total", Help: "Pulls that named a stream that could not take over."}, func() float64 { return float64(hub.Fanout().Refused) }),
		fallbacks(hub),
	} {
		if err := reg.Register(c); err != nil {
			return fmt.Errorf("register sync metrics: %w", err)
		}
	}
	return nil
}

// fallbacks counts the live streams that fell back to pokes, by reason.
func fallbacks(hub *datasync.Hub) prometheus.Collector {
	desc := prometheus.NewDesc("tideline_sync_stream_fallbacks_total", "Live protocol 2 streams that fell back to pokes, by reason.", []string{"reason"}, nil)
	return collectorFunc{desc: desc, collect: func(ch chan<- prometheus.Metric) {
		for reason, n := range hub.Fanout().Fallbacks {
			ch <- prometheus.MustNewConstMetric(desc, prometheus.CounterValue, float64(n), reason)
		}
	}}
}

type collectorFunc struct {
	desc    *prometheus.Desc
	collect func(chan<- prometheus.Metric)
}

func (c collectorFunc) Describe(ch chan<- *prometheus.Desc) { ch <- c.desc }
func (c collectorFunc) Collect(ch chan<- prometheus.Metric) { c.collect(ch) }

// SyncStream and SyncEvents are served by stream and events (see routes); the strict layer
// never calls them.
func (s *Server) SyncStream(context.Context, oapi.SyncStreamRequestObject) (oapi.SyncStreamResponseObject, error) {
	return nil, tideline.Errorf(tideline.CodeInternal, "served by Server.stream")
}

func (s *Server) SyncEvents(context.Context, oapi.SyncEventsRequestObject) (oapi.SyncEventsResponseObject, error) {
	return nil, tideline.Errorf(tideline.CodeInternal, "served by Server.events")
}
