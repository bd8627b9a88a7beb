package httpapi

import (
	"context"
	"strings"

	"github.com/gin-gonic/gin"
	"github.com/tideline-dev/tideline"
	"github.com/tideline-dev/tideline/auth"
	"github.com/tideline-dev/tideline/httpapi/oapi"
)

const (
	ctxPrincipal = "tideline.principal"
	ctxToken     = "tideline.token" // the credential, for streams that check it again
)

// authenticate enforces the security the spec gives the route: bearerAuth needs a user's
// access token, adminAuth an admin API key or an admin user's access token. The caller is
// then available to the handler (principal).
func (s *Server) authenticate(c *gin.Context) {
	scheme := s.routes[c.Request.Method+" "+c.FullPath()].security
	if scheme == "" {
		return
	}
	raw, ok := strings.CutPrefix(c.GetHeader("Authorization"), "Bearer ")
	if !ok && streamRoutes[c.FullPath()] {
		raw, ok = c.Query("access_token"), true // browsers cannot set headers on a WebSocket or an EventSource
	}
	if !ok || strings.TrimSpace(raw) == "" {
		c.Header("WWW-Authenticate", `Bearer realm="tideline"`)
		writeProblem(c, s.log, tideline.Errorf(tideline.CodeUnauthenticated, "This needs an access token: send Authorization: Bearer <token>."))
		return
	}
	p, err := s.cfg.Auth.Authenticate(c.Request.Context(), strings.TrimSpace(raw))
	if err != nil {
		if tideline.ErrorCode(err) == tideline.CodeUnauthenticated {
			c.Header("WWW-Authenticate", `Bearer realm="tideline", error="invalid_token"`)
		}
		writeProblem(c, s.log, err)
		return
	}
	switch {
	case scheme == "adminAuth" && !p.Admin():
		writeProblem(c, s.log, tideline.Errorf(tideline.CodeForbidden, "This needs an admin API key or an admin's access token."))
		return
	case scheme == "bearerAuth" && p.AdminKeyID != "":
		writeProblem(c, s.log, tideline.Errorf(tideline.CodeForbidden, "An admin API key has no account; use a user's access token."))
		return
	}
	c.Set(ctxPrincipal, p)
	c.Set(ctxToken, strings.TrimSpace(raw))
}

// streamRoutes take the access token in the query string too.
var streamRoutes = map[string]bool{"/v1/sync/stream": true, "/v1/sync/events": true}

// principal returns the authenticated caller of a request that passed authenticate.
func principal(ctx context.Context) auth.Principal {
	p, _ := ginContext(ctx).Get(ctxPrincipal)
	pr, _ := p.(auth.Principal)
	return pr
}

// ginContext returns the *gin.Context of a strict handler's context (detached or not).
func ginContext(ctx context.Context) *gin.Context {
	if d, ok := ctx.(detached); ok {
		return d.gin
	}
	return ctx.(*gin.Context)
}

// detached is a request's context as handlers pass it on: the request's own context, which
// still leads to the gin context for principal. Gin reuses a *gin.Context for later
// requests once the handler returns, so nothing that may outlive the handler (such as
// database/sql's watcher goroutine of a query) may hold one: handlers call detach first.
type detached struct {
	context.Context
	gin *gin.Context
}

func detach(ctx context.Context) context.Context {
	if c, ok := ctx.(*gin.Context); ok {
		return detached{Context: c.Request.Context(), gin: c}
	}
	return ctx
}

// clientOf describes the request's origin for sessions and the audit log, with the device
// the body names, if any.
func clientOf(ctx context.Context, device *oapi.Device) auth.Client {
	c := ginContext(ctx)
	cl := auth.Client{IP: c.ClientIP(), UserAgent: c.Request.UserAgent()}
	if device != nil {
		cl.DeviceName, cl.Platform = deref(device.Name), deref(device.Platform)
	}
	return cl
}

func deref[T any](p *T) T {
	var zero T
	if p == nil {
		return zero
	}
	return *p
}
