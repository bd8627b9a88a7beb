package console_test

import (
	"strings"
	"testing"
	"time"

	datasync "github.com/tideline-dev/tideline/sync"
)

// A user's page shows each of their clients' sync health: SDK and protocol from the
// Tideline-Client header, last push and pull, the high mutation id, whether it has a
// stream on this node, and the push device registered under the same id.
func TestUserPageSyncHealth(t *testing.T) {
	t.Parallel()
	e := newEnv(t, nil)
	b := e.adminBrowser()
	ada := e.user("ada@example.com")
	if p := b.get("/console/users/" + ada.User.ID); !p.has(`id="health-h"`) || !p.has("No client of this user has pushed or pulled yet.") {
		t.Fatalf("no clients:\n%s", p.body)
	}
	ctx := t.Context()
	phone := datasync.Caller{UserID: ada.User.ID, Client: datasync.ClientInfo{ID: "ada-phone", SDK: "flutter/0.1.0", Protocol: 1}}
	if _, err := e.app.Sync.Push(ctx, phone, "ada-phone", []datasync.Mutation{{ID: 7, Collection: "notes", DocID: "n1", Op: "put", Fields: map[string]any{"t": "a"}}}); err != nil {
		t.Fatal(err)
	}
	e.device(ada, "ada-phone", "ios", "tok-a")
	e.clock.Advance(3 * time.Hour)
	laptop := datasync.Caller{UserID: ada.User.ID, Client: datasync.ClientInfo{ID: "ada-laptop", SDK: "go/v0.4.0", Protocol: 1}}
	if _, err := e.app.Sync.Pull(ctx, laptop, datasync.PullRequest{}); err != nil {
		t.Fatal(err)
	}
	sub, err := e.app.Hub.Subscribe(ctx, laptop, 1)
	if err != nil {
		t.Fatal(err)
	}
	watch := datasync.Caller{UserID: ada.User.ID, Client: datasync.ClientInfo{ID: "ada-watch", SDK: "swift/0.1.0", Protocol: 1}}
	subWatch, err := e.app.Hub.Subscribe(ctx, watch, 1) // a stream, and nothing pushed or pulled yet
	if err != nil {
		t.Fatal(err)
	}
	subAnon, err := e.app.Hub.Subscribe(ctx, datasync.Caller{UserID: ada.User.ID}, 1) // no header
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { e.app.Hub.Unsubscribe(sub); e.app.Hub.Unsubscribe(subWatch); e.app.Hub.Unsubscribe(subAnon) })

	p := b.get("/console/users/" + ada.User.ID)
	section := p.body[strings.Index(p.body, `id="health-h"`):strings.Index(p.body, `id="docs-h"`)]
	rows := strings.Split(section, "<tr>")[2:] // after the header's
	if len(rows) != 3 {
		t.Fatalf("%d rows, want the laptop, the phone and the watch:\n%s", len(rows), section)
	}
	for i, want := range [][]string{
		{"<code>ada-laptop</code>", "go/v0.4.0", `<td class="num">1</td>`, "<td>never</td>", "just now", `<td class="num">0</td>`, "status-completed\">live"},
		{"<code>ada-phone</code>", "push device: ios, app 2.1.0", "flutter/0.1.0", "3 hours ago<br><small>2026-05-14 09:00 UTC</small>", `<td class="num">7</td>`, "status-cancelled\">none"},
		{"<code>ada-watch</code>", "swift/0.1.0", "status-completed\">live"},
	} {
		for _, w := range want {
			if !strings.Contains(rows[i], w) {
				t.Errorf("row %d lacks %q:\n%s", i, w, rows[i])
			}
		}
	}
	if !strings.Contains(section, "1 stream on this node from a client that sent no <code>Tideline-Client</code> header.") {
		t.Errorf("the unnamed stream is not counted:\n%s", section)
	}
	if other := b.get("/console/users/" + e.user("bob@example.com").User.ID); other.has("ada-phone") || other.has("ada-laptop") {
		t.Error("another user's page shows ada's clients")
	}
}

// The overview lists the clients that have not synced for 7 days, and this node's
// streams by SDK.
func TestOverviewSyncHealth(t *testing.T) {
	t.Parallel()
	e := newEnv(t, nil)
	b := e.adminBrowser()
	if p := b.get("/console"); !p.has(`<span class="stat">0</span> devices <small>not synced for 7 days`) || p.has(`class="quiet"`) {
		t.Fatalf("no quiet devices:\n%s", p.body)
	}
	ctx := t.Context()
	ada := e.user("ada@example.com")
	old := datasync.Caller{UserID: ada.User.ID, Client: datasync.ClientInfo{ID: "old-phone", SDK: "go/v0.3.0", Protocol: 1}}
	if _, err := e.app.Sync.Pull(ctx, old, datasync.PullRequest{}); err != nil {
		t.Fatal(err)
	}
	e.clock.Advance(8 * 24 * time.Hour)
	fresh := datasync.Caller{UserID: ada.User.ID, Client: datasync.ClientInfo{ID: "new-phone", SDK: "go/v0.4.0", Protocol: 1}}
	if _, err := e.app.Sync.Pull(ctx, fresh, datasync.PullRequest{}); err != nil {
		t.Fatal(err)
	}
	for _, c := range []datasync.Caller{fresh, fresh, {UserID: ada.User.ID}} {
		sub, err := e.app.Hub.Subscribe(ctx, c, 1)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { e.app.Hub.Unsubscribe(sub) })
	}
	// Another node of the deployment reports its streams through the store; this node's
	// report is made at its polls.
	if err := e.app.Store.Sync().RecordNode(ctx, datasync.NodeStreams{Node: "api-other", Streams: 12, At: e.clock.Now()}); err != nil {
		t.Fatal(err)
	}
	e.clock.Advance(datasync.NodeReportEvery)
	if err := e.app.Hub.Poll(ctx); err != nil {
		t.Fatal(err)
	}
	p := b.get("/console")
	for _, want := range []string{
		`<span class="stat">1</span> device <small>not synced for 7 days</small>`,
		`<tr><td><code>api-other</code></td><td class="num">12</td><td>just now</td></tr>`,
		`<code>` + e.app.Hub.Node() + `</code> <span class="tag">this node</span></td><td class="num">3</td>`,
		`<a href="/console/users/` + ada.User.ID + `">ada@example.com</a>`, "<code>old-phone</code>", "go/v0.3.0", "8 days ago",
		`<span class="stat">2</span> streams <small>open on this node from go/v0.4.0`, `<span class="stat">1</span> stream <small>open on this node from unknown`,
	} {
		if !p.has(want) {
			t.Errorf("overview lacks %q", want)
		}
	}
	if p.has("<code>new-phone</code>") {
		t.Error("a client that synced today is listed as quiet")
	}
	if t.Failed() {
		t.Log(p.body[strings.Index(p.body, `id="quiet-h"`):])
	}
}
