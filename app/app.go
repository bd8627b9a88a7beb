// Package app is Tideline's one composition root: it opens the storage engine, seals its
// secrets with the master key, starts the features (auth, sync, push) and wires them to
// each other, the realtime hub, the admin console and the HTTP API. cmd/api turns flags,
// the environment and tideline.yaml into a Config and calls New and Run; the tests start
// the same app through app/apptest, so what is tested is what ships.
package app

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"strconv"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/tideline-dev/tideline"
	"github.com/tideline-dev/tideline/auth"
	"github.com/tideline-dev/tideline/auth/firebase"
	"github.com/tideline-dev/tideline/console"
	"github.com/tideline-dev/tideline/files"
	"github.com/tideline-dev/tideline/httpapi"
	"github.com/tideline-dev/tideline/push"
	"github.com/tideline-dev/tideline/push/fcm"
	datasync "github.com/tideline-dev/tideline/sync"
)

// App is a Tideline server: the features on one engine, wired together, and the HTTP
// handler that serves them. New builds it without starting anything; Start starts its
// background work (the push workers, the realtime hub, the retention sweeper), Run serves
// it, Close stops it all.
type App struct {
	cfg  Config
	log  *slog.Logger
	info tideline.StoreInfo

	// Store is the opened engine; Secrets its server secrets, sealed with the master key.
	Store   Engine
	Secrets tideline.SecretStore
	Auth    *auth.Service
	Sync    *datasync.Service
	Push    *push.Service
	Files   *files.Service
	Hub     *datasync.Hub
	Console *console.Console
	API     *httpapi.Server
	// Registry holds the metrics /metrics serves.
	Registry *prometheus.Registry

	pushToLog  bool // no push provider is set up: messages go to the log
	startOnce  sync.Once
	stopBg     context.CancelFunc
	background sync.WaitGroup
	closeOnce  sync.Once
	closeErr   error
}

// New opens the configured engine (Open) and builds the app on it (NewOn).
func New(ctx context.Context, cfg Config) (*App, error) {
	log := logger(cfg)
	store, err := Open(ctx, &cfg, log)
	if err != nil {
		return nil, err
	}
	a, err := NewOn(ctx, cfg, store)
	if err != nil {
		return nil, errors.Join(err, store.Close())
	}
	return a, nil
}

// NewOn builds the app on an opened engine, which Close closes (also when NewOn fails, the
// caller closes it). Nothing runs until Start or Run.
func NewOn(ctx context.Context, cfg Config, store Engine) (_ *App, err error) {
	cfg.setDefaults()
	a := &App{cfg: cfg, log: logger(cfg), Store: store}
	if a.info, err = store.Info(ctx); err != nil {
		return nil, err
	}
	sealed, err := sealEngine(ctx, &a.cfg, store, a.log)
	if err != nil {
		return nil, err
	}
	a.Secrets = sealed.secrets
	if a.Auth, err = newAuth(ctx, &a.cfg, sealed, store.RateStore(), a.log); err != nil {
		return nil, err
	}
	defer func() {
		if err != nil {
			a.Auth.Close()
		}
	}()
	if err := bootstrapAdmin(ctx, &a.cfg, a.Auth, a.log); err != nil {
		return nil, err
	}
	scfg := cfg.Sync
	scfg.Clock, scfg.Logger, scfg.Secrets = cfg.Clock, a.log, a.Secrets
	if a.Sync, err = datasync.New(ctx, store.Sync(), scfg); err != nil {
		return nil, err
	}
	provider, err := pushProvider(ctx, &a.cfg, a.log)
	if err != nil {
		return nil, err
	}
	a.pushToLog = provider.Name() == push.LogProvider{}.Name()
	a.Push = push.New(store.Push(), push.Config{Clock: cfg.Clock, Logger: a.log, Provider: provider, NodeID: a.info.InstanceID + "/" + tideline.NewID(),
		SweepEvery: cfg.SweepEvery, DeliveryRetention: cfg.PushDeliveryRetention})
	// Deleting a user deletes what each feature keeps of them; ending sessions unbinds the
	// push tokens they registered.
	a.Auth.OnUserDeleted(a.Sync.DeleteUser)
	a.Auth.OnUserDeleted(a.Push.DeleteUser)
	a.Auth.OnSessionsEnded(a.Push.SessionsEnded)
	fcfg := cfg.Files
	fcfg.Clock, fcfg.Logger, fcfg.Secrets = cfg.Clock, a.log, a.Secrets
	if fcfg.Retention == 0 {
		fcfg.Retention = a.cfg.Sync.Retention // files outlive their last reference as long as tombstones do
	}
	syncStore, sweeper := store.Sync(), a.info.InstanceID+"/"+tideline.NewID()
	fcfg.Lease = func(ctx context.Context, now, until time.Time) (bool, error) {
		return syncStore.AcquireLease(ctx, "files-sweep", sweeper, now, until)
	}
	if cfg.SweepEvery > 0 {
		fcfg.LeaseFor = cfg.SweepEvery/2 + time.Minute // as the sync sweeper's: a node that died holding it delays the next sweep that long
	}
	fcfg.Documents = func(ctx context.Context, c files.Caller, collection, id string) (map[string]any, error) {
		return a.Sync.ReadDocument(ctx, datasync.Caller{UserID: c.UserID, Roles: c.Roles}, collection, id)
	}
	a.Files = files.New(store.Files(), fcfg)
	a.Auth.OnUserDeleted(a.Files.DeleteUser)
	hubCfg := cfg.Hub
	hubCfg.Notifier = a.Push // devices of users with no open stream are woken by a silent push
	if hubCfg.Node == "" {
		hubCfg.Node = nodeName() // the console shows every node's streams by this name
	}
	a.Hub = datasync.NewHub(a.Sync, hubCfg)
	if a.Console, err = a.newConsole(ctx); err != nil {
		return nil, err
	}
	a.Registry = httpapi.NewRegistry()
	registerPushMetrics(a.Registry, a.Push)
	a.API, err = httpapi.New(httpapi.Config{
		Registry:       a.Registry,
		Store:          store,
		Auth:           a.Auth,
		Sync:           a.Sync,
		Push:           a.Push,
		Files:          a.Files,
		Hub:            a.Hub,
		Info:           a.info,
		Logger:         a.log,
		Clock:          cfg.Clock,
		MaxBodyBytes:   cfg.MaxBodyBytes,
		CORSOrigins:    cfg.CORSOrigins,
		TrustedProxies: cfg.TrustedProxies,
		Console:        a.Console,
	})
	if err != nil {
		return nil, err
	}
	return a, nil
}

// logger is cfg's logger (or one that discards), stamping every record logged with a
// request's context with its request_id (tideline.LogHandler).
func logger(cfg Config) *slog.Logger {
	if cfg.Logger == nil {
		return slog.New(slog.DiscardHandler)
	}
	return slog.New(tideline.LogHandler(cfg.Logger.Handler()))
}

// Info describes the opened engine.
func (a *App) Info() tideline.StoreInfo { return a.info }

// Handler serves the API, the API reference and the admin console.
func (a *App) Handler() http.Handler { return a.API }

// Start starts the background work, once: the retention sweepers (sync's, auth's of
// expired tokens, ended sessions and old audit events, and the files sweeper), the realtime hub (which
// polls the watermark and pokes streams) and the push workers. Close stops it.
func (a *App) Start() {
	a.startOnce.Do(func() {
		ctx, stop := context.WithCancel(context.Background())
		a.stopBg = stop
		a.background.Go(func() { a.Sync.RunSweeper(ctx, a.info.InstanceID+"/"+tideline.NewID(), a.cfg.SweepEvery) })
		a.background.Go(func() { a.Auth.RunSweeper(ctx, a.cfg.SweepEvery) })
		a.background.Go(func() { a.Files.RunSweeper(ctx, a.cfg.SweepEvery) })
		a.background.Go(func() { a.Hub.Run(ctx) })
		a.background.Go(func() { a.Push.Run(ctx) })
	})
}

// Close stops the background work and waits for it (the push workers record the outcomes
// of what they were sending, so nothing they sent is sent again), then closes the features
// and the engine. It is safe to call more than once.
func (a *App) Close() error {
	a.closeOnce.Do(func() {
		a.startOnce.Do(func() {}) // no Start after Close
		if a.stopBg != nil {
			a.stopBg()
		}
		a.background.Wait()
		a.Auth.Close()
		if err := a.Store.Close(); err != nil {
			a.closeErr = fmt.Errorf("close store: %w", err)
		}
	})
	return a.closeErr
}

// newAuth starts the auth capability on the sealed stores, with the configured mailer (or
// SMTP when it is set up, else the log) and rate store.
func newAuth(ctx context.Context, cfg *Config, s sealed, rates auth.RateStore, log *slog.Logger) (*auth.Service, error) {
	acfg := cfg.Auth
	acfg.Clock, acfg.Logger, acfg.Secrets, acfg.RateStore = cfg.Clock, log, s.secrets, rates
	switch {
	case cfg.Mailer != nil:
		acfg.Mailer = cfg.Mailer
	case cfg.SMTP.Addr != "":
		acfg.Mailer = cfg.SMTP
	default:
		acfg.Mailer = auth.LogMailer{Logger: log}
	}
	var err error
	if acfg.Providers == nil {
		if acfg.Providers, err = externalProviders(ctx, cfg); err != nil {
			return nil, err
		}
	}
	return auth.New(ctx, s.auth, acfg)
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

// pushProvider is the configured provider, else FCM when it is set up, else the log.
func pushProvider(ctx context.Context, cfg *Config, log *slog.Logger) (push.Provider, error) {
	if cfg.PushProvider != nil {
		return cfg.PushProvider, nil
	}
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

// newConsole builds the admin console (/console). Its CSRF key is a server secret, so every
// node of a deployment signs and checks the same tokens.
func (a *App) newConsole(ctx context.Context) (*console.Console, error) {
	candidate := make([]byte, 32)
	_, _ = rand.Read(candidate)
	secret, err := a.Secrets.Secret(ctx, tideline.SecretConsoleCSRF, candidate)
	if err != nil {
		return nil, fmt.Errorf("load the console's secret: %w", err)
	}
	confirm := a.cfg.ConsoleConfirmAbove
	if confirm == 0 {
		confirm = -1 // console.Config: negative asks before every campaign, 0 is the default
	}
	return console.New(console.Config{Auth: a.Auth, Push: a.Push, Sync: a.Sync, Hub: a.Hub, Secret: secret,
		ConfirmAbove: confirm, PushToLog: a.pushToLog, Files: consoleFiles{a.Files}, Clock: a.cfg.Clock, Logger: a.log})
}

// WithAuth opens the engine and the auth capability alone, runs fn and closes them: what
// the administrative commands (`api admin create`, `api keys rotate`) need.
func WithAuth(ctx context.Context, cfg *Config, log *slog.Logger, fn func(*auth.Service) error) error {
	store, err := Open(ctx, cfg, log)
	if err != nil {
		return err
	}
	defer store.Close()
	s, err := sealEngine(ctx, cfg, store, log)
	if err != nil {
		return err
	}
	svc, err := newAuth(ctx, cfg, s, store.RateStore(), log)
	if err != nil {
		return err
	}
	defer svc.Close()
	return fn(svc)
}

// Explain splits a failure into what the operator should read first (a *tideline.Error's
// message) and the log attributes of its underlying cause ("cause", when there is one).
func Explain(err error) (msg string, cause []any) {
	if e, ok := errors.AsType[*tideline.Error](err); ok && e.Message != "" {
		if e.Err != nil {
			cause = []any{"cause", e.Err.Error()}
		}
		return e.Message, cause
	}
	return err.Error(), nil
}

// nodeName names this process among a deployment's nodes: host and process id, readable
// in the console ("api-1:4123").
func nodeName() string {
	host, err := os.Hostname()
	if err != nil || host == "" {
		host = "node"
	}
	return host + ":" + strconv.Itoa(os.Getpid())
}
