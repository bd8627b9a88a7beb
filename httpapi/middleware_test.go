package httpapi_test

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/tideline-dev/tideline"
	"github.com/tideline-dev/tideline/app"
	"github.com/tideline-dev/tideline/httpapi"
)

func TestProblems(t *testing.T) {
	t.Parallel()
	a := newAPI(t, nil)
	t.Run("NotFound", func(t *testing.T) {
		p := checkProblem(t, a.get("/v1/nothing/here"), http.StatusNotFound, tideline.CodeNotFound)
		if !strings.Contains(p.Detail, "/v1/nothing/here") {
			t.Fatalf("detail %q", p.Detail)
		}
	})
	t.Run("MethodNotAllowed", func(t *testing.T) {
		rec := a.do(httptest.NewRequest(http.MethodDelete, "/healthz", nil))
		checkProblem(t, rec, http.StatusMethodNotAllowed, tideline.CodeMethodNotAllowed)
		if allow := rec.Header().Get("Allow"); allow != "GET" {
			t.Fatalf("Allow %q, want GET", allow)
		}
	})
	t.Run("TrailingSlashIsNotRedirected", func(t *testing.T) {
		checkProblem(t, a.get("/healthz/"), http.StatusNotFound, tideline.CodeNotFound)
	})
}

func TestProblemFor(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		name   string
		err    error
		status int
		code   string
		detail string
	}{
		{"Invalid", &tideline.Error{Code: tideline.CodeInvalid, Message: "Bad email.", Fields: map[string]string{"email": "is not an email address"}}, 400, "invalid", "Bad email."},
		{"UnknownError", io.ErrUnexpectedEOF, 500, "internal", httpapi.InternalDetail},
		{"InternalWithMessage", tideline.Errorf(tideline.CodeInternal, "secret table users_v2 broke"), 500, "internal", httpapi.InternalDetail},
		{"UnknownCode", tideline.Errorf("no_such_code", "x"), 500, "internal", httpapi.InternalDetail},
		{"Unavailable", tideline.Wrap(io.EOF, tideline.CodeUnavailable, "Down."), 503, "unavailable", "Down."},
	} {
		t.Run(tt.name, func(t *testing.T) {
			p := httpapi.ProblemFor(tt.err, "rid")
			if p.Status != tt.status || p.Code != tt.code || p.Detail == nil || *p.Detail != tt.detail || p.RequestId != "rid" {
				t.Fatalf("problem %+v (detail %v)", p, p.Detail)
			}
			if tt.code == "invalid" && (p.Fields == nil || (*p.Fields)["email"] == "") {
				t.Fatal("fields lost")
			}
		})
	}
	for _, code := range tideline.Codes {
		if p := httpapi.ProblemFor(tideline.Errorf(code, "m"), ""); p.Code != string(code) {
			t.Errorf("code %q has no status: it became %q", code, p.Code)
		}
	}
}

type retryErr struct{}

func (retryErr) Error() string             { return "slow down" }
func (retryErr) RetryAfter() time.Duration { return 1500 * time.Millisecond }

func TestRetryAfterHeader(t *testing.T) {
	t.Parallel()
	a := newAPI(t, nil)
	a.srv.Handle(http.MethodGet, "/test/limited", func(c *gin.Context) {
		a.srv.WriteProblem(c, &tideline.Error{Code: tideline.CodeRateLimited, Message: "Slow down.", Err: retryErr{}})
	})
	rec := a.get("/test/limited")
	checkProblem(t, rec, http.StatusTooManyRequests, tideline.CodeRateLimited)
	if got := rec.Header().Get("Retry-After"); got != "2" {
		t.Fatalf("Retry-After %q, want 2 (1.5 s rounded up)", got)
	}
}

func TestRequestID(t *testing.T) {
	t.Parallel()
	a := newAPI(t, nil)
	for _, tt := range []struct{ sent, want string }{
		{"", ""},
		{"edge-7f3a.1:req", "edge-7f3a.1:req"},
		{"<script>alert(1)</script>", ""},
		{strings.Repeat("a", 129), ""},
		{"a b", ""},
	} {
		req := httptest.NewRequest(http.MethodGet, "/healthz", nil)
		if tt.sent != "" {
			req.Header.Set(httpapi.HeaderRequestID, tt.sent)
		}
		got := a.do(req).Header().Get(httpapi.HeaderRequestID)
		if tt.want != "" && got != tt.want {
			t.Errorf("sent %q: got %q, want it echoed", tt.sent, got)
		}
		if tt.want == "" && !tideline.ValidID(got) {
			t.Errorf("sent %q: got %q, want a fresh id", tt.sent, got)
		}
	}
}

func TestSecurityHeaders(t *testing.T) {
	t.Parallel()
	rec := newAPI(t, nil).get("/healthz")
	for h, want := range map[string]string{
		"X-Content-Type-Options":  "nosniff",
		"X-Frame-Options":         "DENY",
		"Referrer-Policy":         "no-referrer",
		"Content-Security-Policy": httpapi.APICSP,
		"Cache-Control":           "no-store",
	} {
		if got := rec.Header().Get(h); got != want {
			t.Errorf("%s = %q, want %q", h, got, want)
		}
	}
	if got := rec.Header().Get("Strict-Transport-Security"); got != "" {
		t.Errorf("HSTS over plain HTTP: %q", got)
	}
	req := httptest.NewRequest("GET", "https://api.example.com/healthz", nil) // sets req.TLS
	if got := newAPI(t, nil).do(req).Header().Get("Strict-Transport-Security"); got != httpapi.HSTS {
		t.Errorf("HSTS over TLS = %q, want %q", got, httpapi.HSTS)
	}
}

func TestBodyLimit(t *testing.T) {
	t.Parallel()
	a := newAPI(t, func(c *app.Config) { c.MaxBodyBytes = 64 })
	a.srv.Handle(http.MethodPost, "/test/echo", func(c *gin.Context) {
		if _, err := io.ReadAll(c.Request.Body); err != nil {
			a.srv.WriteProblem(c, httpapi.RequestError(err))
			return
		}
		c.Status(http.StatusNoContent)
	})
	t.Run("ContentLengthOverLimit", func(t *testing.T) {
		req := httptest.NewRequest(http.MethodPost, "/healthz", strings.NewReader(strings.Repeat("x", 65)))
		p := checkProblem(t, a.do(req), http.StatusRequestEntityTooLarge, tideline.CodeTooLarge)
		if !strings.Contains(p.Detail, "64 bytes") {
			t.Fatalf("detail %q does not state the limit", p.Detail)
		}
	})
	t.Run("ChunkedOverLimit", func(t *testing.T) {
		req := httptest.NewRequest(http.MethodPost, "/test/echo", io.MultiReader(strings.NewReader(strings.Repeat("x", 100))))
		req.ContentLength = -1 // unknown length: only reading finds out
		checkProblem(t, a.do(req), http.StatusRequestEntityTooLarge, tideline.CodeTooLarge)
	})
	t.Run("AtLimit", func(t *testing.T) {
		req := httptest.NewRequest(http.MethodPost, "/test/echo", strings.NewReader(strings.Repeat("x", 64)))
		if rec := a.do(req); rec.Code != http.StatusNoContent {
			t.Fatalf("status %d: %s", rec.Code, rec.Body)
		}
	})
}

func TestPanicRecovery(t *testing.T) {
	t.Parallel()
	a := newAPI(t, nil)
	a.srv.Handle(http.MethodGet, "/test/panic", func(*gin.Context) { panic("secret: db password is hunter2") })
	p := checkProblem(t, a.get("/test/panic"), http.StatusInternalServerError, tideline.CodeInternal)
	if p.Detail != httpapi.InternalDetail {
		t.Fatalf("a panic's detail reached the client: %q", p.Detail)
	}
	logged := a.logLines("panic")
	if len(logged) != 1 || !strings.Contains(logged[0]["stack"].(string), "TestPanicRecovery") {
		t.Fatalf("panic not logged with its stack: %v", logged)
	}
	if rec := a.get("/healthz"); rec.Code != http.StatusOK {
		t.Fatal("the server stopped serving after a panic")
	}
}

func TestAccessLog(t *testing.T) {
	t.Parallel()
	a := newAPI(t, nil)
	req := httptest.NewRequest(http.MethodGet, "/healthz?token=s3cr3t-in-query", nil)
	req.RemoteAddr = "203.0.113.9:5555"
	req.Header.Set("X-Forwarded-For", "198.51.100.1") // no proxy is trusted by default
	rec := a.do(req)
	lines := a.logLines("request")
	if len(lines) != 1 {
		t.Fatalf("%d access log lines: %s", len(lines), a.app.Logs)
	}
	l := lines[0]
	if l["route"] != "/healthz" || l["path"] != "/healthz" || l["status"] != float64(200) || l["request_id"] != rec.Header().Get(httpapi.HeaderRequestID) || l["ip"] != "203.0.113.9" {
		t.Fatalf("access log %v", l)
	}
	if strings.Contains(a.app.Logs.String(), "s3cr3t-in-query") {
		t.Fatal("the query string was logged")
	}
}

func TestTrustedProxies(t *testing.T) {
	t.Parallel()
	a := newAPI(t, func(c *app.Config) { c.TrustedProxies = []string{"10.0.0.0/8"} })
	req := httptest.NewRequest(http.MethodGet, "/healthz", nil)
	req.RemoteAddr = "10.1.2.3:5555"
	req.Header.Set("X-Forwarded-For", "198.51.100.1")
	a.do(req)
	var l map[string]any
	if lines := a.logLines("request"); len(lines) == 1 {
		l = lines[0]
	}
	if l["ip"] != "198.51.100.1" {
		t.Fatalf("behind a trusted proxy, ip = %v", l["ip"])
	}
	if _, err := httpapi.New(httpapi.Config{Store: a.app.Store, Auth: a.app.Auth, Sync: a.app.Sync, Hub: a.app.Hub, Push: a.app.Push, TrustedProxies: []string{"not a cidr"}}); err == nil {
		t.Fatal("an invalid proxy CIDR was accepted")
	}
}

func TestCORS(t *testing.T) {
	t.Parallel()
	preflight := func(a *apiTest, origin string) *httptest.ResponseRecorder {
		req := httptest.NewRequest(http.MethodOptions, "/healthz", nil)
		req.Header.Set("Origin", origin)
		req.Header.Set("Access-Control-Request-Method", "GET")
		rec := httptest.NewRecorder()
		a.srv.ServeHTTP(rec, req)
		return rec
	}
	t.Run("AllowedOrigin", func(t *testing.T) {
		a := newAPI(t, func(c *app.Config) { c.CORSOrigins = []string{"https://app.example"} })
		rec := preflight(a, "https://app.example")
		if rec.Code != http.StatusNoContent || rec.Header().Get("Access-Control-Allow-Origin") != "https://app.example" {
			t.Fatalf("preflight: %d %v", rec.Code, rec.Header())
		}
		if !strings.Contains(rec.Header().Get("Access-Control-Allow-Headers"), "Authorization") {
			t.Fatalf("Authorization not allowed: %v", rec.Header())
		}
		req := httptest.NewRequest(http.MethodGet, "/healthz", nil)
		req.Header.Set("Origin", "https://app.example")
		got := a.do(req)
		if got.Header().Get("Access-Control-Allow-Origin") != "https://app.example" || !strings.Contains(got.Header().Get("Access-Control-Expose-Headers"), "X-Request-Id") {
			t.Fatalf("simple request: %v", got.Header())
		}
	})
	t.Run("ErrOtherOrigin", func(t *testing.T) {
		a := newAPI(t, func(c *app.Config) { c.CORSOrigins = []string{"https://app.example"} })
		rec := preflight(a, "https://evil.example")
		if rec.Header().Get("Access-Control-Allow-Origin") != "" || rec.Code == http.StatusNoContent {
			t.Fatalf("an unlisted origin passed the preflight: %d %v", rec.Code, rec.Header())
		}
	})
	t.Run("AnyOrigin", func(t *testing.T) {
		a := newAPI(t, func(c *app.Config) { c.CORSOrigins = []string{"*"} })
		if got := preflight(a, "https://whoever.example").Header().Get("Access-Control-Allow-Origin"); got != "*" {
			t.Fatalf("Allow-Origin %q", got)
		}
	})
	t.Run("OffByDefault", func(t *testing.T) {
		a := newAPI(t, nil)
		req := httptest.NewRequest(http.MethodGet, "/healthz", nil)
		req.Header.Set("Origin", "https://app.example")
		if got := a.do(req).Header().Get("Access-Control-Allow-Origin"); got != "" {
			t.Fatalf("CORS on without configuration: %q", got)
		}
	})
}

func TestRequestErrorMapping(t *testing.T) {
	t.Parallel()
	err := httpapi.RequestError(&json.SyntaxError{Offset: 3})
	if tideline.ErrorCode(err) != tideline.CodeInvalid || tideline.ErrorMessage(err) != "The request body is not valid JSON (near byte 3)." {
		t.Fatalf("syntax error: %v", err)
	}
	// A decoder's type error is said in JSON's words, with the member's path.
	err = httpapi.RequestError(&json.UnmarshalTypeError{Value: "number", Type: reflect.TypeFor[string](), Field: "mutations.0.docId", Struct: "Mutation"})
	if tideline.ErrorMessage(err) != "The request body's mutations.0.docId must be a string." || tideline.ErrorFields(err)["mutations.0.docId"] != "must be a string" {
		t.Fatalf("type error: %v", err)
	}
	own := tideline.Errorf(tideline.CodeForbidden, "no")
	if httpapi.RequestError(own) != own {
		t.Fatal("a *tideline.Error was re-wrapped")
	}
}
