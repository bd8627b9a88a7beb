package httpapi

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"reflect"
	"regexp"
	"runtime/debug"
	"strconv"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/tideline-dev/tideline"
	"github.com/tideline-dev/tideline/auth"
	datasync "github.com/tideline-dev/tideline/sync"
)

const headerRequestID = "X-Request-Id"

// validRequestID accepts a caller's request id (from a proxy or the client) when it is short
// and plain, so it can go into logs and headers as it is.
var validRequestID = regexp.MustCompile(`^[A-Za-z0-9._:-]{1,128}$`)

// requestScope gives every request an id, the caller's X-Request-Id when it is plain, else
// a new one, sent back in X-Request-Id and quoted in problem documents and logs; and puts
// the request's scope in its context (tideline.WithRequestID, and where the request comes
// from: its client IP as the trusted proxies say, its user agent, and what its
// Tideline-Client header says of the SDK), so that everything the
// request reaches, down to the log records of the features, sees it.
func requestScope() gin.HandlerFunc {
	return func(c *gin.Context) {
		id := c.GetHeader(headerRequestID)
		if !validRequestID.MatchString(id) {
			id = tideline.NewID()
		}
		ctx := tideline.WithRequestID(c.Request.Context(), id)
		ctx = withClient(ctx, auth.Client{IP: c.ClientIP(), UserAgent: c.Request.UserAgent()})
		if h := c.GetHeader(datasync.ClientHeader); h != "" {
			ctx = datasync.WithClientInfo(ctx, datasync.ParseClientHeader(h))
		}
		c.Request = c.Request.WithContext(ctx)
		c.Header(headerRequestID, id)
		c.Next()
	}
}

// requestID is the id requestScope gave the request.
func requestID(c *gin.Context) string { return tideline.RequestID(c.Request.Context()) }

// recovery turns a panic in a handler into a 500 problem and logs the stack; the server
// keeps serving. http.ErrAbortHandler is re-raised: it means "drop the connection".
func recovery(log *slog.Logger) gin.HandlerFunc {
	return func(c *gin.Context) {
		defer func() {
			v := recover()
			if v == nil {
				return
			}
			if v == http.ErrAbortHandler {
				panic(v)
			}
			log.ErrorContext(c.Request.Context(), "panic", "request_id", requestID(c), "route", c.FullPath(),
				"panic", fmt.Sprint(v), "stack", string(debug.Stack()))
			if c.Writer.Written() {
				c.Abort()
				return
			}
			writeProblem(c, log, fmt.Errorf("panic: %v", v))
		}()
		c.Next()
	}
}

// httpMetrics counts requests and their latency by route template (never the raw path, so
// ids in paths cannot blow up the number of series).
type httpMetrics struct {
	requests *prometheus.CounterVec
	duration *prometheus.HistogramVec
	inFlight prometheus.Gauge
}

func newHTTPMetrics(reg prometheus.Registerer) (*httpMetrics, error) {
	m := &httpMetrics{
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "tideline_http_requests_total",
			Help: "HTTP requests served, by method, route template and status code.",
		}, []string{"method", "route", "status"}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "tideline_http_request_duration_seconds",
			Help:    "Time to serve HTTP requests, by method and route template.",
			Buckets: []float64{.001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10},
		}, []string{"method", "route"}),
		inFlight: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "tideline_http_requests_in_flight",
			Help: "HTTP requests being served now.",
		}),
	}
	for _, c := range []prometheus.Collector{m.requests, m.duration, m.inFlight} {
		if err := reg.Register(c); err != nil {
			return nil, fmt.Errorf("register HTTP metrics: %w", err)
		}
	}
	return m, nil
}

// routeOf is the route template of the request, or "unmatched" when no route matched.
func routeOf(c *gin.Context) string {
	if r := c.FullPath(); r != "" {
		return r
	}
	return "unmatched"
}

// observe writes one structured access log line and the request metrics per request. It
// logs the path without the query string, which may carry secrets.
func observe(log *slog.Logger, m *httpMetrics) gin.HandlerFunc {
	return func(c *gin.Context) {
		start := time.Now()
		m.inFlight.Inc()
		defer m.inFlight.Dec()
		c.Next()
		elapsed := time.Since(start)
		route, status := routeOf(c), c.Writer.Status()
		m.requests.WithLabelValues(c.Request.Method, route, strconv.Itoa(status)).Inc()
		m.duration.WithLabelValues(c.Request.Method, route).Observe(elapsed.Seconds())
		level := slog.LevelInfo
		if status >= 500 {
			level = slog.LevelWarn
		}
		log.LogAttrs(c, level, "request",
			slog.String("request_id", requestID(c)),
			slog.String("method", c.Request.Method),
			slog.String("path", c.Request.URL.Path),
			slog.String("route", route),
			slog.Int("status", status),
			slog.Int("bytes", max(0, c.Writer.Size())),
			slog.Float64("duration_ms", float64(elapsed.Microseconds())/1000),
			slog.String("ip", c.ClientIP()),
		)
	}
}

// apiCSP is the Content-Security-Policy of API responses: they are data, never pages.
const apiCSP = "default-src 'none'; frame-ancestors 'none'"

// hsts is the Strict-Transport-Security of responses served over TLS: for a year, browsers
// reach this host over HTTPS only. Subdomains are left out: they may be other services.
const hsts = "max-age=31536000"

// securityHeaders sets the headers every response carries. Responses are not cached unless
// a handler says otherwise. pageCSP maps the route templates of HTML pages to their own
// Content-Security-Policy; every other route gets apiCSP. Responses on a TLS connection
// (the server's own TLS) carry HSTS; over plain HTTP it would be ignored (RFC 6797), and a
// TLS-terminating proxy in front sets its own.
func securityHeaders(pageCSP map[string]string) gin.HandlerFunc {
	return func(c *gin.Context) {
		h := c.Writer.Header()
		if c.Request.TLS != nil {
			h.Set("Strict-Transport-Security", hsts)
		}
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("X-Frame-Options", "DENY")
		h.Set("Referrer-Policy", "no-referrer")
		csp, ok := pageCSP[c.FullPath()]
		if !ok {
			csp = apiCSP
		}
		h.Set("Content-Security-Policy", csp)
		h.Set("Cache-Control", "no-store")
		c.Next()
	}
}

// limitBody refuses bodies over max bytes: at once when Content-Length says so, and while
// reading otherwise (the reader fails with *http.MaxBytesError, which requestError maps to
// too_large).
func limitBody(max int64, log *slog.Logger) gin.HandlerFunc {
	return func(c *gin.Context) {
		if c.Request.ContentLength > max {
			writeProblem(c, log, tooLarge(max))
			return
		}
		if c.Request.Body != nil && c.Request.Body != http.NoBody {
			c.Request.Body = http.MaxBytesReader(c.Writer, c.Request.Body, max)
		}
		c.Next()
	}
}

func tooLarge(max int64) error {
	return tideline.Errorf(tideline.CodeTooLarge, "The request body is larger than the limit of %d bytes.", max)
}

// requestError maps an error met while reading or decoding a request (body, parameters)
// to the problem the client should see.
func requestError(err error) error {
	if mbe, ok := errors.AsType[*http.MaxBytesError](err); ok {
		return tideline.Wrap(err, tideline.CodeTooLarge, tooLarge(mbe.Limit).(*tideline.Error).Message)
	}
	if _, ok := errors.AsType[*tideline.Error](err); ok {
		return err
	}
	if te, ok := errors.AsType[*json.UnmarshalTypeError](err); ok {
		field := te.Field
		if field == "" {
			field = "body"
		}
		return &tideline.Error{Code: tideline.CodeInvalid, Message: fmt.Sprintf("The request body's %s must be %s.", field, jsonKind(te.Type)),
			Fields: map[string]string{field: "must be " + jsonKind(te.Type)}, Err: err}
	}
	if se, ok := errors.AsType[*json.SyntaxError](err); ok {
		return syntaxProblem(se, se.Offset)
	}
	if err == io.EOF || errors.Is(err, io.ErrUnexpectedEOF) {
		return syntaxProblem(err, 0)
	}
	return tideline.Wrap(err, tideline.CodeInvalid, "The request is malformed: "+err.Error())
}

// jsonKind names, in JSON's words, what a Go type decodes from.
func jsonKind(t reflect.Type) string {
	if t == nil {
		return "another type"
	}
	switch t.Kind() {
	case reflect.Bool:
		return "true or false"
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		return "an integer that fits in 64 bits"
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return "a non-negative integer"
	case reflect.Float32, reflect.Float64:
		return "a number"
	case reflect.String:
		return "a string"
	case reflect.Slice, reflect.Array:
		return "an array"
	case reflect.Map, reflect.Struct:
		return "an object"
	case reflect.Pointer:
		return jsonKind(t.Elem())
	}
	return "another type"
}
