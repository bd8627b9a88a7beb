package tideline

import (
	"context"
	"errors"
	"fmt"
)

// Code is a stable, machine-readable error code. Codes are part of the API: clients switch on
// them, so a code is never renamed or reused for another meaning.
type Code string

// The general error codes. Features add specific ones (for example refresh_token_reused or
// cursor_expired); each maps to one HTTP status (HTTPStatus).
const (
	CodeInvalid              Code = "invalid"                // malformed request or invalid field
	CodeUnauthenticated      Code = "unauthenticated"        // missing, expired or forged credentials
	CodeForbidden            Code = "forbidden"              // authenticated, but not allowed
	CodeNotFound             Code = "not_found"              // no such resource (or not the caller's to know)
	CodeMethodNotAllowed     Code = "method_not_allowed"     // the path exists, the method does not
	CodeConflict             Code = "conflict"               // already exists, or changed meanwhile
	CodeGone                 Code = "gone"                   // existed and was removed
	CodeTooLarge             Code = "too_large"              // over a size limit
	CodeUnsupportedMediaType Code = "unsupported_media_type" // the body is not in a supported format
	CodeRateLimited          Code = "rate_limited"           // too many requests
	CodeInternal             Code = "internal"               // a bug or unexpected failure
	CodeUnavailable          Code = "unavailable"            // a dependency is not reachable
)

// Specific codes, for cases a client handles on their own.
const (
	CodeInvalidCredentials Code = "invalid_credentials"  // login: wrong email or password (never says which)
	CodeRefreshTokenReused Code = "refresh_token_reused" // a spent refresh token came back: the session is revoked
	CodeWeakPassword       Code = "weak_password"        // the password fails the policy (see Fields)
	CodeEmailTaken         Code = "email_taken"          // another account has this email
	CodeAccountDisabled    Code = "account_disabled"     // an admin disabled the account
	CodeInvalidCursor      Code = "invalid_cursor"       // sync: the cursor is malformed, forged, another user's, or for other collections
)

// Codes lists every code above; HTTPStatus has a status for each.
var Codes = []Code{
	CodeInvalid, CodeUnauthenticated, CodeForbidden, CodeNotFound, CodeMethodNotAllowed, CodeConflict, CodeGone,
	CodeTooLarge, CodeUnsupportedMediaType, CodeRateLimited, CodeInternal, CodeUnavailable,
	CodeInvalidCredentials, CodeRefreshTokenReused, CodeWeakPassword, CodeEmailTaken, CodeAccountDisabled, CodeInvalidCursor,
}

// Error is the one error type of Tideline. Message is safe to show to clients; Err is the
// internal cause, which is logged and never sent. Fields maps an input field to the reason it
// is invalid.
type Error struct {
	Code    Code
	Message string
	Fields  map[string]string
	Err     error
}

// Errorf returns an *Error with the given code and a message formatted from format and args.
// The message is shown to clients, so it must not contain internal details.
func Errorf(code Code, format string, args ...any) *Error {
	return &Error{Code: code, Message: fmt.Sprintf(format, args...)}
}

// Wrap returns an *Error with the given code and client-safe message whose internal cause is
// err. It returns nil when err is nil.
func Wrap(err error, code Code, message string) error {
	if err == nil {
		return nil
	}
	return &Error{Code: code, Message: message, Err: err}
}

// Error returns the message followed by the internal cause, for logs.
func (e *Error) Error() string {
	msg := string(e.Code)
	if e.Message != "" {
		msg += ": " + e.Message
	}
	if e.Err != nil {
		msg += ": " + e.Err.Error()
	}
	return msg
}

// Unwrap returns the internal cause.
func (e *Error) Unwrap() error { return e.Err }

// ErrorCode returns the code of the first *Error in err's chain. A context deadline or
// cancellation without an *Error is CodeUnavailable; any other error is CodeInternal, and nil
// has no code ("").
func ErrorCode(err error) Code {
	if err == nil {
		return ""
	}
	if e, ok := errors.AsType[*Error](err); ok && e.Code != "" {
		return e.Code
	}
	if errors.Is(err, context.DeadlineExceeded) || errors.Is(err, context.Canceled) {
		return CodeUnavailable
	}
	return CodeInternal
}

// ErrorMessage returns the client-safe message of the first *Error in err's chain. Errors
// without one get a generic message that reveals nothing about the cause.
func ErrorMessage(err error) string {
	if err == nil {
		return ""
	}
	if e, ok := errors.AsType[*Error](err); ok && e.Message != "" {
		return e.Message
	}
	switch ErrorCode(err) {
	case CodeUnavailable:
		return "The service is temporarily unavailable."
	default:
		return "An internal error occurred."
	}
}

// ErrorFields returns the field reasons of the first *Error in err's chain, or nil.
func ErrorFields(err error) map[string]string {
	if e, ok := errors.AsType[*Error](err); ok {
		return e.Fields
	}
	return nil
}
