package tideline

import (
	"errors"
	"net/http"
	"strconv"
	"time"
)

// httpStatus is the one table from error code to HTTP status, for every HTTP surface (the
// API's problem documents, the console's pages). A code missing here is a bug and answers
// 500, as unknown errors do.
var httpStatus = map[Code]int{
	CodeInvalid:              http.StatusBadRequest,
	CodeUnauthenticated:      http.StatusUnauthorized,
	CodeForbidden:            http.StatusForbidden,
	CodeNotFound:             http.StatusNotFound,
	CodeMethodNotAllowed:     http.StatusMethodNotAllowed,
	CodeConflict:             http.StatusConflict,
	CodeGone:                 http.StatusGone,
	CodeTooLarge:             http.StatusRequestEntityTooLarge,
	CodeUnsupportedMediaType: http.StatusUnsupportedMediaType,
	CodeRateLimited:          http.StatusTooManyRequests,
	CodeInternal:             http.StatusInternalServerError,
	CodeUnavailable:          http.StatusServiceUnavailable,
	CodeInvalidCredentials:   http.StatusUnauthorized,
	CodeRefreshTokenReused:   http.StatusUnauthorized,
	CodeWeakPassword:         http.StatusBadRequest,
	CodeEmailTaken:           http.StatusConflict,
	CodeAccountDisabled:      http.StatusForbidden,
	CodeInvalidCursor:        http.StatusBadRequest,
}

// HTTPStatus returns the HTTP status of err's code (ErrorCode), and the code it stands
// for: a code without a status, like any error that is not an *Error, is CodeInternal and
// 500.
func HTTPStatus(err error) (int, Code) {
	code := ErrorCode(err)
	if status, ok := httpStatus[code]; ok {
		return status, code
	}
	return http.StatusInternalServerError, CodeInternal
}

// RetryAfter is an error that tells the client when to try again (a rate limit, a store
// that is briefly unavailable, a node at its stream limit).
type RetryAfter interface {
	error
	RetryAfter() time.Duration
}

// RetryAfterHeader is the Retry-After header an answer with status to err carries: whole
// seconds, rounded up and at least 1, from the first RetryAfter in err's chain; a 429 whose
// error does not say gets 1 (every 429 says when to retry). ok is false when there is
// none to send.
func RetryAfterHeader(err error, status int) (value string, ok bool) {
	if ra, found := errors.AsType[RetryAfter](err); found {
		return strconv.Itoa(max(1, int((ra.RetryAfter()+time.Second-1)/time.Second))), true
	}
	if status == http.StatusTooManyRequests {
		return "1", true
	}
	return "", false
}

// Limited returns the rate_limited error for a request over the limit that the server
// setting setting sets (such as "auth.limits.signup"), retryable after wait (0: soon).
// Problem documents name the setting (LimitSetting), so that the operator of a server
// knows what to raise, or turn off while developing.
func Limited(message string, wait time.Duration, setting string) error {
	return &Error{Code: CodeRateLimited, Message: message, Err: limit{wait: wait, setting: setting}}
}

// limit is the cause of a Limited error.
type limit struct {
	wait    time.Duration
	setting string
}

func (l limit) Error() string {
	return "over the limit of " + l.setting + " for " + l.wait.String()
}
func (l limit) RetryAfter() time.Duration { return l.wait }
func (l limit) LimitSetting() string      { return l.setting }

// LimitSetting returns the server setting that sets the limit err reports (Limited), or ""
// when it names none.
func LimitSetting(err error) string {
	if l, ok := errors.AsType[interface {
		error
		LimitSetting() string
	}](err); ok {
		return l.LimitSetting()
	}
	return ""
}
