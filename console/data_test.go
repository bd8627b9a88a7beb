package console_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/tideline-dev/tideline/app"
	"github.com/tideline-dev/tideline/auth"
	datasync "github.com/tideline-dev/tideline/sync"
)

// write pushes documents as the user's client would: put mutations numbered from first.
func (e *env) write(u auth.Result, client string, first int64, collection string, docs map[string]map[string]any) {
	e.t.Helper()
	var muts []datasync.Mutation
	for id, fields := range docs {
		muts = append(muts, datasync.Mutation{ID: first, Collection: collection, DocID: id, Op: "put", Fields: fields})
		first++
	}
	receipts, err := e.app.Sync.Push(e.t.Context(), datasync.Caller{UserID: u.User.ID}, client, muts)
	if err != nil {
		e.t.Fatal(err)
	}
	for _, r := range receipts {
		if r.Status != datasync.Applied {
			e.t.Fatalf("push: %+v", r)
		}
	}
}

func docPath(collection, scope, id string) string {
	q := url.Values{"collection": {collection}, "id": {id}}
	if scope != "" {
		q.Set("scope", scope)
	}
	return "/console/data/document?" + q.Encode()
}

func withCollections(c *app.Config) {
	c.Sync.Collections = []datasync.Collection{
		{Name: "lists", Read: datasync.OwnerShared, MaxDocBytes: datasync.DefaultMaxDocBytes, Notify: true},
		{Name: "scores", Policy: datasync.Optimistic, Read: datasync.PublicRead, MaxDocBytes: datasync.DefaultMaxDocBytes,
			Schema: json.RawMessage(`{"type":"object","properties":{"points":{"type":"integer"}}}`)},
	}
}

func TestDataCollections(t *testing.T) {
	t.Parallel()
	e := newEnv(t, withCollections)
	b := e.adminBrowser()
	ada := e.user("ada@example.com")
	e.write(ada, "phone", 1, "notes", map[string]map[string]any{"n1": {"t": "a"}, "n2": {"t": "b"}})
	e.write(ada, "phone", 3, "scores", map[string]map[string]any{"s1": {"points": 3}})
	p := b.get("/console/data")
	for _, want := range []string{
		`<a href="/console/data/documents?collection=lists">lists</a></td>`, `<td>owner-shared</td>`,
		`<a href="/console/data/documents?collection=notes">notes</a> <span class="tag">not configured</span>`,
		`<td>optimistic</td>`, `<summary>yes</summary>`, `&#34;points&#34;`,
		`<td class="num">2</td>`, `<td class="num">1</td>`, `aria-current="page">Data`,
	} {
		if !p.has(want) {
			t.Errorf("collections page lacks %q", want)
		}
	}
	if t.Failed() {
		t.Log(p.body)
	}
	empty := newEnv(t, nil).adminBrowser().get("/console/data")
	if empty.status != http.StatusOK || !empty.has("No collection is configured and no document is stored yet.") {
		t.Errorf("no data: %d\n%s", empty.status, empty.body)
	}
}

func TestDataDocuments(t *testing.T) {
	t.Parallel()
	e := newEnv(t, nil)
	b := e.adminBrowser()
	ada, bob := e.user("ada@example.com"), e.user("bob@example.com")
	for i := range 55 { // one at a time, so their order is known: n00 first
		e.write(ada, "phone", int64(i+1), "notes", map[string]map[string]any{fmt.Sprintf("n%02d", i): {"i": i}})
	}
	e.write(bob, "laptop", 1, "notes", map[string]map[string]any{"b1": {"t": "bob's"}})
	e.write(bob, "laptop", 2, "todos", map[string]map[string]any{"t1": {"t": "bob's"}})

	first := b.get("/console/data/documents?collection=notes")
	if first.status != http.StatusOK || strings.Count(first.body, "<tr>") != 51 || !first.has(">notes/b1</code>") || first.has(">notes/n05</code>") ||
		strings.Index(first.body, ">notes/b1<") > strings.Index(first.body, ">notes/n54<") || !first.has(">bob@example.com</a>") {
		t.Fatalf("the first page: %d, %d rows, newest first, 50 of them:\n%s", first.status, strings.Count(first.body, "<tr>")-1, first.body)
	}
	next := strings.Split(strings.Split(first.body, `<p><a href="`)[1], `"`)[0]
	second := b.get(strings.ReplaceAll(next, "&amp;", "&"))
	if !second.has(">notes/n05</code>") || !second.has(">notes/n00</code>") || second.has(">notes/n06</code>") || second.has("Older documents") {
		t.Fatalf("the second page (%s):\n%s", next, second.body)
	}

	for _, c := range []struct {
		name, query string
		want, not   []string
	}{
		{"ByID", "collection=notes&id=n1", []string{">notes/n10<", ">notes/n19<"}, []string{">notes/n20<", ">notes/b1<", ">notes/n01<"}},
		{"ByOwner", "owner=BOB@example.com", []string{">notes/b1<", ">todos/t1<", "Owned by <a href=\"/console/users/" + bob.User.ID}, []string{">notes/n00<"}},
		{"ByOwnerAndCollection", "owner=bob@example.com&collection=todos", []string{">todos/t1<"}, []string{">notes/b1<"}},
		{"ByUserID", "user=" + bob.User.ID, []string{">notes/b1<", ">todos/t1<"}, []string{">notes/n00<"}},
		{"UnknownOwner", "owner=nobody@example.com", []string{"No user has the email “nobody@example.com”."}, []string{"<table"}},
		{"NoMatch", "collection=notes&id=zz", []string{"No document matches."}, []string{"<table"}},
		{"UnknownCollection", "collection=nothing", []string{"No document matches."}, nil},
		{"Deleted", "collection=notes&state=deleted", []string{"No document matches.", `<option value="deleted" selected>`}, nil},
	} {
		p := b.get("/console/data/documents?" + c.query)
		if p.status != http.StatusOK {
			t.Errorf("%s: %d", c.name, p.status)
		}
		for _, w := range c.want {
			if !p.has(w) {
				t.Errorf("%s: lacks %q", c.name, w)
			}
		}
		for _, n := range c.not {
			if p.has(n) {
				t.Errorf("%s: has %q", c.name, n)
			}
		}
	}

	// Malformed searches are refused with the reason, the form sent back as it was.
	for _, c := range []struct {
		query  string
		status int
		want   string
	}{
		{"collection=Notes", http.StatusBadRequest, "No collection can be called that."},
		{"collection=tideline_sync_clients", http.StatusBadRequest, "No collection can be called that."},
		{"collection=notes&id=a%20b", http.StatusBadRequest, "no id begins with that"},
		{"id=" + strings.Repeat("a", 129), http.StatusBadRequest, "no id begins with that"},
		{"state=gone", http.StatusBadRequest, "This page of documents does not exist"},
		{"before=-1", http.StatusBadRequest, "This page of documents does not exist"},
		{"before=x", http.StatusBadRequest, "This page of documents does not exist"},
		{"before=99999999999999999999", http.StatusBadRequest, "This page of documents does not exist"},
		{"owner=" + strings.Repeat("a", 10000) + "@example.com", http.StatusOK, "No user has the email"},
		{"collection=" + strings.Repeat("n", 5000), http.StatusBadRequest, "No collection can be called that."},
		{"user=nobody", http.StatusNotFound, ""},
	} {
		p := b.get("/console/data/documents?" + c.query)
		if p.status != c.status || !p.has(c.want) {
			t.Errorf("%s: %d, want %d with %q:\n%s", c.query, p.status, c.status, c.want, p.body)
		}
	}
	if p := b.get("/console/data/documents?collection=Notes"); !p.has(`value="Notes"`) {
		t.Error("the refused search is not sent back")
	}
	if p := e.browser().get("/console/data/documents"); p.status != http.StatusSeeOther || !strings.HasPrefix(p.loc, "/console/signin") {
		t.Errorf("signed out: %d %q", p.status, p.loc)
	}
}

func TestDataDocument(t *testing.T) {
	t.Parallel()
	e := newEnv(t, withCollections)
	b := e.adminBrowser()
	ada, bob := e.user("ada@example.com"), e.user("bob@example.com")
	e.write(ada, "ada-phone", 1, "lists", map[string]map[string]any{"groceries": {"items": []any{"milk", "eggs"},
		"_acl": map[string]any{"read": []any{"user:" + bob.User.ID}}}})
	p := b.get(docPath("lists", "", "groceries")) // owner-shared: one namespace
	for _, want := range []string{
		"<h1>lists / groceries</h1>", `&#34;items&#34;: [`, `&#34;milk&#34;`, // the fields
		`&#34;read&#34;: [`, "user:" + bob.User.ID, // the ACL, apart
		"<dt>Version</dt><dd>1</dd>", "<dt>Seq</dt><dd>1</dd>", "<code>user:" + ada.User.ID + "</code>", "<code>user:" + bob.User.ID + "</code>",
		`<a href="/console/users/` + ada.User.ID + `">ada@example.com</a>`, "client <code>ada-phone</code> at 2026-05-14 09:00 UTC",
		"Delete the document",
	} {
		if !p.has(want) {
			t.Errorf("document page lacks %q", want)
		}
	}
	if i, j := strings.Index(p.body, `id="json-h"`), strings.Index(p.body, `id="acl-h"`); i < 0 || j < i || strings.Contains(p.body[i:j], "_acl") {
		t.Error("the ACL is shown among the fields")
	}
	if t.Failed() {
		t.Log(p.body)
	}
	e.write(bob, "bob-phone", 1, "scores", map[string]map[string]any{"s1": {"points": 3}})
	if p := b.get(docPath("scores", "", "s1")); !p.has("<code>public</code>") || !p.has("None: readable as the collection's read rule says.") {
		t.Errorf("a public document:\n%s", p.body)
	}
	for _, path := range []string{docPath("lists", ada.User.ID, "groceries"), docPath("lists", "", "nope"), docPath("nothing", "", "x"),
		docPath("Lists", "", "x"), docPath("tideline_sync_clients", "", "x"), docPath("lists", ada.User.ID, "<script>"),
		docPath("lists", "a\x00b", "groceries"), docPath("lists", strings.Repeat("u", 300), "groceries"), "/console/data/document"} {
		if p := b.get(path); p.status != http.StatusNotFound || !p.has("No such document.") {
			t.Errorf("%s: %d", path, p.status)
		}
	}
}

// Deleting asks first; once confirmed it writes a tombstone that the owner's device pulls,
// records it in the audit log, and says so; deleting it again does nothing.
func TestDataDeleteDocument(t *testing.T) {
	t.Parallel()
	e := newEnv(t, nil)
	b := e.adminBrowser()
	ada := e.user("ada@example.com")
	e.write(ada, "phone", 1, "notes", map[string]map[string]any{"n1": {"t": "a"}, "n2": {"t": "b"}})
	ctx, caller := t.Context(), datasync.Caller{UserID: ada.User.ID}
	page, err := e.app.Sync.Pull(ctx, caller, datasync.PullRequest{})
	if err != nil || len(page.Changes) != 2 {
		t.Fatalf("the device's first pull: %+v %v", page, err)
	}
	path := docPath("notes", ada.User.ID, "n1")
	form := url.Values{"csrf": {b.csrf(path)}, "collection": {"notes"}, "scope": {ada.User.ID}, "id": {"n1"}}

	ask := b.post("/console/data/document/delete", form)
	if ask.status != http.StatusOK || !ask.has("Delete this document?") || !ask.has(`name="confirmed" value="yes"`) {
		t.Fatalf("the confirmation: %d\n%s", ask.status, ask.body)
	}
	if d, _ := e.app.Sync.Document(ctx, datasync.DocRef{Collection: "notes", Scope: ada.User.ID, ID: "n1"}); d.Deleted {
		t.Fatal("deleted before the confirmation")
	}
	for _, v := range []string{"", "no", "1", "Yes"} { // only the confirmation's own value confirms
		f := url.Values{"confirmed": {v}}
		for k, vs := range form {
			f[k] = vs
		}
		if p := b.post("/console/data/document/delete", f); p.status != http.StatusOK || !p.has("Delete this document?") {
			t.Fatalf("confirmed=%q: %d", v, p.status)
		}
	}

	form.Set("confirmed", "yes")
	done := b.post("/console/data/document/delete", form)
	if done.status != http.StatusSeeOther || done.loc != path+"&done=deleted" {
		t.Fatalf("delete: %d %q", done.status, done.loc)
	}
	if p := b.get(done.loc); !p.has("The document is deleted: devices drop it at their next pull.") || !p.has("status-cancelled\">deleted") || p.has("Delete the document") {
		t.Fatalf("after the delete:\n%s", p.body)
	}
	next, err := e.app.Sync.Pull(ctx, caller, datasync.PullRequest{Cursor: page.Cursor})
	if err != nil || len(next.Changes) != 1 || next.Changes[0].DocID != "n1" || next.Changes[0].Op != datasync.OpDelete {
		t.Fatalf("the device's next pull: %+v %v", next.Changes, err)
	}
	events, err := e.auth.ListAudit(ctx, auth.AuditQuery{Type: "sync.document_deleted"})
	if err != nil || len(events) != 1 {
		t.Fatalf("audit: %+v %v", events, err)
	}
	if ev := events[0]; ev.UserID != ada.User.ID || ev.Actor != "user:"+e.admin.ID || ev.Detail["collection"] != "notes" || ev.Detail["id"] != "n1" ||
		ev.Detail["scope"] != ada.User.ID || ev.Detail["version"] != "1" {
		t.Fatalf("the audit event: %+v", ev)
	}

	if again := b.post("/console/data/document/delete", form); again.status != http.StatusSeeOther || again.loc != path+"&done=gone" {
		t.Fatalf("deleting it again: %d %q", again.status, again.loc)
	}
	if events, _ := e.auth.ListAudit(ctx, auth.AuditQuery{Type: "sync.document_deleted"}); len(events) != 1 {
		t.Fatalf("deleting a tombstone was audited: %d events", len(events))
	}
	for name, f := range map[string]url.Values{
		"Unknown":   {"collection": {"notes"}, "scope": {ada.User.ID}, "id": {"nope"}},
		"Malformed": {"collection": {"no tes"}, "scope": {ada.User.ID}, "id": {"n2"}},
		"Hostile":   {"collection": {"notes"}, "scope": {ada.User.ID}, "id": {hostile}},
		"NoScope":   {"collection": {"notes"}, "id": {"n2"}},
	} {
		f.Set("csrf", form.Get("csrf"))
		f.Set("confirmed", "yes")
		if p := b.post("/console/data/document/delete", f); p.status != http.StatusNotFound {
			t.Errorf("%s: %d", name, p.status)
		}
	}
	if d, _ := e.app.Sync.Document(ctx, datasync.DocRef{Collection: "notes", Scope: ada.User.ID, ID: "n2"}); d.Deleted {
		t.Fatal("n2 was deleted")
	}

	// A user who is not an admin is not let in.
	u := e.browser()
	if p := u.signIn("ada@example.com", password); p.status == http.StatusSeeOther && p.loc == "/console" {
		t.Fatal("a user signed in to the console")
	}
	if p := u.post("/console/data/document/delete", form); p.status != http.StatusSeeOther || !strings.HasPrefix(p.loc, "/console/signin") {
		t.Fatalf("not signed in: %d %q", p.status, p.loc)
	}
}

// A user's page shows their latest documents, and links to all of them.
func TestUserPageDocuments(t *testing.T) {
	t.Parallel()
	e := newEnv(t, nil)
	b := e.adminBrowser()
	ada := e.user("ada@example.com")
	if p := b.get("/console/users/" + ada.User.ID); !p.has(`id="docs-h"`) || !p.has("No document.") {
		t.Fatalf("no documents:\n%s", p.body)
	}
	for i := range 12 {
		e.write(ada, "phone", int64(i+1), "notes", map[string]map[string]any{fmt.Sprintf("n%02d", i): {"i": i}})
	}
	p := b.get("/console/users/" + ada.User.ID)
	if !p.has(">notes/n11</code>") || p.has(">notes/n01</code>") || !p.has(`href="/console/data/documents?user=`+ada.User.ID+`">All their documents`) {
		t.Fatalf("the user's documents:\n%s", p.body)
	}
}
