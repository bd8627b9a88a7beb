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
	p, err := s.cfg.Auth.Authenticate(c, strings.TrimSpace(raw))
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

// ginContext returns the *gin.Context that strict handlers receive as their context.
func ginContext(ctx context.Context) *gin.Context { return ctx.(*gin.Context) }

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
