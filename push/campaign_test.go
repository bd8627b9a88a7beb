package push_test

import (
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tideline-dev/tideline"
	"github.com/tideline-dev/tideline/push"
	"github.com/tideline-dev/tideline/push/fcm"
	"github.com/tideline-dev/tideline/push/fcm/fcmtest"
	"github.com/tideline-dev/tideline/store/storetest"
)

// Campaigns are tested through the real Firebase Admin SDK (push/fcm) against a local fake
// of the FCM HTTP v1 API, on both engines.

// fcmEnv is an env whose service sends through FCM to fake.
func fcmEnv(t *testing.T, engine string, fake *fcmtest.Server, cfg push.Config) *env {
	t.Helper()
	cfg.Provider = fcmProvider(t, fake)
	cfg.RetryBase = cmp.Or(cfg.RetryBase, time.Second)
	cfg.NodeID = cmp.Or(cfg.NodeID, "node-a")
	return newEnvWith(t, engine, cfg)
}

func fcmProvider(t *testing.T, fake *fcmtest.Server) push.Provider {
	t.Helper()
	p, err := fcm.New(t.Context(), fcm.Config{CredentialsFile: fake.WriteCredentials(t), Endpoint: fake.Endpoint()})
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// another is a second node's service on the same store, with the same clock.
func (e *env) another(cfg push.Config) *push.Service {
	cfg.Clock = e.clock
	return push.New(e.store, cfg)
}

// drain steps svc until it has nothing to do and returns how many steps did something.
func drain(t *testing.T, svc *push.Service) int {
	t.Helper()
	n := 0
	for {
		did, err := svc.Step(t.Context())
		if err != nil {
			t.Fatalf("step %d: %v", n+1, err)
		}
		if !did {
			return n
		}
		n++
	}
}

// devicesN registers n devices of users u0..u{users-1}, with tokens tok-0..tok-{n-1}, each
// through its user's session s-u<i>.
func (e *env) devicesN(n, users int, reg func(i int, r *push.Registration)) []push.Device {
	e.t.Helper()
	out := make([]push.Device, n)
	for i := range n {
		r := push.Registration{DeviceID: fmt.Sprintf("d%d", i), Platform: push.PlatformAndroid, PushToken: fmt.Sprintf("tok-%d", i)}
		if reg != nil {
			reg(i, &r)
		}
		out[i] = e.register(fmt.Sprintf("u%d", i%users), fmt.Sprintf("s-u%d", i%users), r)
	}
	return out
}

func (e *env) create(c push.NewCampaign) push.CampaignView {
	e.t.Helper()
	v, _, err := e.svc.CreateCampaign(e.t.Context(), c)
	if err != nil {
		e.t.Fatalf("CreateCampaign: %v", err)
	}
	return v
}

func (e *env) campaign(id string) push.CampaignView {
	e.t.Helper()
	v, err := e.svc.GetCampaign(e.t.Context(), id)
	if err != nil {
		e.t.Fatalf("GetCampaign: %v", err)
	}
	return v
}

func hello(t push.Target) push.NewCampaign {
	return push.NewCampaign{Spec: push.Spec{Target: t, Notification: push.Notification{Title: "Hello", Body: "World"}}}
}

// wantOnce fails unless every token was delivered exactly once.
func wantOnce(t *testing.T, fake *fcmtest.Server, ds []push.Device) {
	t.Helper()
	for _, d := range ds {
		if n := fake.Count(d.PushToken); n != 1 {
			t.Fatalf("%s got %d copies", d.PushToken, n)
		}
	}
}

func TestCampaignFanOut(t *testing.T) {
	t.Parallel()
	onEngines(t, testCampaignFanOut)
}

// 1,200 devices are sent in three batches of at most 500 (MaxBatch), each device once; the
// audience is read in two pages of 1,000. Where storetest.Sized shrinks tests (FerretDB,
// -short), 120 devices go in batches of 50: the same three batches, one audience page.
func testCampaignFanOut(t *testing.T, engine string) {
	n, batch := storetest.Sized(engine, 1200, 120), storetest.Sized(engine, push.MaxBatch, 50)
	fake := fcmtest.New(t)
	e := fcmEnv(t, engine, fake, push.Config{Batch: batch})
	ds := e.devicesN(n, 40, nil)
	c := e.create(hello(push.Target{All: true}))
	if c.Status != push.CampaignQueued {
		t.Fatalf("created %+v", c)
	}
	if steps := drain(t, e.svc); steps != 1+3 {
		t.Fatalf("%d steps: want the audience, then 3 batches", steps)
	}
	got := e.campaign(c.ID)
	if got.Status != push.CampaignCompleted || got.Targeted != n || got.Counts.Sent != n || got.FinishedAt.IsZero() {
		t.Fatalf("after sending: %+v %+v", got.Campaign, got.Counts)
	}
	if r := fake.Requests(); r != n {
		t.Fatalf("%d requests to FCM", r)
	}
	wantOnce(t, fake, ds)
	if st := e.svc.Stats(); st.Sent != int64(n) || st.CampaignsStarted != 1 || st.CampaignsCompleted != 1 {
		t.Fatalf("stats %+v", st)
	}
	m := fake.Delivered()[0].Decode()
	if m["notification"].(map[string]any)["title"] != "Hello" || m["android"].(map[string]any)["notification"].(map[string]any)["tag"] != c.ID {
		t.Fatalf("message %v", m)
	}
}

func TestCampaignOutcomes(t *testing.T) {
	t.Parallel()
	onEngines(t, testCampaignOutcomes)
}

// UNREGISTERED prunes the token, INVALID_ARGUMENT fails the delivery, and 429 is retried
// after its Retry-After, resending only what FCM did not take.
func testCampaignOutcomes(t *testing.T, engine string) {
	fake := fcmtest.New(t)
	e := fcmEnv(t, engine, fake, push.Config{})
	ds := e.devicesN(20, 5, nil)
	fake.Unregister("tok-3")
	fake.Invalidate("tok-4")
	fake.RateLimit(1, "7")
	c := e.create(hello(push.Target{All: true}))
	drain(t, e.svc)
	got := e.campaign(c.ID)
	if got.Status != push.CampaignSending || got.Counts != (push.Counts{Pending: 1, Sent: 17, Pruned: 1, Failed: 1}) {
		t.Fatalf("after the first batch: %s %+v", got.Status, got.Counts)
	}
	if len(got.Errors) != 1 || !strings.Contains(got.Errors[0].Error, "INVALID_ARGUMENT") || got.Errors[0].DeviceID != ds[4].ID {
		t.Fatalf("errors %+v", got.Errors)
	}
	if d := e.devices("u3")["d3"]; d.PushToken != "" {
		t.Fatalf("unregistered token kept: %+v", d)
	}
	e.clock.Advance(6 * time.Second)
	if steps := drain(t, e.svc); steps != 0 {
		t.Fatal("retried before Retry-After")
	}
	e.clock.Advance(time.Second)
	if steps := drain(t, e.svc); steps != 1 {
		t.Fatalf("%d steps after Retry-After", steps)
	}
	got = e.campaign(c.ID)
	if got.Status != push.CampaignCompleted || got.Counts != (push.Counts{Sent: 18, Pruned: 1, Failed: 1}) {
		t.Fatalf("after the retry: %s %+v", got.Status, got.Counts)
	}
	var sent []push.Device
	for i, d := range ds {
		if i != 3 && i != 4 {
			sent = append(sent, d)
		}
	}
	wantOnce(t, fake, sent)
	if st := e.svc.Stats(); st != (push.Stats{Sent: 18, Pruned: 1, Failed: 1, Retried: 1, CampaignsStarted: 1, CampaignsCompleted: 1}) {
		t.Fatalf("stats %+v", st)
	}
}

func TestCampaignProviderDown(t *testing.T) {
	t.Parallel()
	onEngines(t, testCampaignProviderDown)
}

// Credentials FCM refuses (a revoked key) send nothing: the batch is counted and logged as
// a provider error and its deliveries wait to be retried, not failed at once.
func testCampaignProviderDown(t *testing.T, engine string) {
	fake, other := fcmtest.New(t), fcmtest.New(t)
	// A key FCM's token endpoint does not know: the key of another fake, sent to this one.
	creds := other.WriteCredentials(t)
	raw, err := os.ReadFile(creds)
	if err != nil {
		t.Fatal(err)
	}
	var key map[string]any
	if err := json.Unmarshal(raw, &key); err != nil {
		t.Fatal(err)
	}
	key["token_uri"] = fake.TokenURL()
	raw, _ = json.Marshal(key)
	if err := os.WriteFile(creds, raw, 0o600); err != nil {
		t.Fatal(err)
	}
	revoked, err := fcm.New(t.Context(), fcm.Config{CredentialsFile: creds, ProjectID: fake.ProjectID, Endpoint: fake.Endpoint()})
	if err != nil {
		t.Fatal(err)
	}
	var logs strings.Builder
	e := newEnvWith(t, engine, push.Config{Provider: revoked, Logger: slog.New(slog.NewTextHandler(&syncBuilder{b: &logs}, nil))})
	e.devicesN(3, 1, nil)
	c := e.create(hello(push.Target{All: true}))
	drain(t, e.svc)
	got := e.campaign(c.ID)
	if got.Status != push.CampaignSending || got.Counts != (push.Counts{Pending: 3}) || fake.Requests() != 0 {
		t.Fatalf("%s %+v, %d requests", got.Status, got.Counts, fake.Requests())
	}
	if st := e.svc.Stats(); st.ProviderErrors != 1 || st.Sent != 0 || st.Retried != 3 {
		t.Fatalf("stats %+v", st)
	}
	if !strings.Contains(logs.String(), "push provider could not send a batch") {
		t.Fatalf("not logged:\n%s", logs.String())
	}
}

// syncBuilder is a strings.Builder safe for the logger's concurrent writes.
type syncBuilder struct {
	mu sync.Mutex
	b  *strings.Builder
}

func (w *syncBuilder) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.b.Write(p)
}

func TestCampaignRetriesRunOut(t *testing.T) {
	t.Parallel()
	onEngines(t, testCampaignRetriesRunOut)
}

func testCampaignRetriesRunOut(t *testing.T, engine string) {
	fake := fcmtest.New(t)
	var logs strings.Builder
	e := fcmEnv(t, engine, fake, push.Config{MaxAttempts: 3, RetryMax: 10 * time.Second, Logger: slog.New(slog.NewTextHandler(&syncBuilder{b: &logs}, nil))})
	e.devicesN(1, 1, nil)
	fake.InternalErrors(100)
	c := e.create(hello(push.Target{All: true}))
	for i := range 3 {
		drain(t, e.svc)
		// Each failed try that will be tried again is logged, with the provider's error.
		if got := strings.Count(logs.String(), `msg="push deliveries will be retried" deliveries=1`); got != min(i+1, 2) {
			t.Fatalf("after try %d: %d retry lines, want %d:\n%s", i+1, got, min(i+1, 2), logs.String())
		}
		e.clock.Advance(time.Minute)
	}
	if !strings.Contains(logs.String(), "INTERNAL") {
		t.Fatalf("the retry lines do not say why:\n%s", logs.String())
	}
	got := e.campaign(c.ID)
	if got.Status != push.CampaignCompleted || got.Counts != (push.Counts{Failed: 1}) || len(got.Errors) != 1 ||
		!strings.Contains(got.Errors[0].Error, "gave up after 3 attempts") {
		t.Fatalf("after 3 attempts: %s %+v %+v", got.Status, got.Counts, got.Errors)
	}
}

func TestCampaignWorkerKilled(t *testing.T) {
	t.Parallel()
	onEngines(t, testCampaignWorkerKilled)
}

// A worker killed while its batch is in flight, and one killed right after claiming a
// batch, lose nothing: another node finishes the campaign once their leases end. How many
// copies each device gets is what docs/push.md promises ("Each device gets a campaign
// once"), exactly:
//   - a batch FCM never took (the node was killed while FCM held its requests): one copy;
//   - a batch FCM took but whose answers the killed node never got: the one window the
//     contract leaves. The batch is sent again, so each of its devices gets exactly two
//     copies, both tagged with the campaign id (Android tag, APNs collapse id, web tag),
//     so the device replaces the first rather than showing two;
//   - every other device: one copy.
//
// The fake FCM says when it holds a whole batch and when it has dropped it, so nothing
// here depends on how soon it notices a client that went away.
func testCampaignWorkerKilled(t *testing.T, engine string) {
	const batch = 10
	fake := fcmtest.New(t)
	e := fcmEnv(t, engine, fake, push.Config{Batch: batch})
	ds := e.devicesN(4*batch+5, 10, nil)
	c := e.create(hello(push.Target{All: true}))
	for range 2 { // the audience, then the first batch
		if did, err := e.svc.Step(t.Context()); !did || err != nil {
			t.Fatalf("step: %v %v", did, err)
		}
	}
	// killStep runs one Step of node a and kills it once cond says FCM has the batch.
	killStep := func(what string, cond func() bool) {
		ctx, kill := context.WithCancel(t.Context())
		done := make(chan struct{})
		go func() { _, _ = e.svc.Step(ctx); close(done) }()
		fake.WaitFor(t, what, cond)
		kill()
		<-done
	}

	// Node a is killed while FCM holds its second batch: FCM takes none of it.
	release := fake.Block()
	killStep("the second batch held", func() bool { return fake.Waiting() == batch })
	fake.WaitFor(t, "the second batch dropped", func() bool { return fake.Dropped() == batch })
	release()

	// Node a is killed after FCM took its third batch, before the answers reached it.
	before := len(fake.Delivered())
	release = fake.HoldAnswers()
	killStep("the third batch taken, its answers held", func() bool { return fake.AnswersHeld() == batch })
	release()
	taken := map[string]bool{}
	for _, m := range fake.Delivered()[before:] {
		taken[m.Token] = true
	}
	if len(taken) != batch {
		t.Fatalf("FCM took %d messages of the third batch, want %d", len(taken), batch)
	}

	// Node a is killed again, right after claiming the fourth batch (before sending).
	if _, err := e.store.ClaimDeliveries(t.Context(), "node-a", e.clock.Now(), e.clock.Now().Add(2*time.Minute), batch); err != nil {
		t.Fatal(err)
	}
	b := e.another(push.Config{Provider: fcmProvider(t, fake), NodeID: "node-b", Batch: batch, RetryBase: time.Second})
	drain(t, b) // the last 5 devices are free; the held ones are not
	if got := e.campaign(c.ID); got.Status != push.CampaignSending || got.Counts.Sent != batch+5 {
		t.Fatalf("node b sent what node a held: %+v", got.Counts)
	}
	e.clock.Advance(2 * time.Minute) // node a's leases end, its retries are due
	drain(t, b)
	got := e.campaign(c.ID)
	if got.Status != push.CampaignCompleted || got.Counts != (push.Counts{Sent: len(ds)}) {
		t.Fatalf("after node b: %s %+v", got.Status, got.Counts)
	}
	copies := map[string][]fcmtest.Message{}
	for _, m := range fake.Delivered() {
		copies[m.Token] = append(copies[m.Token], m)
	}
	for _, d := range ds {
		want := 1
		if taken[d.PushToken] {
			want = 2 // sent again: the documented window
		}
		if got := copies[d.PushToken]; len(got) != want {
			t.Fatalf("%s got %d copies, want %d", d.PushToken, len(got), want)
		}
		for _, m := range copies[d.PushToken] {
			wantTag(t, m, c.ID)
		}
	}
}

// wantTag fails unless m is tagged with tag on every platform, so that a device shows a
// second copy in place of the first.
func wantTag(t *testing.T, m fcmtest.Message, tag string) {
	t.Helper()
	msg := m.Decode()
	at := func(path ...string) any {
		var v any = msg
		for _, k := range path {
			m, _ := v.(map[string]any)
			v = m[k]
		}
		return v
	}
	for _, path := range [][]string{{"android", "notification", "tag"}, {"apns", "headers", "apns-collapse-id"}, {"webpush", "notification", "tag"}} {
		if got := at(path...); got != tag {
			t.Fatalf("%s: %s is %v, want the campaign id %s", m.Token, strings.Join(path, "."), got, tag)
		}
	}
}

func TestCampaignSchedule(t *testing.T) {
	t.Parallel()
	onEngines(t, testCampaignSchedule)
}

// A campaign with sendAt waits for it; with localTime, each device gets it at that wall
// time in its own zone.
func testCampaignSchedule(t *testing.T, engine string) {
	fake := fcmtest.New(t)
	e := fcmEnv(t, engine, fake, push.Config{})
	zones := []string{"Asia/Tokyo", "Europe/Rome", "", "America/Los_Angeles"}
	ds := e.devicesN(len(zones), 4, func(i int, r *push.Registration) { r.Timezone = zones[i] })
	start := e.clock.Now() // 2026-05-01 09:00 UTC

	later := hello(push.Target{UserIDs: []string{"u0"}})
	later.SendAt = start.Add(time.Hour)
	c1 := e.create(later)
	if drain(t, e.svc) != 0 {
		t.Fatal("a campaign due in an hour was worked on")
	}
	e.clock.Advance(time.Hour)
	drain(t, e.svc)
	if got := e.campaign(c1.ID); got.Counts.Sent != 1 || fake.Count(ds[0].PushToken) != 1 {
		t.Fatalf("scheduled: %+v", got.Counts)
	}

	// 09:00 on 2 May, local: Tokyo (UTC+9) at 00:00 UTC, Rome (UTC+2) at 07:00, UTC at 09:00,
	// Los Angeles (UTC-7) at 16:00.
	local := hello(push.Target{All: true})
	local.SendAt, local.LocalTime = time.Date(2026, 5, 2, 9, 0, 0, 0, time.FixedZone("ignored", 3*3600)), true
	c2 := e.create(local)
	steps := []struct {
		at   time.Time
		sent int
	}{
		{time.Date(2026, 5, 1, 18, 59, 0, 0, time.UTC), 0},
		{time.Date(2026, 5, 1, 23, 59, 0, 0, time.UTC), 0},
		{time.Date(2026, 5, 2, 0, 0, 0, 0, time.UTC), 1},
		{time.Date(2026, 5, 2, 7, 0, 0, 0, time.UTC), 2},
		{time.Date(2026, 5, 2, 9, 0, 0, 0, time.UTC), 3},
		{time.Date(2026, 5, 2, 15, 59, 0, 0, time.UTC), 3},
		{time.Date(2026, 5, 2, 16, 0, 0, 0, time.UTC), 4},
	}
	for _, s := range steps {
		e.clock.Set(s.at)
		drain(t, e.svc)
		if got := e.campaign(c2.ID); got.Counts.Sent != s.sent {
			t.Fatalf("at %s: %+v, want %d sent", s.at, got.Counts, s.sent)
		}
	}
	if got := e.campaign(c2.ID); got.Status != push.CampaignCompleted || got.Targeted != 4 {
		t.Fatalf("local time: %+v", got.Campaign)
	}
	if n := fake.Count(ds[0].PushToken); n != 2 {
		t.Fatalf("tokyo got %d messages, want 2 (one per campaign)", n)
	}
}

func TestCampaignDryRunCancelIdempotency(t *testing.T) {
	t.Parallel()
	onEngines(t, testCampaignDryRunCancelIdempotency)
}

func testCampaignDryRunCancelIdempotency(t *testing.T, engine string) {
	fake := fcmtest.New(t)
	e := fcmEnv(t, engine, fake, push.Config{Batch: 10})
	e.devicesN(25, 5, func(i int, r *push.Registration) {
		r.AppVersion = []string{"2.9", "2.10", "3.0.1", "", "10.0"}[i%5]
	})
	// A dry run counts the audience (here a segment: versions 2.10 to 3.0.x) and sends nothing.
	dry := hello(push.Target{Segment: &push.Segment{MinAppVersion: "2.10", MaxAppVersion: "3.0.99"}})
	dry.DryRun = true
	c := e.create(dry)
	drain(t, e.svc)
	if got := e.campaign(c.ID); got.Status != push.CampaignCompleted || got.Targeted != 10 || got.Counts != (push.Counts{}) || fake.Requests() != 0 {
		t.Fatalf("dry run: %+v %+v, %d requests", got.Campaign, got.Counts, fake.Requests())
	}

	// The same idempotency key returns the first campaign.
	k := hello(push.Target{All: true})
	k.IdempotencyKey = "send-1"
	first := e.create(k)
	again, created, err := e.svc.CreateCampaign(t.Context(), k)
	if err != nil || created || again.ID != first.ID {
		t.Fatalf("again: %v %v %s, first %s", err, created, again.ID, first.ID)
	}
	// Cancelled after its first batch: the rest is never sent.
	if did, err := e.svc.Step(t.Context()); !did || err != nil {
		t.Fatal(did, err)
	}
	if did, err := e.svc.Step(t.Context()); !did || err != nil {
		t.Fatal(did, err)
	}
	cancelled, err := e.svc.CancelCampaign(t.Context(), first.ID)
	if err != nil || cancelled.Status != push.CampaignCancelled || cancelled.Counts != (push.Counts{Sent: 10, Cancelled: 15}) {
		t.Fatalf("cancel: %v %+v", err, cancelled.Counts)
	}
	if drain(t, e.svc) != 0 || fake.Requests() != 10 {
		t.Fatalf("sent after cancel: %d requests", fake.Requests())
	}
	_, err = e.svc.CancelCampaign(t.Context(), first.ID)
	wantCode(t, err, tideline.CodeConflict)
	_, err = e.svc.CancelCampaign(t.Context(), tideline.NewID())
	wantCode(t, err, tideline.CodeNotFound)
}

func TestCampaignAudienceChanges(t *testing.T) {
	t.Parallel()
	onEngines(t, testCampaignAudienceChanges)
}

// A device deleted or signed out between the start of a campaign and its turn is not
// sent; the token used is the device's token at its turn.
func testCampaignAudienceChanges(t *testing.T, engine string) {
	fake := fcmtest.New(t)
	e := fcmEnv(t, engine, fake, push.Config{})
	e.devicesN(3, 3, nil)
	c := e.create(hello(push.Target{UserIDs: []string{"u0", "u1", "u2"}}))
	drain1 := func() {
		if did, err := e.svc.Step(t.Context()); !did || err != nil {
			t.Fatal(did, err)
		}
	}
	drain1() // the audience: 3 deliveries
	if err := e.svc.DeleteDevice(t.Context(), "u0", "d0"); err != nil {
		t.Fatal(err)
	}
	if err := e.svc.SessionsEnded(t.Context(), "u1", "s-u1", ""); err != nil {
		t.Fatal(err)
	}
	e.register("u2", "s-u2", push.Registration{DeviceID: "d2", Platform: push.PlatformIOS, PushToken: "tok-new"})
	drain(t, e.svc)
	got := e.campaign(c.ID)
	if got.Status != push.CampaignCompleted || got.Counts != (push.Counts{Sent: 1, Cancelled: 2}) {
		t.Fatalf("%s %+v", got.Status, got.Counts)
	}
	if fake.Count("tok-new") != 1 || fake.Count("tok-2") != 0 || fake.Requests() != 1 {
		t.Fatalf("sent to the old token, or to removed devices: %d requests", fake.Requests())
	}
}

func TestCampaignValidation(t *testing.T) {
	t.Parallel()
	onEngines(t, testCampaignValidation)
}

func testCampaignValidation(t *testing.T, engine string) {
	e := newEnv(t, engine)
	e.devicesN(1, 1, nil)
	if err := e.svc.SetTopic(t.Context(), "u0", "d0", "news", true); err != nil {
		t.Fatal(err)
	}
	ok := hello(push.Target{Topic: "news"})
	if _, _, err := e.svc.CreateCampaign(t.Context(), ok); err != nil {
		t.Fatal(err)
	}
	bad := map[string]func(c *push.NewCampaign){
		"UnknownTopic": func(c *push.NewCampaign) { c.Target.Topic = "nwes" },
		"TwoTargets":   func(c *push.NewCampaign) { c.Target.All = true },
		"NoTarget":     func(c *push.NewCampaign) { c.Target = push.Target{} },
		"TooManyIDs": func(c *push.NewCampaign) {
			c.Target = push.Target{UserIDs: make([]string, push.MaxTargetIDs+1)}
			for i := range c.Target.UserIDs {
				c.Target.UserIDs[i] = fmt.Sprint("u", i)
			}
		},
		"BigData":     func(c *push.NewCampaign) { c.Data = map[string]string{"k": strings.Repeat("x", push.MaxPayloadBytes)} },
		"ReservedKey": func(c *push.NewCampaign) { c.Data = map[string]string{"gcm.notification.x": "1"} },
		"FromKey":     func(c *push.NewCampaign) { c.Data = map[string]string{"From": "1"} },
		"BadUTF8":     func(c *push.NewCampaign) { c.Notification.Title = "\xff" },
		"TTL":         func(c *push.NewCampaign) { c.Options.TTL = 29 * 24 * time.Hour },
		"Badge":       func(c *push.NewCampaign) { b := -1; c.Options.Badge = &b },
		"Sound":       func(c *push.NewCampaign) { c.Options.Sound = "../../x" },
		"Collapse":    func(c *push.NewCampaign) { c.Options.CollapseKey = "a b" },
		"Silent":      func(c *push.NewCampaign) { c.Options.Silent = true },
		"Platform": func(c *push.NewCampaign) {
			c.Target = push.Target{Segment: &push.Segment{Platforms: []string{"symbian"}}}
		},
		"Locale":       func(c *push.NewCampaign) { c.Target = push.Target{Segment: &push.Segment{Locales: []string{"$where"}}} },
		"IdemKey":      func(c *push.NewCampaign) { c.IdempotencyKey = "has space" },
		"ImageNotHTTP": func(c *push.NewCampaign) { c.Notification.ImageURL = "javascript:alert(1)" },
	}
	for name, change := range bad {
		t.Run(name, func(t *testing.T) {
			c := hello(push.Target{Topic: "news"})
			change(&c)
			_, _, err := e.svc.CreateCampaign(t.Context(), c)
			if code := tideline.ErrorCode(err); code != tideline.CodeInvalid && code != tideline.CodeTooLarge {
				t.Fatalf("got %v", err)
			}
		})
	}
	list, err := e.svc.ListCampaigns(t.Context(), "", 50)
	if err != nil || len(list) != 1 {
		t.Fatalf("refused campaigns were stored: %d, %v", len(list), err)
	}
}

func TestSyncWakeUp(t *testing.T) {
	t.Parallel()
	onEngines(t, testSyncWakeUp)
}

// Notify sends the users' devices a silent push, at most once a minute per device.
func testSyncWakeUp(t *testing.T, engine string) {
	fake := fcmtest.New(t)
	e := fcmEnv(t, engine, fake, push.Config{})
	e.devicesN(4, 2, func(i int, r *push.Registration) {
		if i == 1 {
			r.Platform = push.PlatformIOS
		}
		if i == 3 {
			r.PushToken = ""
		}
	})
	fake.Unregister("tok-2")
	e.svc.Notify(t.Context(), []string{"u1", "u0"})
	if err := e.svc.WakeWaiting(t.Context()); err != nil {
		t.Fatal(err)
	}
	got := fake.Delivered()
	if len(got) != 2 || fake.Count("tok-0") != 1 || fake.Count("tok-1") != 1 {
		t.Fatalf("woke %d devices", len(got))
	}
	for _, m := range got {
		msg := m.Decode()
		if msg["notification"] != nil || msg["data"].(map[string]any)["tideline"] != "sync" {
			t.Fatalf("not a silent sync message: %v", msg)
		}
		if m.Token == "tok-1" {
			aps := msg["apns"].(map[string]any)["payload"].(map[string]any)["aps"].(map[string]any)
			if aps["content-available"] != float64(1) {
				t.Fatalf("ios wake-up without content-available: %v", aps)
			}
		}
	}
	if d := e.devices("u0")["d2"]; d.PushToken != "" {
		t.Fatal("an unregistered token was kept")
	}
	// Within a minute, nobody is woken again; after it, they are.
	e.svc.Notify(t.Context(), []string{"u0", "u1"})
	if err := e.svc.WakeWaiting(t.Context()); err != nil || len(fake.Delivered()) != 2 {
		t.Fatalf("woken again within a minute: %v, %d", err, len(fake.Delivered()))
	}
	e.clock.Advance(time.Minute)
	e.svc.Notify(t.Context(), []string{"u1"})
	if err := e.svc.WakeWaiting(t.Context()); err != nil || fake.Count("tok-1") != 2 || fake.Count("tok-0") != 1 {
		t.Fatalf("after a minute: %v, %d", err, fake.Count("tok-1"))
	}
}

// onEngines runs test on each engine; the test makes its own env.
func onEngines(t *testing.T, test func(t *testing.T, engine string)) {
	for _, engine := range []string{"sqlite", "mongodb"} {
		t.Run(engine, func(t *testing.T) { test(t, engine) })
	}
}

func TestCountAudience(t *testing.T) {
	t.Parallel()
	onEngines(t, testCountAudience)
}

// CountAudience counts what a campaign would target, as a dry run does: devices with a
// token that match, app versions included.
func testCountAudience(t *testing.T, engine string) {
	e := newEnv(t, engine)
	versions := []string{"1.9", "2.0", "2.10", "", "3.0"}
	e.devicesN(5, 5, func(i int, r *push.Registration) {
		r.AppVersion = versions[i]
		if i%2 == 1 {
			r.Platform = push.PlatformIOS
		}
	})
	e.register("u9", "s1", push.Registration{DeviceID: "no-token", Platform: push.PlatformAndroid})
	if err := e.svc.SetTopic(t.Context(), "u1", "d1", "news", true); err != nil {
		t.Fatal(err)
	}
	for name, tt := range map[string]struct {
		target push.Target
		want   int
	}{
		"All":          {push.Target{All: true}, 5},
		"Users":        {push.Target{UserIDs: []string{"u0", "u1", "u9", "nobody"}}, 2},
		"Topic":        {push.Target{Topic: "news"}, 1},
		"UnknownTopic": {push.Target{Topic: "nwes"}, 0},
		"Platform":     {push.Target{Segment: &push.Segment{Platforms: []string{push.PlatformIOS}}}, 2},
		"Versions":     {push.Target{Segment: &push.Segment{MinAppVersion: "2.0", MaxAppVersion: "2.10"}}, 2},
	} {
		t.Run(name, func(t *testing.T) {
			n, err := e.svc.CountAudience(t.Context(), tt.target)
			if err != nil || n != tt.want {
				t.Fatalf("CountAudience = %d, %v; want %d", n, err, tt.want)
			}
			if tt.want == 0 {
				return
			}
			c := hello(tt.target)
			c.DryRun = true
			id := e.create(c).ID
			drain(t, e.svc)
			if got := e.campaign(id).Targeted; got != n {
				t.Fatalf("a dry run targets %d, CountAudience says %d", got, n)
			}
		})
	}
	if _, err := e.svc.CountAudience(t.Context(), push.Target{}); tideline.ErrorCode(err) != tideline.CodeInvalid {
		t.Fatalf("no target: %v", err)
	}
	counts, err := e.svc.CountDevices(t.Context())
	want := []push.PlatformCount{{Platform: push.PlatformAndroid, Devices: 4, WithToken: 3}, {Platform: push.PlatformIOS, Devices: 2, WithToken: 2}}
	if err != nil || fmt.Sprint(counts) != fmt.Sprint(want) {
		t.Fatalf("CountDevices = %v, %v", counts, err)
	}
}

func TestCampaignGracefulStop(t *testing.T) {
	t.Parallel()
	onEngines(t, testCampaignGracefulStop)
}

// A node told to stop (Run's ctx ends) while FCM holds its batch finishes and records that
// batch if FCM answers within FinishFor; if not, it hands the batch back, and another node
// sends it at once instead of waiting for the lease (2 minutes) to end. No device gets
// two copies either way.
func testCampaignGracefulStop(t *testing.T, engine string) {
	const devices = 30
	// run starts svc's workers and stops them once FCM holds the whole batch; stopped
	// waits until Run has returned.
	run := func(t *testing.T, fake *fcmtest.Server, svc *push.Service) (stopped func()) {
		ctx, cancel := context.WithCancel(t.Context())
		done := make(chan struct{})
		go func() { svc.Run(ctx); close(done) }()
		fake.WaitFor(t, "the batch held", func() bool { return fake.Waiting() == devices })
		cancel()
		return func() {
			select {
			case <-done:
			case <-time.After(fcmtest.WaitLimit): // a hang, not a speed limit
				t.Fatal("Run did not return after its stop")
			}
		}
	}
	t.Run("finishes", func(t *testing.T) {
		fake := fcmtest.New(t)
		// FinishFor is far longer than any run of this test: FCM's answer comes first.
		e := fcmEnv(t, engine, fake, push.Config{Batch: 40, Workers: 1, FinishFor: time.Hour})
		ds := e.devicesN(devices, 5, nil)
		c := e.create(hello(push.Target{All: true}))
		release := fake.Block()
		stopped := run(t, fake, e.svc)
		release()
		stopped()
		if got := e.campaign(c.ID); got.Status != push.CampaignCompleted || got.Counts != (push.Counts{Sent: devices}) {
			t.Fatalf("after a graceful stop: %s %+v", got.Status, got.Counts)
		}
		wantOnce(t, fake, ds)
	})
	t.Run("hands back", func(t *testing.T) {
		fake := fcmtest.New(t)
		e := fcmEnv(t, engine, fake, push.Config{Batch: 40, Workers: 1, FinishFor: 50 * time.Millisecond})
		ds := e.devicesN(devices, 5, nil)
		c := e.create(hello(push.Target{All: true}))
		release := fake.Block()
		run(t, fake, e.svc)() // FCM never answers: the send is cancelled after FinishFor
		fake.WaitFor(t, "the held batch dropped", func() bool { return fake.Dropped() == devices })
		release()
		if got := e.campaign(c.ID); got.Counts.Sent != 0 || got.Counts.Pending != devices {
			t.Fatalf("after the stop: %+v", got.Counts)
		}
		// Node b, with the clock where it was: the deliveries are free now.
		b := e.another(push.Config{Provider: fcmProvider(t, fake), NodeID: "node-b", Batch: 40})
		drain(t, b)
		if got := e.campaign(c.ID); got.Status != push.CampaignCompleted || got.Counts != (push.Counts{Sent: devices}) {
			t.Fatalf("node b after the hand-back: %s %+v", got.Status, got.Counts)
		}
		wantOnce(t, fake, ds)
	})
}

// racingStore is a real push store that runs hook before its first StartCampaign: another
// node's worker sends the deliveries a campaign's audience has just stored, while the
// campaign itself is not yet marked sending.
type racingStore struct {
	push.Store
	hook func()
}

func (s *racingStore) StartCampaign(ctx context.Context, id, owner, status string, targeted int, now time.Time) error {
	if s.hook != nil {
		s.hook()
		s.hook = nil
	}
	return s.Store.StartCampaign(ctx, id, owner, status, targeted, now)
}

// TestCampaignSentBeforeStarted: when another node sends a campaign's deliveries between
// the audience being stored and the campaign being marked sending, the node that marks it
// completes it, and says so like any completion: the log line, the counter. (It completed
// silently: cmd/api's TestServeCampaignAndWakeUp, which waits for the log line, failed
// whenever a loaded machine made the two workers of one node race this way.)
func TestCampaignSentBeforeStarted(t *testing.T) {
	t.Parallel()
	onEngines(t, testCampaignSentBeforeStarted)
}

func testCampaignSentBeforeStarted(t *testing.T, engine string) {
	fake := fcmtest.New(t)
	e := fcmEnv(t, engine, fake, push.Config{})
	ds := e.devicesN(3, 3, nil)
	c := e.create(hello(push.Target{All: true}))
	provider := fcmProvider(t, fake)
	other := e.another(push.Config{NodeID: "node-b", Provider: provider})
	var logs strings.Builder
	racing := &racingStore{Store: e.store, hook: func() {
		if n := drain(t, other); n != 1 {
			t.Errorf("the other node did %d steps, want one batch", n)
		}
	}}
	a := push.New(racing, push.Config{NodeID: "node-a", Provider: provider, Clock: e.clock,
		Logger: slog.New(slog.NewJSONHandler(&logs, nil))})
	drain(t, a)
	if got := e.campaign(c.ID); got.Status != push.CampaignCompleted || got.Counts.Sent != 3 {
		t.Fatalf("campaign %+v %+v", got.Campaign, got.Counts)
	}
	wantOnce(t, fake, ds)
	if st := a.Stats(); st.CampaignsStarted != 1 || st.CampaignsCompleted != 1 {
		t.Fatalf("the completing node's stats %+v", st)
	}
	if !strings.Contains(logs.String(), `"msg":"push campaign completed"`) {
		t.Fatalf("no completion logged:\n%s", logs.String())
	}
}
