package httpapi_test

import (
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/tideline-dev/tideline/httpapi"
)

// The console is mounted under /console behind the API's middleware, and sees the
// client's IP as the trusted proxies say.
func TestConsoleMount(t *testing.T) {
	t.Parallel()
	var seen []string
	console := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		seen = append(seen, r.Method+" "+r.URL.Path+" from "+r.RemoteAddr)
		w.Header().Set("Content-Security-Policy", "default-src 'self'")
		w.WriteHeader(http.StatusAccepted)
	})
	a := newAPI(t, nil)
	// The app's services, served by a Server whose console is the recorder above.
	srv, err := httpapi.New(httpapi.Config{Store: a.app.Store, Auth: a.app.Auth, Sync: a.app.Sync, Hub: a.app.Hub, Push: a.app.Push,
		Logger: a.app.Config.Logger, Console: console, TrustedProxies: []string{"10.0.0.0/8"}})
	if err != nil {
		t.Fatal(err)
	}
	a.srv = srv
	for _, tt := range []struct{ method, path, remote, forwarded, want string }{
		{"GET", "/console", "203.0.113.9:5555", "", "GET /console from 203.0.113.9:0"},
		{"POST", "/console/users/u1/disable", "10.1.2.3:5555", "198.51.100.1", "POST /console/users/u1/disable from 198.51.100.1:0"},
		{"GET", "/console/", "203.0.113.9:5555", "198.51.100.1", "GET /console/ from 203.0.113.9:0"}, // not a trusted proxy
	} {
		seen = nil
		req := httptest.NewRequest(tt.method, tt.path, nil)
		req.RemoteAddr = tt.remote
		if tt.forwarded != "" {
			req.Header.Set("X-Forwarded-For", tt.forwarded)
		}
		rec := a.do(req)
		if rec.Code != http.StatusAccepted || len(seen) != 1 || seen[0] != tt.want {
			t.Errorf("%s %s: %d, the console saw %q, want %q", tt.method, tt.path, rec.Code, seen, tt.want)
		}
		if rec.Header().Get(httpapi.HeaderRequestID) == "" || rec.Header().Get("Content-Security-Policy") != "default-src 'self'" || rec.Header().Get("X-Content-Type-Options") != "nosniff" {
			t.Errorf("%s: headers %v", tt.path, rec.Header())
		}
	}
	if l := a.logLines("request"); len(l) != 3 || l[0]["route"] != "/console" || l[1]["route"] != "/console/*path" {
		t.Fatalf("access log %v", l)
	}
	// Without a console, /console is an unknown route like any other.
	if a.srv, err = httpapi.New(httpapi.Config{Store: a.app.Store, Auth: a.app.Auth, Sync: a.app.Sync, Hub: a.app.Hub, Push: a.app.Push}); err != nil {
		t.Fatal(err)
	}
	if rec := a.get("/console"); rec.Code != http.StatusNotFound {
		t.Fatalf("no console: %d", rec.Code)
	}
}
