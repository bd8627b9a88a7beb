package httpapi

import (
	"net"
	"net/http"

	"github.com/gin-gonic/gin"
)

// mountConsole serves h (the admin console, an http.Handler of its own that knows nothing
// of Gin) for every method on /console and the paths under it. Requests pass through the
// engine's middleware first: request ids, recovery, the access log and metrics (route
// /console/*path), security headers (the console sets its own Content-Security-Policy),
// the body limit. h sees the request with RemoteAddr set to the client's IP as the
// trusted proxies say, so the rate limits it applies count the right client.
func mountConsole(e *gin.Engine, h http.Handler) {
	serve := func(c *gin.Context) {
		r := c.Request.WithContext(c.Request.Context())
		r.RemoteAddr = net.JoinHostPort(c.ClientIP(), "0")
		h.ServeHTTP(c.Writer, r)
	}
	e.Any("/console", serve)
	e.Any("/console/*path", serve)
}
