package sync_test

import (
	"context"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/tideline-dev/tideline/store/enginetest"
	datasync "github.com/tideline-dev/tideline/sync"
)

func TestParseClientHeader(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		header string
		want   datasync.ClientInfo
	}{
		{"", datasync.ClientInfo{}},
		{"sdk=go/v0.4.0; protocol=1; client=5f3a9c0e", datasync.ClientInfo{ID: "5f3a9c0e", SDK: "go/v0.4.0", Protocol: 1}},
		{"client=phone_1;sdk=flutter/0.1.0+3;protocol=2", datasync.ClientInfo{ID: "phone_1", SDK: "flutter/0.1.0+3", Protocol: 2}},
		{"sdk=swift; future=yes; protocol=12", datasync.ClientInfo{SDK: "swift", Protocol: 12}},
		{"sdk=go/v1; sdk=other/2", datasync.ClientInfo{SDK: "go/v1"}}, // the first wins
		{"protocol=0; protocol=-1; protocol=1000; protocol=x; protocol=01", datasync.ClientInfo{}},
		{"client=a b; client=" + strings.Repeat("x", 65) + "; client=<script>", datasync.ClientInfo{}},
		{`sdk=<script>alert(1)</script>; sdk="go/1"; sdk=go/1/2; sdk=` + strings.Repeat("g", 33), datasync.ClientInfo{}},
		{"garbage;;=;==;client", datasync.ClientInfo{}},
		{"SDK=go/1; Client=x", datasync.ClientInfo{}},                         // keys are lower-case
		{"client=ok; pad=" + strings.Repeat("x", 512), datasync.ClientInfo{}}, // over 512 bytes: none of it
	} {
		if got := datasync.ParseClientHeader(c.header); got != c.want {
			t.Errorf("ParseClientHeader(%.60q) = %+v, want %+v", c.header, got, c.want)
		}
	}
}

// countingStore is a real store that counts the client records written through it.
type countingStore struct {
	datasync.Store
	records atomic.Int64
}

func (s *countingStore) RecordClient(ctx context.Context, a datasync.ClientActivity) error {
	s.records.Add(1)
	return s.Store.RecordClient(ctx, a)
}

func TestClientHealth(t *testing.T) {
	t.Parallel()
	eachEngine(t, testClientHealth)
}

// A node records a client's pushes and pulls, with what its header says, at most once a
// minute each: pulls in between write nothing.
func testClientHealth(t *testing.T, engine string) {
	e := newEnv(t, engine, nil)
	counting := &countingStore{Store: e.store}
	svc, err := datasync.New(t.Context(), counting, datasync.Config{Clock: e.clock, Secrets: e.secrets})
	if err != nil {
		t.Fatal(err)
	}
	ctx := t.Context()
	ada := datasync.Caller{UserID: "ada", Client: datasync.ClientInfo{ID: "phone", SDK: "go/v1.2.0", Protocol: 1}}
	health := func() []datasync.ClientActivity {
		t.Helper()
		list, err := svc.ClientHealth(ctx, "ada")
		if err != nil {
			t.Fatal(err)
		}
		return list
	}
	pull := func(c datasync.Caller) {
		t.Helper()
		if _, err := svc.Pull(ctx, c, datasync.PullRequest{}); err != nil {
			t.Fatal(err)
		}
	}
	push := func(c datasync.Caller, client string, id int64) {
		t.Helper()
		if _, err := svc.Push(ctx, c, client, []datasync.Mutation{put(id, "notes", "n", map[string]any{"i": id})}); err != nil {
			t.Fatal(err)
		}
	}

	push(ada, "phone", 1)
	pull(ada)
	first := e.clock.Now()
	want := []datasync.ClientActivity{{UserID: "ada", ClientID: "phone", SDK: "go/v1.2.0", Protocol: 1, LastPush: first, LastPull: first, High: 1}}
	if diff := cmp.Diff(want, health()); diff != "" {
		t.Fatalf("after a push and a pull (-want +got):\n%s", diff)
	}
	for i := range 10 { // within the minute: no write
		e.clock.Advance(5 * time.Second)
		pull(ada)
		push(ada, "phone", int64(i+2))
	}
	if n := counting.records.Load(); n != 2 {
		t.Fatalf("%d client records written for 11 pulls and 11 pushes within a minute, want 2", n)
	}
	if got := health()[0]; !got.LastPull.Equal(first) || got.High != 11 {
		t.Fatalf("within the minute: %+v", got)
	}
	e.clock.Advance(10 * time.Second) // a minute after the first
	pull(ada)
	if got := health()[0]; !got.LastPull.Equal(e.clock.Now()) || !got.LastPush.Equal(first) {
		t.Fatalf("a minute later, a pull: %+v", got)
	}

	// A pull without a client id records nothing; a push names its client in its body,
	// whatever the header says.
	before := counting.records.Load()
	pull(datasync.Caller{UserID: "ada"})
	if counting.records.Load() != before {
		t.Fatal("a pull with no client id was recorded")
	}
	e.clock.Advance(time.Second)
	push(datasync.Caller{UserID: "ada"}, "tablet", 1)
	if list := health(); len(list) != 2 || list[0].ClientID != "tablet" || list[0].SDK != "" || list[0].LastPull != (time.Time{}) {
		t.Fatalf("a push without the header: %+v", list)
	}

	// Quiet for 7 days.
	quiet, n, err := svc.QuietClients(ctx, 7*24*time.Hour, 10)
	if err != nil || n != 0 || len(quiet) != 0 {
		t.Fatalf("quiet clients now: %d %+v %v", n, quiet, err)
	}
	e.clock.Advance(8 * 24 * time.Hour)
	quiet, n, err = svc.QuietClients(ctx, 7*24*time.Hour, 10)
	if err != nil || n != 2 || len(quiet) != 2 {
		t.Fatalf("quiet clients 8 days later: %d %+v %v", n, quiet, err)
	}

	// Deleting the user deletes the records.
	if err := svc.DeleteUser(ctx, "ada"); err != nil {
		t.Fatal(err)
	}
	if list := health(); len(list) != 0 {
		t.Fatalf("a deleted user's clients: %+v", list)
	}
}

// The hub knows which client each stream is, and keeps it when the stream's roles change.
func TestLiveStreams(t *testing.T) {
	t.Parallel()
	e := newEnv(t, enginetest.SQLite, nil)
	h := datasync.NewHub(e.svc, datasync.HubConfig{RefreshEvery: time.Hour})
	phone := datasync.ClientInfo{ID: "phone", SDK: "go/v1", Protocol: 1}
	a := e.subscribe(h, datasync.Caller{UserID: "ada", Client: phone})
	e.subscribe(h, datasync.Caller{UserID: "ada"})
	e.subscribe(h, datasync.Caller{UserID: "bob", Client: datasync.ClientInfo{ID: "laptop"}})
	want := []datasync.LiveStream{{UserID: "ada"}, {UserID: "ada", Client: phone}}
	if diff := cmp.Diff(want, h.LiveStreams("ada")); diff != "" {
		t.Fatalf("ada's streams (-want +got):\n%s", diff)
	}
	if all := h.LiveStreams(""); len(all) != 3 || all[2].Client.ID != "laptop" {
		t.Fatalf("every stream: %+v", all)
	}
	h.SetRoles(t.Context(), a, []string{"editor"})
	if diff := cmp.Diff(want, h.LiveStreams("ada")); diff != "" {
		t.Fatalf("ada's streams after a role change (-want +got):\n%s", diff)
	}
	h.Unsubscribe(a)
	if got := h.LiveStreams("ada"); len(got) != 1 || got[0].Client.ID != "" {
		t.Fatalf("after the phone's stream closed: %+v", got)
	}
}

// A hub reports its streams at its polls, at most every NodeReportEvery, and lists the
// nodes that reported within two periods.
func TestNodeStreams(t *testing.T) {
	t.Parallel()
	e := newEnv(t, enginetest.SQLite, nil)
	a := datasync.NewHub(e.svc, datasync.HubConfig{Node: "api-a", RefreshEvery: time.Hour})
	nodes := func(h *datasync.Hub) string {
		t.Helper()
		list, err := h.NodeStreams(t.Context())
		if err != nil {
			t.Fatal(err)
		}
		var out []string
		for _, n := range list {
			out = append(out, n.Node+"="+itoa(n.Streams))
		}
		return strings.Join(out, " ")
	}
	if err := a.Poll(t.Context()); err != nil {
		t.Fatal(err)
	}
	if got := nodes(a); got != "api-a=0" {
		t.Fatalf("after the first poll: %q", got)
	}
	e.subscribe(a, datasync.Caller{UserID: "ada"})
	e.clock.Advance(datasync.NodeReportEvery - time.Second)
	if err := a.Poll(t.Context()); err != nil {
		t.Fatal(err)
	}
	if got := nodes(a); got != "api-a=0" {
		t.Fatalf("a poll within the period reported: %q", got)
	}
	e.clock.Advance(time.Second)
	if err := a.Poll(t.Context()); err != nil {
		t.Fatal(err)
	}
	if got := nodes(a); got != "api-a=1" {
		t.Fatalf("a poll a period later: %q", got)
	}
	// A node that stops reporting drops out after two periods; a hub without a name
	// reports nothing.
	e.clock.Advance(2*datasync.NodeReportEvery + time.Second)
	quiet := datasync.NewHub(e.svc, datasync.HubConfig{RefreshEvery: time.Hour})
	if err := quiet.Poll(t.Context()); err != nil {
		t.Fatal(err)
	}
	if got := nodes(quiet); got != "" {
		t.Fatalf("two periods later: %q", got)
	}
}
