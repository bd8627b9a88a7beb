package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

// post sends a JSON request and decodes a 2xx answer into out; it returns the status and,
// for other statuses, the body. A 429's Retry-After is kept in g.retryAfterSec.
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
	if resp.StatusCode == http.StatusTooManyRequests {
		if s, err := strconv.ParseInt(resp.Header.Get("Retry-After"), 10, 64); err == nil {
			g.retryAfterSec.Store(s)
		}
	}
	if resp.StatusCode/100 != 2 {
		raw, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
		return resp.StatusCode, raw, nil
	}
	if err := json.NewDecoder(resp.Body).Decode(out); err != nil {
		return resp.StatusCode, nil, err
	}
	return resp.StatusCode, nil, nil
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

// sleepCtx waits d, or until ctx ends; it reports whether ctx is still alive.
func sleepCtx(ctx context.Context, d time.Duration) bool {
	if d <= 0 {
		return ctx.Err() == nil
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
		return true
	}
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
			fmt.Fprintf(w, "[%3ds] devices %d/%d (streams %d) | writes/s %d | pulls/s %d | refreshes %d | errors %d\n",
				int(time.Since(start).Seconds()), g.connected.Load(), g.cfg.devices, g.streams.Load(), m-lastM, p-lastP, g.refreshes.Load(), g.errSum.Load())
			lastM, lastP = m, p
		}
	}()
	return func() { close(done); wg.Wait() }
}
