package httpapi_test

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"
	"github.com/getkin/kin-openapi/routers/gorillamux"
	"github.com/tideline-dev/tideline"
	"github.com/tideline-dev/tideline/app"
	"github.com/tideline-dev/tideline/app/apptest"
	"github.com/tideline-dev/tideline/httpapi"
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
		for _, ct := range []string{"text/html", "application/yaml", "image/x-icon"} {
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

// apiTest is the real app under test (app/apptest, idle: the test polls the hub), whose
// every response to a route of the spec is validated against openapi.yaml, and whose logs
// are kept for inspection.
type apiTest struct {
	t   *testing.T
	app *apptest.App
	srv *httpapi.Server
}

// newAPI starts the app on a real embedded store in a temporary directory. change, when not
// nil, adjusts the configuration first.
func newAPI(t *testing.T, change func(*app.Config)) *apiTest {
	t.Helper()
	return newAPIWith(t, apptest.Options{Config: change})
}

// newAPIWith is newAPI with the app started as opts say (another engine, say).
func newAPIWith(t *testing.T, opts apptest.Options) *apiTest {
	t.Helper()
	a := apptest.New(t, opts)
	return &apiTest{t: t, app: a, srv: a.API}
}

// do serves req and, when the spec has its route, validates the response against it.
func (a *apiTest) do(req *http.Request) *httptest.ResponseRecorder {
	a.t.Helper()
	rec := httptest.NewRecorder()
	a.srv.ServeHTTP(rec, req)
	a.validate(req, rec)
	a.checkScope()
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
	Setting   string            `json:"setting"`
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
	if id := rec.Header().Get(httpapi.HeaderRequestID); p.RequestID == "" || p.RequestID != id {
		t.Fatalf("request_id %q, X-Request-Id header %q", p.RequestID, id)
	}
	return p
}

// checkScope fails the test when a handler was refused for lacking its request's scope
// (httpapi's requireScope): every request every test makes checks that handlers reach the
// features with the request id and the caller in their context.
func (a *apiTest) checkScope() {
	a.t.Helper()
	for _, rec := range a.logLines("request failed") {
		if err, _ := rec["err"].(string); strings.Contains(err, "lacks the request's scope") {
			a.t.Fatalf("a handler ran without its request's scope: %v", rec)
		}
	}
}

// logLines returns the JSON log records whose msg is msg.
func (a *apiTest) logLines(msg string) []map[string]any { return a.app.Logs.Records(msg) }
