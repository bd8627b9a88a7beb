package main

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"
	"github.com/tideline-dev/tideline/push/fcm/fcmtest"
	tideline "github.com/tideline-dev/tideline/sdk/go"
)

// TestConsoleInBrowser drives the admin console in a real headless Chromium (Debian's
// chromium package; .ci/run installs it): it signs in with the keyboard, composes a
// campaign to four devices registered through the API, confirms it, watches the progress
// bar while the fake FCM holds the messages and then lets them through, and checks the
// counts (2 sent, 1 pruned, 1 failed) in the page and in the fake. It saves screenshots of
// the main pages, at laptop and phone width, in $TIDELINE_ARTIFACTS/console (a temporary
// directory when unset).
//
// Without chromium the test is skipped, unless TIDELINE_REQUIRE_BROWSER is set (as CI
// does): then it fails.
func TestConsoleInBrowser(t *testing.T) {
	chrome := chromium(t)
	fake := fcmtest.New(t)
	admin := "ops@example.com"
	env := syncEnv(t, "sqlite", "", "",
		"TIDELINE_FCM_CREDENTIALS_FILE="+fake.WriteCredentials(t), "TIDELINE_FCM_ENDPOINT="+fake.Endpoint(),
		"TIDELINE_ADMIN_EMAIL="+admin, "TIDELINE_ADMIN_PASSWORD=another admin passphrase",
		"TIDELINE_CONSOLE_CONFIRM_ABOVE=2")
	p := startAPI(t, env, "--addr", "127.0.0.1:0")
	up := p.waitFor("tideline listening")
	base := up["addr"].(string)
	if up["console"] != base+"/console" {
		t.Fatalf("the start-up line does not say where the console is: %v", up)
	}

	// Four devices, registered as apps do; FCM will refuse two of them.
	tokens := map[string]string{"ada": "tok-ada", "bob": "tok-bob", "cy": "tok-cy", "dee": "tok-dee"}
	platforms := map[string]string{"ada": "android", "bob": "ios", "cy": "ios", "dee": "android"}
	users := map[string]syncUser{}
	for name, token := range tokens {
		u := signUp(t, base, name+"@example.com")
		users[name] = u
		status, d := callJSON(t, "POST", base+"/v1/devices", u.token, map[string]any{
			"deviceId": name + "-phone", "platform": platforms[name], "pushToken": token, "appVersion": "2.4.0", "locale": "en-GB", "timezone": "Europe/London"})
		if status != 200 {
			t.Fatalf("register %s: %d %v", name, status, d)
		}
	}
	if status, _ := callJSON(t, "PUT", base+"/v1/devices/ada-phone/topics/news", users["ada"].token, nil); status != 204 {
		t.Fatalf("subscribe: %d", status)
	}
	fake.Unregister("tok-cy")
	fake.Invalidate("tok-dee")

	b := newTab(t, chrome)

	// Sign in with the keyboard: the email field has the focus, Tab reaches the password.
	b.do(chromedp.Navigate(base + "/console"))
	b.waitFor(`location.pathname === "/console/signin" && document.activeElement.id === "email"`, "the sign-in page, with the focus on the email")
	b.shot("01-signin", "the sign-in page")
	b.do(chromedp.KeyEvent(admin), chromedp.KeyEvent(kb.Tab))
	b.waitFor(`document.activeElement.id === "password"`, "Tab to move to the password")
	b.do(chromedp.KeyEvent("another admin passphrase"), chromedp.KeyEvent(kb.Enter))
	b.waitFor(`location.pathname === "/console" && document.querySelector("h1").textContent === "Overview"`, "the overview after signing in")
	b.shot("02-overview-before", "the overview: 5 users, 4 devices by platform, no campaign yet")

	// Compose: the preview follows the typing, the audience is counted as the target is set.
	b.do(chromedp.Navigate(base + "/console/compose"))
	b.waitFor(`document.getElementById("audience").textContent.includes("reaches 4 devices")`, "the audience count of all devices")
	b.do(
		chromedp.SendKeys(chromedp.ID("title"), "Spring sale"),
		chromedp.SendKeys(chromedp.ID("body"), "20% off everything until Sunday. <b>Not bold</b>"),
		chromedp.SendKeys(chromedp.CSS(`input[name="dataKey"]`), "screen"),
		chromedp.SendKeys(chromedp.CSS(`input[name="dataValue"]`), "sale"),
	)
	b.waitFor(`document.querySelector(".android [data-preview=title]").textContent === "Spring sale" &&
		document.querySelector(".ios [data-preview=body]").textContent.endsWith("<b>Not bold</b>")`, "the live preview, with the markup as text")
	b.do(chromedp.Click(chromedp.CSS(`input[name="target"][value="segment"]`)), chromedp.Click(chromedp.CSS(`input[name="platform"][value="ios"]`)))
	b.waitFor(`document.getElementById("audience").textContent.includes("reaches 2 devices")`, "the audience of the iOS segment")
	b.shot("03-compose", "the compose page: message, data, an iOS segment reaching 2 devices, the Android and iOS preview")
	b.do(chromedp.Click(chromedp.CSS(`input[name="target"][value="all"]`)))
	b.waitFor(`document.getElementById("audience").textContent.includes("reaches 4 devices")`, "the audience of all devices again")

	// Send: 4 devices is above console.confirmAbove (2), so the console asks first.
	b.do(chromedp.Click(chromedp.ID("send")))
	b.waitFor(`document.querySelector('button[name="confirmed"]') !== null`, "the confirmation")
	b.shot("04-confirm", "sending to 4 devices asks for confirmation (console.confirmAbove=2)")
	release := fake.Block()
	b.do(chromedp.Click(chromedp.CSS(`button[name="confirmed"]`)))
	b.waitFor(`document.getElementById("status") && document.getElementById("status").textContent === "sending" &&
		document.querySelector('[data-count="pending"]').textContent === "4"`, "the campaign sending, its 4 messages held by FCM")
	b.shot("05-campaign-sending", "the campaign while FCM holds its messages: status sending, 0 of 4 done, the cancel button")
	release()
	b.waitFor(`document.getElementById("status").textContent === "completed" && document.getElementById("cancel-form") === null`,
		"the campaign completed, and the page reloaded with its final state")
	counts := evalJS[map[string]string](b, `Object.fromEntries([...document.querySelectorAll("[data-count]")].map(e => [e.dataset.count, e.textContent]))`)
	want := map[string]string{"targeted": "4", "pending": "0", "sent": "2", "failed": "1", "pruned": "1", "cancelled": "0"}
	if fmt.Sprint(counts) != fmt.Sprint(want) {
		t.Fatalf("counts on the page %v, want %v", counts, want)
	}
	if errors := evalJS[string](b, `document.querySelector("#errors-h").parentElement.textContent`); !strings.Contains(errors, "INVALID_ARGUMENT") {
		t.Fatalf("the first errors do not show the failure: %q", errors)
	}
	if bar := evalJS[string](b, `(() => { const p = document.getElementById("progress-bar"); return p.value + "/" + p.max })()`); bar != "4/4" {
		t.Fatalf("progress bar %s", bar)
	}
	b.shot("06-campaign-done", "the campaign completed: 4 targeted, 2 sent, 1 failed (INVALID_ARGUMENT, in the first errors), 1 pruned")
	for name, token := range tokens {
		if n, want := fake.Count(token), map[bool]int{true: 1, false: 0}[name == "ada" || name == "bob"]; n != want {
			t.Errorf("FCM delivered %d messages to %s, want %d", n, name, want)
		}
	}
	if got := fake.Delivered(); len(got) != 2 || got[0].Decode()["data"].(map[string]any)["screen"] != "sale" {
		t.Fatalf("delivered %d messages, or without the data", len(got))
	}

	b.do(chromedp.Navigate(base + "/console/campaigns"))
	b.waitFor(`document.querySelector("table.campaigns tbody tr td:nth-child(5)").textContent === "2"`, "the list's sent count")
	b.shot("07-campaigns", "the campaigns list with status and counts")

	// Users: search, open Ada, send her phone a test push.
	b.do(chromedp.Navigate(base+"/console/users"), chromedp.SendKeys(chromedp.ID("q"), "ada"+kb.Enter))
	b.waitFor(`location.search === "?email=ada" && document.querySelectorAll("tbody tr").length === 1`, "the search for ada")
	b.do(chromedp.Click(chromedp.CSS(`tbody a`)))
	b.waitFor(`document.querySelector("h1").textContent === "ada@example.com"`, "Ada's page")
	b.shot("08-user", "a user: account, sessions (revocable), devices with platform, version, last seen, token state and a test push")
	b.do(chromedp.Click(chromedp.CSS(`form.inline button`)))
	b.waitFor(`document.getElementById("status") !== null && document.getElementById("status").textContent === "completed"`, "the test push completed")
	if fake.Count("tok-ada") != 2 {
		t.Fatalf("the test push did not reach Ada's phone: %d", fake.Count("tok-ada"))
	}

	b.do(chromedp.Navigate(base + "/console/topics"))
	b.waitFor(`document.querySelector("tbody td code").textContent === "news"`, "the topics")
	b.shot("09-topics", "the topics with their device counts")
	b.do(chromedp.Navigate(base + "/console"))
	b.waitFor(`document.querySelectorAll("rect.bar-sent").length === 1`, "today's bar in the chart")
	b.shot("10-overview", "the overview after sending: counts, devices by platform, 2 campaigns this week, the deliveries chart")

	// The data browser: Ada's phone, on the Go SDK, stores a note whose content is markup;
	// the admin finds it by her email, reads it (as text), and deletes it; the phone drops
	// it at its next sync.
	// Its client id is the id it registered its push device with, so the console shows
	// both on one row.
	phone, err := tideline.Open(t.Context(), filepath.Join(t.TempDir(), "ada-phone.db"), base, tideline.Token(users["ada"].token),
		tideline.Options{ClientID: "ada-phone"})
	if err != nil {
		t.Fatal(err)
	}
	defer phone.Close()
	wctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	if err := phone.Collection("notes").Put(wctx, "n1", map[string]any{"title": `<img src=x onerror="document.title='pwned'">`, "<script>": "alert(1)"}); err != nil {
		t.Fatal(err)
	}
	if err := phone.Collection("notes").Put(wctx, "n2", map[string]any{"title": "Buy milk"}); err != nil {
		t.Fatal(err)
	}
	if err := phone.Sync(wctx); err != nil {
		t.Fatal(err)
	}
	b.do(chromedp.Navigate(base + "/console/data"))
	b.waitFor(`[...document.querySelectorAll("table.collections a")].some(a => a.textContent === "notes")`, "the collections, notes among them")
	b.shot("14-data-collections", "the data browser's collections: read rule, policy, schema, live and deleted documents")
	b.do(chromedp.SendKeys(chromedp.ID("owner"), "ada@example.com"+kb.Enter))
	b.waitFor(`location.pathname === "/console/data/documents" && document.querySelectorAll("table.documents tbody tr").length === 2`, "Ada's documents")
	b.shot("15-data-documents", "a search of documents by owner email, newest first")
	b.do(chromedp.Click(chromedp.CSS(`table.documents tbody tr:nth-child(2) a`))) // n1, the older
	b.waitFor(`document.querySelector("h1").textContent === "notes / n1"`, "the document's page")
	if text := evalJS[string](b, `document.querySelector("pre.json").textContent`); !strings.Contains(text, `"<script>": "alert(1)"`) ||
		!strings.Contains(text, `<img src=x`) {
		t.Fatalf("the document's JSON is not shown as written: %q", text)
	}
	if n := evalJS[int](b, `document.querySelectorAll("main img, main script").length`); n != 0 || evalJS[string](b, `document.title`) == "pwned" {
		t.Fatalf("the document's content became %d elements of the page, or ran", n)
	}
	b.shot("16-data-document", "a document: its JSON (markup shown as text), version, seq, buckets, owner, last writer")
	b.do(chromedp.Click(chromedp.CSS(`button.danger`)))
	b.waitFor(`document.querySelector('button[name="confirmed"]') !== null`, "the delete's confirmation")
	b.shot("17-data-delete-confirm", "deleting a document asks for confirmation")
	b.do(chromedp.Click(chromedp.CSS(`button[name="confirmed"]`)))
	b.waitFor(`document.querySelector(".notice") && document.querySelector(".notice").textContent.startsWith("The document is deleted")`, "the deleted document")
	b.shot("18-data-deleted", "the deleted document: a tombstone, devices drop it at their next pull")
	if err := phone.Sync(wctx); err != nil {
		t.Fatal(err)
	}
	if _, ok, err := phone.Collection("notes").Get(wctx, "n1"); err != nil || ok {
		t.Fatalf("the phone still has the deleted note: %v %v", ok, err)
	}

	// Sync health: the phone's loop keeps a stream open; Ada's page shows it, with the
	// SDK the phone named in its Tideline-Client header. (The page is reloaded until the
	// stream is open: its state is in the server, which signals the browser nothing.)
	loop, stopLoop := context.WithCancel(t.Context())
	looped := make(chan error, 1)
	go func() { looped <- phone.Start(loop, tideline.Backoff{Min: 50 * time.Millisecond, Max: time.Second}) }()
	b.do(chromedp.Navigate(base + "/console/users/" + users["ada"].id))
	b.waitFor(`(() => { const ok = [...document.querySelectorAll("table.health tbody tr")].some(r => r.textContent.includes("go/") && r.querySelector(".status-completed"));
		if (!ok && document.readyState === "complete") setTimeout(() => location.reload(), 250); return ok })()`, "Ada's phone with a live stream in her sync health")
	if docs := evalJS[string](b, `document.querySelector("table.documents").textContent`); !strings.Contains(docs, "notes/n2") || strings.Contains(docs, "notes/n1") {
		t.Fatalf("Ada's documents on her page: %q", docs)
	}
	b.shot("19-user-sync-health", "a user's page: sync health (the phone's SDK, protocol, last push and pull, high mutation id, live stream, push device) and her documents")
	b.do(chromedp.Navigate(base + "/console"))
	b.waitFor(`document.getElementById("quiet-h") !== null`, "the overview's sync health")
	b.shot("20-overview-sync-health", "the overview's sync health: devices not synced for 7 days, this node's streams by SDK")
	stopLoop()
	<-looped

	// A phone's width: nothing is wider than the screen.
	b.do(chromedp.EmulateViewport(390, 844, chromedp.EmulateScale(2)))
	for _, page := range []struct{ path, name, what string }{
		{"/console/compose", "11-phone-compose", "the compose page on a phone (390 px wide)"},
		{"/console", "12-phone-overview", "the overview on a phone"},
		{"/console/users/" + users["ada"].id, "13-phone-user", "a user's page on a phone"},
		{"/console/data/documents?owner=ada@example.com&state=all", "21-phone-data-documents", "the documents of a user on a phone"},
		{"/console/data/document?collection=notes&id=n2&scope=" + users["ada"].id, "22-phone-data-document", "a document on a phone"},
	} {
		b.do(chromedp.Navigate(base + page.path))
		b.waitFor(`document.readyState === "complete"`, page.path)
		if w := evalJS[string](b, `document.documentElement.scrollWidth + " " + window.innerWidth`); !fitsWidth(w) {
			wide := evalJS[[]string](b, `[...document.querySelectorAll("body *")].filter(e => e.getBoundingClientRect().right > window.innerWidth + 1).
				slice(0, 8).map(e => e.tagName.toLowerCase() + "." + e.className + " " + Math.round(e.getBoundingClientRect().right))`)
			t.Errorf("%s is wider than a phone: scroll width, window width = %s; too wide: %q", page.path, w, wide)
		}
		b.shot(page.name, page.what)
	}
	b.checkConsole()
}

// chromium returns the path of Debian's chromium, or skips the test when it is not
// installed and TIDELINE_REQUIRE_BROWSER is not set.
func chromium(t *testing.T) string {
	t.Helper()
	if testing.Short() {
		t.Skip("-short: runs the server binary and a browser")
	}
	path, err := exec.LookPath("chromium")
	if err == nil {
		return path
	}
	if os.Getenv("TIDELINE_REQUIRE_BROWSER") != "" {
		t.Fatalf("chromium is not installed, and TIDELINE_REQUIRE_BROWSER is set: apt-get install -y chromium")
	}
	t.Skip("chromium is not installed: `apt-get install -y chromium` to run the browser test (CI sets TIDELINE_REQUIRE_BROWSER=1, which makes this a failure)")
	return ""
}

func fitsWidth(s string) bool {
	var scroll, window int
	_, err := fmt.Sscan(s, &scroll, &window)
	return err == nil && scroll <= window
}

// tab is a browser tab under test.
type tab struct {
	t   *testing.T
	ctx context.Context
	dir string

	mu      sync.Mutex
	console []chromedp.ConsoleMessage
}

// newTab starts chromium headless with a fresh profile and nothing that reaches the
// network on its own (the test machine has none).
func newTab(t *testing.T, exe string) *tab {
	t.Helper()
	opts := []chromedp.ExecAllocatorOption{
		chromedp.ExecPath(exe), chromedp.Headless, chromedp.NoSandbox, chromedp.DisableGPU, chromedp.NoFirstRun, chromedp.NoDefaultBrowserCheck,
		chromedp.UserDataDir(t.TempDir()), chromedp.WindowSize(1280, 900),
		chromedp.Flag("disable-quic", true), chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true), chromedp.Flag("disable-sync", true),
		chromedp.Flag("disable-dev-shm-usage", true), chromedp.Flag("disable-extensions", true),
		chromedp.Flag("disable-default-apps", true), chromedp.Flag("metrics-recording-only", true),
	}
	allocCtx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancelTab := chromedp.NewContext(allocCtx)
	t.Cleanup(func() { cancelTab(); cancelAlloc() })
	b := &tab{t: t, ctx: ctx, dir: artifacts(t)}
	if err := chromedp.Do(ctx); err != nil { // starts the browser
		t.Fatalf("start chromium: %v", err)
	}
	messages := chromedp.Console(ctx)
	go func() {
		for m, err := range messages {
			if err != nil {
				return
			}
			b.mu.Lock()
			b.console = append(b.console, m)
			b.mu.Unlock()
		}
	}()
	return b
}

// artifacts is where the screenshots go.
func artifacts(t *testing.T) string {
	dir := os.Getenv("TIDELINE_ARTIFACTS")
	if dir == "" {
		return t.TempDir()
	}
	dir = filepath.Join(dir, "console")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	return dir
}

func (b *tab) do(actions ...chromedp.Action[chromedp.Void]) {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, 30*time.Second)
	defer cancel()
	if err := chromedp.Do(ctx, actions...); err != nil {
		b.t.Fatalf("browser: %v", err)
	}
}

func evalJS[T any](b *tab, expr string) T {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, 10*time.Second)
	defer cancel()
	v, err := chromedp.Run(ctx, chromedp.Evaluate[T](expr))
	if err != nil {
		b.t.Fatalf("evaluate %s: %v", expr, err)
	}
	return v
}

// waitFor waits until the JavaScript expression is true in the page; it is evaluated again
// across navigations and reloads (an evaluation a navigation interrupts counts as false).
// It polls: the page's state lives in another process, which signals nothing this test
// can wait on across its navigations. The deadline only turns a hang into a failure.
func (b *tab) waitFor(expr, what string) {
	b.t.Helper()
	deadline := time.Now().Add(time.Minute)
	for {
		ctx, cancel := context.WithTimeout(b.ctx, 5*time.Second)
		ok, err := chromedp.Run(ctx, chromedp.Evaluate[bool]("!!("+expr+")"))
		cancel()
		if err == nil && ok {
			return
		}
		if time.Now().After(deadline) {
			loc, _ := chromedp.Run(b.ctx, chromedp.Location())
			body, _ := chromedp.Run(b.ctx, chromedp.Evaluate[string](`document.body ? document.body.innerText : ""`))
			b.t.Fatalf("waiting for %s: not within a minute (at %s, last error %v):\n%s", what, loc, err, body)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// shot saves a screenshot of the whole page as name.png.
func (b *tab) shot(name, what string) {
	b.t.Helper()
	b.waitFor(`document.readyState === "complete" && document.documentElement.getBoundingClientRect().width > 0`, "the page to be laid out")
	ctx, cancel := context.WithTimeout(b.ctx, 30*time.Second)
	defer cancel()
	png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
	if err != nil {
		b.t.Fatalf("screenshot %s: %v", name, err)
	}
	path := filepath.Join(b.dir, name+".png")
	if err := os.WriteFile(path, png, 0o644); err != nil {
		b.t.Fatal(err)
	}
	b.t.Logf("screenshot %s: %s", path, what)
}

// checkConsole fails on script errors and on anything the Content-Security-Policy refused.
func (b *tab) checkConsole() {
	b.t.Helper()
	b.mu.Lock()
	defer b.mu.Unlock()
	for _, m := range b.console {
		if m.IsException() || strings.Contains(m.Text, "Content Security Policy") || strings.Contains(m.Text, "Refused to") {
			b.t.Errorf("browser console: %s", m)
		}
	}
}
