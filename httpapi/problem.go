package httpapi

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"

	"github.com/gin-gonic/gin"
	"github.com/tideline-dev/tideline"
	"github.com/tideline-dev/tideline/httpapi/oapi"
)

// internalDetail is the only detail a 500 ever carries.
const internalDetail = "An internal error occurred."

// problemFor builds the problem document for err. Codes without a status, and every error
// that is not a *tideline.Error, become a 500 that says nothing about the cause.
func problemFor(err error, requestID string) oapi.Problem {
	status, code := tideline.HTTPStatus(err)
	p := oapi.Problem{
		Type:      "about:blank",
		Title:     http.StatusText(status),
		Status:    status,
		Code:      string(code),
		RequestId: requestID,
	}
	detail := tideline.ErrorMessage(err)
	if status == http.StatusInternalServerError {
		detail = internalDetail // whatever the error says, a 500 reveals nothing
	}
	p.Detail = &detail
	if f := tideline.ErrorFields(err); len(f) > 0 {
		p.Fields = &f
	}
	if setting := tideline.LimitSetting(err); setting != "" {
		p.Setting = &setting
	}
	return p
}

// statusClientClosed is the status recorded (in the access log and the request metrics) for
// a request its client gave up on: nginx's 499, "client closed request". Nobody reads it.
const statusClientClosed = 499

// writeProblem is the one writer of error responses: an RFC 9457 problem document with the
// error's code and the request id. Server-side failures are logged with their cause. A
// request that failed because its client hung up (mobile clients do, all the time) is not
// a server failure: it is recorded as 499, without an error log, so that it neither pages
// anyone nor counts in the 5xx rate (docs/operations.md).
func writeProblem(c *gin.Context, log *slog.Logger, err error) {
	if errors.Is(err, context.Canceled) && c.Request.Context().Err() != nil {
		c.AbortWithStatus(statusClientClosed)
		return
	}
	p := problemFor(err, requestID(c))
	if p.Status >= 500 {
		log.ErrorContext(c.Request.Context(), "request failed", "request_id", p.RequestId, "method", c.Request.Method,
			"route", c.FullPath(), "code", p.Code, "err", err.Error())
	}
	if ra, ok := tideline.RetryAfterHeader(err, p.Status); ok {
		c.Header("Retry-After", ra)
	}
	body, _ := json.Marshal(p) // a Problem always marshals
	c.Abort()
	c.Data(p.Status, "application/problem+json", body)
}
