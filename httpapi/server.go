// Package httpapi is Tideline's HTTP API: the Gin engine, its middleware, the handlers of
// every route in openapi.yaml, and the one writer of problem+json errors.
//
// Routes, request and response types come from openapi.yaml through the code generated in
// httpapi/oapi (strict server: handlers take a typed request and return a typed response or
// an error). Handlers decode, call one feature method and encode; the logic lives in the
// feature packages. Errors are *tideline.Error values turned into problem documents by
// writeProblem; anything else is a 500 that reveals nothing.
package httpapi

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"sync"
	"time"

	"github.com/gin-contrib/cors"
	"github.com/gin-gonic/gin"
	"github.com/gin-gonic/gin/binding"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"github.com/tideline-dev/tideline"
	"github.com/tideline-dev/tideline/auth"
	"github.com/tideline-dev/tideline/files"
	"github.com/tideline-dev/tideline/httpapi/oapi"
	"github.com/tideline-dev/tideline/push"
	datasync "github.com/tideline-dev/tideline/sync"
)

// Store is what the API needs of the storage engine itself (features bring their own
// stores): a liveness check for /readyz.
type Store interface {
	Ping(ctx context.Context) error
}

// Config configures the API. Store, Info and Auth are required.
type Config struct {
	Store Store
	// Auth is the auth capability behind the auth, account and admin routes.
	Auth *auth.Service
	// Sync is the sync capability behind /v1/sync and the collection admin routes.
	Sync *datasync.Service
	// Hub pokes the realtime streams; it must be running (Hub.Run).
	Hub *datasync.Hub
	// Push is the push capability behind /v1/devices and the push admin routes.
	Push *push.Service
	// Info describes the opened store; /readyz reports its engine and schema version.
	Info tideline.StoreInfo
	// Logger receives access logs and failures; nil discards them.
	Logger *slog.Logger
	// Registry receives the HTTP metrics and is what /metrics serves; nil means a new
	// registry with the Go runtime and process collectors.
	Registry *prometheus.Registry
	// MaxBodyBytes limits request bodies; 0 means DefaultMaxBodyBytes.
	MaxBodyBytes int64
	// CORSOrigins are the browser origins allowed to call the API ("*" for any); empty
	// means no cross-origin access.
	CORSOrigins []string
	// TrustedProxies are the CIDRs of reverse proxies whose X-Forwarded-For is believed
	// for the client's IP; empty means the connection's address is the client's.
	TrustedProxies []string
	// ReadyTimeout bounds the store ping of /readyz; 0 means 2 s.
	ReadyTimeout time.Duration
	// Clock is the auth service's clock: a stream's access token expires by it. nil: the
	// system clock.
	Clock tideline.Clock
	// Files, when not nil, serves /v1/files: resumable uploads (tus) and downloads.
	Files *files.Service
	// Console, when not nil, serves the paths under /console (the admin console), behind
	// the same middleware as the API (see mountConsole).
	Console http.Handler
}

// DefaultMaxBodyBytes is the default request body limit: 1 MiB.
const DefaultMaxBodyBytes = 1 << 20

// Server is the HTTP API. It is an http.Handler.
type Server struct {
	cfg     Config
	log     *slog.Logger
	engine  *gin.Engine
	docs    []byte               // the rendered /docs page
	routes  map[string]specRoute // by "METHOD /gin/:path"
	uploads http.Handler         // the tus server; nil without Config.Files

	draining  chan struct{} // closed by Drain: streams end
	drainOnce sync.Once
	timings   streamTimings
}

var _ oapi.StrictServerInterface = (*Server)(nil)

// gin's two process-wide settings the API needs are set once, when the package loads,
// never by New: servers built concurrently (parallel tests, several in one process) must
// not race on them. Release mode keeps gin from printing its routes and warnings, and
// numbers in free-form JSON (synced documents) keep their exact value when a body is
// bound by gin: an int64 counter must not pass through float64.
func init() {
	gin.SetMode(gin.ReleaseMode)
	binding.EnableDecoderUseNumber = true
}

// New builds the API from cfg.
func New(cfg Config) (*Server, error) {
	if cfg.Store == nil || cfg.Auth == nil || cfg.Sync == nil || cfg.Hub == nil || cfg.Push == nil {
		return nil, errors.New("httpapi: Config.Store, Config.Auth, Config.Sync, Config.Hub and Config.Push are required")
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	if cfg.Registry == nil {
		cfg.Registry = NewRegistry()
	}
	if cfg.MaxBodyBytes <= 0 {
		cfg.MaxBodyBytes = DefaultMaxBodyBytes
	}
	if cfg.ReadyTimeout <= 0 {
		cfg.ReadyTimeout = 2 * time.Second
	}
	if cfg.Clock == nil {
		cfg.Clock = tideline.SystemClock{}
	}
	s := &Server{cfg: cfg, log: cfg.Logger, draining: make(chan struct{}), timings: defaultStreamTimings}
	doc, err := loadSpec(context.Background(), tideline.OpenAPI)
	if err != nil {
		return nil, fmt.Errorf("httpapi: %w", err)
	}
	if s.docs, err = renderDocs(doc); err != nil {
		return nil, fmt.Errorf("httpapi: render /docs: %w", err)
	}
	if s.routes, err = specRoutes(doc); err != nil {
		return nil, fmt.Errorf("httpapi: %w", err)
	}
	if s.uploads, err = s.newUploads(); err != nil {
		return nil, fmt.Errorf("httpapi: the upload server: %w", err)
	}
	metrics, err := newHTTPMetrics(cfg.Registry)
	if err != nil {
		return nil, err
	}
	if err := registerHubMetrics(cfg.Registry, cfg.Hub); err != nil {
		return nil, err
	}

	e := gin.New()
	e.ContextWithFallback = true // handlers' context.Context is the request's: cancellation reaches the stores
	e.HandleMethodNotAllowed = true
	e.RedirectTrailingSlash = false
	e.RedirectFixedPath = false
	if err := e.SetTrustedProxies(cfg.TrustedProxies); err != nil {
		return nil, fmt.Errorf("httpapi: trusted proxies: %w", err)
	}
	e.Use(requestScope(), recovery(s.log), observe(s.log, metrics), securityHeaders(map[string]string{"/docs": docsCSP}))
	if len(cfg.CORSOrigins) > 0 {
		e.Use(corsFor(cfg.CORSOrigins))
	}
	e.Use(limitBody(cfg.MaxBodyBytes, s.log, uploadRoute))
	e.NoRoute(func(c *gin.Context) {
		writeProblem(c, s.log, tideline.Errorf(tideline.CodeNotFound, "There is no route %s.", c.Request.URL.Path))
	})
	e.NoMethod(func(c *gin.Context) {
		writeProblem(c, s.log, tideline.Errorf(tideline.CodeMethodNotAllowed, "%s is not allowed on %s.", c.Request.Method, c.Request.URL.Path))
	})

	strict := oapi.NewStrictHandlerWithOptions(s, []oapi.StrictMiddlewareFunc{s.requireScope}, oapi.StrictGinServerOptions{
		RequestErrorHandlerFunc:  func(c *gin.Context, err error) { writeProblem(c, s.log, requestError(err)) },
		HandlerErrorFunc:         func(c *gin.Context, err error) { writeProblem(c, s.log, err) },
		ResponseErrorHandlerFunc: func(c *gin.Context, err error) { writeProblem(c, s.log, fmt.Errorf("write response: %w", err)) },
	})
	oapi.RegisterHandlersWithOptions(e, routes{strict, promhttp.HandlerFor(cfg.Registry, promhttp.HandlerOpts{}), s}, oapi.GinServerOptions{
		ErrorHandler: func(c *gin.Context, err error, _ int) { writeProblem(c, s.log, requestError(err)) },
		// Authentication before validation: a caller without credentials learns nothing
		// about what a valid request looks like.
		Middlewares: []oapi.MiddlewareFunc{s.authenticate, s.validateRequests},
	})
	if cfg.Console != nil {
		mountConsole(e, cfg.Console)
	}
	s.engine = e
	return s, nil
}

// ServeHTTP serves the API.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) { s.engine.ServeHTTP(w, r) }

// NewRegistry returns a Prometheus registry with the Go runtime and process collectors.
func NewRegistry() *prometheus.Registry {
	reg := prometheus.NewRegistry()
	reg.MustRegister(prometheus.NewGoCollector(), prometheus.NewProcessCollector(prometheus.ProcessCollectorOpts{}))
	return reg
}

// routes is the generated server interface served by the strict handlers, except the
// routes that own their connection: /metrics, which promhttp serves itself (it negotiates
// the exposition format and compression), and the realtime streams.
type routes struct {
	oapi.ServerInterface
	metrics http.Handler
	srv     *Server
}

func (r routes) GetMetrics(c *gin.Context) { r.metrics.ServeHTTP(c.Writer, c.Request) }
func (r routes) SyncStream(c *gin.Context, p oapi.SyncStreamParams) {
	r.srv.stream(c, negotiate(p.Protocol))
}
func (r routes) SyncEvents(c *gin.Context, p oapi.SyncEventsParams) {
	r.srv.events(c, negotiate(p.Protocol))
}

// Drain ends every realtime stream (WebSocket clients are told to reconnect), so that a
// graceful shutdown does not wait for them: call it before http.Server.Shutdown.
func (s *Server) Drain() { s.drainOnce.Do(func() { close(s.draining) }) }

// corsFor allows browser calls from origins ("*" for any). Tokens travel in the
// Authorization header, not cookies, so credentials are not allowed cross-origin.
func corsFor(origins []string) gin.HandlerFunc {
	cfg := cors.Config{
		AllowMethods:  []string{"GET", "POST", "PUT", "PATCH", "DELETE"},
		AllowHeaders:  []string{"Authorization", "Content-Type", "Idempotency-Key", headerRequestID},
		ExposeHeaders: []string{headerRequestID, "Retry-After", "Location"},
		MaxAge:        12 * time.Hour,
	}
	for _, o := range origins {
		if o == "*" {
			cfg.AllowAllOrigins = true
		}
	}
	if !cfg.AllowAllOrigins {
		cfg.AllowOrigins = origins
	}
	return cors.New(cfg)
}
