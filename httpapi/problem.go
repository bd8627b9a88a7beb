package httpapi

import (
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"strconv"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/tideline-dev/tideline"
	"github.com/tideline-dev/tideline/httpapi/oapi"
)

// statusOf is the one table from error code to HTTP status. A code missing here is a bug
// and answers 500, as unknown errors do.
var statusOf = map[tideline.Code]int{
	tideline.CodeInvalid:              http.StatusBadRequest,
	tideline.CodeUnauthenticated:      http.StatusUnauthorized,
	tideline.CodeForbidden:            http.StatusForbidden,
	tideline.CodeNotFound:             http.StatusNotFound,
	tideline.CodeMethodNotAllowed:     http.StatusMethodNotAllowed,
	tideline.CodeConflict:             http.StatusConflict,
	tideline.CodeGone:                 http.StatusGone,
	tideline.CodeTooLarge:             http.StatusRequestEntityTooLarge,
	tideline.CodeUnsupportedMediaType: http.StatusUnsupportedMediaType,
	tideline.CodeRateLimited:          http.StatusTooManyRequests,
	tideline.CodeInternal:             http.StatusInternalServerError,
	tideline.CodeUnavailable:          http.StatusServiceUnavailable,
	tideline.CodeInvalidCredentials:   http.StatusUnauthorized,
	tideline.CodeRefreshTokenReused:   http.StatusUnauthorized,
	tideline.CodeWeakPassword:         http.StatusBadRequest,
	tideline.CodeEmailTaken:           http.StatusConflict,
	tideline.CodeAccountDisabled:      http.StatusForbidden,
	tideline.CodeInvalidCursor:        http.StatusBadRequest,
}

// RetryAfter is an error that tells the client when to try again (rate limits, a store
// that is briefly unavailable). writeProblem sends it as the Retry-After header, in whole
// seconds rounded up, at least 1; a 429 whose error does not say gets 1.
type RetryAfter interface {
	error
	RetryAfter() time.Duration
}

// internalDetail is the only detail a 500 ever carries.
const internalDetail = "An internal error occurred."

// problemFor builds the problem document for err. Codes without a status, and every error
// that is not a *tideline.Error, become a 500 that says nothing about the cause.
func problemFor(err error, requestID string) oapi.Problem {
	code := tideline.ErrorCode(err)
	status, ok := statusOf[code]
	if !ok {
		code, status = tideline.CodeInternal, http.StatusInternalServerError
	}
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
	return p
}

// writeProblem is the one writer of error responses: an RFC 9457 problem document with the
// error's code and the request id. Server-side failures are logged with their cause.
func writeProblem(c *gin.Context, log *slog.Logger, err error) {
	p := problemFor(err, requestID(c))
	if p.Status >= 500 {
		log.ErrorContext(c, "request failed", "request_id", p.RequestId, "method", c.Request.Method,
			"route", c.FullPath(), "code", p.Code, "err", err.Error())
	}
	if ra, ok := errors.AsType[RetryAfter](err); ok {
		c.Header("Retry-After", strconv.Itoa(max(1, int((ra.RetryAfter()+time.Second-1)/time.Second))))
	} else if p.Status == http.StatusTooManyRequests {
		c.Header("Retry-After", "1") // every 429 says when to retry; a limit that does not know says soon
	}
	body, _ := json.Marshal(p) // a Problem always marshals
	c.Abort()
	c.Data(p.Status, "application/problem+json", body)
}
