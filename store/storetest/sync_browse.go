package storetest

import (
	"fmt"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/tideline-dev/tideline/sync"
)

// runSyncBrowse checks CountDocuments and ListDocuments: counts per collection of live
// documents and tombstones (a purged tombstone is neither), and summaries newest first,
// filtered by collection, owner, id prefix and state, in pages.
func runSyncBrowse(t *testing.T, h Harness) {
	s := syncStore(t, h)
	counts := func() []sync.DocumentCount {
		t.Helper()
		n, err := s.CountDocuments(t.Context())
		must(t, err, "CountDocuments")
		return n
	}
	list := func(q sync.DocumentQuery) []string {
		t.Helper()
		if q.Limit == 0 {
			q.Limit = 10
		}
		docs, err := s.ListDocuments(t.Context(), q)
		must(t, err, "ListDocuments")
		ids := []string{}
		for _, d := range docs {
			ids = append(ids, d.Ref.Collection+"/"+d.Ref.ID)
		}
		return ids
	}
	if n := counts(); len(n) != 0 {
		t.Fatalf("an empty store counts %+v", n)
	}
	if ids := list(sync.DocumentQuery{Collection: "notes"}); len(ids) != 0 {
		t.Fatalf("an empty store lists %v", ids)
	}

	// In commit order: notes a.1, ab, b (u1's), a.2 (u2's); posts p (u1's, unscoped); then
	// ab is deleted, and "old" is a tombstone that is purged.
	a1 := newDoc("a.1", 1, map[string]any{"x": int64(1)})
	ab := newDoc("ab", 1, map[string]any{"x": int64(2)})
	b := newDoc("b", 1, map[string]any{"x": int64(3)})
	a2 := newDoc("a.2", 1, map[string]any{"x": int64(4)}, "user:u2")
	a2.Owner, a2.Ref.Scope = "u2", "u2"
	p := newDoc("p", 1, map[string]any{"x": int64(5)}, "public")
	p.Ref = sync.DocRef{Collection: "posts", ID: "p"}
	old := newDoc("old", 1, nil)
	old.Deleted, old.UpdatedAt = true, at(0)
	seqs := map[string]int64{}
	for _, d := range []sync.Document{a1, ab, b, a2, p, old} {
		seqs[d.Ref.ID] = write(t, s, d, 0)
	}
	if _, err := s.PurgeDocuments(t.Context(), at(1), 10); err != nil {
		t.Fatal(err)
	}
	gone := ab
	gone.Version, gone.Deleted, gone.Fields, gone.UpdatedAt = 2, true, map[string]any{}, at(7)
	seqs["ab"] = write(t, s, gone, 1)

	want := []sync.DocumentCount{{Collection: "notes", Live: 3, Deleted: 1}, {Collection: "posts", Live: 1}}
	if diff := cmp.Diff(want, counts()); diff != "" {
		t.Fatalf("CountDocuments (-want +got):\n%s", diff)
	}

	docs, err := s.ListDocuments(t.Context(), sync.DocumentQuery{Collection: "notes", State: sync.AllDocs, Limit: 1})
	must(t, err, "ListDocuments")
	wantDoc := sync.DocumentSummary{Ref: ab.Ref, Owner: "u1", Version: 2, Seq: seqs["ab"], Deleted: true, UpdatedAt: at(7)}
	if len(docs) != 1 || !cmp.Equal(docs[0], wantDoc) {
		t.Fatalf("the newest of notes: %+v, want %+v", docs, wantDoc)
	}
	for _, c := range []struct {
		name string
		q    sync.DocumentQuery
		want []string
	}{
		{"Live", sync.DocumentQuery{Collection: "notes"}, []string{"notes/a.2", "notes/b", "notes/a.1"}},
		{"Deleted", sync.DocumentQuery{Collection: "notes", State: sync.DeletedDocs}, []string{"notes/ab"}},
		{"All", sync.DocumentQuery{Collection: "notes", State: sync.AllDocs}, []string{"notes/ab", "notes/a.2", "notes/b", "notes/a.1"}},
		{"Owner", sync.DocumentQuery{Collection: "notes", Owner: "u2"}, []string{"notes/a.2"}},
		{"Prefix", sync.DocumentQuery{Collection: "notes", IDPrefix: "a", State: sync.AllDocs}, []string{"notes/ab", "notes/a.2", "notes/a.1"}},
		{"PrefixIsNoPattern", sync.DocumentQuery{Collection: "notes", IDPrefix: "a.", State: sync.AllDocs}, []string{"notes/a.2", "notes/a.1"}},
		{"PrefixAndOwner", sync.DocumentQuery{Collection: "notes", IDPrefix: "a.", Owner: "u1"}, []string{"notes/a.1"}},
		{"WholeID", sync.DocumentQuery{Collection: "notes", IDPrefix: "b"}, []string{"notes/b"}},
		{"NoMatch", sync.DocumentQuery{Collection: "notes", IDPrefix: "zz"}, []string{}},
		{"OtherCollection", sync.DocumentQuery{Collection: "posts"}, []string{"posts/p"}},
		{"UnknownCollection", sync.DocumentQuery{Collection: "nothing"}, []string{}},
		{"OwnerAcrossCollections", sync.DocumentQuery{Owner: "u1"}, []string{"posts/p", "notes/b", "notes/a.1"}},
		{"Before", sync.DocumentQuery{Collection: "notes", State: sync.AllDocs, Before: seqs["a.2"]}, []string{"notes/b", "notes/a.1"}},
		{"Page", sync.DocumentQuery{Collection: "notes", State: sync.AllDocs, Limit: 2}, []string{"notes/ab", "notes/a.2"}},
		{"NextPage", sync.DocumentQuery{Collection: "notes", State: sync.AllDocs, Limit: 2, Before: seqs["a.2"]}, []string{"notes/b", "notes/a.1"}},
	} {
		if got := list(c.q); !cmp.Equal(got, c.want) {
			t.Errorf("%s: ListDocuments(%+v) = %v, want %v", c.name, c.q, got, c.want)
		}
	}
}

// runSyncClientHealth checks the client records: times only rise, SDK and protocol are
// kept when a record does not say, the mark's high is the record's user's, the quiet ones
// are found by their latest time, a user keeps MaxClientsPerUser, and deleting a user's
// records leaves the others'.
func runSyncClientHealth(t *testing.T, h Harness) {
	s := syncStore(t, h)
	ctx := t.Context()
	record := func(a sync.ClientActivity) {
		t.Helper()
		must(t, s.RecordClient(ctx, a), "RecordClient")
	}
	clients := func(user string) []sync.ClientActivity {
		t.Helper()
		list, err := s.ListClients(ctx, user)
		must(t, err, "ListClients")
		return list
	}
	if list := clients("u1"); len(list) != 0 {
		t.Fatalf("no records yet: %+v", list)
	}
	ms := func(n int) time.Time { return Epoch.Add(time.Duration(n) * time.Millisecond) } // the stores keep milliseconds
	record(sync.ClientActivity{UserID: "u1", ClientID: "phone", SDK: "go/v1.0.0", Protocol: 1, LastPush: ms(1000)})
	record(sync.ClientActivity{UserID: "u1", ClientID: "phone", LastPull: ms(2000)})
	record(sync.ClientActivity{UserID: "u1", ClientID: "phone", LastPush: ms(500)}) // older: changes nothing
	record(sync.ClientActivity{UserID: "u1", ClientID: "tablet", SDK: "flutter/0.1.0", Protocol: 2, LastPull: ms(1500)})
	record(sync.ClientActivity{UserID: "u2", ClientID: "phone", SDK: "swift/0.1.0", LastPush: ms(3000)}) // u1's client id, u2's record
	_, err := s.Commit(ctx, sync.Commit{Client: &sync.ClientMark{ClientID: "phone", UserID: "u1", High: 7}})
	must(t, err, "Commit a client mark")

	want := []sync.ClientActivity{
		{UserID: "u1", ClientID: "phone", SDK: "go/v1.0.0", Protocol: 1, LastPush: ms(1000), LastPull: ms(2000), High: 7},
		{UserID: "u1", ClientID: "tablet", SDK: "flutter/0.1.0", Protocol: 2, LastPull: ms(1500)},
	}
	if diff := cmp.Diff(want, clients("u1")); diff != "" {
		t.Fatalf("u1's clients (-want +got):\n%s", diff)
	}
	if got := clients("u2"); len(got) != 1 || got[0].High != 0 || got[0].SDK != "swift/0.1.0" || got[0].Protocol != 0 {
		t.Fatalf("u2's client has another user's mark, or lost its SDK: %+v", got)
	}
	record(sync.ClientActivity{UserID: "u1", ClientID: "phone", SDK: "go/v1.1.0", Protocol: 2, LastPush: ms(2500)})
	if got := clients("u1")[0]; got.SDK != "go/v1.1.0" || got.Protocol != 2 || !got.LastPush.Equal(ms(2500)) {
		t.Fatalf("an update of the SDK: %+v", got)
	}

	quiet, n, err := s.ListQuietClients(ctx, ms(2500), 10)
	must(t, err, "ListQuietClients")
	if n != 1 || len(quiet) != 1 || quiet[0].ClientID != "tablet" {
		t.Fatalf("quiet before 2.5 s: %d, %+v; want the tablet (the phone pushed at 2.5 s)", n, quiet)
	}
	quiet, n, err = s.ListQuietClients(ctx, ms(4000), 2)
	must(t, err, "ListQuietClients")
	if n != 3 || len(quiet) != 2 || quiet[0].UserID != "u2" || quiet[1].ClientID != "phone" || quiet[1].High != 7 {
		t.Fatalf("quiet before 4 s, at most 2: %d, %+v; want 3, u2's phone then u1's phone", n, quiet)
	}

	for i := range sync.MaxClientsPerUser + 2 {
		record(sync.ClientActivity{UserID: "u3", ClientID: fmt.Sprintf("c%02d", i), LastPull: ms(10000 + i)})
	}
	list := clients("u3")
	if len(list) != sync.MaxClientsPerUser || list[0].ClientID != fmt.Sprintf("c%02d", sync.MaxClientsPerUser+1) || list[len(list)-1].ClientID != "c02" {
		t.Fatalf("u3 recorded %d clients: kept %d, from %s to %s; want the latest %d", sync.MaxClientsPerUser+2, len(list),
			list[0].ClientID, list[len(list)-1].ClientID, sync.MaxClientsPerUser)
	}

	must(t, s.DeleteClients(ctx, "u1"), "DeleteClients")
	if got := clients("u1"); len(got) != 0 {
		t.Fatalf("u1's records after DeleteClients: %+v", got)
	}
	if got := clients("u2"); len(got) != 1 {
		t.Fatalf("deleting u1's records took u2's: %+v", got)
	}
}

// runSyncNodes checks the nodes' stream reports: a later report replaces an earlier one,
// an earlier one changes nothing, a list keeps the nodes reported since, by name, and a
// node silent for a day is forgotten at the next report.
func runSyncNodes(t *testing.T, h Harness) {
	s := syncStore(t, h)
	ctx := t.Context()
	record := func(node string, streams int64, at time.Time) {
		t.Helper()
		must(t, s.RecordNode(ctx, sync.NodeStreams{Node: node, Streams: streams, At: at}), "RecordNode")
	}
	list := func(since time.Time) []sync.NodeStreams {
		t.Helper()
		nodes, err := s.ListNodes(ctx, since)
		must(t, err, "ListNodes")
		return nodes
	}
	if got := list(Epoch); len(got) != 0 {
		t.Fatalf("no reports yet: %+v", got)
	}
	minute := func(n int) time.Time { return Epoch.Add(time.Duration(n) * time.Minute) }
	record("b", 3, minute(0))
	record("a", 5, minute(1))
	record("b", 4, minute(2))
	record("b", 9, minute(1)) // earlier than b's latest: changes nothing
	want := []sync.NodeStreams{{Node: "a", Streams: 5, At: minute(1)}, {Node: "b", Streams: 4, At: minute(2)}}
	if diff := cmp.Diff(want, list(minute(0))); diff != "" {
		t.Fatalf("the reports (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(want[1:], list(minute(2))); diff != "" {
		t.Fatalf("the reports since b's (-want +got):\n%s", diff)
	}
	record("b", 0, minute(2).Add(24*time.Hour)) // a is a day silent now
	if got := list(Epoch); len(got) != 1 || got[0].Node != "b" || got[0].Streams != 0 {
		t.Fatalf("after a day: %+v, want b alone", got)
	}
}
