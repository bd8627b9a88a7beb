package httpapi_test

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	stdsync "sync"
	"testing"
	"time"

	"github.com/coder/websocket"
	"github.com/tideline-dev/tideline/app"
	"github.com/tideline-dev/tideline/httpapi"
)

// waitLimit bounds the waits for a stream's messages: it only turns a hang into a failure,
// so it is far longer than any wait under a loaded race detector.
const waitLimit = time.Minute

// shortStreams shortens the stream timings of a's server (before it serves).
func shortStreams(a *apiTest) {
	a.srv.ShortenStreams(50*time.Millisecond, time.Second, 50*time.Millisecond, 300*time.Millisecond)
}

// wsClient is an open WebSocket whose messages a goroutine reads into msgs; closed gets
// the error that ended the reading (its close status tells why the server closed).
type wsClient struct {
	t      *testing.T
	conn   *websocket.Conn
	msgs   chan httpapi.StreamMessage
	closed chan error
}

func dialStream(t *testing.T, srv *httptest.Server, header http.Header, query string) (*wsClient, *http.Response, error) {
	t.Helper()
	url := "ws" + strings.TrimPrefix(srv.URL, "http") + "/v1/sync/stream" + query
	conn, resp, err := websocket.Dial(t.Context(), url, &websocket.DialOptions{HTTPHeader: header})
	if err != nil {
		return nil, resp, err
	}
	c := &wsClient{t: t, conn: conn, msgs: make(chan httpapi.StreamMessage, 16), closed: make(chan error, 1)}
	go func() {
		for {
			_, data, err := conn.Read(context.Background())
			if err != nil {
				c.closed <- err
				return
			}
			var m httpapi.StreamMessage
			if json.Unmarshal(data, &m) != nil {
				c.closed <- errors.New("not JSON: " + string(data))
				return
			}
			c.msgs <- m
		}
	}()
	t.Cleanup(func() { conn.CloseNow() })
	return c, resp, nil
}

func bearer(token string) http.Header { return http.Header{"Authorization": {"Bearer " + token}} }

func (a *apiTest) stream(srv *httptest.Server, token string) *wsClient {
	a.t.Helper()
	c, _, err := dialStream(a.t, srv, bearer(token), "")
	if err != nil {
		a.t.Fatalf("dial: %v", err)
	}
	if m := c.next(); m.Type != "hello" {
		a.t.Fatalf("first message %+v", m)
	}
	return c
}

// next waits for the next message.
func (c *wsClient) next() httpapi.StreamMessage {
	c.t.Helper()
	select {
	case m := <-c.msgs:
		return m
	case err := <-c.closed:
		c.t.Fatalf("the stream closed: %v", err)
	case <-time.After(waitLimit):
		c.t.Fatalf("no message within %v", waitLimit)
	}
	return httpapi.StreamMessage{}
}

// quiet checks that no message comes for a while.
func (c *wsClient) quiet() {
	c.t.Helper()
	select {
	case m := <-c.msgs:
		c.t.Fatalf("unexpected message %+v", m)
	case <-time.After(200 * time.Millisecond):
	}
}

// closedWith waits for the server to close the stream and checks its status and that its
// reason contains reason.
func (c *wsClient) closedWith(status websocket.StatusCode, reason string) {
	c.t.Helper()
	for {
		select {
		case <-c.msgs: // pings are not messages; pokes may still come
		case err := <-c.closed:
			var ce websocket.CloseError
			if !errors.As(err, &ce) || ce.Code != status || !strings.Contains(ce.Reason, reason) {
				c.t.Fatalf("closed with %v, want %v %q", err, status, reason)
			}
			return
		case <-time.After(waitLimit):
			c.t.Fatalf("not closed within %v, want %v", waitLimit, status)
		}
	}
}

func (a *apiTest) pushTodo(token, client string, id int, doc string) {
	a.t.Helper()
	r := decode[pushResult](a.t, a.raw("POST", "/v1/sync/push", token, `{"clientId":"`+client+`","mutations":[{"id":`+itoa(id)+`,"collection":"todos","docId":"`+doc+`","op":"put","fields":{"v":1}}]}`), 200)
	if r.Receipts[0].Status != "applied" {
		a.t.Fatalf("push %+v", r)
	}
}

func (a *apiTest) poll() {
	a.t.Helper()
	if err := a.app.Hub.Poll(a.t.Context()); err != nil {
		a.t.Fatal(err)
	}
}

// serving counts the requests a handler is serving and says when that count changes, so
// that a test can wait for handlers to return (and for what they defer) without polling.
type serving struct {
	h       http.Handler
	mu      stdsync.Mutex
	n       int
	changed chan struct{} // closed and replaced when n changes
}

func newServing(h http.Handler) *serving { return &serving{h: h, changed: make(chan struct{})} }

func (s *serving) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	s.add(1)
	defer s.add(-1)
	s.h.ServeHTTP(w, r)
}

func (s *serving) add(d int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.n += d
	close(s.changed)
	s.changed = make(chan struct{})
}

// waitIdle waits until no request is being served.
func (s *serving) waitIdle(t *testing.T) {
	t.Helper()
	timeout := time.After(waitLimit)
	for {
		s.mu.Lock()
		n, changed := s.n, s.changed
		s.mu.Unlock()
		if n == 0 {
			return
		}
		select {
		case <-changed:
		case <-timeout:
			t.Fatalf("%d requests still served after %v", n, waitLimit)
		}
	}
}

func TestStreamOverHTTP(t *testing.T) {
	t.Parallel()
	a := newAPI(t, nil)
	shortStreams(a)
	handlers := newServing(a.srv)
	srv := httptest.NewServer(handlers)
	defer srv.Close()
	ada, bob := a.signUp("ada@example.com"), a.signUp("bob@example.com")

	for name, h := range map[string]http.Header{"NoToken": nil, "Forged": bearer("eyJhbGciOiJub25lIn0.e30."), "RefreshToken": bearer(ada.RefreshToken)} {
		t.Run(name, func(t *testing.T) {
			_, resp, err := dialStream(t, srv, h, "")
			if err == nil || resp == nil || resp.StatusCode != 401 || resp.Header.Get("Content-Type") != "application/problem+json" {
				t.Fatalf("dial: %v %+v", err, resp)
			}
		})
	}
	// A browser on an origin the API does not allow cannot open one (the token alone does
	// not make a cross-site WebSocket safe).
	h := bearer(ada.AccessToken)
	h.Set("Origin", "https://evil.example")
	if _, resp, err := dialStream(t, srv, h, ""); err == nil || resp.StatusCode != 403 {
		t.Fatalf("cross-origin dial: %v %+v", err, resp)
	}

	adaStream := a.stream(srv, ada.AccessToken)
	bobStream, _, err := dialStream(t, srv, nil, "?access_token="+bob.AccessToken) // as a browser does
	if err != nil {
		t.Fatal(err)
	}
	if m := bobStream.next(); m.Type != "hello" {
		t.Fatalf("bob's first message %+v", m)
	}
	if n := a.app.Hub.Streams(); n != 2 {
		t.Fatalf("%d streams", n)
	}
	if body := a.get("/metrics").Body.String(); !strings.Contains(body, "tideline_sync_streams 2") {
		t.Fatalf("/metrics lacks the stream count:\n%s", body)
	}

	// A write in ada's bucket pokes ada, with the watermark, and not bob.
	a.pushTodo(ada.AccessToken, "ada-phone", 1, "t1")
	a.poll()
	if m := adaStream.next(); m.Type != "poke" || m.Seq < 1 {
		t.Fatalf("ada got %+v", m)
	}
	bobStream.quiet()
	// The client cannot send what is not an auth message to break the stream; a message too
	// large for the read limit closes it.
	if err := adaStream.conn.Write(t.Context(), websocket.MessageText, []byte(`{"type":"$where"}`)); err != nil {
		t.Fatal(err)
	}
	a.pushTodo(ada.AccessToken, "ada-phone", 2, "t2")
	a.poll()
	if m := adaStream.next(); m.Type != "poke" {
		t.Fatalf("after a junk message: %+v", m)
	}
	if err := bobStream.conn.Write(t.Context(), websocket.MessageText, []byte(strings.Repeat("x", 20<<10))); err != nil {
		t.Fatal(err)
	}
	bobStream.closedWith(websocket.StatusMessageTooBig, "")

	// Signing out ends the stream at the next check.
	if rec := a.call("POST", "/v1/auth/logout", ada.AccessToken, nil); rec.Code != 204 {
		t.Fatalf("logout %d", rec.Code)
	}
	adaStream.closedWith(websocket.StatusPolicyViolation, "session has ended")
	handlers.waitIdle(t) // the stream handlers have returned: they unsubscribe as they do
	if n := a.app.Hub.Streams(); n != 0 {
		t.Fatalf("%d streams left after both closed", n)
	}
}

// The streams' timers are real (a token's lifetime from the moment the stream opens), while
// tokens are checked against the manual clock, which does not move here: a token stays
// valid however long the test takes, so the renewal can be fetched before the expiry and
// sent the moment "expired" arrives. The windows left (the wait for a new token, the
// lifetime) are seconds long for a step of milliseconds.
func TestStreamTokenRenewal(t *testing.T) {
	t.Parallel()
	a := newAPI(t, func(c *app.Config) { c.Auth.AccessTokenTTL = 3 * time.Second })
	a.srv.ShortenStreams(50*time.Millisecond, time.Second, 50*time.Millisecond, 1500*time.Millisecond)
	srv := httptest.NewServer(a.srv)
	defer srv.Close()
	ada, bob := a.signUp("ada@example.com"), a.signUp("bob@example.com")

	renewed := a.stream(srv, ada.AccessToken)
	lapsed := a.stream(srv, ada.AccessToken)
	stolen := a.stream(srv, ada.AccessToken)
	fresh := decode[sessionBody](t, a.call("POST", "/v1/auth/refresh", "", map[string]string{"refreshToken": ada.RefreshToken}), 200)
	for _, c := range []*wsClient{renewed, lapsed, stolen} {
		if m := c.next(); m.Type != "expired" {
			t.Fatalf("at expiry: %+v", m)
		}
	}
	send := func(c *wsClient, token string) {
		b, _ := json.Marshal(map[string]string{"type": "auth", "token": token})
		if err := c.conn.Write(t.Context(), websocket.MessageText, b); err != nil {
			t.Fatal(err)
		}
	}
	send(renewed, fresh.AccessToken)
	send(stolen, bob.AccessToken) // a valid token of someone else
	stolen.closedWith(websocket.StatusPolicyViolation, "not valid for this stream")
	lapsed.closedWith(websocket.StatusPolicyViolation, "access token expired") // no token within reauthWait
	// The renewed stream lives on (past the wait), expires again with its new token, and
	// still gets pokes.
	a.pushTodo(fresh.AccessToken, "ada-phone", 1, "t1")
	a.poll()
	for _, want := range []string{"poke", "expired"} {
		if m := renewed.next(); m.Type != want {
			t.Fatalf("got %+v, want %s", m, want)
		}
	}
}

func TestStreamLimitAndDrain(t *testing.T) {
	t.Parallel()
	a := newAPI(t, func(c *app.Config) { c.Hub.MaxStreams = 1 })
	shortStreams(a)
	srv := httptest.NewServer(a.srv)
	defer srv.Close()
	ada := a.signUp("ada@example.com")
	first := a.stream(srv, ada.AccessToken)
	_, resp, err := dialStream(t, srv, bearer(ada.AccessToken), "")
	if err == nil || resp.StatusCode != 503 || resp.Header.Get("Retry-After") == "" {
		t.Fatalf("over the limit: %v %+v", err, resp)
	}
	req, _ := http.NewRequest("GET", srv.URL+"/v1/sync/events", nil)
	req.Header.Set("Authorization", "Bearer "+ada.AccessToken)
	if resp, err := http.DefaultClient.Do(req); err != nil || resp.StatusCode != 503 {
		t.Fatalf("SSE over the limit: %v %+v", err, resp)
	}
	a.srv.Drain()
	first.closedWith(websocket.StatusGoingAway, "restarting")
}

func TestEventsOverHTTP(t *testing.T) {
	t.Parallel()
	// The lifetime (a real timer from the stream's start) leaves seconds for a push and a
	// poll to poke before the expiry.
	a := newAPI(t, func(c *app.Config) { c.Auth.AccessTokenTTL = 5 * time.Second })
	shortStreams(a)
	srv := httptest.NewServer(a.srv)
	defer srv.Close()
	ada := a.signUp("ada@example.com")
	req, _ := http.NewRequestWithContext(t.Context(), "GET", srv.URL+"/v1/sync/events?access_token="+ada.AccessToken, nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil || resp.StatusCode != 200 || resp.Header.Get("Content-Type") != "text/event-stream" {
		t.Fatalf("events: %v %+v", err, resp)
	}
	defer resp.Body.Close()
	lines := make(chan string, 64)
	go func() {
		defer close(lines)
		sc := bufio.NewScanner(resp.Body)
		for sc.Scan() {
			lines <- sc.Text()
		}
	}()
	// events returns the next event's name and data, skipping comments (pings).
	event := func() (string, string) {
		t.Helper()
		var name, data string
		for {
			select {
			case l, ok := <-lines:
				switch {
				case !ok:
					return "", ""
				case strings.HasPrefix(l, "event: "):
					name = strings.TrimPrefix(l, "event: ")
				case strings.HasPrefix(l, "data: "):
					data = strings.TrimPrefix(l, "data: ")
				case l == "" && name != "":
					return name, data
				}
			case <-time.After(waitLimit):
				t.Fatalf("no event within %v", waitLimit)
			}
		}
	}
	if name, _ := event(); name != "hello" {
		t.Fatalf("first event %q", name)
	}
	a.pushTodo(ada.AccessToken, "ada-phone", 1, "t1")
	a.poll()
	if name, data := event(); name != "poke" || !strings.Contains(data, `"seq":`) {
		t.Fatalf("event %q %q", name, data)
	}
	// At expiry the server says so and ends the stream (the client reconnects with a new
	// token).
	if name, _ := event(); name != "expired" {
		t.Fatalf("event %q, want expired", name)
	}
	if name, _ := event(); name != "" {
		t.Fatalf("the stream went on after expired: %q", name)
	}
}

func TestStreamMessageJSON(t *testing.T) {
	t.Parallel()
	for m, want := range map[httpapi.StreamMessage]string{
		{Type: "hello"}:           `{"type":"hello","seq":0}`,
		{Type: "poke", Seq: 42}:   `{"type":"poke","seq":42}`,
		{Type: "expired", Seq: 7}: `{"type":"expired"}`,
	} {
		if b, err := json.Marshal(m); err != nil || string(b) != want {
			t.Errorf("%+v: %s %v, want %s", m, b, err, want)
		}
	}
}
