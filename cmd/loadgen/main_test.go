package main

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
)

func TestFlags(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want string // substring of the error; "" for success
	}{
		{nil, ""},
		{[]string{"--server", "http://example.com:8080/", "--devices", "1000", "--users", "100", "--duration", "30s", "--writes-per-sec", "100", "--stream-share", "0.5"}, ""},
		{[]string{"--devices", "0"}, "--devices 0: want 1 to 100000"},
		{[]string{"--devices", "100001"}, "--devices 100001"},
		{[]string{"--devices", "5", "--users", "6"}, "--users 6: want 1 to --devices (5)"},
		{[]string{"--users", "0"}, "--users 0"},
		{[]string{"--duration", "500ms"}, "--duration 500ms: want 1s to 24h"},
		{[]string{"--duration", "20m"}, ""}, // longer than an access token lives: it is refreshed
		{[]string{"--duration", "25h"}, "--duration 25h0m0s: want 1s to 24h"},
		{[]string{"--writes-per-sec", "-1"}, "--writes-per-sec -1"},
		{[]string{"--writes-per-sec", "NaN"}, "--writes-per-sec NaN"},
		{[]string{"--stream-share", "1.5"}, "--stream-share 1.5: want 0 to 1"},
		{[]string{"--poll-every", "10ms"}, "--poll-every 10ms"},
		{[]string{"--protocol", "1"}, ""},
		{[]string{"--protocol", "3"}, "--protocol 3: want 1 or 2"},
		{[]string{"--share-rate", "0.05", "--share-collection", "lists"}, ""},
		{[]string{"--share-rate", "-0.1"}, "--share-rate -0.1: want 0 to 1"},
		{[]string{"--share-rate", "1.01"}, "--share-rate 1.01: want 0 to 1"},
		{[]string{"--share-rate", "NaN"}, "--share-rate NaN: want 0 to 1"},
		{[]string{"--share-rate", "0.1", "--devices", "5", "--users", "1"}, "--share-rate 0.1 needs --users 2 or more"},
		{[]string{"--share-rate", "0", "--devices", "5", "--users", "1"}, ""},
		{[]string{"--share-collection", "Lists"}, `--share-collection "Lists": want a collection name`},
		{[]string{"--share-collection", ""}, `--share-collection "": want a collection name`},
		{[]string{"--share-collection", "tideline_x"}, `--share-collection "tideline_x"`},
		{[]string{"--share-collection", "loadgen"}, `--share-collection "loadgen": want another collection`},
		{[]string{"--share-rate", "lots"}, `invalid value "lots" for flag -share-rate`},
		{[]string{"--server", "localhost:8080"}, `--server "localhost:8080": want an http or https URL`},
		{[]string{"--server", "ftp://x"}, "want an http or https URL"},
		{[]string{"--run", "a b"}, `--run "a b"`},
		{[]string{"--devices", "many"}, `invalid value "many" for flag -devices`},
		{[]string{"--nope"}, "flag provided but not defined: -nope"},
		{[]string{"extra"}, `unexpected argument "extra"`},
	} {
		cfg, err := parseFlags(tc.args, io.Discard)
		switch {
		case tc.want == "" && err != nil:
			t.Errorf("%q: %v", tc.args, err)
		case tc.want == "" && (cfg.server.Path != "" && cfg.server.Path != "/" && strings.HasSuffix(cfg.server.Path, "/")):
			t.Errorf("%q: server path %q keeps its slash", tc.args, cfg.server.Path)
		case tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)):
			t.Errorf("%q: error %v, want it to contain %q", tc.args, err, tc.want)
		}
	}
}

func TestPercentile(t *testing.T) {
	ms := func(xs ...int) []time.Duration {
		var d []time.Duration
		for _, x := range xs {
			d = append(d, time.Duration(x)*time.Millisecond)
		}
		return d
	}
	hundred := make([]time.Duration, 100)
	for i := range hundred {
		hundred[i] = time.Duration(i+1) * time.Millisecond // 1..100 ms
	}
	for _, tc := range []struct {
		sorted []time.Duration
		p      float64
		want   time.Duration
	}{
		{nil, 50, 0},
		{ms(7), 50, 7 * time.Millisecond},
		{ms(7), 99, 7 * time.Millisecond},
		{ms(1, 2), 50, 1 * time.Millisecond},
		{ms(1, 2), 51, 2 * time.Millisecond},
		{ms(1, 2, 3, 4), 100, 4 * time.Millisecond},
		{hundred, 50, 50 * time.Millisecond},
		{hundred, 95, 95 * time.Millisecond},
		{hundred, 99, 99 * time.Millisecond},
		{hundred, 99.5, 100 * time.Millisecond},
		{hundred, 0.1, 1 * time.Millisecond},
	} {
		if got := percentile(tc.sorted, tc.p); got != tc.want {
			t.Errorf("percentile(%d samples, %g) = %v, want %v", len(tc.sorted), tc.p, got, tc.want)
		}
	}
	// summarize sorts, and reports milliseconds with two decimals
	shuffled := slices.Clone(hundred)
	slices.Reverse(shuffled)
	shuffled[0] = 1500 * time.Microsecond // 100 ms becomes 1.5 ms: 1, 1.5, 2 ... 99
	got := summarize(shuffled)
	want := Latency{Count: 100, P50: 49, P95: 94, P99: 98, Max: 99}
	if got != want {
		t.Errorf("summarize = %+v, want %+v", got, want)
	}
	if s := summarize(ms(3, 1, 2)); s.P50 != 2 || s.Max != 3 {
		t.Errorf("summarize(3,1,2) = %+v", s)
	}
	if s := summarize([]time.Duration{1234567 * time.Nanosecond}); s.P50 != 1.23 {
		t.Errorf("summarize(1.234567ms).P50 = %v, want 1.23", s.P50)
	}
}

var apiBin string

func TestMain(m *testing.M) {
	code := func() int {
		dir, err := os.MkdirTemp("", "loadgen-test-")
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 1
		}
		defer os.RemoveAll(dir)
		apiBin = filepath.Join(dir, "api")
		return m.Run()
	}()
	os.Exit(code)
}

// startServer builds ./cmd/api (once) and runs it on a free port with a fresh data dir and
// the extra flags, returning its base URL.
func startServer(t *testing.T, flags ...string) string {
	t.Helper()
	if testing.Short() {
		t.Skip("-short: builds and runs the server binary")
	}
	if _, err := os.Stat(apiBin); err != nil {
		out, err := exec.Command("go", "build", "-buildvcs=false", "-o", apiBin, "../api").CombinedOutput()
		if err != nil {
			t.Fatalf("go build ./cmd/api: %v\n%s", err, out)
		}
	}
	cmd := exec.Command(apiBin, append([]string{"--log-format", "json", "--addr", "127.0.0.1:0", "--data-dir", t.TempDir(), "--auth-limits-signup", "off"}, flags...)...)
	cmd.Env = append(slices.DeleteFunc(os.Environ(), func(kv string) bool { return strings.HasPrefix(kv, "TIDELINE_") }),
		"TIDELINE_AUTH_ARGON2_MEMORY=64KiB")
	cmd.Dir = t.TempDir()
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	addr := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stderr)
		for sc.Scan() {
			var line struct{ Msg, Addr string }
			if json.Unmarshal(sc.Bytes(), &line) == nil && line.Msg == "tideline listening" {
				addr <- line.Addr
			}
		}
	}()
	select {
	case a := <-addr:
		return a
	case <-time.After(60 * time.Second):
		t.Fatal("the server did not start within 60s")
		return ""
	}
}

// TestShortRun runs the load generator for 2 s against the real server, in each protocol:
// every device connects, writes and pulls, propagation is measured, and nothing fails;
// with protocol 2 the streams are handed over and deliver changes messages, and with 1
// they do not.
func TestShortRun(t *testing.T) {
	base := startServer(t)
	for _, protocol := range []int{1, 2} {
		t.Run(fmt.Sprint("protocol=", protocol), func(t *testing.T) { shortRun(t, base, protocol) })
	}
}

func shortRun(t *testing.T, base string, protocol int) {
	u, _ := url.Parse(base)
	cfg := &config{server: u, devices: 20, users: 2, duration: 2 * time.Second, writesPerSec: 40, streamShare: 0.5,
		pollEvery: 500 * time.Millisecond, run: fmt.Sprint("test", protocol), password: "loadgen correct horse battery staple", protocol: protocol}
	rep, text, progress := runClean(t, cfg)
	if tp := rep.Throughput; rep.Run.Protocol != protocol || (protocol == 2) != (tp.StreamMessages > 0 && tp.Handovers > 0) ||
		(protocol == 1 && (tp.StreamMessages != 0 || tp.Handovers != 0)) {
		t.Errorf("protocol %d: run %+v, %d stream messages, %d hand-overs", protocol, rep.Run, tp.StreamMessages, tp.Handovers)
	}
	if rep.Run.Partial || rep.Run.StreamDevices != 10 {
		t.Errorf("run = %+v", rep.Run)
	}
	if tp := rep.Throughput; tp.Mutations == 0 || tp.Pulls == 0 || tp.Puts == 0 || tp.Patches == 0 || tp.Shares != 0 ||
		tp.Puts+tp.Patches != tp.Mutations || tp.PullsPerWrite <= 0 {
		t.Errorf("throughput = %+v", rep.Throughput)
	}
	if rep.Run.AccessTokenLifetimeSec != 900 || rep.Auth.RetriedAfter401 != 0 {
		t.Errorf("run = %+v, auth = %+v", rep.Run, rep.Auth)
	}
	if !strings.Contains(text, "reads (pulls)") || strings.Contains(text, "propagation, shared") {
		t.Errorf("the text report lacks the reads, or shows shares it did not make:\n%s", text)
	}
	if rep.Latency.Push.Count == 0 || rep.Latency.Pull.Count == 0 {
		t.Errorf("no push or pull samples: %+v", rep.Latency)
	}
	if rep.Latency.PropagationStream.Count == 0 || rep.Latency.PropagationPoll.Count == 0 ||
		rep.Latency.Propagation.Count != rep.Latency.PropagationStream.Count+rep.Latency.PropagationPoll.Count {
		t.Errorf("propagation samples: %+v", rep.Latency)
	}
	if rep.Server == nil || rep.Server.CPUSeconds <= 0 || rep.Server.RSSAfterMiB <= 0 {
		t.Errorf("server = %+v", rep.Server)
	}
	if !strings.Contains(progress, "devices 20/20") {
		t.Errorf("no live progress line with every device connected:\n%s", progress)
	}
	path := filepath.Join(t.TempDir(), "report.json")
	if err := rep.writeJSON(path); err != nil {
		t.Fatal(err)
	}
	b, _ := os.ReadFile(path)
	var back Report
	if err := json.Unmarshal(b, &back); err != nil || back.Latency.Propagation.Count != rep.Latency.Propagation.Count {
		t.Errorf("JSON report does not read back: %v\n%s", err, b)
	}
}

// TestInterrupted ends a run early (as Ctrl-C does): the partial report comes back.
func TestInterrupted(t *testing.T) {
	base := startServer(t)
	u, _ := url.Parse(base)
	cfg := &config{server: u, devices: 4, users: 2, duration: time.Minute, writesPerSec: 20, streamShare: 0.5,
		pollEvery: time.Second, run: "int", password: "loadgen correct horse battery staple"}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	// Interrupted once the load has run for 2 s (its second progress line), however long
	// signing up and connecting took on a busy machine. A run that ignored the interrupt
	// would last its whole minute and not be partial.
	rep, err := run(ctx, cfg, &cancelOn{needle: "[  2s]", cancel: cancel})
	if err != nil {
		t.Fatal(err)
	}
	if !rep.Run.Partial || rep.Throughput.Mutations == 0 {
		t.Errorf("run = %+v, throughput %+v", rep.Run, rep.Throughput)
	}
}

// cancelOn is a progress writer that calls cancel once the output shows needle.
type cancelOn struct {
	mu     sync.Mutex
	out    strings.Builder
	needle string
	cancel func()
}

func (w *cancelOn) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.out.Write(p)
	if strings.Contains(w.out.String(), w.needle) {
		w.cancel()
	}
	return len(p), nil
}

// TestSignupRefused: a run id already used gets a message saying what to do.
func TestSignupRefused(t *testing.T) {
	base := startServer(t)
	u, _ := url.Parse(base)
	cfg := &config{server: u, devices: 2, users: 1, duration: time.Second, run: "dup", password: "loadgen correct horse battery staple", pollEvery: time.Second}
	if _, err := run(context.Background(), cfg, io.Discard); err != nil {
		t.Fatal(err)
	}
	_, err := run(context.Background(), cfg, io.Discard)
	if err == nil || !strings.Contains(err.Error(), "use a new --run") {
		t.Errorf("second run with the same --run: %v", err)
	}
}

// runClean runs the load generator with cfg, logs its progress and report, and fails the
// test if the run fails or its report has errors (a 401 would be push:http-401 or
// pull:http-401). It returns the report, and its text and live progress as printed.
func runClean(t *testing.T, cfg *config) (*Report, string, string) {
	t.Helper()
	var progress strings.Builder
	rep, err := run(context.Background(), cfg, &progress)
	if err != nil {
		t.Fatalf("run: %v\n%s", err, progress.String())
	}
	var text strings.Builder
	rep.writeText(&text)
	t.Logf("%s%s", progress.String(), text.String())
	if len(rep.Errors) != 0 {
		t.Errorf("errors: %v", rep.Errors)
	}
	return rep, text.String(), progress.String()
}
