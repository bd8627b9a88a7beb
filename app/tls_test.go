package app

import (
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/tideline-dev/tideline/internal/testkit"
)

func TestCertReloader(t *testing.T) {
	newReloader := func(t *testing.T) (*certReloader, *testkit.LogSink, string) {
		dir := t.TempDir()
		testkit.WriteCert(t, dir, "first")
		logs := testkit.NewLogSink()
		r, err := newCertReloader(filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem"), slog.New(slog.NewJSONHandler(logs, nil)), prometheus.NewRegistry())
		if err != nil {
			t.Fatal(err)
		}
		return r, logs, dir
	}
	served := func(r *certReloader) string {
		c, _ := r.GetCertificate(nil)
		return c.Leaf.Subject.CommonName
	}

	t.Run("FilesChange", func(t *testing.T) {
		r, logs, dir := newReloader(t)
		if served(r) != "first" {
			t.Fatalf("serves %q", served(r))
		}
		done := make(chan struct{})
		go func() { r.run(t.Context(), 10*time.Millisecond, nil); close(done) }()
		testkit.WriteCert(t, dir, "renewed")
		logs.WaitForN(t, "TLS certificate loaded", 2, done)
		if served(r) != "renewed" {
			t.Fatalf("serves %q after the files changed", served(r))
		}
	})

	t.Run("SIGHUPAndABadPair", func(t *testing.T) {
		r, logs, dir := newReloader(t)
		hup := make(chan os.Signal)
		done := make(chan struct{})
		go func() { r.run(t.Context(), time.Hour, hup); close(done) }()
		first, err := os.ReadFile(filepath.Join(dir, "key.pem"))
		if err != nil {
			t.Fatal(err)
		}
		testkit.WriteCert(t, dir, "second")
		os.WriteFile(filepath.Join(dir, "key.pem"), first, 0o600) // the key of another certificate
		hup <- syscall.SIGHUP
		logs.WaitFor(t, "cannot reload the TLS certificate; still serving the previous one", done)
		if served(r) != "first" {
			t.Fatalf("serves %q after a bad pair", served(r))
		}
		testkit.WriteCert(t, dir, "third")
		hup <- syscall.SIGHUP
		logs.WaitForN(t, "TLS certificate loaded", 2, done)
		if served(r) != "third" {
			t.Fatalf("serves %q after SIGHUP", served(r))
		}
	})
}

func TestHTTPSRedirect(t *testing.T) {
	for _, tt := range []struct{ port, host, target, want string }{
		{"8443", "api.example.com:8080", "/v1/x?a=1", "https://api.example.com:8443/v1/x?a=1"},
		{"443", "api.example.com", "/", "https://api.example.com/"},
		{"443", "[::1]:80", "/docs", "https://[::1]/docs"},
		{"8443", "[::1]:80", "/docs", "https://[::1]:8443/docs"},
	} {
		req := httptest.NewRequest("POST", "http://"+tt.host+tt.target, nil)
		rec := httptest.NewRecorder()
		httpsRedirect(tt.port).ServeHTTP(rec, req)
		if rec.Code != http.StatusPermanentRedirect || rec.Header().Get("Location") != tt.want {
			t.Errorf("%s%s to port %s: %d %q, want 308 %q", tt.host, tt.target, tt.port, rec.Code, rec.Header().Get("Location"), tt.want)
		}
	}
}
