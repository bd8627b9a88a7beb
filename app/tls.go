package app

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"strconv"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// certPollEvery is how often the server looks at the certificate and key files for a
// change (a renewal by certbot or cert-manager replaces them); SIGHUP reloads at once.
const certPollEvery = 30 * time.Second

// loadKeyPair reads a PEM certificate chain and its private key.
func loadKeyPair(certFile, keyFile string) (*tls.Certificate, error) {
	cert, err := tls.LoadX509KeyPair(certFile, keyFile)
	if err != nil {
		return nil, err
	}
	if cert.Leaf == nil {
		return nil, errors.New("the certificate file holds no certificate")
	}
	return &cert, nil
}

// certReloader serves a certificate and key read from files, and reads them again when
// asked (SIGHUP) or when they change. A pair that fails to load (say, a renewal caught
// between writing the certificate and the key) is logged, and the previous one is served
// until a good pair is read: a renewal never takes the server down.
type certReloader struct {
	certFile, keyFile string
	log               *slog.Logger
	cert              atomic.Pointer[tls.Certificate]
	loaded            string // stamp of the files last loaded
	notAfter          prometheus.Gauge
}

func newCertReloader(certFile, keyFile string, log *slog.Logger, reg prometheus.Registerer) (*certReloader, error) {
	r := &certReloader{certFile: certFile, keyFile: keyFile, log: log,
		notAfter: prometheus.NewGauge(prometheus.GaugeOpts{Name: "tideline_tls_certificate_expiry_timestamp_seconds",
			Help: "When the served TLS certificate expires (Unix time)."}),
	}
	if err := reg.Register(r.notAfter); err != nil {
		return nil, fmt.Errorf("register TLS metrics: %w", err)
	}
	if err := r.reload(); err != nil {
		return nil, fmt.Errorf("invalid tls.certFile and tls.keyFile: %w", err)
	}
	return r, nil
}

// GetCertificate is the tls.Config hook: every handshake gets the current certificate.
func (r *certReloader) GetCertificate(*tls.ClientHelloInfo) (*tls.Certificate, error) {
	return r.cert.Load(), nil
}

// stamp identifies the files' current contents by size and modification time.
func (r *certReloader) stamp() string {
	s := ""
	for _, f := range []string{r.certFile, r.keyFile} {
		st, err := os.Stat(f)
		if err != nil {
			return "missing"
		}
		s += strconv.FormatInt(st.Size(), 10) + "/" + strconv.FormatInt(st.ModTime().UnixNano(), 10) + " "
	}
	return s
}

// reload reads the files and serves what they hold from the next handshake on.
func (r *certReloader) reload() error {
	stamp := r.stamp()
	cert, err := loadKeyPair(r.certFile, r.keyFile)
	if err != nil {
		return err
	}
	r.cert.Store(cert)
	r.loaded = stamp
	r.notAfter.Set(float64(cert.Leaf.NotAfter.Unix()))
	attrs := []any{"subject", cert.Leaf.Subject.String(), "names", cert.Leaf.DNSNames, "expires", cert.Leaf.NotAfter.UTC().Format(time.RFC3339)}
	if time.Now().After(cert.Leaf.NotAfter) {
		r.log.Warn("the TLS certificate has expired: clients will refuse it", attrs...)
	} else {
		r.log.Info("TLS certificate loaded", attrs...)
	}
	return nil
}

// run reloads on every value from hup and whenever the files' stamp changes, checked
// every poll, until ctx is canceled.
func (r *certReloader) run(ctx context.Context, poll time.Duration, hup <-chan os.Signal) {
	tick := time.NewTicker(poll)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-hup:
		case <-tick.C:
			if r.stamp() == r.loaded {
				continue
			}
		}
		if err := r.reload(); err != nil {
			r.log.Error("cannot reload the TLS certificate; still serving the previous one", "cert", r.certFile, "key", r.keyFile, "cause", err.Error())
		}
	}
}

// httpsRedirect answers every request with a permanent redirect to the same URL over
// HTTPS on port (308: the method and body are kept).
func httpsRedirect(port string) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		host := r.Host
		if h, _, err := net.SplitHostPort(host); err == nil {
			host = h
		}
		if port != "443" {
			host = net.JoinHostPort(host, port)
		} else if ip := net.ParseIP(host); ip != nil && ip.To4() == nil {
			host = "[" + host + "]"
		}
		http.Redirect(w, r, "https://"+host+r.URL.RequestURI(), http.StatusPermanentRedirect)
	})
}

// warnPlainHTTP warns when the server listens on a non-loopback address without TLS and
// without a proxy declared in front (http.trustedProxies): passwords and tokens would
// cross the network in the clear.
func warnPlainHTTP(cfg *Config, addr net.Addr, log *slog.Logger) {
	tcp, ok := addr.(*net.TCPAddr)
	if cfg.TLSCertFile != "" || len(cfg.TrustedProxies) > 0 || !ok || tcp.IP.IsLoopback() {
		return
	}
	log.Warn("listening on " + addr.String() + " without TLS: passwords and tokens cross the network in the clear. Set tls.certFile and tls.keyFile, or serve behind a TLS proxy and list it in http.trustedProxies (docs/operations.md)")
}
