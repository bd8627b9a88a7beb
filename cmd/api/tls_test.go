package main

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"log/slog"
	"math/big"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// writeCert writes a new self-signed certificate for 127.0.0.1 and localhost, and its key,
// to cert.pem and key.pem in dir (replacing them), and returns it.
func writeCert(t *testing.T, dir, name string) *x509.Certificate {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	serial, _ := rand.Int(rand.Reader, big.NewInt(1<<62))
	tmpl := &x509.Certificate{
		SerialNumber:          serial,
		Subject:               pkix.Name{CommonName: name},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(24 * time.Hour),
		KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		BasicConstraintsValid: true,
		IsCA:                  true, // self-signed: the test's client trusts it as its own root
		DNSNames:              []string{"localhost"},
		IPAddresses:           []net.IP{net.IPv4(127, 0, 0, 1)},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	keyDER, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	for file, block := range map[string]*pem.Block{"cert.pem": {Type: "CERTIFICATE", Bytes: der}, "key.pem": {Type: "PRIVATE KEY", Bytes: keyDER}} {
		if err := os.WriteFile(filepath.Join(dir, file), pem.EncodeToMemory(block), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	return cert
}

// tlsClient trusts only cert and opens a new connection for every request, so each one
// sees the certificate served at that moment.
func tlsClient(cert *x509.Certificate) *http.Client {
	pool := x509.NewCertPool()
	pool.AddCert(cert)
	return &http.Client{
		Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}, DisableKeepAlives: true, ForceAttemptHTTP2: true},
		CheckRedirect: func(*http.Request, []*http.Request) error {
			return http.ErrUseLastResponse
		},
	}
}

func TestCertReloader(t *testing.T) {
	newReloader := func(t *testing.T) (*certReloader, *logSink, string) {
		dir := t.TempDir()
		writeCert(t, dir, "first")
		logs := newLogSink()
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
		writeCert(t, dir, "renewed")
		logs.waitForN(t, "TLS certificate loaded", 2, done)
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
		writeCert(t, dir, "second")
		os.WriteFile(filepath.Join(dir, "key.pem"), first, 0o600) // the key of another certificate
		hup <- syscall.SIGHUP
		logs.waitFor(t, "cannot reload the TLS certificate; still serving the previous one", done)
		if served(r) != "first" {
			t.Fatalf("serves %q after a bad pair", served(r))
		}
		writeCert(t, dir, "third")
		hup <- syscall.SIGHUP
		logs.waitForN(t, "TLS certificate loaded", 2, done)
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

// TestServeTLS serves HTTPS from certificate files through the binary: HSTS, the redirect
// from plain HTTP, and a renewed certificate served after SIGHUP without a restart.
func TestServeTLS(t *testing.T) {
	dir := t.TempDir()
	first := writeCert(t, dir, "first")
	p := startAPI(t, []string{"TIDELINE_DATA_DIR=" + t.TempDir(), "TIDELINE_TLS_CERT_FILE=" + filepath.Join(dir, "cert.pem"), "TIDELINE_TLS_KEY_FILE=" + filepath.Join(dir, "key.pem")},
		"--addr", "127.0.0.1:0", "--tls-redirect-addr", "127.0.0.1:0")
	up := p.waitFor("tideline listening")
	base := up["addr"].(string)
	if !strings.HasPrefix(base, "https://127.0.0.1:") || up["docs"] != base+"/docs" {
		t.Fatalf("start-up line %v", up)
	}
	if strings.Contains(p.log.String(), "without TLS") {
		t.Fatalf("warned about plain HTTP while serving TLS:\n%s", p.log)
	}
	resp, err := tlsClient(first).Get(base + "/healthz")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 || resp.Header.Get("Strict-Transport-Security") != "max-age=31536000" || resp.TLS.PeerCertificates[0].Subject.CommonName != "first" || resp.ProtoMajor != 2 {
		t.Fatalf("/healthz over TLS: %d %s, HSTS %q", resp.StatusCode, resp.Proto, resp.Header.Get("Strict-Transport-Security"))
	}

	redirect := p.waitFor("redirecting plain HTTP to HTTPS")["addr"].(string)
	resp, err = tlsClient(first).Post("http://"+redirect+"/v1/sync/pull?x=1", "application/json", nil)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if want := base + "/v1/sync/pull?x=1"; resp.StatusCode != http.StatusPermanentRedirect || resp.Header.Get("Location") != want {
		t.Fatalf("plain HTTP: %d %q, want 308 to %s", resp.StatusCode, resp.Header.Get("Location"), want)
	}

	renewed := writeCert(t, dir, "renewed")
	if err := p.cmd.Process.Signal(syscall.SIGHUP); err != nil {
		t.Fatal(err)
	}
	p.log.waitForN(t, "TLS certificate loaded", 2, p.exited)
	resp, err = tlsClient(renewed).Get(base + "/readyz")
	if err != nil {
		t.Fatalf("after SIGHUP: %v", err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 || resp.TLS.PeerCertificates[0].Subject.CommonName != "renewed" {
		t.Fatalf("after SIGHUP: %d from %q", resp.StatusCode, resp.TLS.PeerCertificates[0].Subject.CommonName)
	}
	if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	if code := p.wait(); code != 0 {
		t.Fatalf("exit %d after SIGTERM:\n%s", code, p.log)
	}
}

func TestServeWarnsWithoutTLS(t *testing.T) {
	for _, tt := range []struct {
		name string
		args []string
		warn bool
	}{
		{"AllInterfaces", []string{"--addr", "0.0.0.0:0"}, true},
		{"Loopback", []string{"--addr", "127.0.0.1:0"}, false},
		{"BehindAProxy", []string{"--addr", "0.0.0.0:0", "--http-trusted-proxies", "10.0.0.0/8"}, false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			p := startAPI(t, []string{"TIDELINE_DATA_DIR=" + t.TempDir()}, tt.args...)
			base := p.waitFor("tideline listening")["addr"].(string)
			if warned := strings.Contains(p.log.String(), "without TLS: passwords and tokens cross the network in the clear"); warned != tt.warn {
				t.Fatalf("warned %v, want %v:\n%s", warned, tt.warn, p.log)
			}
			// SIGHUP (a service manager's reload) never stops the server.
			if err := p.cmd.Process.Signal(syscall.SIGHUP); err != nil {
				t.Fatal(err)
			}
			p.waitFor("SIGHUP: nothing to reload (no TLS certificate is configured)")
			if code, _ := getJSON(t, strings.Replace(base, "0.0.0.0", "127.0.0.1", 1)+"/healthz"); code != 200 {
				t.Fatalf("/healthz after SIGHUP: %d", code)
			}
		})
	}
}
