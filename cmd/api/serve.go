package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"time"

	"github.com/tideline-dev/tideline"
	"github.com/tideline-dev/tideline/auth"
	"github.com/tideline-dev/tideline/auth/firebase"
	"github.com/tideline-dev/tideline/httpapi"
	"github.com/tideline-dev/tideline/push"
	"github.com/tideline-dev/tideline/push/fcm"
	"github.com/tideline-dev/tideline/store/mongo"
	"github.com/tideline-dev/tideline/store/sqlite"
	datasync "github.com/tideline-dev/tideline/sync"
)

// engine is what serve needs of either storage engine.
type engine interface {
	Ping(ctx context.Context) error
	Info(ctx context.Context) (tideline.StoreInfo, error)
	Close() error
	Auth() auth.Store
	Sync() datasync.Store
	Push() push.Store
}

// openEngine opens the MongoDB engine when a URI is configured, else the embedded engine.
// log (nil: discard) hears what the engine says that is not an error, such as a database
// migrated further by a newer release during a rolling upgrade.
func openEngine(ctx context.Context, cfg *Config, log *slog.Logger) (engine, error) {
	if cfg.MongoDBURI != "" {
		return mongo.Open(ctx, mongo.Options{URI: cfg.MongoDBURI, Database: cfg.MongoDBDatabase, ConnectTimeout: cfg.MongoDBConnectTimeout, Logger: log})
	}
	return sqlite.Open(ctx, cfg.DataDir, sqlite.Options{})
}

// newAuth starts the auth capability on store, with the SMTP mailer when one is configured
// and the log mailer otherwise.
func newAuth(ctx context.Context, cfg *Config, store engine, log *slog.Logger) (*auth.Service, error) {
	acfg := cfg.Auth
	acfg.Logger = log
	if cfg.SMTP.Addr != "" {
		acfg.Mailer = cfg.SMTP
	} else {
		acfg.Mailer = auth.LogMailer{Logger: log}
	}
	acfg.RateStore = rateStore(store)
	var err error
	if acfg.Providers, err = externalProviders(ctx, cfg); err != nil {
		return nil, err
	}
	return auth.New(ctx, store.Auth(), acfg)
}

// rateStore is where auth counts its rate limits (and with them the console's sign-in): on
// the MongoDB engine in the database, so that every node counts against one limit; on the
// embedded engine nil, which keeps them in memory (one process owns the data).
func rateStore(store engine) auth.RateStore {
	if s, ok := store.(sealedEngine); ok {
		store = s.engine
	}
	if db, ok := store.(*mongo.DB); ok {
		return mongo.NewRateStore(db)
	}
	return nil
}

// externalProviders builds the verifiers of the configured identity providers.
func externalProviders(ctx context.Context, cfg *Config) (map[string]auth.ExternalVerifier, error) {
	providers := map[string]auth.ExternalVerifier{}
	for _, p := range cfg.OIDC {
		v, err := auth.NewOIDCVerifier(p, auth.OIDCOptions{})
		if err != nil {
			return nil, err
		}
		providers["oidc:"+p.Name] = v
	}
	if cfg.FirebaseProjectID != "" {
		v, err := firebase.NewVerifier(ctx, cfg.FirebaseProjectID, cfg.FirebaseAllowEmulator)
		if err != nil {
			return nil, err
		}
		providers["firebase"] = v
	}
	return providers, nil
}

// bootstrapAdmin creates the admin.email account when it is configured and no account has
// that email yet.
func bootstrapAdmin(ctx context.Context, cfg *Config, svc *auth.Service, log *slog.Logger) error {
	if cfg.AdminEmail == "" {
		return nil
	}
	u, created, err := svc.CreateAdmin(ctx, cfg.AdminEmail, cfg.AdminPassword, "config", false)
	if err != nil {
		return fmt.Errorf("create the admin.email account: %w", err)
	}
	if created {
		log.Info("created the admin account", "email", u.Email, "user_id", u.ID)
	}
	return nil
}

// pushProvider is FCM when it is configured, else the log provider.
func pushProvider(ctx context.Context, cfg *Config, log *slog.Logger) (push.Provider, error) {
	if cfg.FCM.CredentialsFile == "" && cfg.FCM.ProjectID == "" {
		log.Warn("push notifications are written to this log, not sent: set fcm.credentialsFile to send them through Firebase Cloud Messaging")
		return push.LogProvider{Logger: log}, nil
	}
	p, err := fcm.New(ctx, cfg.FCM)
	if err != nil {
		return nil, err
	}
	log.Info("push notifications are sent through Firebase Cloud Messaging", "project", p.ProjectID())
	return p, nil
}

// withAuth opens the store and the auth capability, runs fn and closes them.
func withAuth(ctx context.Context, cfg *Config, log *slog.Logger, fn func(*auth.Service) error) error {
	store, err := openEngine(ctx, cfg, log)
	if err != nil {
		return err
	}
	defer store.Close()
	sealed, err := sealEngine(ctx, cfg, store, log)
	if err != nil {
		return err
	}
	svc, err := newAuth(ctx, cfg, sealed, log)
	if err != nil {
		return err
	}
	defer svc.Close()
	return fn(svc)
}

// serve runs the server on the engine that open returns until ctx is canceled, then shuts
// down gracefully: it stops accepting connections, lets in-flight requests finish (up to
// the shutdown timeout) and closes the store.
func serve(ctx context.Context, cfg *Config, log *slog.Logger, open func(context.Context, *Config, *slog.Logger) (engine, error)) (err error) {
	store, err := open(ctx, cfg, log)
	if err != nil {
		return err
	}
	defer func() {
		if cerr := store.Close(); cerr != nil && err == nil {
			err = fmt.Errorf("close store: %w", cerr)
		}
	}()
	info, err := store.Info(ctx)
	if err != nil {
		return err
	}
	// sealed.Auth() and sealed.Sync() encrypt and decrypt the secrets they keep: auth, the
	// console and sync use them.
	sealed, err := sealEngine(ctx, cfg, store, log)
	if err != nil {
		return err
	}
	authSvc, err := newAuth(ctx, cfg, sealed, log)
	if err != nil {
		return err
	}
	defer authSvc.Close()
	if err := bootstrapAdmin(ctx, cfg, authSvc, log); err != nil {
		return err
	}
	scfg := cfg.Sync
	scfg.Logger = log
	syncSvc, err := datasync.New(ctx, sealed.Sync(), scfg)
	if err != nil {
		return err
	}
	authSvc.OnUserDeleted(syncSvc.DeleteUser)
	provider, err := pushProvider(ctx, cfg, log)
	if err != nil {
		return err
	}
	pushSvc := push.New(store.Push(), push.Config{Logger: log, Provider: provider, NodeID: info.InstanceID + "/" + tideline.NewID()})
	authSvc.OnUserDeleted(pushSvc.DeleteUser)
	authSvc.OnSessionsEnded(pushSvc.SessionsEnded)
	sweepCtx, stopSweeper := context.WithCancel(context.Background())
	defer stopSweeper()
	go syncSvc.RunSweeper(sweepCtx, info.InstanceID+"/"+tideline.NewID(), cfg.SweepEvery)
	hubCfg := cfg.Hub
	hubCfg.Notifier = pushSvc
	hub := datasync.NewHub(syncSvc, hubCfg)
	go hub.Run(sweepCtx)
	pushDone := make(chan struct{})
	go func() { pushSvc.Run(sweepCtx); close(pushDone) }()
	// At shutdown the push workers stop and record the outcomes of what they were sending
	// before the store closes, so nothing they sent is sent again.
	defer func() { stopSweeper(); <-pushDone }()
	adminConsole, err := newConsole(ctx, cfg, sealed, authSvc, pushSvc, syncSvc, hub, log)
	if err != nil {
		return err
	}
	reg := httpapi.NewRegistry()
	registerPushMetrics(reg, pushSvc)
	api, err := httpapi.New(httpapi.Config{
		Registry:       reg,
		Store:          store,
		Auth:           authSvc,
		Sync:           syncSvc,
		Push:           pushSvc,
		Hub:            hub,
		Info:           info,
		Logger:         log,
		MaxBodyBytes:   cfg.MaxBodyBytes,
		CORSOrigins:    cfg.CORSOrigins,
		TrustedProxies: cfg.TrustedProxies,
		Console:        adminConsole,
	})
	if err != nil {
		return err
	}
	ln, err := net.Listen("tcp", cfg.Addr)
	if err != nil {
		return tideline.Wrap(err, tideline.CodeUnavailable, fmt.Sprintf("Cannot listen on %s: is another server using the port? Set --addr to another one.", cfg.Addr))
	}
	ops, err := startOperations(cfg, store, ln.Addr(), log, reg) // TLS, redirect, backups
	if err != nil {
		ln.Close()
		return err
	}
	defer ops.close()
	srv := &http.Server{
		Handler:           api,
		ReadHeaderTimeout: 10 * time.Second,
		IdleTimeout:       2 * time.Minute,
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelWarn),
	}
	base := ops.scheme() + "://" + ln.Addr().String()
	attrs := []any{"addr", base, "engine", info.Engine, "data", info.Location, "docs", base + "/docs", "console", base + "/console",
		"instance", info.InstanceID, "schema", info.SchemaVersion, "version", tideline.Version}
	if cfg.ConfigFile != "" {
		attrs = append(attrs, "config", cfg.ConfigFile)
	}
	log.Info("tideline listening", attrs...)
	if cfg.SMTP.Addr == "" {
		log.Warn("emails are written to this log, not sent: set smtp.addr to send them")
	}

	served := make(chan error, 1)
	go func() { served <- ops.serve(srv, ln) }()
	select {
	case err := <-served:
		return fmt.Errorf("serve: %w", err)
	case <-ctx.Done():
	}
	log.Info("shutting down", "timeout", cfg.ShutdownTimeout.String())
	api.Drain() // realtime streams are told to reconnect; Shutdown does not wait for them
	shutdownCtx, cancel := context.WithTimeout(context.Background(), cfg.ShutdownTimeout)
	defer cancel()
	if err := srv.Shutdown(shutdownCtx); err != nil {
		return fmt.Errorf("shut down: in-flight requests did not finish within %s: %w", cfg.ShutdownTimeout, err)
	}
	if err := <-served; !errors.Is(err, http.ErrServerClosed) {
		return fmt.Errorf("serve: %w", err)
	}
	log.Info("stopped")
	return nil
}
