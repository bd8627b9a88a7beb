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
	"os/signal"
	"sync"
	"syscall"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// operations are what runs beside the API for the people who operate it: TLS with
// certificate reloads, the HTTP to HTTPS redirect, and scheduled backups.
type operations struct {
	certs    *certReloader // nil without TLS
	redirect *http.Server  // nil without tls.redirectAddr
	stop     context.CancelFunc
	done     sync.WaitGroup
}

// startOperations starts them for a server listening on addr. close stops them; a backup
// under way is abandoned.
func startOperations(cfg *Config, store Engine, addr net.Addr, log *slog.Logger, reg prometheus.Registerer) (_ *operations, err error) {
	ctx, stop := context.WithCancel(context.Background())
	o := &operations{stop: stop}
	defer func() {
		if err != nil {
			o.close()
		}
	}()
	if cfg.BackupEvery > 0 {
		db, ok := store.(backupper)
		if !ok {
			return nil, errors.New("backup.every: this engine has no backups")
		}
		s, err := newBackupSchedule(db, cfg, log, reg)
		if err != nil {
			return nil, err
		}
		o.done.Go(func() { s.run(ctx) })
	}
	// SIGHUP reloads the certificate. It never stops the server (its default action), so a
	// service manager's reload is always safe.
	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	if cfg.TLSCertFile == "" {
		warnPlainHTTP(cfg, addr, log)
		o.done.Go(func() {
			defer signal.Stop(hup)
			for {
				select {
				case <-ctx.Done():
					return
				case <-hup:
					log.Info("SIGHUP: nothing to reload (no TLS certificate is configured)")
				}
			}
		})
		return o, nil
	}
	if o.certs, err = newCertReloader(cfg.TLSCertFile, cfg.TLSKeyFile, log, reg); err != nil {
		signal.Stop(hup)
		return nil, err
	}
	o.done.Go(func() {
		defer signal.Stop(hup)
		o.certs.run(ctx, certPollEvery, hup)
	})
	if cfg.TLSRedirectAddr != "" {
		_, port, _ := net.SplitHostPort(addr.String())
		ln, err := net.Listen("tcp", cfg.TLSRedirectAddr)
		if err != nil {
			return nil, fmt.Errorf("cannot listen on tls.redirectAddr %s: %w", cfg.TLSRedirectAddr, err)
		}
		o.redirect = &http.Server{Handler: httpsRedirect(port), ReadHeaderTimeout: 10 * time.Second,
			ErrorLog: slog.NewLogLogger(log.Handler(), slog.LevelWarn)}
		o.done.Go(func() { _ = o.redirect.Serve(ln) })
		log.Info("redirecting plain HTTP to HTTPS", "addr", ln.Addr().String())
	}
	return o, nil
}

// scheme is the scheme the API is served with.
func (o *operations) scheme() string {
	if o.certs != nil {
		return "https"
	}
	return "http"
}

// serve serves srv on ln, over TLS when it is configured, until srv shuts down.
func (o *operations) serve(srv *http.Server, ln net.Listener) error {
	if o.certs == nil {
		return srv.Serve(ln)
	}
	srv.TLSConfig = &tls.Config{MinVersion: tls.VersionTLS12, GetCertificate: o.certs.GetCertificate}
	return srv.ServeTLS(ln, "", "")
}

// close stops the redirect listener, the certificate reloader and the backups, and waits
// for them.
func (o *operations) close() {
	if o.redirect != nil {
		o.redirect.Close()
	}
	o.stop()
	o.done.Wait()
}

// checkOperations checks the backup and TLS settings together.
func checkOperations(cfg *Config) error {
	if cfg.BackupEvery > 0 {
		if cfg.BackupDir == "" {
			return errors.New("backup.dir is required with backup.every: the directory for the backups, best on another disk than dataDir")
		}
		if cfg.MongoDBURI != "" {
			return errors.New("backup.every backs up the embedded engine; with MongoDB use mongodump or your provider's snapshots (docs/operations.md)")
		}
	}
	if (cfg.TLSCertFile == "") != (cfg.TLSKeyFile == "") {
		return errors.New("tls.certFile and tls.keyFile go together: set both (or neither)")
	}
	if cfg.TLSCertFile != "" {
		if _, err := loadKeyPair(cfg.TLSCertFile, cfg.TLSKeyFile); err != nil {
			return fmt.Errorf("invalid tls.certFile and tls.keyFile: %v", err)
		}
	}
	if cfg.TLSRedirectAddr != "" && cfg.TLSCertFile == "" {
		return errors.New("tls.redirectAddr redirects to HTTPS: it needs tls.certFile and tls.keyFile")
	}
	return nil
}
