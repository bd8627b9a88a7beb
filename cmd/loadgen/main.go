// Command loadgen puts a running Tideline server under the load of many devices and
// reports throughput, push, pull and end-to-end propagation latencies, the server's CPU and
// memory, and errors by kind.
//
//	go run ./cmd/loadgen --server http://127.0.0.1:8080 --devices 1000 --users 100 \
//	    --duration 30s --writes-per-sec 100 --stream-share 0.5 --json report.json
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/url"
	"os"
	"os/signal"
	"regexp"
	"strings"
	"syscall"
	"time"
)

const usage = `loadgen: simulate devices syncing against a running Tideline server.

Usage: go run ./cmd/loadgen [flags]

Each device is a lightweight protocol-level client, not the Go SDK: it speaks the sync
protocol (docs/sync-protocol.md) over plain HTTP, keeps its pull cursor and mutation ids in
memory, and has no local database, so thousands fit in one process. The --stream-share of
the devices hold the realtime WebSocket (/v1/sync/stream) and pull at "hello" and at every
"poke"; with --protocol 2 (the default) their pulls name the stream, which then sends them
the changes themselves ("changes" messages, applied as pulled pages: no pull while the
stream is live); --protocol 1 is the poke-then-pull of version 1, to compare. The others poll (pull every --poll-every). Users are signed up at the start
(POST /v1/auth/signup, emails loadgen-<run>-<i>@example.com); the devices of one user share
its session. Its access token is refreshed (POST /v1/auth/refresh) at two thirds of its
lifetime, and at once when a request gets a 401 or a stream says "expired" (one refresh
per user at a time; the request is then sent once more), so a run may outlast the token.

Writes, at --writes-per-sec spread over random devices, are puts (60%) and patches with an
increment (40%) of the user's 10 documents in the collection "loadgen"; with --share-rate,
that share of the writes instead put a document of the --share-collection whose _acl lets
a random other user read it. Reads are the pulls. Each write stores its id and time in the
document; a device that pulls the write records the end-to-end propagation (write sent to
write seen): for a device of the writer's user, and for one of the user it was shared with
("propagation, shared").

The server must allow the sign-ups: run it with --auth-limits-signup off (the default
allows 10 per hour per IP). With many users or short-lived tokens, also with
--auth-limits-refresh off (the default allows 60 refreshes a minute per IP; the load
generator waits out a 429, and counts it as an error). --share-rate needs the collection to
be owner-shared on the server, for example
TIDELINE_SYNC_COLLECTIONS='[{"name":"loadgen_shared","read":"owner-shared"}]'; the load
generator checks it before the load starts.

Flags:
`

type config struct {
	server          *url.URL
	devices         int
	users           int
	duration        time.Duration
	writesPerSec    float64
	streamShare     float64
	pollEvery       time.Duration
	shareRate       float64
	shareCollection string
	jsonFile        string
	run             string
	password        string
	quiet           bool
	protocol        int
}

// parseFlags reads and checks the command line; its errors are for people.
func parseFlags(args []string, out io.Writer) (*config, error) {
	fs := flag.NewFlagSet("loadgen", flag.ContinueOnError)
	fs.SetOutput(out)
	fs.Usage = func() { fmt.Fprint(out, usage); fs.PrintDefaults() }
	server := fs.String("server", "http://127.0.0.1:8080", "the server's base URL")
	c := &config{}
	fs.IntVar(&c.devices, "devices", 100, "simulated devices (1 to 100000)")
	fs.IntVar(&c.users, "users", 10, "users the devices belong to, round-robin (1 to devices; 2 or more devices per user measure propagation)")
	fs.DurationVar(&c.duration, "duration", 30*time.Second, "how long the load runs after every device is connected (1s to 24h)")
	fs.Float64Var(&c.writesPerSec, "writes-per-sec", 100, "writes per second across all devices (0 to 100000)")
	fs.Float64Var(&c.streamShare, "stream-share", 0.5, "share of the devices on the realtime stream (0 to 1); the others poll")
	fs.DurationVar(&c.pollEvery, "poll-every", 2*time.Second, "how often a device without the stream pulls (100ms to 10m)")
	fs.Float64Var(&c.shareRate, "share-rate", 0, "share of the writes that share a document with another user (0 to 1; more than 0 needs --users 2 or more and an owner-shared --share-collection)")
	fs.StringVar(&c.shareCollection, "share-collection", "loadgen_shared", "the owner-shared collection of the shared documents")
	fs.StringVar(&c.jsonFile, "json", "", "also write the report as JSON to this file")
	fs.StringVar(&c.run, "run", "", "run id in the users' emails (default: the start time); a run id already used fails the sign-ups")
	fs.StringVar(&c.password, "password", "loadgen correct horse battery staple", "the users' password")
	fs.BoolVar(&c.quiet, "quiet", false, "no live progress on stderr")
	fs.IntVar(&c.protocol, "protocol", 2, "the sync protocol the devices speak: 2 (changes on the stream) or 1 (pokes, then pulls)")
	if err := fs.Parse(args); err != nil {
		return nil, err
	}
	if fs.NArg() > 0 {
		return nil, fmt.Errorf("unexpected argument %q (flags only; see --help)", fs.Arg(0))
	}
	u, err := url.Parse(*server)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("--server %q: want an http or https URL such as http://127.0.0.1:8080", *server)
	}
	u.Path = strings.TrimSuffix(u.Path, "/")
	c.server = u
	switch {
	case c.devices < 1 || c.devices > 100000:
		return nil, fmt.Errorf("--devices %d: want 1 to 100000", c.devices)
	case c.users < 1 || c.users > c.devices:
		return nil, fmt.Errorf("--users %d: want 1 to --devices (%d)", c.users, c.devices)
	case c.duration < time.Second || c.duration > 24*time.Hour:
		return nil, fmt.Errorf("--duration %s: want 1s to 24h", c.duration)
	case !(c.writesPerSec >= 0 && c.writesPerSec <= 100000):
		return nil, fmt.Errorf("--writes-per-sec %g: want 0 to 100000", c.writesPerSec)
	case !(c.streamShare >= 0 && c.streamShare <= 1):
		return nil, fmt.Errorf("--stream-share %g: want 0 to 1", c.streamShare)
	case c.pollEvery < 100*time.Millisecond || c.pollEvery > 10*time.Minute:
		return nil, fmt.Errorf("--poll-every %s: want 100ms to 10m", c.pollEvery)
	case c.protocol != 1 && c.protocol != 2:
		return nil, fmt.Errorf("--protocol %d: want 1 or 2", c.protocol)
	case !(c.shareRate >= 0 && c.shareRate <= 1):
		return nil, fmt.Errorf("--share-rate %g: want 0 to 1", c.shareRate)
	case c.shareRate > 0 && c.users < 2:
		return nil, fmt.Errorf("--share-rate %g needs --users 2 or more: a share goes to another user", c.shareRate)
	case !collectionName.MatchString(c.shareCollection) || strings.HasPrefix(c.shareCollection, "tideline_") || strings.HasPrefix(c.shareCollection, "system"):
		return nil, fmt.Errorf("--share-collection %q: want a collection name: a lowercase letter, then up to 62 lowercase letters, digits or '_' (not starting with tideline_ or system)", c.shareCollection)
	case c.shareCollection == collection:
		return nil, fmt.Errorf("--share-collection %q: want another collection than the devices' own documents'", c.shareCollection)
	}
	if c.run == "" {
		c.run = time.Now().UTC().Format("20060102t150405")
	}
	if !validRun(c.run) {
		return nil, fmt.Errorf("--run %q: want 1 to 32 letters, digits or '-'", c.run)
	}
	return c, nil
}

// collectionName is the sync protocol's collection name syntax.
var collectionName = regexp.MustCompile(`^[a-z][a-z0-9_]{0,62}$`)

func validRun(s string) bool {
	if len(s) < 1 || len(s) > 32 {
		return false
	}
	for _, r := range s {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-') {
			return false
		}
	}
	return true
}

func main() {
	cfg, err := parseFlags(os.Args[1:], os.Stderr)
	if errors.Is(err, flag.ErrHelp) {
		os.Exit(0)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "loadgen:", err)
		os.Exit(2)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	var progress io.Writer = os.Stderr
	if cfg.quiet {
		progress = io.Discard
	}
	rep, err := run(ctx, cfg, progress)
	if rep != nil {
		rep.writeText(os.Stdout)
		if cfg.jsonFile != "" {
			if werr := rep.writeJSON(cfg.jsonFile); werr != nil {
				fmt.Fprintln(os.Stderr, "loadgen:", werr)
				os.Exit(1)
			}
		}
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "loadgen:", err)
		os.Exit(1)
	}
}
