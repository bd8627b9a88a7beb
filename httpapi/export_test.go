package httpapi

import (
	"context"
	"time"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/gin-gonic/gin"
	"github.com/tideline-dev/tideline/httpapi/oapi"
)

// What the external tests (package httpapi_test, which start the real app through
// app/apptest) need of the package's insides: test routes on the server's own engine and
// middleware, the problem writer, the stream timings and the docs renderer.

const (
	HeaderRequestID  = headerRequestID
	InternalDetail   = internalDetail
	JWKSCacheControl = jwksCacheControl
	APICSP           = apiCSP
	HSTS             = hsts
)

// StreamMessage is what a stream sends.
type StreamMessage = streamMessage

var (
	PathParam    = pathParam
	RequestError = requestError
	ProblemFor   = problemFor
	RenderDocs   = renderDocs
)

// LoadSpec parses and checks an OpenAPI document as New does.
func LoadSpec(ctx context.Context, data []byte) (*openapi3.T, error) { return loadSpec(ctx, data) }

// Handle adds a route to the server's engine, behind its middleware.
func (s *Server) Handle(method, path string, h gin.HandlerFunc) { s.engine.Handle(method, path, h) }

// WriteProblem writes err as the server writes every error.
func (s *Server) WriteProblem(c *gin.Context, err error) { writeProblem(c, s.log, err) }

// RequireScope is the strict middleware that refuses a handler a context without its
// request's scope.
func (s *Server) RequireScope(f oapi.StrictHandlerFunc, operationID string) oapi.StrictHandlerFunc {
	return s.requireScope(f, operationID)
}

// Routes are the routes of the server's engine.
func (s *Server) Routes() gin.RoutesInfo { return s.engine.Routes() }

// ShortenStreams shortens the stream timings (before the server serves a stream).
func (s *Server) ShortenStreams(ping, write, recheck, reauthWait time.Duration) {
	s.timings = streamTimings{ping: ping, write: write, recheck: recheck, reauthWait: reauthWait}
}
