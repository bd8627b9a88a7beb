package httpapi

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"
	"github.com/getkin/kin-openapi/routers/gorillamux"
	"github.com/tideline-dev/tideline"
	"github.com/tideline-dev/tideline/auth"
	"github.com/tideline-dev/tideline/push"
	"github.com/tideline-dev/tideline/store/sqlite"
	datasync "github.com/tideline-dev/tideline/sync"
)

var (
	specOnce   sync.Once
	specRouter routers.Router
	specErr    error
)

// router returns a kin-openapi router over openapi.yaml, built once.
func router(t *testing.T) routers.Router {
	t.Helper()
	specOnce.Do(func() {
		// Non-JSON bodies in the spec are plain strings.
		for _, ct := range []string{"text/html", "application/yaml"} {
			openapi3filter.RegisterBodyDecoder(ct, openapi3filter.FileBodyDecoder)
		}
		var doc *openapi3.T
		if doc, specErr = openapi3.NewLoader().LoadFromData(tideline.OpenAPI); specErr != nil {
			return
		}
		if specErr = doc.Validate(t.Context()); specErr != nil {
			return
		}
		specRouter, specErr = gorillamux.NewRouter(doc)
	})
	if specErr != nil {
		t.Fatalf("openapi.yaml: %v", specErr)
	}
	return specRouter
}

// apiTest is a Server under test whose every response to a route of the spec is validated
// against openapi.yaml, and whose logs are kept for inspection.
type apiTest struct {
	t     *testing.T
	srv   *Server
	db    *sqlite.DB
	auth  *auth.Service
	hub   *datasync.Hub
	clock *tideline.ManualClock
	mail  *mailbox
	logs  *bytes.Buffer
}

// authConfig is the auth configuration of tests: cheap hashing, no rate limits, a manual
// clock; tests change it through newAPI's authChange.
func authConfig(clock tideline.Clock, m auth.Mailer) auth.Config {
	return auth.Config{Argon2: auth.Argon2Params{MemoryKiB: 64, Iterations: 1, Parallelism: 1}, Limits: &auth.Limits{}, Clock: clock, Mailer: m}
}

// mailbox keeps the emails the auth service sends.
type mailbox struct{ ch chan auth.Email }

func (m *mailbox) Send(_ context.Context, e auth.Email) error { m.ch <- e; return nil }

// newAPI starts a Server on a real embedded store in a temporary directory. change, when
// not nil, adjusts the configuration first.
func newAPI(t *testing.T, change func(*Config)) *apiTest {
	t.Helper()
	return newAPIWithAuth(t, change, nil)
}

// newAPIWithAuth is newAPI with a change to the auth configuration too.
func newAPIWithAuth(t *testing.T, change func(*Config), authChange func(*auth.Config)) *apiTest {
	t.Helper()
	db, err := sqlite.Open(t.Context(), t.TempDir(), sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	info, err := db.Info(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	logs := &bytes.Buffer{}
	clock := tideline.NewManualClock(time.Date(2026, 5, 1, 9, 0, 0, 0, time.UTC))
	mail := &mailbox{ch: make(chan auth.Email, 100)}
	acfg := authConfig(clock, mail)
	if authChange != nil {
		authChange(&acfg)
	}
	svc, err := auth.New(t.Context(), db.Auth(), acfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(svc.Close)
	syncSvc, err := datasync.New(t.Context(), db.Sync(), datasync.Config{Clock: clock})
	if err != nil {
		t.Fatal(err)
	}
	hub := datasync.NewHub(syncSvc, datasync.HubConfig{})
	pushSvc := push.New(db.Push(), push.Config{Clock: clock})
	svc.OnSessionsEnded(pushSvc.SessionsEnded)
	svc.OnUserDeleted(pushSvc.DeleteUser)
	cfg := Config{Store: db, Info: info, Auth: svc, Sync: syncSvc, Hub: hub, Push: pushSvc, Clock: clock, Logger: slog.New(slog.NewJSONHandler(&syncWriter{w: logs}, nil))}
	if change != nil {
		change(&cfg)
	}
	srv, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if err := cfg.Hub.Poll(t.Context()); err != nil { // as Hub.Run does first
		t.Fatal(err)
	}
	return &apiTest{t: t, srv: srv, db: db, auth: svc, hub: cfg.Hub, clock: clock, mail: mail, logs: logs}
}

type syncWriter struct {
	mu sync.Mutex
	w  io.Writer
}

func (s *syncWriter) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.w.Write(p)
}

// do serves req and, when the spec has its route, validates the response against it.
func (a *apiTest) do(req *http.Request) *httptest.ResponseRecorder {
	a.t.Helper()
	rec := httptest.NewRecorder()
	a.srv.ServeHTTP(rec, req)
	a.validate(req, rec)
	return rec
}

func (a *apiTest) get(path string) *httptest.ResponseRecorder {
	a.t.Helper()
	return a.do(httptest.NewRequest(http.MethodGet, path, nil))
}

func (a *apiTest) validate(req *http.Request, rec *httptest.ResponseRecorder) {
	a.t.Helper()
	route, params, err := router(a.t).FindRoute(req)
	if err != nil {
		// Not a route of the spec (404, 405, a test's own route): errors must still be
		// problem documents.
		if rec.Code >= 400 {
			checkProblem(a.t, rec, rec.Code, "")
		}
		return
	}
	in := &openapi3filter.ResponseValidationInput{
		RequestValidationInput: &openapi3filter.RequestValidationInput{Request: req, PathParams: params, Route: route},
		Status:                 rec.Code,
		Header:                 rec.Header(),
		Options:                &openapi3filter.Options{IncludeResponseStatus: true},
	}
	in.SetBodyBytes(rec.Body.Bytes())
	if err := openapi3filter.ValidateResponse(a.t.Context(), in); err != nil {
		a.t.Fatalf("%s %s: response %d does not match openapi.yaml: %v\nbody: %s", req.Method, req.URL.Path, rec.Code, err, rec.Body)
	}
}

// problem is a decoded problem document.
type problem struct {
	Type      string            `json:"type"`
	Title     string            `json:"title"`
	Status    int               `json:"status"`
	Detail    string            `json:"detail"`
	Code      string            `json:"code"`
	RequestID string            `json:"request_id"`
	Fields    map[string]string `json:"fields"`
}

// checkProblem checks that rec is a problem document with status (and code, when not
// empty) whose request_id is the one in the X-Request-Id header, and returns it.
func checkProblem(t *testing.T, rec *httptest.ResponseRecorder, status int, code tideline.Code) problem {
	t.Helper()
	if rec.Code != status {
		t.Fatalf("status %d, want %d; body: %s", rec.Code, status, rec.Body)
	}
	if ct := rec.Header().Get("Content-Type"); ct != "application/problem+json" {
		t.Fatalf("Content-Type %q, want application/problem+json", ct)
	}
	var p problem
	if err := json.Unmarshal(rec.Body.Bytes(), &p); err != nil {
		t.Fatalf("problem body: %v: %s", err, rec.Body)
	}
	if p.Status != status || p.Type != "about:blank" || p.Title != http.StatusText(status) || p.Code == "" {
		t.Fatalf("malformed problem %+v", p)
	}
	if code != "" && p.Code != string(code) {
		t.Fatalf("code %q, want %q (detail %q)", p.Code, code, p.Detail)
	}
	if id := rec.Header().Get(headerRequestID); p.RequestID == "" || p.RequestID != id {
		t.Fatalf("request_id %q, X-Request-Id header %q", p.RequestID, id)
	}
	return p
}

// logLines returns the JSON log records whose msg is msg.
func (a *apiTest) logLines(msg string) []map[string]any {
	a.t.Helper()
	var out []map[string]any
	for _, line := range strings.Split(strings.TrimSpace(a.logs.String()), "\n") {
		var rec map[string]any
		if json.Unmarshal([]byte(line), &rec) == nil && rec["msg"] == msg {
			out = append(out, rec)
		}
	}
	return out
}
