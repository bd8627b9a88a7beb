package sqlite

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/tideline-dev/tideline"
	"github.com/tideline-dev/tideline/push"
	"github.com/tideline-dev/tideline/push/fcm"
	"github.com/tideline-dev/tideline/push/fcm/fcmtest"
)

// Push benchmarks: one campaign fanned out to 100,000 devices on the embedded engine,
// through the real Firebase SDK to a local fake of FCM, beside the same messages sent by
// the provider alone (the limit: the SDK, HTTP and the fake on this machine, no store).
// See docs/benchmarks.md.

const fanOutDevices = 100000

// benchProvider is the FCM provider on fake, with a connection pool sized for the
// workers (the default keeps 2 idle connections per host).
func benchProvider(b *testing.B, fake *fcmtest.Server) push.Provider {
	b.Helper()
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 256, MaxConnsPerHost: 256}}
	p, err := fcm.New(b.Context(), fcm.Config{CredentialsFile: fake.WriteCredentials(b), Endpoint: fake.Endpoint(), HTTPClient: client})
	if err != nil {
		b.Fatal(err)
	}
	return p
}

// loadDevices stores n devices with tokens, in one transaction.
func loadDevices(b *testing.B, db *DB, n int) {
	b.Helper()
	raw := rawDB(b, db)
	tx, err := raw.Begin()
	if err != nil {
		b.Fatal(err)
	}
	st, err := tx.Prepare(`INSERT INTO push_devices (id, user_id, device_id, session_id, platform, push_token, app_version, locale, timezone, created_at, last_seen)
		VALUES (?, ?, ?, 's1', ?, ?, '1.0.0', 'en-GB', 'Europe/London', 0, 0)`)
	if err != nil {
		b.Fatal(err)
	}
	for i := range n {
		platform := push.PlatformAndroid
		if i%2 == 1 {
			platform = push.PlatformIOS
		}
		if _, err := st.Exec(tideline.NewID(), fmt.Sprintf("u%d", i/3), fmt.Sprintf("d%d", i), platform, fmt.Sprintf("token-%07d", i)); err != nil {
			b.Fatal(err)
		}
	}
	if err := tx.Commit(); err != nil {
		b.Fatal(err)
	}
}

func BenchmarkCampaignFanOut100k(b *testing.B) {
	db, err := Open(b.Context(), b.TempDir(), Options{})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { db.Close() })
	loadDevices(b, db, fanOutDevices)
	fake := fcmtest.New(b)
	completed := make(completions, 16)
	svc := push.New(db.Push(), push.Config{Provider: benchProvider(b, fake), PollEvery: 10 * time.Millisecond, Logger: slog.New(completed)})
	ctx, stop := context.WithCancel(b.Context())
	done := make(chan struct{})
	go func() { svc.Run(ctx); close(done) }()
	defer func() { stop(); <-done }()
	b.ResetTimer()
	for range b.N {
		start := time.Now()
		c, _, err := svc.CreateCampaign(b.Context(), push.NewCampaign{Spec: push.Spec{Target: push.Target{All: true},
			Notification: push.Notification{Title: "Hello", Body: "A campaign to everyone"}}})
		if err != nil {
			b.Fatal(err)
		}
		for id := range completed { // the service logs each completion after recording it
			if id == c.ID {
				break
			}
		}
		elapsed := time.Since(start)
		if v, err := svc.GetCampaign(b.Context(), c.ID); err != nil || v.Counts.Sent != fanOutDevices || fake.Requests() != fanOutDevices*(b.N) {
			b.Fatalf("sent %+v (%v), %d requests", v.Counts, err, fake.Requests())
		}
		b.ReportMetric(float64(fanOutDevices)/elapsed.Seconds(), "msgs/s")
		b.ReportMetric(elapsed.Seconds(), "s-to-last")
	}
}

// completions is a slog.Handler that sends the campaign id of every "push campaign
// completed" record it handles: the benchmark learns at once that its campaign is done.
type completions chan string

func (c completions) Enabled(context.Context, slog.Level) bool { return true }
func (c completions) WithAttrs([]slog.Attr) slog.Handler       { return c }
func (c completions) WithGroup(string) slog.Handler            { return c }

func (c completions) Handle(_ context.Context, r slog.Record) error {
	if r.Message == "push campaign completed" {
		r.Attrs(func(a slog.Attr) bool {
			if a.Key == "campaign" {
				c <- a.Value.String()
			}
			return true
		})
	}
	return nil
}

// BenchmarkRawProviderFanOut100k sends the same 100,000 messages through the provider
// alone, 4 batches of 500 at a time as the workers do: the limit underneath.
func BenchmarkRawProviderFanOut100k(b *testing.B) {
	fake := fcmtest.New(b)
	p := benchProvider(b, fake)
	msgs := make([]push.Message, fanOutDevices)
	for i := range msgs {
		msgs[i] = push.Message{Token: fmt.Sprintf("token-%07d", i), Platform: push.PlatformAndroid, Title: "Hello",
			Body: "A campaign to everyone", Priority: "high", Tag: "c1"}
	}
	b.ResetTimer()
	for range b.N {
		start := time.Now()
		batches := make(chan []push.Message)
		var wg sync.WaitGroup
		for range 4 {
			wg.Go(func() {
				for batch := range batches {
					if _, err := p.Send(b.Context(), batch); err != nil {
						b.Error(err)
					}
				}
			})
		}
		for i := 0; i < len(msgs); i += push.MaxBatch {
			batches <- msgs[i:min(i+push.MaxBatch, len(msgs))]
		}
		close(batches)
		wg.Wait()
		elapsed := time.Since(start)
		b.ReportMetric(float64(fanOutDevices)/elapsed.Seconds(), "msgs/s")
		b.ReportMetric(elapsed.Seconds(), "s-to-last")
	}
}
