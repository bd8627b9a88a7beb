package console_test

import (
	"html"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/tideline-dev/tideline"
	"github.com/tideline-dev/tideline/app"
	"github.com/tideline-dev/tideline/app/apptest"
	"github.com/tideline-dev/tideline/auth"
	"github.com/tideline-dev/tideline/push"
)

// The console is tested over HTTP, as a browser uses it, on a real embedded store: the
// handler is served by httptest, and each test browser keeps its cookies in a jar.

const (
	adminEmail = "root@example.com"
	password   = "correct horse battery staple"
)

type env struct {
	t     *testing.T
	app   *apptest.App
	auth  *auth.Service
	push  *push.Service
	clock *tideline.ManualClock
	url   string
	admin auth.User
}

// newEnv starts the app, idle (the test drives the push workers: drain), with an admin
// (adminEmail, password), and serves it. change, when not nil, adjusts the configuration
// first.
func newEnv(t *testing.T, change func(*app.Config)) *env {
	t.Helper()
	a := apptest.New(t, apptest.Options{Config: change, Now: time.Date(2026, 5, 14, 9, 0, 0, 0, time.UTC)})
	admin, _, err := a.Auth.CreateAdmin(t.Context(), adminEmail, password, "test", false)
	if err != nil {
		t.Fatal(err)
	}
	return &env{t: t, app: a, auth: a.Auth, push: a.Push, clock: a.Clock, url: a.Serve(), admin: admin}
}

// user signs up a user and returns their first session.
func (e *env) user(email string) auth.Result {
	e.t.Helper()
	res, err := e.auth.SignUp(e.t.Context(), email, password, auth.Client{IP: "192.0.2.1", DeviceName: "Pixel", Platform: "android"})
	if err != nil {
		e.t.Fatal(err)
	}
	return res
}

// device registers a device of the user's session.
func (e *env) device(u auth.Result, deviceID, platform, token string) push.Device {
	e.t.Helper()
	d, err := e.push.RegisterDevice(e.t.Context(), u.User.ID, u.Tokens.SessionID, push.Registration{DeviceID: deviceID, Platform: platform, PushToken: token, AppVersion: "2.1.0", Locale: "en-GB"})
	if err != nil {
		e.t.Fatal(err)
	}
	return d
}

// campaigns returns the stored campaigns, newest first.
func (e *env) campaigns() []push.CampaignView {
	e.t.Helper()
	list, err := e.push.ListCampaigns(e.t.Context(), "", 100)
	if err != nil {
		e.t.Fatal(err)
	}
	return list
}

// drain runs the push workers until they have nothing to do.
func (e *env) drain() { e.app.Drain() }

// browser is a client with its own cookies that does not follow redirects.
type browser struct {
	e *env
	c *http.Client
}

func (e *env) browser() *browser {
	jar, err := cookiejar.New(nil)
	if err != nil {
		e.t.Fatal(err)
	}
	return &browser{e: e, c: &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}}
}

// page is a response, with its body read.
type page struct {
	status int
	body   string
	header http.Header
	// loc is the redirect's target.
	loc string
}

func (p page) has(s string) bool { return strings.Contains(p.body, s) }

func (b *browser) do(req *http.Request) page {
	b.e.t.Helper()
	resp, err := b.c.Do(req)
	if err != nil {
		b.e.t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		b.e.t.Fatal(err)
	}
	return page{status: resp.StatusCode, body: string(body), header: resp.Header, loc: resp.Header.Get("Location")}
}

func (b *browser) get(path string) page {
	b.e.t.Helper()
	req, err := http.NewRequestWithContext(b.e.t.Context(), http.MethodGet, b.e.url+path, nil)
	if err != nil {
		b.e.t.Fatal(err)
	}
	return b.do(req)
}

func (b *browser) post(path string, form url.Values) page {
	b.e.t.Helper()
	req, err := http.NewRequestWithContext(b.e.t.Context(), http.MethodPost, b.e.url+path, strings.NewReader(form.Encode()))
	if err != nil {
		b.e.t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	return b.do(req)
}

var csrfInput = regexp.MustCompile(`name="csrf" value="([^"]+)"`)

// csrf returns the CSRF token of the forms on the page at path.
func (b *browser) csrf(path string) string {
	b.e.t.Helper()
	p := b.get(path)
	m := csrfInput.FindStringSubmatch(p.body)
	if p.status != http.StatusOK || m == nil {
		b.e.t.Fatalf("GET %s: %d, no CSRF token:\n%s", path, p.status, p.body)
	}
	return html.UnescapeString(m[1])
}

// signIn signs in through the sign-in form and returns the answer to the form's POST.
func (b *browser) signIn(email, pass string) page {
	b.e.t.Helper()
	return b.post("/console/signin", url.Values{"csrf": {b.csrf("/console/signin")}, "email": {email}, "password": {pass}})
}

// admin is a browser signed in as the admin.
func (e *env) adminBrowser() *browser {
	e.t.Helper()
	b := e.browser()
	if p := b.signIn(adminEmail, password); p.status != http.StatusSeeOther || p.loc != "/console" {
		e.t.Fatalf("admin sign-in: %d %q\n%s", p.status, p.loc, p.body)
	}
	return b
}

// send posts the compose form with the page's CSRF token.
func (b *browser) send(form url.Values) page {
	b.e.t.Helper()
	form.Set("csrf", b.csrf("/console/compose"))
	if form.Get("action") == "" && !form.Has("confirmed") { // the confirmation's button sends only confirmed
		form.Set("action", "send")
	}
	return b.post("/console/compose", form)
}

// cookie returns the browser's cookie called name for the console's paths.
func (b *browser) cookie(name string) string {
	u, _ := url.Parse(b.e.url + "/console")
	for _, c := range b.c.Jar.Cookies(u) {
		if c.Name == name {
			return c.Value
		}
	}
	return ""
}
