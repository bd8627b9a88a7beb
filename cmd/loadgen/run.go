package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/coder/websocket"
)

const (
	collection  = "loadgen"
	docsPerUser = 10
)

type user struct {
	email string
	token string
}

type device struct {
	idx      int
	user     *user
	clientID string
	stream   bool
	wake     chan struct{}

	pushMu sync.Mutex
	nextID int64

	// pull state, owned by the device's puller goroutine
	cursor string
	seen   map[string]string // docId -> the last write id seen in it
	since  int64             // unix ns: writes before this are not propagation samples
}

type loadgen struct {
	cfg     *config
	base    string
	client  *http.Client
	users   []*user
	devices []*device

	connected, streams               atomic.Int64
	mutations, pulls, changes        atomic.Int64
	writesSkipped, inflight          atomic.Int64
	measuring                        atomic.Bool
	push, pull, propStream, propPoll samples

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

// run signs up the users, connects the devices, runs the load for cfg.duration (or until
// ctx ends) and returns the report, partial if ctx ended early.
func run(ctx context.Context, cfg *config, progress io.Writer) (*Report, error) {
	g := &loadgen{
		cfg:  cfg,
		base: cfg.server.String(),
		client: &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{
			MaxIdleConns: cfg.devices + 64, MaxIdleConnsPerHost: cfg.devices + 64, IdleConnTimeout: 90 * time.Second,
		}},
		errs: map[string]int64{},
	}
	defer g.client.CloseIdleConnections()
	rep := &Report{Run: RunInfo{Server: g.base, Devices: cfg.devices, Users: cfg.users, WritesPerSecTarget: cfg.writesPerSec, RunID: cfg.run,
		Client: "protocol-level (HTTP push/pull, cursor in memory; WebSocket /v1/sync/stream)"}}

	if err := g.signup(ctx, progress); err != nil {
		return nil, err
	}
	nStreams := int(float64(cfg.devices)*cfg.streamShare + 0.5)
	rep.Run.StreamDevices = nStreams
	for i := range cfg.devices {
		g.devices = append(g.devices, &device{
			idx: i, user: g.users[i%cfg.users], clientID: fmt.Sprintf("lg-%s-%d", cfg.run, i),
			stream: i < nStreams, wake: make(chan struct{}, 1), seen: map[string]string{},
		})
	}

	loadCtx, stopLoad := context.WithCancel(ctx)
	defer stopLoad()
	var wg sync.WaitGroup
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
	secs := elapsed.Seconds()
	rep.Throughput = Throughput{
		Mutations: g.mutations.Load(), Pulls: g.pulls.Load(), ChangesReceived: g.changes.Load(), WritesSkipped: g.writesSkipped.Load(),
	}
	rep.Throughput.MutationsPerSec = round2(float64(rep.Throughput.Mutations) / secs)
	rep.Throughput.PullsPerSec = round2(float64(rep.Throughput.Pulls) / secs)
	rep.Latency.Push = g.push.summary()
	rep.Latency.Pull = g.pull.summary()
	rep.Latency.PropagationStream = g.propStream.summary()
	rep.Latency.PropagationPoll = g.propPoll.summary()
	g.propStream.mu.Lock()
	g.propPoll.mu.Lock()
	rep.Latency.Propagation = summarize(append(append([]time.Duration{}, g.propStream.d...), g.propPoll.d...))
	g.propPoll.mu.Unlock()
	g.propStream.mu.Unlock()
	if berr == nil && aerr == nil {
		rep.Server = &ServerInfo{
			CPUSeconds:   round2(after.cpu - before.cpu),
			CPUCoresAvg:  round2((after.cpu - before.cpu) / secs),
			RSSBeforeMiB: round2(before.rss / (1 << 20)), RSSAfterMiB: round2(after.rss / (1 << 20)),
		}
	}
	g.errMu.Lock()
	rep.Errors = g.errs
	g.errMu.Unlock()
	return rep, nil
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
			u := &user{email: fmt.Sprintf("loadgen-%s-%d@example.com", g.cfg.run, i)}
			var out struct {
				AccessToken string `json:"accessToken"`
			}
			status, body, err := g.post(ctx, "/v1/auth/signup", "", map[string]string{"email": u.email, "password": g.cfg.password}, &out)
			switch {
			case err != nil:
				errc <- fmt.Errorf("sign-up of %s: %w", u.email, err)
			case status == http.StatusTooManyRequests:
				errc <- fmt.Errorf("sign-up of %s: 429 rate limited: start the server with --auth-limits-signup off", u.email)
			case status == http.StatusConflict:
				errc <- fmt.Errorf("sign-up of %s: 409, the email is taken: use a new --run", u.email)
			case status != http.StatusCreated && status != http.StatusOK || out.AccessToken == "":
				errc <- fmt.Errorf("sign-up of %s: HTTP %d: %s", u.email, status, strings.TrimSpace(string(body)))
			default:
				u.token = out.AccessToken
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

// runDevice opens the device's stream (if it has one) and pulls at each hello and poke,
// or every poll interval, until ctx ends.
func (g *loadgen) runDevice(ctx context.Context, d *device, dialSem chan struct{}) {
	d.since = time.Now().UnixNano()
	if d.stream {
		hello := make(chan struct{})
		go g.stream(ctx, d, dialSem, hello)
		select {
		case <-hello:
		case <-ctx.Done():
			return
		}
	} else {
		g.pullAll(ctx, d)
	}
	g.connected.Add(1)
	var tick <-chan time.Time
	if !d.stream {
		// spread the pollers over the interval
		time.Sleep(rand.N(g.cfg.pollEvery))
		t := time.NewTicker(g.cfg.pollEvery)
		defer t.Stop()
		tick = t.C
	}
	for {
		select {
		case <-ctx.Done():
			return
		case <-d.wake:
		case <-tick:
		}
		g.pullAll(ctx, d)
	}
}

// stream keeps the device's WebSocket open, reconnecting after a second when it drops,
// and wakes the puller at every message (hello, poke). hello is closed at the first hello.
func (g *loadgen) stream(ctx context.Context, d *device, dialSem chan struct{}, hello chan struct{}) {
	wsURL := "ws" + strings.TrimPrefix(g.base, "http") + "/v1/sync/stream"
	first := true
	for ctx.Err() == nil {
		dialSem <- struct{}{}
		c, resp, err := websocket.Dial(ctx, wsURL, &websocket.DialOptions{
			HTTPClient: g.client, HTTPHeader: http.Header{"Authorization": {"Bearer " + d.user.token}},
		})
		<-dialSem
		if err != nil {
			if ctx.Err() != nil {
				return
			}
			kind := "stream:dial"
			if resp != nil {
				kind = fmt.Sprintf("stream:dial:http-%d", resp.StatusCode)
			}
			g.fail(kind)
			sleepCtx(ctx, time.Second)
			continue
		}
		c.SetReadLimit(1 << 14)
		g.streams.Add(1)
		for {
			_, msg, err := c.Read(ctx)
			if err != nil {
				break
			}
			if bytes.Contains(msg, []byte(`"expired"`)) {
				g.fail("stream:expired")
				continue
			}
			select {
			case d.wake <- struct{}{}:
			default:
			}
			if first {
				first = false
				close(hello)
			}
		}
		g.streams.Add(-1)
		c.CloseNow()
		if ctx.Err() != nil {
			return
		}
		g.fail("stream:closed")
		sleepCtx(ctx, time.Second)
	}
}

func sleepCtx(ctx context.Context, d time.Duration) {
	select {
	case <-ctx.Done():
	case <-time.After(d):
	}
}

type pullResponse struct {
	Cursor  string `json:"cursor"`
	HasMore bool   `json:"hasMore"`
	Changes []struct {
		DocID string                     `json:"docId"`
		Op    string                     `json:"op"`
		Doc   map[string]json.RawMessage `json:"doc"`
	} `json:"changes"`
}

// pullAll pulls from the device's cursor until hasMore is false, recording the
// propagation of the writes of the user's other devices it sees.
func (g *loadgen) pullAll(ctx context.Context, d *device) {
	for ctx.Err() == nil {
		// A load device keeps no documents: it is fresh (no tombstones in initial syncs).
		body := map[string]any{"collections": []string{collection}, "limit": 500, "fresh": true}
		if d.cursor != "" {
			body["cursor"] = d.cursor
		}
		var out pullResponse
		t0 := time.Now()
		status, _, err := g.post(ctx, "/v1/sync/pull", d.user.token, body, &out)
		now := time.Now()
		if ctx.Err() != nil {
			return
		}
		if err != nil || status != http.StatusOK {
			g.fail(kindOf("pull", status, err))
			return
		}
		if g.measuring.Load() {
			g.pull.add(now.Sub(t0))
			g.pulls.Add(1)
		}
		g.changes.Add(int64(len(out.Changes)))
		d.cursor = out.Cursor
		for _, ch := range out.Changes {
			if ch.Op != "upsert" {
				continue
			}
			var w string
			var t int64
			var writer int
			if json.Unmarshal(ch.Doc["lg_w"], &w) != nil || json.Unmarshal(ch.Doc["lg_t"], &t) != nil || json.Unmarshal(ch.Doc["lg_d"], &writer) != nil {
				continue
			}
			if d.seen[ch.DocID] == w {
				continue
			}
			d.seen[ch.DocID] = w
			if writer == d.idx || t < d.since || !g.measuring.Load() {
				continue
			}
			lat := now.Sub(time.Unix(0, t))
			if d.stream {
				g.propStream.add(lat)
			} else {
				g.propPoll.add(lat)
			}
		}
		if !out.HasMore {
			return
		}
	}
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
		Status string `json:"status"`
		Code   string `json:"code"`
	} `json:"receipts"`
}

// write pushes one mutation from d: a put (60%) or a patch with an increment (40%) of one
// of its user's documents, stamped with the write's id and time.
func (g *loadgen) write(ctx context.Context, d *device) {
	d.pushMu.Lock() // mutation ids must arrive in order per client
	defer d.pushMu.Unlock()
	d.nextID++
	id := d.nextID
	now := time.Now()
	fields := map[string]any{"lg_w": fmt.Sprintf("%d-%d", d.idx, id), "lg_t": now.UnixNano(), "lg_d": d.idx}
	m := map[string]any{"id": id, "collection": collection, "docId": fmt.Sprintf("d%d", rand.N(docsPerUser)), "fields": fields}
	if rand.N(10) < 6 {
		m["op"] = "put"
		fields["title"] = "load test document " + strconv.FormatInt(id, 10)
		fields["done"] = id%2 == 0
	} else {
		m["op"] = "patch"
		m["ops"] = map[string]any{"count": map[string]any{"inc": 1}}
	}
	var out pushResponse
	status, _, err := g.post(ctx, "/v1/sync/push", d.user.token, map[string]any{"clientId": d.clientID, "mutations": []any{m}}, &out)
	if ctx.Err() != nil {
		return
	}
	if err != nil || status != http.StatusOK {
		g.fail(kindOf("push", status, err))
		return
	}
	g.push.add(time.Since(now))
	g.mutations.Add(1)
	for _, r := range out.Receipts {
		if r.Status == "rejected" || r.Status == "conflict" {
			g.fail("push:" + r.Status + ":" + r.Code)
		}
	}
}

func kindOf(op string, status int, err error) string {
	switch {
	case err == nil:
		return fmt.Sprintf("%s:http-%d", op, status)
	case errors.Is(err, context.DeadlineExceeded) || strings.Contains(err.Error(), "Timeout"):
		return op + ":timeout"
	case strings.Contains(err.Error(), "connection refused"):
		return op + ":connection-refused"
	case strings.Contains(err.Error(), "connection reset"), strings.Contains(err.Error(), "EOF"):
		return op + ":connection-reset"
	default:
		return op + ":network"
	}
}

// post sends a JSON request and decodes a 2xx answer into out; it returns the status and,
// for other statuses, the body.
func (g *loadgen) post(ctx context.Context, path, token string, body, out any) (int, []byte, error) {
	b, err := json.Marshal(body)
	if err != nil {
		return 0, nil, err
	}
	req, err := http.NewRequestWithContext(ctx, "POST", g.base+path, bytes.NewReader(b))
	if err != nil {
		return 0, nil, err
	}
	req.Header.Set("Content-Type", "application/json")
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := g.client.Do(req)
	if err != nil {
		return 0, nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode/100 != 2 {
		raw, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
		return resp.StatusCode, raw, nil
	}
	if err := json.NewDecoder(resp.Body).Decode(out); err != nil {
		return resp.StatusCode, nil, err
	}
	return resp.StatusCode, nil, nil
}

// selfCPU is the CPU time (user and system) this process has used, in seconds.
func selfCPU() float64 {
	var ru syscall.Rusage
	if syscall.Getrusage(syscall.RUSAGE_SELF, &ru) != nil {
		return 0
	}
	return float64(ru.Utime.Nano()+ru.Stime.Nano()) / 1e9
}

type metrics struct{ cpu, rss float64 }

// serverMetrics reads process_cpu_seconds_total and process_resident_memory_bytes from
// the server's /metrics.
func (g *loadgen) serverMetrics() (metrics, error) {
	var m metrics
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, "GET", g.base+"/metrics", nil)
	resp, err := g.client.Do(req)
	if err != nil {
		return m, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return m, fmt.Errorf("/metrics: HTTP %d", resp.StatusCode)
	}
	found := 0
	sc := bufio.NewScanner(resp.Body)
	for sc.Scan() {
		name, value, ok := strings.Cut(sc.Text(), " ")
		if !ok {
			continue
		}
		f, err := strconv.ParseFloat(strings.TrimSpace(value), 64)
		if err != nil {
			continue
		}
		switch name {
		case "process_cpu_seconds_total":
			m.cpu = f
			found++
		case "process_resident_memory_bytes":
			m.rss = f
			found++
		}
	}
	if found < 2 {
		return m, errors.New("/metrics lacks process_cpu_seconds_total or process_resident_memory_bytes")
	}
	return m, nil
}

// progress prints one line a second until the returned function is called.
func (g *loadgen) progress(w io.Writer, start time.Time) func() {
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		t := time.NewTicker(time.Second)
		defer t.Stop()
		var lastM, lastP int64
		for {
			select {
			case <-done:
				return
			case <-t.C:
			}
			m, p := g.mutations.Load(), g.pulls.Load()
			fmt.Fprintf(w, "[%3ds] devices %d/%d (streams %d) | mutations/s %d | pulls/s %d | errors %d\n",
				int(time.Since(start).Seconds()), g.connected.Load(), g.cfg.devices, g.streams.Load(), m-lastM, p-lastP, g.errSum.Load())
			lastM, lastP = m, p
		}
	}()
	return func() { close(done); wg.Wait() }
}
