package httpapi_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/tideline-dev/tideline"
	"github.com/tideline-dev/tideline/httpapi"
)

func TestHealthz(t *testing.T) {
	t.Parallel()
	a := newAPI(t, nil)
	rec := a.get("/healthz")
	if rec.Code != http.StatusOK {
		t.Fatalf("status %d", rec.Code)
	}
	var body struct{ Status, Version string }
	if err := json.Unmarshal(rec.Body.Bytes(), &body); err != nil || body.Status != "ok" || body.Version != tideline.Version {
		t.Fatalf("body %s (%v)", rec.Body, err)
	}
}

func TestReadyz(t *testing.T) {
	t.Parallel()
	t.Run("OK", func(t *testing.T) {
		a := newAPI(t, nil)
		rec := a.get("/readyz")
		var body struct {
			Status, Engine string
			SchemaVersion  int
		}
		if err := json.Unmarshal(rec.Body.Bytes(), &body); err != nil {
			t.Fatal(err)
		}
		info, _ := a.app.Store.Info(t.Context())
		if rec.Code != http.StatusOK || body.Status != "ready" || body.Engine != "sqlite" || body.SchemaVersion != info.SchemaVersion || body.SchemaVersion < 1 {
			t.Fatalf("status %d, body %s", rec.Code, rec.Body)
		}
	})

	t.Run("ErrStoreClosed", func(t *testing.T) {
		a := newAPI(t, nil)
		if err := a.app.Store.Close(); err != nil {
			t.Fatal(err)
		}
		p := checkProblem(t, a.get("/readyz"), http.StatusServiceUnavailable, tideline.CodeUnavailable)
		if !strings.Contains(p.Detail, "sqlite") {
			t.Fatalf("detail %q does not name the engine", p.Detail)
		}
		if len(a.logLines("request failed")) != 1 {
			t.Fatalf("the cause was not logged: %s", a.app.Logs)
		}
	})
}

func TestMetrics(t *testing.T) {
	t.Parallel()
	a := newAPI(t, nil)
	a.get("/healthz")
	a.get("/healthz")
	a.get("/no/such/route")
	rec := a.get("/metrics")
	if rec.Code != http.StatusOK || !strings.HasPrefix(rec.Header().Get("Content-Type"), "text/plain") {
		t.Fatalf("status %d, content type %q", rec.Code, rec.Header().Get("Content-Type"))
	}
	body := rec.Body.String()
	for _, want := range []string{
		`tideline_http_requests_total{method="GET",route="/healthz",status="200"} 2`,
		`tideline_http_requests_total{method="GET",route="unmatched",status="404"} 1`,
		`tideline_http_request_duration_seconds_count{method="GET",route="/healthz"} 2`,
		`tideline_http_requests_in_flight 1`, // the /metrics request itself
		"go_goroutines ",
		"process_resident_memory_bytes ",
	} {
		if !strings.Contains(body, want) {
			t.Errorf("metrics lack %q", want)
		}
	}
	if strings.Contains(body, "/no/such/route") {
		t.Error("a raw unmatched path became a label")
	}
}

func TestOpenAPI(t *testing.T) {
	t.Parallel()
	rec := newAPI(t, nil).get("/openapi.yaml")
	if rec.Code != http.StatusOK || !bytes.Equal(rec.Body.Bytes(), tideline.OpenAPI) {
		t.Fatalf("status %d; body is not openapi.yaml byte for byte", rec.Code)
	}
	if ct := rec.Header().Get("Content-Type"); ct != "application/yaml" {
		t.Fatalf("Content-Type %q", ct)
	}
}

func TestDocs(t *testing.T) {
	t.Parallel()
	rec := newAPI(t, nil).get("/docs")
	if rec.Code != http.StatusOK || rec.Header().Get("Content-Type") != "text/html" {
		t.Fatalf("status %d, content type %q", rec.Code, rec.Header().Get("Content-Type"))
	}
	page := rec.Body.String()
	doc, err := openapi3.NewLoader().LoadFromData(tideline.OpenAPI)
	if err != nil {
		t.Fatal(err)
	}
	for path, item := range doc.Paths.Map() {
		for method, op := range item.Operations() {
			if !strings.Contains(page, `id="op-`+op.OperationID+`"`) || !strings.Contains(page, "<code>"+path+"</code>") {
				t.Errorf("the page does not document %s %s (%s)", method, path, op.OperationID)
			}
		}
	}
	for name := range doc.Components.Schemas {
		if !strings.Contains(page, `id="schema-`+name+`"`) {
			t.Errorf("the page does not document schema %s", name)
		}
	}
	if !strings.Contains(page, "<table>") || !strings.Contains(page, "<code>unauthenticated</code>") {
		t.Error("the Markdown error table in the description was not rendered")
	}
	// Examples: the push's own (from openapi.yaml's media example), and one made of the
	// schema's property examples (sign-up's credentials).
	push := page[strings.Index(page, `id="op-syncPush"`):]
	push = push[:strings.Index(push, "</article>")]
	if !strings.Contains(push, `<pre class="example"><code>{
  &#34;clientId&#34;: &#34;my-laptop&#34;,`) || !strings.Contains(push, `&#34;status&#34;: &#34;applied&#34;`) {
		t.Error("the push operation does not show its request and response examples")
	}
	signUp := page[strings.Index(page, `id="op-signUp"`):]
	if signUp = signUp[:strings.Index(signUp, "</article>")]; !strings.Contains(signUp, `&#34;email&#34;: &#34;ada@example.com&#34;`) {
		t.Error("the sign-up operation shows no example made of its schema's examples")
	}
	// Long paths wrap between their segments, never inside one.
	if !strings.Contains(page, `/<wbr>v1/<wbr>admin/<wbr>push/<wbr>campaigns/<wbr>{campaignId}/<wbr>cancel</a>`) || strings.Contains(page, "break-all") {
		t.Error("the sidebar's paths do not wrap at their slashes")
	}
	if regexp.MustCompile(`(?i)<script|src="http|href="http`).MatchString(page) {
		t.Error("the page loads scripts or remote assets")
	}
	// The CSP admits exactly the page's inline stylesheet.
	style := regexp.MustCompile(`(?s)<style>(.*?)</style>`).FindStringSubmatch(page)
	if style == nil {
		t.Fatal("no inline stylesheet")
	}
	sum := sha256.Sum256([]byte(style[1]))
	if csp := rec.Header().Get("Content-Security-Policy"); !strings.Contains(csp, "'sha256-"+base64.StdEncoding.EncodeToString(sum[:])+"'") || !strings.Contains(csp, "default-src 'none'") {
		t.Fatalf("CSP %q does not admit the stylesheet by hash", csp)
	}
}

func TestRenderDocsEscapes(t *testing.T) {
	t.Parallel()
	spec := []byte(`openapi: 3.0.3
info:
  title: "<script>alert(1)</script>"
  version: "1"
  description: "Hi <img src=x onerror=alert(1)> **bold**"
paths:
  /x:
    get:
      operationId: getX
      summary: "<b>sum</b>"
      responses:
        "200":
          description: ok
`)
	doc, err := httpapi.LoadSpec(t.Context(), spec)
	if err != nil {
		t.Fatal(err)
	}
	page, err := httpapi.RenderDocs(doc)
	if err != nil {
		t.Fatal(err)
	}
	s := string(page)
	if strings.Contains(s, "<script>alert") || strings.Contains(s, "<img") || strings.Contains(s, "<b>sum</b>") {
		t.Fatalf("markup from the spec reached the page:\n%s", s)
	}
	if !strings.Contains(s, "<strong>bold</strong>") || !strings.Contains(s, "&lt;script&gt;") {
		t.Fatal("Markdown or escaped text missing")
	}
	if _, err := httpapi.LoadSpec(t.Context(), []byte("openapi: 3.0.3\ninfo: {}\npaths: {}\n")); err == nil {
		t.Fatal("an invalid document rendered")
	}
}

// TestFavicon: browsers asking for /favicon.ico (the reference page, the console) get an
// icon they may keep a day, not a 404.
func TestFavicon(t *testing.T) {
	t.Parallel()
	rec := newAPI(t, nil).get("/favicon.ico")
	body := rec.Body.Bytes()
	if rec.Code != http.StatusOK || rec.Header().Get("Content-Type") != "image/x-icon" || rec.Header().Get("Cache-Control") != "public, max-age=86400" {
		t.Fatalf("%d %v", rec.Code, rec.Header())
	}
	if !bytes.HasPrefix(body, []byte{0, 0, 1, 0, 1, 0}) || !bytes.Contains(body, []byte("\x89PNG\r\n\x1a\n")) {
		t.Fatalf("not an ICO holding a PNG: % x", body[:min(len(body), 16)])
	}
}

// TestClientHungUp: a request whose client went away mid-way is recorded as 499 (client
// closed request), not as a 503 with an error log: mobile clients hang up all the time,
// and each used to count as a server failure in the 5xx alert.
func TestClientHungUp(t *testing.T) {
	t.Parallel()
	a := newAPI(t, nil)
	tok := a.signUp("gone@example.com").AccessToken
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	req := httptest.NewRequest(http.MethodPost, "/v1/sync/pull", strings.NewReader(`{"clientId":"phone"}`)).WithContext(ctx)
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+tok)
	rec := httptest.NewRecorder()
	a.srv.ServeHTTP(rec, req) // not a.do: 499 is no answer of the spec's
	if rec.Code != 499 {
		t.Fatalf("status %d: %s", rec.Code, rec.Body)
	}
	if lines := a.logLines("request failed"); len(lines) != 0 {
		t.Fatalf("a hang-up was logged as a failure: %v", lines)
	}
	if body := a.get("/metrics").Body.String(); !strings.Contains(body, `tideline_http_requests_total{method="POST",route="/v1/sync/pull",status="499"} 1`) {
		t.Fatal("the hang-up is not counted as 499")
	}

	// The same request with its client still there is answered: the 499 was the hang-up.
	req = httptest.NewRequest(http.MethodPost, "/v1/sync/pull", strings.NewReader(`{"clientId":"phone"}`))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+tok)
	if rec := a.do(req); rec.Code != http.StatusOK {
		t.Fatalf("a pull with its client still there: %d %s", rec.Code, rec.Body)
	}
}
