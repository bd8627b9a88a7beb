package console_test

import (
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/tideline-dev/tideline/app"
	"github.com/tideline-dev/tideline/auth"
	"github.com/tideline-dev/tideline/push"
	"github.com/tideline-dev/tideline/push/fcm"
	"github.com/tideline-dev/tideline/push/fcm/fcmtest"
	"golang.org/x/net/html"
)

// hostile is text that would run script if a page put it in its HTML unescaped.
const hostile = `<script>alert(1)</script>"><img src=x onerror=alert(2)>`

// Text from admins, users and apps (titles, bodies, data, user agents, device names,
// searches, form values sent back with an error) is shown as text: no page carries a
// script or an element that came from it.
func TestUserTextIsInert(t *testing.T) {
	t.Parallel()
	e := newEnv(t, nil)
	ada, err := e.auth.SignUp(t.Context(), "ada@example.com", password, auth.Client{IP: "192.0.2.1", UserAgent: hostile, DeviceName: hostile, Platform: hostile})
	if err != nil {
		t.Fatal(err)
	}
	e.device(ada, "phone", "android", "tok-a")
	// A document whose field names and values are markup (an ACL's principals have a
	// form that excludes it).
	e.write(ada, "phone", 1, "notes", map[string]map[string]any{"n1": {hostile: hostile, "list": []any{hostile}}})
	b := e.adminBrowser()
	id := campaignID(t, b.send(url.Values{"title": {hostile}, "body": {hostile}, "target": {"all"},
		"dataKey": {hostile}, "dataValue": {hostile}, "collapseKey": {""}}))
	e.drain()
	failed := b.send(url.Values{"title": {hostile}, "body": {hostile}, "imageUrl": {"javascript:alert(3)"}, "target": {"users"},
		"users": {hostile + "@example.com"}, "topic": {hostile}, "zone": {hostile}, "nonce": {hostile}})
	if failed.status != http.StatusBadRequest {
		t.Fatalf("hostile form: %d", failed.status)
	}
	pages := map[string]page{
		"compose (sent back)": failed,
		"campaign":            b.get("/console/campaigns/" + id),
		"campaigns":           b.get("/console/campaigns"),
		"overview":            b.get("/console"),
		"user":                b.get("/console/users/" + ada.User.ID),
		"users search":        b.get("/console/users?email=" + url.QueryEscape(hostile)),
		"compose (query)":     b.get("/console/compose?title=" + url.QueryEscape(hostile) + "&imageUrl=javascript:alert(4)"),
		"sign-in next":        e.browser().get("/console/signin?next=" + url.QueryEscape("/console/"+hostile)),
		"audience":            b.get("/console/audience?target=users&users=" + url.QueryEscape(hostile+"@x.example")),
		"document":            b.get(docPath("notes", ada.User.ID, "n1")),
		"documents":           b.get("/console/data/documents?collection=notes"),
		"documents search": b.get("/console/data/documents?collection=" + url.QueryEscape(hostile) + "&id=" + url.QueryEscape(hostile) +
			"&owner=" + url.QueryEscape(hostile)),
		"documents owner":        b.get("/console/data/documents?owner=" + url.QueryEscape(hostile+"@example.com")),
		"data":                   b.get("/console/data"),
		"document (hostile ref)": b.get(docPath(hostile, hostile, hostile)),
	}
	for name, p := range pages {
		if strings.Count(p.body, "<script") > 1 || strings.Contains(p.body, "<img src=x") ||
			strings.Contains(p.body, `src="javascript:`) || strings.Contains(p.body, `href="javascript:`) {
			t.Errorf("%s: hostile text is live:\n%s", name, p.body)
		}
	}
	for _, name := range []string{"campaign", "user", "compose (sent back)", "document", "documents search", "documents owner"} {
		if !pages[name].has("&lt;script&gt;alert(1)&lt;/script&gt;") {
			t.Errorf("%s: the text is not shown escaped", name)
		}
	}
	if !pages["compose (query)"].has(`src="#ZgotmplZ"`) {
		t.Error("a javascript: image URL reached the preview's src")
	}
}

// Every page of the console is usable with a keyboard and a screen reader: one h1, a
// language, landmarks, a label for every control, a name for every button, headers in
// every table, alt on every image.
func TestPagesAreAccessible(t *testing.T) {
	t.Parallel()
	e := newEnv(t, withCollections)
	ada := e.user("ada@example.com")
	e.device(ada, "phone", "android", "tok-a")
	if err := e.push.SetTopic(t.Context(), ada.User.ID, "phone", "news", true); err != nil {
		t.Fatal(err)
	}
	n := push.NewCampaign{Spec: push.Spec{Target: push.Target{All: true}, Notification: push.Notification{Title: "Hi"}}}
	v, _, err := e.push.CreateCampaign(t.Context(), n)
	if err != nil {
		t.Fatal(err)
	}
	e.write(ada, "phone", 1, "notes", map[string]map[string]any{"n1": {"t": "x"}})
	e.write(ada, "phone", 2, "lists", map[string]map[string]any{"l1": {"t": "x", "_acl": map[string]any{"read": []any{"role:staff"}}}})
	b := e.adminBrowser()
	pages := map[string]page{"/console/signin": e.browser().get("/console/signin")}
	for _, path := range []string{"/console", "/console/compose", "/console/campaigns", "/console/campaigns/" + v.ID,
		"/console/users", "/console/users/" + ada.User.ID, "/console/topics", "/console/data", "/console/data/documents",
		"/console/data/documents?collection=notes&owner=ada@example.com", docPath("notes", ada.User.ID, "n1"), docPath("lists", "", "l1")} {
		pages[path] = b.get(path)
	}
	pages["/console/data/document/delete (confirm)"] = b.post("/console/data/document/delete", url.Values{"csrf": {b.csrf("/console")},
		"collection": {"notes"}, "scope": {ada.User.ID}, "id": {"n1"}})
	pages["/console/compose (confirm)"] = func() page {
		e2 := newEnv(t, func(c *app.Config) { c.ConsoleConfirmAbove = 0 })
		e2.device(e2.user("ada@example.com"), "phone", "android", "tok-a")
		return e2.adminBrowser().send(url.Values{"title": {"x"}, "target": {"all"}})
	}()
	for path, p := range pages {
		if p.status != http.StatusOK {
			t.Errorf("%s: %d", path, p.status)
			continue
		}
		for _, problem := range accessibilityProblems(p.body) {
			t.Errorf("%s: %s", path, problem)
		}
	}
}

func accessibilityProblems(body string) []string {
	doc, err := html.Parse(strings.NewReader(body))
	if err != nil {
		return []string{err.Error()}
	}
	var problems []string
	labelled := map[string]bool{}
	var h1, mains int
	var walk func(n *html.Node, inLabel bool)
	var controls []*html.Node
	walk = func(n *html.Node, inLabel bool) {
		if n.Type == html.ElementNode {
			if ti := attr(n, "tabindex"); ti != "" && ti != "0" && ti != "-1" {
				problems = append(problems, "tabindex "+ti+" changes the focus order")
			}
			switch n.Data {
			case "html":
				if attr(n, "lang") == "" {
					problems = append(problems, "no lang on <html>")
				}
			case "h1":
				h1++
			case "main":
				mains++
			case "label":
				if f := attr(n, "for"); f != "" {
					labelled[f] = true
				}
				inLabel = true
			case "input", "select", "textarea":
				if inLabel {
					n.Attr = append(n.Attr, html.Attribute{Key: "data-in-label", Val: "1"})
				}
				controls = append(controls, n)
			case "button":
				if strings.TrimSpace(text(n)) == "" && attr(n, "aria-label") == "" {
					problems = append(problems, "a button without a name")
				}
			case "img":
				if !hasAttr(n, "alt") {
					problems = append(problems, "an img without alt")
				}
			case "table":
				if !strings.Contains(render(n), "<th") {
					problems = append(problems, "a table without headers")
				}
			}
		}
		for c := n.FirstChild; c != nil; c = c.NextSibling {
			walk(c, inLabel)
		}
	}
	walk(doc, false)
	for _, c := range controls {
		typ := attr(c, "type")
		if typ == "hidden" || typ == "submit" {
			continue
		}
		if attr(c, "data-in-label") == "" && !labelled[attr(c, "id")] && attr(c, "aria-label") == "" && attr(c, "aria-labelledby") == "" {
			problems = append(problems, "a <"+c.Data+" name="+attr(c, "name")+"> without a label")
		}
	}
	if h1 != 1 || mains != 1 {
		problems = append(problems, "want one h1 and one main")
	}
	return problems
}

func attr(n *html.Node, key string) string {
	for _, a := range n.Attr {
		if a.Key == key {
			return a.Val
		}
	}
	return ""
}

func hasAttr(n *html.Node, key string) bool {
	for _, a := range n.Attr {
		if a.Key == key {
			return true
		}
	}
	return false
}

func text(n *html.Node) string {
	if n.Type == html.TextNode {
		return n.Data
	}
	var b strings.Builder
	for c := n.FirstChild; c != nil; c = c.NextSibling {
		b.WriteString(text(c))
	}
	return b.String()
}

func render(n *html.Node) string {
	var b strings.Builder
	_ = html.Render(&b, n)
	return b.String()
}

func TestStaticAssets(t *testing.T) {
	t.Parallel()
	e := newEnv(t, nil)
	b := e.browser()
	signin := b.get("/console/signin")
	for _, name := range []string{"console.css", "console.js"} {
		i := strings.Index(signin.body, "/console/static/"+name+"?v=")
		if i < 0 {
			t.Fatalf("the page does not link %s", name)
		}
		link := signin.body[i:]
		link = link[:strings.IndexByte(link, '"')]
		p := b.get(link)
		if p.status != http.StatusOK || p.header.Get("Cache-Control") != "public, max-age=31536000, immutable" || len(p.body) < 500 {
			t.Errorf("%s: %d %v", link, p.status, p.header)
		}
		if unversioned := b.get("/console/static/" + name); unversioned.header.Get("Cache-Control") != "no-store" {
			t.Errorf("%s without its version is cached", name)
		}
	}
	if ct := b.get("/console/static/console.js").header.Get("Content-Type"); !strings.Contains(ct, "javascript") {
		t.Errorf("console.js served as %q", ct)
	}
	if p := b.get("/console/static/nope.js"); p.status != http.StatusNotFound {
		t.Errorf("unknown asset: %d", p.status)
	}
}

// While no push provider is set up, every page says that push messages go to the server's
// log, and a campaign's page says nothing reached devices; with Firebase set up (here the
// real SDK against the local fake of FCM), neither appears.
func TestPushToLogBanner(t *testing.T) {
	t.Parallel()
	const banner = "Push messages go to the server's log, not to devices"
	e := newEnv(t, nil)
	e.device(e.user("ada@example.com"), "phone", "ios", "tok-a")
	b := e.adminBrowser()
	for _, path := range []string{"/console", "/console/compose", "/console/campaigns", "/console/users", "/console/topics"} {
		if p := b.get(path); p.status != 200 || !p.has(banner) {
			t.Errorf("%s: %d, no banner", path, p.status)
		}
	}
	if p := b.send(url.Values{"title": {"Hi"}, "target": {"all"}}); p.status != 303 {
		t.Fatalf("send: %d\n%s", p.status, p.body)
	}
	e.drain()
	if p := b.get("/console/campaigns/" + e.campaigns()[0].ID); !p.has("to the server's log: nothing reaches devices") {
		t.Errorf("the campaign page does not say nothing reached devices:\n%s", p.body)
	}
	if p := e.browser().get("/console/signin"); p.has(banner) {
		t.Error("the sign-in page shows the banner to someone not signed in")
	}

	fake := fcmtest.New(t)
	withFCM := newEnv(t, func(c *app.Config) {
		c.FCM = fcm.Config{CredentialsFile: fake.WriteCredentials(t), Endpoint: fake.Endpoint()}
	})
	if p := withFCM.adminBrowser().get("/console"); p.status != 200 || p.has(banner) {
		t.Errorf("with FCM set up: %d, banner shown %v", p.status, p.has(banner))
	}
}
