package app

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"time"

	"github.com/tideline-dev/tideline"
)

// Run starts the background work and serves the app on Config.Addr (with TLS, the HTTP
// redirect and scheduled backups when they are configured) until ctx is canceled, then
// shuts down gracefully: it stops accepting connections, tells realtime streams to
// reconnect, and lets in-flight requests finish within Config.ShutdownTimeout. It does not
// Close the app.
func (a *App) Run(ctx context.Context) error {
	ln, err := net.Listen("tcp", a.cfg.Addr)
	if err != nil {
		return tideline.Wrap(err, tideline.CodeUnavailable, fmt.Sprintf("Cannot listen on %s: is another server using the port? Set --addr to another one.", a.cfg.Addr))
	}
	ops, err := startOperations(&a.cfg, a.Store, ln.Addr(), a.log, a.Registry) // TLS, redirect, backups
	if err != nil {
		ln.Close()
		return err
	}
	defer ops.close()
	a.Start()
	srv := &http.Server{
		Handler:           a.Handler(),
		ReadHeaderTimeout: 10 * time.Second,
		IdleTimeout:       2 * time.Minute,
		ErrorLog:          slog.NewLogLogger(a.log.Handler(), slog.LevelWarn),
	}
	a.logListening(ops.scheme() + "://" + ln.Addr().String())

	served := make(chan error, 1)
	go func() { served <- ops.serve(srv, ln) }()
	select {
	case err := <-served:
		return fmt.Errorf("serve: %w", err)
	case <-ctx.Done():
	}
	a.log.Info("shutting down", "timeout", a.cfg.ShutdownTimeout.String())
	a.API.Drain() // realtime streams are told to reconnect; Shutdown does not wait for them
	shutdownCtx, cancel := context.WithTimeout(context.Background(), a.cfg.ShutdownTimeout)
	defer cancel()
	if err := srv.Shutdown(shutdownCtx); err != nil {
		return fmt.Errorf("shut down: in-flight requests did not finish within %s: %w", a.cfg.ShutdownTimeout, err)
	}
	if err := <-served; !errors.Is(err, http.ErrServerClosed) {
		return fmt.Errorf("serve: %w", err)
	}
	a.log.Info("stopped")
	return nil
}

// logListening logs the one line that says the server is up: where it listens, which
// engine and data it uses, where the API reference and the console are.
func (a *App) logListening(base string) {
	attrs := []any{"addr", base, "engine", a.info.Engine, "data", a.info.Location, "docs", base + "/docs", "console", base + "/console",
		"instance", a.info.InstanceID, "schema", a.info.SchemaVersion, "version", tideline.Version}
	if a.cfg.ConfigFile != "" {
		attrs = append(attrs, "config", a.cfg.ConfigFile)
	}
	a.log.Info("tideline listening", attrs...)
	if a.cfg.SMTP.Addr == "" && a.cfg.Mailer == nil {
		a.log.Warn("emails are written to this log, not sent: set smtp.addr to send them")
	}
}
