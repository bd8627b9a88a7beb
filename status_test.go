package tideline

import (
	"fmt"
	"io"
	"testing"
	"time"
)

// TestHTTPStatus: every code has its status, and what has none (an unknown code, an error
// that is not an *Error) is a 500 with code internal.
func TestHTTPStatus(t *testing.T) {
	t.Parallel()
	for _, code := range Codes {
		if status, got := HTTPStatus(Errorf(code, "m")); got != code || status < 400 || status > 599 {
			t.Errorf("code %q: status %d, code %q", code, status, got)
		}
	}
	for _, tt := range []struct {
		err    error
		status int
		code   Code
	}{
		{Errorf(CodeRateLimited, "slow"), 429, CodeRateLimited},
		{fmt.Errorf("wrapped: %w", Errorf(CodeInvalidCursor, "x")), 400, CodeInvalidCursor},
		{Errorf("no_such_code", "x"), 500, CodeInternal},
		{io.EOF, 500, CodeInternal},
	} {
		if status, code := HTTPStatus(tt.err); status != tt.status || code != tt.code {
			t.Errorf("%v: %d %q, want %d %q", tt.err, status, code, tt.status, tt.code)
		}
	}
}

type waitErr time.Duration

func (w waitErr) Error() string             { return "wait" }
func (w waitErr) RetryAfter() time.Duration { return time.Duration(w) }

func TestRetryAfterHeader(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		name   string
		err    error
		status int
		want   string
		ok     bool
	}{
		{"RoundedUp", &Error{Code: CodeRateLimited, Err: waitErr(1500 * time.Millisecond)}, 429, "2", true},
		{"AtLeastOne", &Error{Code: CodeRateLimited, Err: waitErr(0)}, 429, "1", true},
		{"Unavailable", &Error{Code: CodeUnavailable, Err: waitErr(5 * time.Second)}, 503, "5", true},
		{"Every429", Errorf(CodeRateLimited, "slow"), 429, "1", true},
		{"NoneDue", Errorf(CodeInvalid, "bad"), 400, "", false},
	} {
		if got, ok := RetryAfterHeader(tt.err, tt.status); got != tt.want || ok != tt.ok {
			t.Errorf("%s: %q %v, want %q %v", tt.name, got, ok, tt.want, tt.ok)
		}
	}
}

// TestLimited: a Limited error is rate_limited, says when to retry and names its setting,
// also when wrapped.
func TestLimited(t *testing.T) {
	err := fmt.Errorf("sign up: %w", Limited("Too many sign-ups; try again later.", 90*time.Second, "auth.limits.signup"))
	status, code := HTTPStatus(err)
	if status != 429 || code != CodeRateLimited || ErrorMessage(err) != "Too many sign-ups; try again later." {
		t.Fatalf("%d %q %q", status, code, ErrorMessage(err))
	}
	if ra, ok := RetryAfterHeader(err, status); !ok || ra != "90" {
		t.Fatalf("Retry-After %q %v", ra, ok)
	}
	if s := LimitSetting(err); s != "auth.limits.signup" {
		t.Fatalf("LimitSetting %q", s)
	}
	if s := LimitSetting(Errorf(CodeRateLimited, "x")); s != "" {
		t.Fatalf("LimitSetting of a limit that names none: %q", s)
	}
}
