// Package conformance runs the client core's conformance scenarios (sdk/core/conformance)
// against the Go SDK, on any database/sql SQLite driver: the SDK's own test runs it on
// modernc.org/sqlite, and the modules of sdk/core/matrix run it on other SQLite versions.
// It implements the runner that docs/sdk-core.md ("Conformance scenarios") specifies.
package conformance

import (
	"bytes"
	"cmp"
	"database/sql"
	"encoding/json"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tideline-dev/tideline/sdk/core"
	tideline "github.com/tideline-dev/tideline/sdk/go"
)

// Scenario is one scenario file (scenario.schema.json describes it).
type Scenario struct {
	Name        string   `json:"name"`
	Description string   `json:"description"`
	Covers      []string `json:"covers"`
	Config      struct {
		ClientID string   `json:"clientId"`
		Session  *session `json:"session"`
		Clock    struct {
			StartMs int64 `json:"startMs"`
			StepMs  int64 `json:"stepMs"`
		} `json:"clock"`
		PullLimit int `json:"pullLimit"`
		Push      struct {
			MaxMutations int `json:"maxMutations"`
			MaxBytes     int `json:"maxBytes"`
		} `json:"push"`
		Collections []string `json:"collections"`
		Protocol    int      `json:"protocol"`
		Files       *struct {
			CacheBytes int64 `json:"cacheBytes"`
		} `json:"files"`
	} `json:"config"`
	State *state `json:"state"`
	Steps []step `json:"steps"`
}

type session struct {
	UserID       string `json:"userId"`
	AccessToken  string `json:"accessToken"`
	RefreshToken string `json:"refreshToken"`
}

type state struct {
	CacheVersion int               `json:"cacheVersion"`
	Meta         map[string]string `json:"meta"`
	Server       []serverRow       `json:"server"`
	Outbox       []mutation        `json:"outbox"`
	View         []viewRow         `json:"view"`
}

type serverRow struct {
	Collection string          `json:"collection"`
	DocID      string          `json:"docId"`
	Doc        json.RawMessage `json:"doc"`
	Version    int64           `json:"version"`
	Seq        int64           `json:"seq"`
	Buckets    []string        `json:"buckets"`
}

type write struct {
	Op         string                    `json:"op"`
	Collection string                    `json:"collection"`
	DocID      string                    `json:"docId"`
	Fields     map[string]any            `json:"fields"`
	Ops        map[string]map[string]any `json:"ops"`
}

type step struct {
	Do     string `json:"do"`
	Client string `json:"client"`
	write
	Writes         []write         `json:"writes"`
	Exchanges      []exchange      `json:"exchanges"`
	Error          *wantError      `json:"error"`
	Message        json.RawMessage `json:"message"`
	Reply          json.RawMessage `json:"reply"`
	Session        *session        `json:"session"`
	ClearOtherUser bool            `json:"clearOtherUser"`
	Email          string          `json:"email"`
	Password       string          `json:"password"`
	ClearLocal     bool            `json:"clearLocal"`
	Ms             int64           `json:"ms"`
	Watch          string          `json:"watch"`
	Query          *query          `json:"query"`
	Docs           json.RawMessage `json:"docs"`
	Pending        map[string]int  `json:"pending"`
	Mutations      json.RawMessage `json:"mutations"`
	Receipts       json.RawMessage `json:"receipts"`
	Copy           json.RawMessage `json:"copy"`
	Meta           map[string]any  `json:"meta"`
	CacheVersion   *int            `json:"cacheVersion"`
	Status         json.RawMessage `json:"status"`
	IDs            []string        `json:"ids"`
	Snapshots      json.RawMessage `json:"snapshots"`
	Field          string          `json:"field"`
	File           *fileSpec       `json:"file"`
	Ref            json.RawMessage `json:"ref"`
	Content        *string         `json:"content"`
	FileID         string          `json:"fileId"`
	Attachments    json.RawMessage `json:"attachments"`
	Files          json.RawMessage `json:"files"`
	Partials       json.RawMessage `json:"partials"`
}

// fileSpec is a local file an attach step creates in the runner's own directory (the
// app's file system) before attaching it.
type fileSpec struct {
	Name        string `json:"name"`
	Content     string `json:"content"`
	ContentType string `json:"contentType"`
}

type mutation struct {
	ID          int64           `json:"id"`
	Collection  string          `json:"collection"`
	DocID       string          `json:"docId"`
	Op          string          `json:"op"`
	Fields      json.RawMessage `json:"fields,omitempty"`
	Ops         json.RawMessage `json:"ops,omitempty"`
	HLC         string          `json:"hlc"`
	BaseVersion int64           `json:"baseVersion"`
}

type viewRow struct {
	Collection string          `json:"collection"`
	DocID      string          `json:"docId"`
	Doc        json.RawMessage `json:"doc"`
	Version    int64           `json:"version"`
	Pending    int             `json:"pending"`
}

type wantError struct {
	Kind         string `json:"kind"`
	Status       int    `json:"status"`
	RetryAfterMs *int64 `json:"retryAfterMs"`
}

type query struct {
	Where []struct {
		Field string `json:"field"`
		Op    string `json:"op"`
		Value any    `json:"value"`
	} `json:"where"`
	OrderBy string `json:"orderBy"`
	Desc    bool   `json:"desc"`
	Limit   int    `json:"limit"`
}

type exchange struct {
	Request struct {
		Method  string            `json:"method"`
		Path    string            `json:"path"`
		Query   *string           `json:"query"`
		Token   *string           `json:"token"`
		Headers map[string]string `json:"headers"`
		Body    json.RawMessage   `json:"body"`
		Bytes   *string           `json:"bytes"`
	} `json:"request"`
	Response struct {
		Status  int               `json:"status"`
		Headers map[string]string `json:"headers"`
		Body    json.RawMessage   `json:"body"`
		Bytes   *string           `json:"bytes"`
		Drop    bool              `json:"drop"`
		// CutAfter sends only the first n bytes of Bytes (with the Content-Length of all
		// of them), then closes the connection: a download cut midway.
		CutAfter *int `json:"cutAfter"`
	} `json:"response"`
}

// Load reads every scenario of sdk/core/conformance, by file name.
func Load() (map[string]Scenario, error) {
	files, err := fs.Glob(core.Scenarios, "conformance/[0-9]*.json")
	if err != nil || len(files) == 0 {
		return nil, fmt.Errorf("no scenarios: %v", err)
	}
	out := map[string]Scenario{}
	for _, f := range files {
		raw, err := core.Scenarios.ReadFile(f)
		if err != nil {
			return nil, err
		}
		var sc Scenario
		dec := json.NewDecoder(bytes.NewReader(raw))
		dec.UseNumber()
		if err := dec.Decode(&sc); err != nil {
			return nil, fmt.Errorf("%s: %v", f, err)
		}
		out[strings.TrimSuffix(filepath.Base(f), ".json")] = sc
	}
	return out, nil
}

// Run runs every scenario as a subtest, on driver (nil: the SDK's default).
func Run(t *testing.T, driver *tideline.Driver) {
	scenarios, err := Load()
	if err != nil {
		t.Fatal(err)
	}
	names := make([]string, 0, len(scenarios))
	for n := range scenarios {
		names = append(names, n)
	}
	slices.Sort(names)
	for _, n := range names {
		t.Run(n, func(t *testing.T) { RunScenario(t, scenarios[n], driver) })
	}
}

// script is the scripted server: it answers the exchanges of the current step in order
// and records every request it did not expect, or that differs from the expected one.
type script struct {
	mu   sync.Mutex
	next []exchange
	errs []string
}

func (s *script) load(exs []exchange) {
	s.mu.Lock()
	s.next, s.errs = exs, nil
	s.mu.Unlock()
}

// done says what went wrong in the step's exchanges ("" when nothing).
func (s *script) done() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.errs) > 0 {
		return strings.Join(s.errs, "\n")
	}
	if len(s.next) > 0 {
		return fmt.Sprintf("%d exchanges left unused, the next to %s", len(s.next), s.next[0].Request.Path)
	}
	return ""
}

func (s *script) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	body, _ := io.ReadAll(r.Body)
	if len(s.next) == 0 {
		s.errs = append(s.errs, fmt.Sprintf("unexpected request %s %s %s", r.Method, r.URL.Path, body))
		http.Error(w, "unexpected", http.StatusTeapot)
		return
	}
	ex := s.next[0]
	s.next = s.next[1:]
	if r.URL.Path != ex.Request.Path {
		s.errs = append(s.errs, fmt.Sprintf("request to %s, want %s", r.URL.Path, ex.Request.Path))
	}
	if m := ex.Request.Method; m != "" && r.Method != m {
		s.errs = append(s.errs, fmt.Sprintf("%s request to %s, want %s", r.Method, r.URL.Path, m))
	}
	if q := ex.Request.Query; q != nil && r.URL.RawQuery != *q {
		s.errs = append(s.errs, fmt.Sprintf("request to %s with query %q, want %q", r.URL.Path, r.URL.RawQuery, *q))
	}
	for _, k := range sortedKeys(ex.Request.Headers) {
		if got := r.Header.Get(k); got != ex.Request.Headers[k] {
			s.errs = append(s.errs, fmt.Sprintf("request to %s with %s %q, want %q", r.URL.Path, k, got, ex.Request.Headers[k]))
		}
	}
	token, _ := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	if want := ex.Request.Token; (want == nil) != (token == "") || (want != nil && *want != token) {
		s.errs = append(s.errs, fmt.Sprintf("request to %s with token %q, want %v", r.URL.Path, token, deref(want)))
	}
	if ex.Request.Bytes != nil {
		if string(body) != *ex.Request.Bytes {
			s.errs = append(s.errs, fmt.Sprintf("request to %s with bytes %q, want %q", r.URL.Path, body, *ex.Request.Bytes))
		}
	} else if why := matchJSON(ex.Request.Body, body, "body"); why != "" {
		s.errs = append(s.errs, fmt.Sprintf("request to %s: %s\n got %s", r.URL.Path, why, body))
	}
	if ex.Response.Drop {
		if hj, ok := w.(http.Hijacker); ok {
			conn, _, _ := hj.Hijack()
			conn.Close()
		}
		return
	}
	status := cmp.Or(ex.Response.Status, 200)
	w.Header().Set("Content-Type", "application/json")
	if status >= 400 {
		w.Header().Set("Content-Type", "application/problem+json")
	}
	if ex.Response.Bytes != nil {
		w.Header().Set("Content-Type", "application/octet-stream")
	}
	for k, v := range ex.Response.Headers {
		w.Header().Set(k, v)
	}
	if n := ex.Response.CutAfter; n != nil && ex.Response.Bytes != nil {
		b := []byte(*ex.Response.Bytes)
		w.Header().Set("Content-Length", strconv.Itoa(len(b)))
		w.WriteHeader(status)
		w.Write(b[:min(max(*n, 0), len(b))])
		w.(http.Flusher).Flush()
		panic(http.ErrAbortHandler) // the server closes the connection: the body ends short
	}
	w.WriteHeader(status)
	if ex.Response.Bytes != nil {
		w.Write([]byte(*ex.Response.Bytes))
	} else {
		w.Write(ex.Response.Body)
	}
}

func deref[T any](p *T) any {
	if p == nil {
		return nil
	}
	return *p
}

// runner is one scenario's run.
type runner struct {
	t       *testing.T
	sc      Scenario
	driver  *tideline.Driver
	srv     *script
	url     string
	path    string
	src     string // the app's own files (attach steps write them here)
	now     time.Time
	clients map[string]*tideline.Client
	recv    map[string]*[]tideline.Receipt
	heard   map[*tideline.Client]bool
	watches map[string]*[]tideline.Snapshot
	inspect *sql.DB
}

// RunScenario runs one scenario.
func RunScenario(t *testing.T, sc Scenario, driver *tideline.Driver) {
	if driver == nil {
		driver = tideline.ModerncDriver
	}
	r := &runner{t: t, sc: sc, driver: driver, srv: &script{}, path: filepath.Join(t.TempDir(), "cache.db"), src: t.TempDir(),
		now: time.UnixMilli(sc.Config.Clock.StartMs), clients: map[string]*tideline.Client{},
		recv: map[string]*[]tideline.Receipt{}, heard: map[*tideline.Client]bool{}, watches: map[string]*[]tideline.Snapshot{}}
	ts := httptest.NewServer(r.srv)
	t.Cleanup(ts.Close)
	r.url = ts.URL
	if sc.State != nil {
		r.loadState(*sc.State)
	}
	db, err := sql.Open(driver.Name, driver.DSN(r.path))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	r.inspect = db
	defer func() {
		for _, c := range r.clients {
			c.Close()
		}
	}()
	if c, err := r.open(sc.Config.Session, false); err != nil {
		t.Fatalf("open: %v", err)
	} else {
		r.clients["a"] = c
		r.client("a")
	}
	for i, s := range sc.Steps {
		r.now = r.now.Add(time.Duration(sc.Config.Clock.StepMs) * time.Millisecond)
		r.step(fmt.Sprintf("step %d (%s)", i+1, s.Do), s)
	}
}

func (r *runner) open(s *session, clear bool) (*tideline.Client, error) {
	var auth tideline.Auth
	if s != nil {
		auth = &tideline.SessionAuth{UserID: s.UserID, AccessToken: s.AccessToken, RefreshToken: s.RefreshToken}
	}
	cfg := r.sc.Config
	var cacheBytes int64
	if cfg.Files != nil {
		cacheBytes = cfg.Files.CacheBytes
	}
	return tideline.Open(r.t.Context(), r.path, r.url, auth, tideline.Options{
		Now: func() time.Time { return r.now }, ClientID: cfg.ClientID, PullLimit: cfg.PullLimit,
		PushBatch: cfg.Push.MaxMutations, PushBytes: cfg.Push.MaxBytes, Collections: cfg.Collections,
		ClearOtherUser: clear, Driver: r.driver, Protocol: cfg.Protocol, CacheBytes: cacheBytes,
	})
}

// client is the step's client, opened on first use (client b: a second process).
func (r *runner) client(name string) *tideline.Client {
	name = cmp.Or(name, "a")
	c, ok := r.clients[name]
	if !ok { // a second process, or the first after a reopen that failed: the cache's session
		var err error
		if c, err = r.open(nil, false); err != nil {
			r.t.Fatalf("open client %s: %v", name, err)
		}
		r.clients[name] = c
	}
	if _, ok := r.recv[name]; !ok {
		r.recv[name] = &[]tideline.Receipt{}
	}
	if !r.heard[c] {
		r.heard[c] = true
		got := r.recv[name]
		c.Subscribe(func(e tideline.Event) {
			if e.Receipt != nil {
				*got = append(*got, *e.Receipt)
			}
		})
	}
	return c
}
