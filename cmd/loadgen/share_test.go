package main

import (
	"context"
	"io"
	"strings"
	"testing"
	"time"
)

// TestShares: with an owner-shared collection on the server, a share of the writes go to
// other users, whose devices pull them; their propagation is reported apart.
func TestShares(t *testing.T) {
	base := startServer(t, "--sync-collections", `[{"name":"loadgen_shared","read":"owner-shared"}]`)
	cfg := testConfig(t, base, "share")
	cfg.devices, cfg.users, cfg.duration, cfg.writesPerSec, cfg.shareRate = 12, 3, 3*time.Second, 40, 0.3
	rep, text, _ := runClean(t, cfg)
	tp := rep.Throughput
	if tp.Shares == 0 || tp.Puts == 0 || tp.Patches == 0 || tp.Puts+tp.Patches+tp.Shares != tp.Mutations {
		t.Errorf("throughput = %+v", tp)
	}
	if rep.Latency.PropagationSharedStream.Count == 0 || rep.Latency.PropagationSharedPoll.Count == 0 || rep.Latency.PropagationStream.Count == 0 {
		t.Errorf("latency = %+v", rep.Latency)
	}
	if rep.Run.ShareCollection != "loadgen_shared" || !strings.Contains(text, "propagation, shared (stream)") {
		t.Errorf("run = %+v; text report:\n%s", rep.Run, text)
	}
}

// TestSharesNotConfigured: --share-rate against a server without the owner-shared
// collection stops at the start (with an error: a run that went on would end without one)
// and says how to configure it.
func TestSharesNotConfigured(t *testing.T) {
	base := startServer(t)
	cfg := testConfig(t, base, "noshare")
	cfg.shareRate = 0.1
	_, err := run(context.Background(), cfg, io.Discard)
	if err == nil || !strings.Contains(err.Error(), "--share-rate needs an owner-shared collection") ||
		!strings.Contains(err.Error(), `TIDELINE_SYNC_COLLECTIONS='[{"name":"loadgen_shared","read":"owner-shared"}]'`) {
		t.Errorf("run: %v", err)
	}
}
