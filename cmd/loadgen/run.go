package main

import (
	"context"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

const (
	collection  = "loadgen"
	docsPerUser = 10
)

type device struct {
	idx      int
	user     *user
	clientID string
	stream   bool
	wake     chan struct{}
	// protocol 2: the open stream's id (from its hello; nil: none), and its changes
	// messages, applied by the puller in order with its pulls
	streamID atomic.Pointer[string]
	msgs     chan []byte

	pushMu sync.Mutex
	nextID int64

	// pull state, owned by the device's puller goroutine
	cursor string
	seen   map[string]string // collection/docId -> the last write id seen in it
	since  int64             // unix ns: writes before this are not propagation samples
}

type loadgen struct {
	cfg         *config
	base        string
	client      *http.Client
	users       []*user
	devices     []*device
	collections []string // what devices pull
	tokenLife   atomic.Int64

	connected, streams               atomic.Int64
	mutations, pulls, changes        atomic.Int64
	streamMessages, handovers        atomic.Int64
	puts, patches, shares            atomic.Int64
	writesSkipped, inflight          atomic.Int64
	measuring                        atomic.Bool
	push, pull, propStream, propPoll samples
	propSharedStream, propSharedPoll samples

	refreshes, refreshesOnDemand   atomic.Int64
	retriedAfter401, streamReauths atomic.Int64
	retryAfterSec                  atomic.Int64 // the last 429's Retry-After

	errMu  sync.Mutex
	errs   map[string]int64
	errSum atomic.Int64
}

func (g *loadgen) fail(kind string) {
	g.errMu.Lock()
	g.errs[kind]++
	g.errMu.Unlock()
	g.errSum.Add(1)
}

func newLoadgen(cfg *config) *loadgen {
	g := &loadgen{
		cfg:  cfg,
		base: cfg.server.String(),
		client: &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{
			MaxIdleConns: cfg.devices + 64, MaxIdleConnsPerHost: cfg.devices + 64, IdleConnTimeout: 90 * time.Second,
		}},
		collections: []string{collection},
		errs:        map[string]int64{},
	}
	if cfg.shareRate > 0 {
		g.collections = append(g.collections, cfg.shareCollection)
	}
	return g
}

// run signs up the users, connects the devices, runs the load for cfg.duration (or until
// ctx ends) and returns the report, partial if ctx ended early.
func run(ctx context.Context, cfg *config, progress io.Writer) (*Report, error) {
	g := newLoadgen(cfg)
	defer g.client.CloseIdleConnections()
	rep := &Report{Run: RunInfo{Server: g.base, Devices: cfg.devices, Users: cfg.users, WritesPerSecTarget: cfg.writesPerSec, RunID: cfg.run,
		ShareRate: cfg.shareRate, Protocol: cfg.protocol, Client: "protocol-level (HTTP push/pull, cursor in memory; WebSocket /v1/sync/stream)"}}
	if cfg.shareRate > 0 {
		rep.Run.ShareCollection = cfg.shareCollection
	}

	loadCtx, stopLoad := context.WithCancel(ctx)
	var wg sync.WaitGroup
	defer func() { stopLoad(); wg.Wait() }() // the sessions' refreshers end with loadCtx
	if err := g.signup(ctx, progress); err != nil {
		return nil, err
	}
	rep.Run.AccessTokenLifetimeSec = g.tokenLife.Load()
	for _, u := range g.users {
		wg.Add(1)
		go func() { defer wg.Done(); g.keepFresh(loadCtx, u) }()
	}
	if cfg.shareRate > 0 {
		if err := g.checkShareCollection(ctx); err != nil {
			return nil, err
		}
		fmt.Fprintf(progress, "loadgen: %q is owner-shared: %g of the writes share a document with another user\n", cfg.shareCollection, cfg.shareRate)
	}
	nStreams := int(float64(cfg.devices)*cfg.streamShare + 0.5)
	rep.Run.StreamDevices = nStreams
	for i := range cfg.devices {
		g.devices = append(g.devices, &device{
			idx: i, user: g.users[i%cfg.users], clientID: fmt.Sprintf("lg-%s-%d", cfg.run, i),
			stream: i < nStreams, wake: make(chan struct{}, 1), msgs: make(chan []byte, 64), seen: map[string]string{},
		})
	}

	fmt.Fprintf(progress, "loadgen: connecting %d devices (%d on the stream)\n", cfg.devices, nStreams)
	dialSem := make(chan struct{}, 32)
	for _, d := range g.devices {
		wg.Add(1)
		go func() { defer wg.Done(); g.runDevice(loadCtx, d, dialSem) }()
	}
	for g.connected.Load() < int64(cfg.devices) && ctx.Err() == nil {
		time.Sleep(50 * time.Millisecond)
	}

	selfBefore := selfCPU()
	before, berr := g.serverMetrics()
	if berr != nil {
		g.fail("metrics")
	}
	start := time.Now()
	g.measuring.Store(true)
	fmt.Fprintf(progress, "loadgen: all devices connected; load for %s\n", cfg.duration)
	stopProgress := g.progress(progress, start)
	wg.Add(1)
	go func() { defer wg.Done(); g.writer(loadCtx, start) }()

	select {
	case <-ctx.Done():
		rep.Run.Partial = true
	case <-time.After(cfg.duration):
	}
	elapsed := time.Since(start)
	// Stop new writes, and give the last ones a moment to propagate.
	g.measuring.Store(false)
	if ctx.Err() == nil {
		time.Sleep(500 * time.Millisecond)
	}
	stopProgress()
	after, aerr := g.serverMetrics()
	rep.Run.LoadgenCPUSeconds = round2(selfCPU() - selfBefore)
	if aerr != nil {
		g.fail("metrics")
	}
	stopLoad()
	wg.Wait()

	rep.Run.DurationSec = round2(elapsed.Seconds())
	g.fillReport(rep, elapsed.Seconds())
	if berr == nil && aerr == nil {
		rep.Server = &ServerInfo{
			CPUSeconds:   round2(after.cpu - before.cpu),
			CPUCoresAvg:  round2((after.cpu - before.cpu) / elapsed.Seconds()),
			RSSBeforeMiB: round2(before.rss / (1 << 20)), RSSAfterMiB: round2(after.rss / (1 << 20)),
		}
	}
	return rep, nil
}

// fillReport puts the counters and latencies of a run of secs seconds into rep.
func (g *loadgen) fillReport(rep *Report, secs float64) {
	t := Throughput{
		Mutations: g.mutations.Load(), Puts: g.puts.Load(), Patches: g.patches.Load(), Shares: g.shares.Load(),
		Pulls: g.pulls.Load(), ChangesReceived: g.changes.Load(), WritesSkipped: g.writesSkipped.Load(),
		StreamMessages: g.streamMessages.Load(), Handovers: g.handovers.Load(),
	}
	t.MutationsPerSec = round2(float64(t.Mutations) / secs)
	t.PullsPerSec = round2(float64(t.Pulls) / secs)
	if t.Mutations > 0 {
		t.PullsPerWrite = round2(float64(t.Pulls) / float64(t.Mutations))
	}
	rep.Throughput = t
	rep.Latency.Push = g.push.summary()
	rep.Latency.Pull = g.pull.summary()
	rep.Latency.PropagationStream = g.propStream.summary()
	rep.Latency.PropagationPoll = g.propPoll.summary()
	rep.Latency.Propagation = summarize(append(g.propStream.all(), g.propPoll.all()...))
	rep.Latency.PropagationSharedStream = g.propSharedStream.summary()
	rep.Latency.PropagationSharedPoll = g.propSharedPoll.summary()
	rep.Auth = AuthInfo{Refreshes: g.refreshes.Load(), RefreshesOnDemand: g.refreshesOnDemand.Load(),
		RetriedAfter401: g.retriedAfter401.Load(), StreamReauths: g.streamReauths.Load()}
	g.errMu.Lock()
	rep.Errors = g.errs
	g.errMu.Unlock()
}

func round2(f float64) float64 { return float64(int64(f*100+0.5)) / 100 }

// signup creates the users, 4 at a time (each sign-up hashes a password on the server).
func (g *loadgen) signup(ctx context.Context, progress io.Writer) error {
	fmt.Fprintf(progress, "loadgen: signing up %d users\n", g.cfg.users)
	g.users = make([]*user, g.cfg.users)
	errc := make(chan error, g.cfg.users)
	sem := make(chan struct{}, 4)
	var wg sync.WaitGroup
	for i := range g.cfg.users {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			u := &user{idx: i, email: fmt.Sprintf("loadgen-%s-%d@example.com", g.cfg.run, i)}
			var out authResponse
			sent := time.Now()
			status, body, err := g.post(ctx, "/v1/auth/signup", "", map[string]string{"email": u.email, "password": g.cfg.password}, &out)
			switch {
			case err != nil:
				errc <- fmt.Errorf("sign-up of %s: %w", u.email, err)
			case status == http.StatusTooManyRequests:
				errc <- fmt.Errorf("sign-up of %s: 429 rate limited: start the server with --auth-limits-signup off", u.email)
			case status == http.StatusConflict:
				errc <- fmt.Errorf("sign-up of %s: 409, the email is taken: use a new --run", u.email)
			case status != http.StatusCreated && status != http.StatusOK || out.AccessToken == "" || out.RefreshToken == "" || out.User.ID == "":
				errc <- fmt.Errorf("sign-up of %s: HTTP %d: %s", u.email, status, strings.TrimSpace(string(body)))
			default:
				u.id, u.bucket = out.User.ID, "user:"+out.User.ID
				u.setTokens(out, sent)
				g.tokenLife.Store(out.ExpiresIn)
				g.users[i] = u
			}
		}()
	}
	wg.Wait()
	close(errc)
	if err := <-errc; err != nil {
		return err
	}
	return ctx.Err()
}

// writer issues writes at cfg.writesPerSec, each from a random device.
func (g *loadgen) writer(ctx context.Context, start time.Time) {
	if g.cfg.writesPerSec <= 0 {
		return
	}
	maxInflight := int64(4 * g.cfg.devices)
	t := time.NewTicker(5 * time.Millisecond)
	defer t.Stop()
	var issued int64
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		if !g.measuring.Load() {
			return
		}
		due := int64(time.Since(start).Seconds() * g.cfg.writesPerSec)
		for ; issued < due; issued++ {
			if g.inflight.Load() >= maxInflight {
				g.writesSkipped.Add(1)
				continue
			}
			d := g.devices[rand.N(len(g.devices))]
			g.inflight.Add(1)
			go func() { defer g.inflight.Add(-1); g.write(ctx, d) }()
		}
	}
}

type pushResponse struct {
	Receipts []struct {
		Status  string `json:"status"`
		Code    string `json:"code"`
		Message string `json:"message"`
		Field   string `json:"field"`
	} `json:"receipts"`
}

// write pushes one mutation from d: with probability --share-rate a put of a document of
// the shared collection that another user may read, otherwise a put (60%) or a patch with
// an increment (40%) of one of its user's documents; each stamped with the write's id,
// time and device.
func (g *loadgen) write(ctx context.Context, d *device) {
	d.pushMu.Lock() // mutation ids must arrive in order per client
	defer d.pushMu.Unlock()
	d.nextID++
	id := d.nextID
	now := time.Now()
	fields := map[string]any{"lg_w": fmt.Sprintf("%d-%d", d.idx, id), "lg_t": now.UnixNano(), "lg_d": d.idx}
	m := map[string]any{"id": id, "collection": collection, "docId": fmt.Sprintf("d%d", rand.N(docsPerUser)), "fields": fields}
	var kind *atomic.Int64
	switch {
	case g.cfg.shareRate > 0 && rand.Float64() < g.cfg.shareRate:
		to := g.otherUser(d.user)
		m["collection"], m["docId"], m["op"] = g.cfg.shareCollection, shareDocID(g.cfg.run, d.user, to), "put"
		fields["title"] = "shared load test document " + strconv.FormatInt(id, 10)
		fields["_acl"] = map[string]any{"read": []string{to.bucket}}
		kind = &g.shares
	case rand.N(10) < 6:
		m["op"] = "put"
		fields["title"] = "load test document " + strconv.FormatInt(id, 10)
		fields["done"] = id%2 == 0
		kind = &g.puts
	default:
		m["op"] = "patch"
		m["ops"] = map[string]any{"count": map[string]any{"inc": 1}}
		kind = &g.patches
	}
	var out pushResponse
	status, _, err := g.authPost(ctx, d.user, "/v1/sync/push", g.withProtocol(map[string]any{"clientId": d.clientID, "mutations": []any{m}}), &out)
	if ctx.Err() != nil {
		return
	}
	if err != nil || status != http.StatusOK {
		g.fail(kindOf("push", status, err))
		return
	}
	g.push.add(time.Since(now))
	g.mutations.Add(1)
	kind.Add(1)
	for _, r := range out.Receipts {
		if r.Status == "rejected" || r.Status == "conflict" {
			g.fail("push:" + r.Status + ":" + r.Code)
		}
	}
}
