package tideline

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sort"
	"sync"
	"testing"
	"time"
)

func TestErrorCode(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		err  error
		code Code
		msg  string
	}{
		{"Nil", nil, "", ""},
		{"Plain", Errorf(CodeNotFound, "No such user."), CodeNotFound, "No such user."},
		{"Wrapped", fmt.Errorf("find user: %w", Errorf(CodeConflict, "Email taken.")), CodeConflict, "Email taken."},
		{"WithCause", Wrap(io.ErrUnexpectedEOF, CodeUnavailable, "Store unreachable."), CodeUnavailable, "Store unreachable."},
		{"UnknownIsInternal", io.EOF, CodeInternal, "An internal error occurred."},
		{"DeadlineIsUnavailable", fmt.Errorf("ping: %w", context.DeadlineExceeded), CodeUnavailable, "The service is temporarily unavailable."},
		{"EmptyCodeIsInternal", &Error{Message: "x"}, CodeInternal, "x"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := ErrorCode(tt.err); got != tt.code {
				t.Errorf("ErrorCode = %q, want %q", got, tt.code)
			}
			if got := ErrorMessage(tt.err); got != tt.msg {
				t.Errorf("ErrorMessage = %q, want %q", got, tt.msg)
			}
		})
	}
}

func TestErrorKeepsCauseOutOfMessage(t *testing.T) {
	t.Parallel()
	cause := errors.New("dial tcp 10.0.0.7:27017: connection refused")
	err := Wrap(cause, CodeUnavailable, "The store is not reachable.")
	if !errors.Is(err, cause) {
		t.Fatal("Wrap lost the cause for errors.Is")
	}
	if got := ErrorMessage(err); got != "The store is not reachable." {
		t.Fatalf("ErrorMessage = %q leaks or loses text", got)
	}
	if got := err.Error(); got != "unavailable: The store is not reachable.: "+cause.Error() {
		t.Fatalf("Error() = %q, want the cause for logs", got)
	}
	if Wrap(nil, CodeInternal, "x") != nil {
		t.Fatal("Wrap(nil) != nil")
	}
}

func TestErrorFields(t *testing.T) {
	t.Parallel()
	err := fmt.Errorf("validate: %w", &Error{Code: CodeInvalid, Message: "Invalid.", Fields: map[string]string{"email": "is required"}})
	if got := ErrorFields(err)["email"]; got != "is required" {
		t.Fatalf("ErrorFields[email] = %q", got)
	}
	if ErrorFields(io.EOF) != nil {
		t.Fatal("ErrorFields of a plain error is not nil")
	}
}

func TestNewID(t *testing.T) {
	t.Parallel()
	seen := map[string]bool{}
	base := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	var ids []string
	for i := range 1000 {
		id := newIDAt(base.Add(time.Duration(i) * time.Millisecond))
		if !ValidID(id) {
			t.Fatalf("newIDAt produced %q, which ValidID rejects", id)
		}
		if id[14] != '7' || !('8' <= id[19] && id[19] <= '9' || 'a' <= id[19] && id[19] <= 'b') {
			t.Fatalf("%q is not a version 7, RFC 9562 variant UUID", id)
		}
		if seen[id] {
			t.Fatalf("duplicate id %q", id)
		}
		seen[id] = true
		ids = append(ids, id)
	}
	if !sort.StringsAreSorted(ids) {
		t.Fatal("IDs made in later milliseconds do not sort later")
	}
	if !ValidID(NewID()) {
		t.Fatal("NewID is not valid")
	}
	// Many IDs in a row, most within one millisecond (past 4,096 in one the counter borrows
	// the next): each sorts after the one before, from several goroutines too.
	var (
		mu  sync.Mutex
		all []string
		wg  sync.WaitGroup
	)
	for range 4 {
		wg.Go(func() {
			var mine []string
			for range 5000 {
				mine = append(mine, NewID())
			}
			if !sort.StringsAreSorted(mine) {
				t.Error("IDs made one after another by one goroutine do not sort in that order")
			}
			mu.Lock()
			all = append(all, mine...)
			mu.Unlock()
		})
	}
	wg.Wait()
	for _, id := range all {
		if seen[id] || !ValidID(id) || id[14] != '7' {
			t.Fatalf("duplicate or malformed id %q", id)
		}
		seen[id] = true
	}
}

func TestValidID(t *testing.T) {
	t.Parallel()
	for _, s := range []string{"", "x", "0190a5b2-7c3d-7e4f-8a1b-2c3d4e5f6A7b", "0190a5b2-7c3d-7e4f-8a1b_2c3d4e5f6a7b", "0190a5b2-7c3d-7e4f-8a1b-2c3d4e5f6a7b0", "$where"} {
		if ValidID(s) {
			t.Errorf("ValidID(%q) = true", s)
		}
	}
}

func TestManualClock(t *testing.T) {
	t.Parallel()
	start := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	c := NewManualClock(start)
	if !c.Now().Equal(start) {
		t.Fatal("Now != start")
	}
	if got := c.Advance(time.Hour); !got.Equal(start.Add(time.Hour)) || !c.Now().Equal(got) {
		t.Fatalf("Advance gave %v, Now %v", got, c.Now())
	}
	c.Set(start)
	if !c.Now().Equal(start) {
		t.Fatal("Set did not set")
	}
	var _ Clock = SystemClock{}
}
