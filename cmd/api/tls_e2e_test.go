package main

import (
	"net/http"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/tideline-dev/tideline/internal/testkit"
)

// TestServeTLS serves HTTPS from certificate files through the binary: HSTS, the redirect
// from plain HTTP, and a renewed certificate served after SIGHUP without a restart.
func TestServeTLS(t *testing.T) {
	dir := t.TempDir()
	first := testkit.WriteCert(t, dir, "first")
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
	resp, err := testkit.TLSClient(first).Get(base + "/healthz")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 || resp.Header.Get("Strict-Transport-Security") != "max-age=31536000" || resp.TLS.PeerCertificates[0].Subject.CommonName != "first" || resp.ProtoMajor != 2 {
		t.Fatalf("/healthz over TLS: %d %s, HSTS %q", resp.StatusCode, resp.Proto, resp.Header.Get("Strict-Transport-Security"))
	}

	redirect := p.waitFor("redirecting plain HTTP to HTTPS")["addr"].(string)
	resp, err = testkit.TLSClient(first).Post("http://"+redirect+"/v1/sync/pull?x=1", "application/json", nil)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if want := base + "/v1/sync/pull?x=1"; resp.StatusCode != http.StatusPermanentRedirect || resp.Header.Get("Location") != want {
		t.Fatalf("plain HTTP: %d %q, want 308 to %s", resp.StatusCode, resp.Header.Get("Location"), want)
	}

	renewed := testkit.WriteCert(t, dir, "renewed")
	if err := p.cmd.Process.Signal(syscall.SIGHUP); err != nil {
		t.Fatal(err)
	}
	p.log.WaitForN(t, "TLS certificate loaded", 2, p.exited)
	resp, err = testkit.TLSClient(renewed).Get(base + "/readyz")
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
