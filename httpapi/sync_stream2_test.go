package httpapi_test

import (
	"bufio"
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"
	"github.com/getkin/kin-openapi/openapi3"
	"github.com/google/go-cmp/cmp"
	"github.com/tideline-dev/tideline"
)

// streamMessageSchema is openapi.yaml's StreamMessage.
func streamMessageSchema(t *testing.T) *openapi3.Schema {
	t.Helper()
	doc, err := openapi3.NewLoader().LoadFromData(tideline.OpenAPI)
	if err != nil {
		t.Fatal(err)
	}
	return doc.Components.Schemas["StreamMessage"].Value
}

// v2Message is a stream message of protocol 2, checked against the spec.
type v2Message struct {
	Type     string           `json:"type"`
	Seq      int64            `json:"seq"`
	Protocol int              `json:"protocol"`
	Stream   string           `json:"stream"`
	Changes  []map[string]any `json:"changes"`
	Cursor   string           `json:"cursor"`
}

func decodeV2(t *testing.T, schema *openapi3.Schema, data []byte) v2Message {
	t.Helper()
	var generic any
	if err := json.Unmarshal(data, &generic); err != nil {
		t.Fatalf("not JSON: %s", data)
	}
	if err := schema.VisitJSON(generic); err != nil {
		t.Fatalf("%s does not match openapi.yaml's StreamMessage: %v", data, err)
	}
	var m v2Message
	json.Unmarshal(data, &m)
	return m
}

// rawStream is a WebSocket whose messages arrive as they were sent.
type rawStream struct {
	t    *testing.T
	msgs chan []byte
}

func dialRaw(t *testing.T, srv *httptest.Server, token, query string) *rawStream {
	t.Helper()
	url := "ws" + strings.TrimPrefix(srv.URL, "http") + "/v1/sync/stream" + query
	conn, _, err := websocket.Dial(t.Context(), url, &websocket.DialOptions{HTTPHeader: bearer(token)})
	if err != nil {
		t.Fatalf("dial: %v", err)
	}
	conn.SetReadLimit(1 << 20)
	t.Cleanup(func() { conn.CloseNow() })
	r := &rawStream{t: t, msgs: make(chan []byte, 16)}
	go func() {
		defer close(r.msgs)
		for {
			_, data, err := conn.Read(context.Background())
			if err != nil {
				return
			}
			r.msgs <- data
		}
	}()
	return r
}

func (r *rawStream) next() []byte {
	r.t.Helper()
	select {
	case m, ok := <-r.msgs:
		if !ok {
			r.t.Fatal("the stream closed")
		}
		return m
	case <-time.After(waitLimit):
		r.t.Fatalf("no message within %v", waitLimit)
	}
	return nil
}

type pullV2 struct {
	pullResult
	Live bool `json:"live"`
}

// TestStreamProtocol2: a stream opened with ?protocol=2 names itself in its hello; a pull
// of protocol 2 that names it and completes hands it over, and it then sends the changes
// themselves, the same as the next pull would have, with a cursor of its own; a protocol 1
// stream and protocol 1 requests are unchanged. Every message matches openapi.yaml.
func TestStreamProtocol2(t *testing.T) {
	t.Parallel()
	a := newAPI(t, nil)
	shortStreams(a)
	srv := httptest.NewServer(a.srv)
	defer srv.Close()
	schema := streamMessageSchema(t)
	ada := a.signUp("ada@example.com").AccessToken
	a.pushTodo(ada, "ada-phone", 1, "t0")
	a.poll()

	v1 := dialRaw(t, srv, ada, "")
	if m := string(v1.next()); !strings.HasPrefix(m, `{"type":"hello","seq":`) || strings.Contains(m, "protocol") {
		t.Fatalf("a protocol 1 hello changed: %s", m)
	}
	v2 := dialRaw(t, srv, ada, "?protocol=2")
	hello := decodeV2(t, schema, v2.next())
	if hello.Type != "hello" || hello.Protocol != 2 || hello.Stream == "" {
		t.Fatalf("hello %+v", hello)
	}

	// A protocol 1 pull ignores the stream; a protocol 2 pull hands it over.
	p1 := decode[pullV2](t, a.raw("POST", "/v1/sync/pull", ada, `{"stream":"`+hello.Stream+`"}`), 200)
	if p1.Protocol != 1 || p1.Live {
		t.Fatalf("protocol 1 pull %+v", p1)
	}
	p2 := decode[pullV2](t, a.raw("POST", "/v1/sync/pull", ada, `{"protocol":2,"stream":"`+hello.Stream+`"}`), 200)
	if p2.Protocol != 2 || !p2.Live || p2.HasMore {
		t.Fatalf("protocol 2 pull %+v", p2)
	}
	// Another user cannot take the stream over.
	bob := a.signUp("bob@example.com").AccessToken
	if p := decode[pullV2](t, a.raw("POST", "/v1/sync/pull", bob, `{"protocol":2,"stream":"`+hello.Stream+`"}`), 200); p.Live {
		t.Fatal("bob's pull took ada's stream over")
	}
	// A newer protocol than the server's is answered in its own.
	if p := decode[pushResult](t, a.raw("POST", "/v1/sync/push", ada, `{"protocol":7,"clientId":"ada-phone","mutations":[{"id":2,"collection":"todos","docId":"t1","op":"put","fields":{"title":"milk","n":9007199254740993}}]}`), 200); p.Protocol != 2 {
		t.Fatalf("push of protocol 7 answered in %d", p.Protocol)
	}
	checkProblem(t, a.raw("POST", "/v1/sync/pull", ada, `{"protocol":0}`), 400, tideline.CodeInvalid)
	a.poll()

	m := decodeV2(t, schema, v2.next())
	if m.Type != "changes" || len(m.Changes) != 1 || m.Cursor == "" {
		t.Fatalf("message %+v", m)
	}
	// The same changes as a pull from the hand-over's cursor, and a cursor after them.
	next := decode[struct {
		Changes []map[string]any `json:"changes"`
	}](t, a.raw("POST", "/v1/sync/pull", ada, `{"cursor":"`+p2.Cursor+`"}`), 200)
	if diff := cmp.Diff(next.Changes, m.Changes); diff != "" {
		t.Fatalf("stream and pull differ (-pull +stream):\n%s", diff)
	}
	if after := decode[pullResult](t, a.raw("POST", "/v1/sync/pull", ada, `{"cursor":"`+m.Cursor+`"}`), 200); len(after.Changes) != 0 {
		t.Fatalf("%d changes after the stream's cursor", len(after.Changes))
	}
	if poke := string(v1.next()); !strings.HasPrefix(poke, `{"type":"poke","seq":`) {
		t.Fatalf("the protocol 1 stream got %s", poke)
	}
	if body := a.get("/metrics").Body.String(); !strings.Contains(body, "tideline_sync_streams_live 1") || !strings.Contains(body, "tideline_sync_stream_changes_total 1") {
		t.Fatalf("/metrics lacks the live streams:\n%s", body)
	}
}

// TestEventsProtocol2: the same over server-sent events, whose data is the whole message.
func TestEventsProtocol2(t *testing.T) {
	t.Parallel()
	a := newAPI(t, nil)
	shortStreams(a)
	srv := httptest.NewServer(a.srv)
	defer srv.Close()
	schema := streamMessageSchema(t)
	ada := a.signUp("ada@example.com").AccessToken
	a.poll()
	req, _ := http.NewRequestWithContext(t.Context(), "GET", srv.URL+"/v1/sync/events?protocol=2", nil)
	req.Header.Set("Authorization", "Bearer "+ada)
	resp, err := http.DefaultClient.Do(req)
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("events: %v %+v", err, resp)
	}
	defer resp.Body.Close()
	events := make(chan [2]string, 16)
	go func() {
		defer close(events)
		sc := bufio.NewScanner(resp.Body)
		sc.Buffer(nil, 1<<20)
		var name string
		for sc.Scan() {
			switch l := sc.Text(); {
			case strings.HasPrefix(l, "event: "):
				name = strings.TrimPrefix(l, "event: ")
			case strings.HasPrefix(l, "data: "):
				events <- [2]string{name, strings.TrimPrefix(l, "data: ")}
			}
		}
	}()
	event := func() (string, v2Message) {
		t.Helper()
		select {
		case e, ok := <-events:
			if !ok {
				t.Fatal("the events ended")
			}
			m := decodeV2(t, schema, []byte(e[1]))
			if m.Type != e[0] {
				t.Fatalf("event %q with a message of type %q", e[0], m.Type)
			}
			return e[0], m
		case <-time.After(waitLimit):
			t.Fatalf("no event within %v", waitLimit)
		}
		return "", v2Message{}
	}
	name, hello := event()
	if name != "hello" || hello.Stream == "" {
		t.Fatalf("%s %+v", name, hello)
	}
	if p := decode[pullV2](t, a.raw("POST", "/v1/sync/pull", ada, `{"protocol":2,"stream":"`+hello.Stream+`"}`), 200); !p.Live {
		t.Fatalf("pull %+v", p)
	}
	a.pushTodo(ada, "ada-phone", 1, "t1")
	a.poll()
	if name, m := event(); name != "changes" || len(m.Changes) != 1 || m.Changes[0]["docId"] != "t1" {
		t.Fatalf("%s %+v", name, m)
	}
}
