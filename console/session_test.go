package console_test

import (
	"crypto/tls"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/tideline-dev/tideline"
	"github.com/tideline-dev/tideline/app"
	"github.com/tideline-dev/tideline/auth"
	"github.com/tideline-dev/tideline/console"
	datasync "github.com/tideline-dev/tideline/sync"
)

func TestSignedOutVisitorsAreSentToSignIn(t *testing.T) {
	t.Parallel()
	e := newEnv(t, nil)
	b := e.browser()
	for path, want := range map[string]string{
		"/console":                  "/console/signin",
		"/console/compose":          "/console/signin?next=%2Fconsole%2Fcompose",
		"/console/campaigns/abc":    "/console/signin?next=%2Fconsole%2Fcampaigns%2Fabc",
		"/console/users?email=x":    "/console/signin?next=%2Fconsole%2Fusers",
		"/console/topics":           "/console/signin?next=%2Fconsole%2Ftopics",
		"/console/":                 "/console",
		"/console/users/u1/disable": "", // GET of a POST route
		"/console/data":             "/console/signin?next=%2Fconsole%2Fdata",
		"/console/data/documents?owner=ada@example.com": "/console/signin?next=%2Fconsole%2Fdata%2Fdocuments",
		"/console/data/document?collection=notes&id=n1": "/console/signin?next=%2Fconsole%2Fdata%2Fdocument",
		"/console/data/document/delete":                 "", // GET of a POST route
	} {
		p := b.get(path)
		if want == "" {
			if p.status != http.StatusNotFound {
				t.Errorf("GET %s: %d, want 404", path, p.status)
			}
			continue
		}
		if p.status != http.StatusSeeOther || p.loc != want {
			t.Errorf("GET %s: %d to %q, want a redirect to %q", path, p.status, p.loc, want)
		}
	}
	for _, path := range []string{"/console/audience?target=all", "/console/campaigns/x/progress"} {
		if p := b.get(path); p.status != http.StatusUnauthorized || !strings.HasPrefix(p.header.Get("Content-Type"), "application/json") {
			t.Errorf("GET %s: %d %s, want a JSON 401", path, p.status, p.header.Get("Content-Type"))
		}
	}
	// A POST without a session changes nothing and goes to sign in.
	if p := b.post("/console/signout", url.Values{}); p.status != http.StatusSeeOther || p.loc != "/console/signin" {
		t.Errorf("POST without a session: %d %q", p.status, p.loc)
	}
}

func TestSignIn(t *testing.T) {
	t.Parallel()
	e := newEnv(t, nil)
	b := e.browser()
	form := b.get("/console/signin")
	if form.status != http.StatusOK || !form.has(`<label for="email">Email</label>`) || !form.has(`autocomplete="current-password"`) {
		t.Fatalf("sign-in page %d:\n%s", form.status, form.body)
	}
	if b.cookie("tl_console_login") == "" {
		t.Fatal("no login cookie, which the form's CSRF token is bound to")
	}

	wrong := b.signIn(adminEmail, "not the password")
	if wrong.status != http.StatusUnauthorized || !wrong.has("The email or password is wrong.") || b.cookie("tl_console_access") != "" {
		t.Fatalf("wrong password: %d\n%s", wrong.status, wrong.body)
	}
	unknown := b.signIn("nobody@example.com", password)
	if unknown.status != http.StatusUnauthorized || !unknown.has("The email or password is wrong.") {
		t.Fatalf("unknown email: %d, must answer as a wrong password", unknown.status)
	}
	if p := b.signIn("not an email", password); p.status != http.StatusBadRequest {
		t.Fatalf("malformed email: %d", p.status)
	}

	ok := b.signIn(adminEmail, password)
	if ok.status != http.StatusSeeOther || ok.loc != "/console" {
		t.Fatalf("sign in: %d %q\n%s", ok.status, ok.loc, ok.body)
	}
	for _, c := range strings.Split(strings.Join(ok.header.Values("Set-Cookie"), "\n"), "\n") {
		if !strings.HasPrefix(c, "tl_console_access=") && !strings.HasPrefix(c, "tl_console_refresh=") {
			continue
		}
		for _, attr := range []string{"Path=/console", "HttpOnly", "SameSite=Strict"} {
			if !strings.Contains(c, attr) {
				t.Errorf("cookie %q lacks %s", c, attr)
			}
		}
		if strings.Contains(c, "Secure") || strings.Contains(c, "Max-Age") || strings.Contains(c, "Expires") {
			t.Errorf("cookie %q over plain HTTP: no Secure; a browser-session cookie", c)
		}
	}
	home := b.get("/console")
	if home.status != http.StatusOK || !home.has(adminEmail) || !home.has("Sign out") {
		t.Fatalf("overview after sign-in: %d\n%s", home.status, home.body)
	}
	// The console's session is an auth session, named as such.
	sessions, err := e.auth.UserSessions(t.Context(), e.admin.ID)
	if err != nil || len(sessions) != 1 || sessions[0].DeviceName != "Tideline console" || sessions[0].Platform != "web" {
		t.Fatalf("sessions %+v %v", sessions, err)
	}
	// Signed in, the sign-in page goes on.
	if p := b.get("/console/signin?next=/console/topics"); p.status != http.StatusSeeOther || p.loc != "/console/topics" {
		t.Fatalf("sign-in page when signed in: %d %q", p.status, p.loc)
	}
}

func TestSignInGoesBackWhereItCameFrom(t *testing.T) {
	t.Parallel()
	e := newEnv(t, nil)
	for next, want := range map[string]string{
		"/console/topics":        "/console/topics",
		"https://evil.example/":  "/console",
		"//evil.example/console": "/console",
		"/console//evil.example": "/console",
		"/consolex":              "/console",
		"/console/signin":        "/console",
	} {
		b := e.browser()
		p := b.post("/console/signin", url.Values{"csrf": {b.csrf("/console/signin")}, "email": {adminEmail}, "password": {password}, "next": {next}})
		if p.status != http.StatusSeeOther || p.loc != want {
			t.Errorf("next %q: %d to %q, want %q", next, p.status, p.loc, want)
		}
	}
}

func TestSignInRefusesNonAdmins(t *testing.T) {
	t.Parallel()
	e := newEnv(t, nil)
	ada := e.user("ada@example.com")
	b := e.browser()
	p := b.signIn("ada@example.com", password)
	if p.status != http.StatusForbidden || !p.has("does not have the admin role") || b.cookie("tl_console_access") != "" {
		t.Fatalf("non-admin: %d\n%s", p.status, p.body)
	}
	sessions, err := e.auth.UserSessions(t.Context(), ada.User.ID)
	if err != nil || len(sessions) != 1 || sessions[0].ID != ada.Tokens.SessionID {
		t.Fatalf("the non-admin's console session was not ended: %+v %v", sessions, err)
	}
}

func TestSignInNeedsItsCSRFToken(t *testing.T) {
	t.Parallel()
	e := newEnv(t, nil)
	b := e.browser()
	token := b.csrf("/console/signin")
	for name, form := range map[string]url.Values{
		"NoToken":    {"email": {adminEmail}, "password": {password}},
		"WrongToken": {"csrf": {"x" + token}, "email": {adminEmail}, "password": {password}},
	} {
		if p := b.post("/console/signin", form); p.status != http.StatusForbidden || b.cookie("tl_console_access") != "" {
			t.Errorf("%s: %d, signed in anyway", name, p.status)
		}
	}
	// Another browser's token (no login cookie here) does not work either.
	other := e.browser()
	if p := other.post("/console/signin", url.Values{"csrf": {token}, "email": {adminEmail}, "password": {password}}); p.status != http.StatusForbidden {
		t.Errorf("a token without its cookie: %d", p.status)
	}
}

func TestSignInIsRateLimited(t *testing.T) {
	t.Parallel()
	e := newEnv(t, func(c *app.Config) {
		c.Auth.Limits = &auth.Limits{LoginFailures: auth.Rate{Burst: 2, Per: time.Hour}}
	})
	b := e.browser()
	for range 2 {
		if p := b.signIn(adminEmail, "wrong"); p.status != http.StatusUnauthorized {
			t.Fatalf("wrong password: %d", p.status)
		}
	}
	p := b.signIn(adminEmail, password)
	if p.status != http.StatusTooManyRequests || !p.has("Too many failed sign-ins") || !p.has("(the limit is set by auth.limits.loginFailures)") {
		t.Fatalf("after the failures: %d\n%s", p.status, p.body)
	}
}

func TestSecureCookiesOverTLS(t *testing.T) {
	t.Parallel()
	e := newEnv(t, nil)
	c, err := console.New(console.Config{Auth: e.auth, Push: e.push, Secret: []byte(strings.Repeat("s", 32))})
	if err != nil {
		t.Fatal(err)
	}
	direct := httptest.NewRequest(http.MethodGet, "https://console.example/console/signin", nil)
	direct.TLS = &tls.ConnectionState{}
	proxied := httptest.NewRequest(http.MethodGet, "http://10.0.0.5/console/signin", nil)
	proxied.Header.Set("X-Forwarded-Proto", "https") // a proxy that terminates TLS
	for name, req := range map[string]*http.Request{"TLS": direct, "TLS at a proxy": proxied} {
		rec := httptest.NewRecorder()
		c.ServeHTTP(rec, req)
		if ck := rec.Header().Get("Set-Cookie"); !strings.Contains(ck, "; Secure") || !strings.Contains(ck, "HttpOnly") {
			t.Fatalf("cookie over %s: %q", name, ck)
		}
	}
}

func TestSignOut(t *testing.T) {
	t.Parallel()
	e := newEnv(t, nil)
	b := e.adminBrowser()
	access := b.cookie("tl_console_access")
	if p := b.post("/console/signout", url.Values{}); p.status != http.StatusForbidden || !p.has("This form has expired") {
		t.Fatalf("sign-out without the CSRF token: %d", p.status)
	}
	if _, err := e.auth.Authenticate(t.Context(), access); err != nil {
		t.Fatalf("a refused sign-out ended the session: %v", err)
	}
	p := b.post("/console/signout", url.Values{"csrf": {b.csrf("/console")}})
	if p.status != http.StatusSeeOther || p.loc != "/console/signin" || b.cookie("tl_console_access") != "" || b.cookie("tl_console_refresh") != "" {
		t.Fatalf("sign out: %d %q", p.status, p.loc)
	}
	if _, err := e.auth.Authenticate(t.Context(), access); tideline.ErrorCode(err) != tideline.CodeUnauthenticated {
		t.Fatalf("the auth session survived the sign-out: %v", err)
	}
	if p := b.get("/console"); p.status != http.StatusSeeOther {
		t.Fatalf("after signing out: %d", p.status)
	}
}

// The console's session is the auth session: revoking it, disabling the admin or taking
// the admin role away ends it.
func TestConsoleSessionFollowsAuth(t *testing.T) {
	t.Parallel()
	e := newEnv(t, nil)
	other, _, err := e.auth.CreateAdmin(t.Context(), "ops@example.com", password, "test", false)
	if err != nil {
		t.Fatal(err)
	}
	login, err := e.auth.Login(t.Context(), "ops@example.com", password, auth.Client{})
	if err != nil {
		t.Fatal(err)
	}
	ops, err := e.auth.Authenticate(t.Context(), login.Tokens.AccessToken)
	if err != nil {
		t.Fatal(err)
	}

	t.Run("Revoked", func(t *testing.T) {
		b := e.adminBrowser()
		sessions, _ := e.auth.UserSessions(t.Context(), e.admin.ID)
		if err := e.auth.RevokeUserSession(t.Context(), ops, e.admin.ID, sessions[0].ID, auth.Client{}); err != nil {
			t.Fatal(err)
		}
		if p := b.get("/console"); p.status != http.StatusSeeOther || b.cookie("tl_console_refresh") != "" {
			t.Fatalf("after revocation: %d, cookies left", p.status)
		}
	})
	t.Run("RoleTakenAway", func(t *testing.T) {
		b := e.adminBrowser()
		none := []string{}
		if _, err := e.auth.UpdateUser(t.Context(), ops, e.admin.ID, auth.AdminUserUpdate{Roles: &none}, auth.Client{}); err != nil {
			t.Fatal(err)
		}
		if p := b.get("/console"); p.status != http.StatusForbidden || !p.has("does not have the admin role") {
			t.Fatalf("after losing the role: %d", p.status)
		}
		admin := []string{auth.RoleAdmin}
		if _, err := e.auth.UpdateUser(t.Context(), ops, e.admin.ID, auth.AdminUserUpdate{Roles: &admin}, auth.Client{}); err != nil {
			t.Fatal(err)
		}
	})
	t.Run("Disabled", func(t *testing.T) {
		b := e.adminBrowser()
		yes := true
		if _, err := e.auth.UpdateUser(t.Context(), ops, e.admin.ID, auth.AdminUserUpdate{Disabled: &yes}, auth.Client{}); err != nil {
			t.Fatal(err)
		}
		if p := b.get("/console"); p.status != http.StatusSeeOther {
			t.Fatalf("after being disabled: %d", p.status)
		}
	})
	_ = other
}

// An expired access token is refreshed with the refresh token, as an app does, and the
// cookies carry the new pair.
func TestAccessTokenIsRefreshed(t *testing.T) {
	t.Parallel()
	e := newEnv(t, nil)
	b := e.adminBrowser()
	access, refresh := b.cookie("tl_console_access"), b.cookie("tl_console_refresh")
	e.clock.Advance(16 * time.Minute)
	if p := b.get("/console"); p.status != http.StatusOK {
		t.Fatalf("after the access token expired: %d", p.status)
	}
	if b.cookie("tl_console_access") == access || b.cookie("tl_console_refresh") == refresh {
		t.Fatal("the tokens were not rotated")
	}
	e.clock.Advance(16 * time.Minute)
	if p := b.get("/console/topics"); p.status != http.StatusOK {
		t.Fatalf("second refresh: %d", p.status)
	}
	// The old refresh token, replayed, is refused (and revokes the session, as for an app).
	if _, err := e.auth.Refresh(t.Context(), refresh, auth.Client{}); tideline.ErrorCode(err) != tideline.CodeRefreshTokenReused {
		t.Fatalf("replayed refresh token: %v", err)
	}
	if p := b.get("/console"); p.status != http.StatusSeeOther {
		t.Fatalf("after the reuse revoked the session: %d", p.status)
	}
}

// Every POST of the console needs the session's CSRF token: without it, or with another
// session's, nothing happens.
func TestEveryFormNeedsTheCSRFToken(t *testing.T) {
	t.Parallel()
	e := newEnv(t, nil)
	ada := e.user("ada@example.com")
	d := e.device(ada, "phone", "android", "tok-1")
	e.write(ada, "phone", 1, "notes", map[string]map[string]any{"n1": {"t": "x"}})
	b := e.adminBrowser()
	other := e.adminBrowser()
	otherToken := other.csrf("/console")
	queued := b.send(url.Values{"title": {"Hi"}, "target": {"all"}, "when": {"later"}, "sendAt": {"2026-06-01T09:00"}})
	if queued.status != http.StatusSeeOther {
		t.Fatalf("queue: %d\n%s", queued.status, queued.body)
	}
	id := strings.TrimSuffix(strings.TrimPrefix(queued.loc, "/console/campaigns/"), "?done=queued")
	posts := map[string]url.Values{
		"/console/signout":                     {},
		"/console/compose":                     {"title": {"Hi"}, "target": {"all"}, "action": {"send"}},
		"/console/campaigns/" + id + "/cancel": {},
		"/console/users/" + ada.User.ID + "/sessions/" + ada.Tokens.SessionID + "/revoke": {},
		"/console/users/" + ada.User.ID + "/disable":                                      {"disabled": {"true"}},
		"/console/users/" + ada.User.ID + "/devices/" + d.ID + "/test":                    {"title": {"x"}},
		"/console/data/document/delete":                                                   {"collection": {"notes"}, "scope": {ada.User.ID}, "id": {"n1"}, "confirmed": {"yes"}},
	}
	for path, form := range posts {
		for name, token := range map[string]string{"none": "", "another session's": otherToken, "forged": "AAAA"} {
			f := url.Values{}
			for k, v := range form {
				f[k] = v
			}
			if token != "" {
				f.Set("csrf", token)
			}
			if p := b.post(path, f); p.status != http.StatusForbidden || !p.has("This form has expired") {
				t.Errorf("POST %s with %s token: %d", path, name, p.status)
			}
		}
	}
	if n := len(e.campaigns()); n != 1 {
		t.Errorf("%d campaigns, want the one queued", n)
	}
	if v, _ := e.push.GetCampaign(t.Context(), id); v.Status != "queued" {
		t.Errorf("campaign %s", v.Status)
	}
	if u, _ := e.auth.GetUser(t.Context(), ada.User.ID); u.Disabled {
		t.Error("the user was disabled")
	}
	if s, _ := e.auth.UserSessions(t.Context(), ada.User.ID); len(s) != 1 {
		t.Error("the session was revoked")
	}
	if doc, _ := e.app.Sync.Document(t.Context(), datasync.DocRef{Collection: "notes", Scope: ada.User.ID, ID: "n1"}); doc.Deleted {
		t.Error("the document was deleted")
	}
	if p := b.get("/console"); p.status != http.StatusOK {
		t.Error("signed out")
	}
}

func TestSecurityHeaders(t *testing.T) {
	t.Parallel()
	e := newEnv(t, nil)
	b := e.adminBrowser()
	for _, path := range []string{"/console", "/console/signin", "/console/compose", "/console/nothing-here"} {
		p := b.get(path)
		csp := p.header.Get("Content-Security-Policy")
		if !strings.Contains(csp, "script-src 'self'") || strings.Contains(csp, "unsafe-inline") || !strings.Contains(csp, "frame-ancestors 'none'") {
			t.Errorf("%s: CSP %q", path, csp)
		}
		if p.header.Get("Cache-Control") != "no-store" || p.header.Get("X-Frame-Options") != "DENY" {
			t.Errorf("%s: headers %v", path, p.header)
		}
	}
	if p := b.get("/console/nothing-here"); p.status != http.StatusNotFound || !p.has("There is no page here.") {
		t.Errorf("unknown page: %d", p.status)
	}
}
