package storetest

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/tideline-dev/tideline"
)

// runFoundation checks what every engine does before any feature: open, migrate, reopen,
// refuse newer data, answer pings and report failures with tideline codes.
func runFoundation(t *testing.T, h Harness) {
	t.Run("OpenEmpty", func(t *testing.T) {
		clock := tideline.NewManualClock(Epoch)
		e := open(t, h, h.NewLocation(t), clock)
		if err := e.Ping(t.Context()); err != nil {
			t.Fatalf("Ping: %v", err)
		}
		info, err := e.Info(t.Context())
		if err != nil {
			t.Fatalf("Info: %v", err)
		}
		if info.Engine != h.Engine || info.SchemaVersion != h.LatestSchema || !tideline.ValidID(info.InstanceID) || !info.CreatedAt.Equal(Epoch) {
			t.Fatalf("Info = %+v, want engine %s, schema %d, a valid instance id, created at %v", info, h.Engine, h.LatestSchema, Epoch)
		}
		if info.Location == "" {
			t.Fatal("Info.Location is empty")
		}
	})

	t.Run("ReopenFindsSameData", func(t *testing.T) {
		loc := h.NewLocation(t)
		clock := tideline.NewManualClock(Epoch)
		e, err := h.Open(t.Context(), loc, clock)
		if err != nil {
			t.Fatalf("Open: %v", err)
		}
		first, err := e.Info(t.Context())
		if err != nil {
			t.Fatalf("Info: %v", err)
		}
		if err := e.Close(); err != nil {
			t.Fatalf("Close: %v", err)
		}
		clock.Advance(48 * time.Hour) // a migration or instance record made again would show this time
		again := open(t, h, loc, clock)
		second, err := again.Info(t.Context())
		if err != nil {
			t.Fatalf("Info after reopen: %v", err)
		}
		if diff := cmp.Diff(first, second); diff != "" {
			t.Fatalf("reopened data differs (-first +second):\n%s", diff)
		}
	})

	t.Run("ErrNewerSchema", func(t *testing.T) {
		loc := h.NewLocation(t)
		e, err := h.Open(t.Context(), loc, tideline.NewManualClock(Epoch))
		if err != nil {
			t.Fatalf("Open: %v", err)
		}
		if err := e.Close(); err != nil {
			t.Fatalf("Close: %v", err)
		}
		h.SetSchemaVersion(t, loc, h.LatestSchema+1)
		e, err = h.Open(t.Context(), loc, tideline.NewManualClock(Epoch))
		if err == nil {
			e.Close()
			t.Fatal("Open succeeded on data with a newer schema")
		}
		if code := tideline.ErrorCode(err); code != tideline.CodeUnavailable {
			t.Fatalf("code = %q, want unavailable (err: %v)", code, err)
		}
		if msg := tideline.ErrorMessage(err); !strings.Contains(msg, "newer Tideline") {
			t.Fatalf("message %q does not say the data is newer", msg)
		}
	})

	t.Run("ErrPingCanceled", func(t *testing.T) {
		e := open(t, h, h.NewLocation(t), tideline.NewManualClock(Epoch))
		ctx, cancel := context.WithCancel(t.Context())
		cancel()
		err := e.Ping(ctx)
		if code := tideline.ErrorCode(err); code != tideline.CodeUnavailable {
			t.Fatalf("Ping with a canceled context: code %q, want unavailable (err: %v)", code, err)
		}
	})

	t.Run("ErrPingClosed", func(t *testing.T) {
		e, err := h.Open(t.Context(), h.NewLocation(t), tideline.NewManualClock(Epoch))
		if err != nil {
			t.Fatalf("Open: %v", err)
		}
		if err := e.Close(); err != nil {
			t.Fatalf("Close: %v", err)
		}
		err = e.Ping(t.Context())
		if code := tideline.ErrorCode(err); code != tideline.CodeUnavailable {
			t.Fatalf("Ping after Close: code %q, want unavailable (err: %v)", code, err)
		}
	})
}
