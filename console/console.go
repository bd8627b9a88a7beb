// Package console is the admin console served at /console (push campaigns, users and
// devices, the data browser, sync health): server-rendered pages
// (html/template, so every user-supplied text is escaped) with a little JavaScript for the
// live preview, the audience count and the progress bar. Every page works without it.
// Its stylesheet and script are embedded in the binary: no CDN, no build step.
//
// An admin signs in with the email and password of a user with the admin role. The
// console's session is the auth service's own session: its access and refresh tokens live
// in HttpOnly cookies scoped to /console, so revoking the session (or disabling the user,
// or taking the admin role away) ends the console session too. Every form carries a CSRF
// token bound to the session (see session.go).
//
// The console holds no state of its own: any node of a deployment serves any request.
package console

import (
	"cmp"
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"errors"
	"fmt"
	"html/template"
	"io"
	"io/fs"
	"log/slog"
	"mime"
	"net/http"
	"path"
	"slices"
	"strings"
	"time"

	"github.com/tideline-dev/tideline"
	"github.com/tideline-dev/tideline/auth"
	"github.com/tideline-dev/tideline/push"
	datasync "github.com/tideline-dev/tideline/sync"
)

// Prefix is the path the console is served under.
const Prefix = "/console"

// DefaultConfirmAbove is how many devices a campaign may reach before sending it asks for
// confirmation, unless configured.
const DefaultConfirmAbove = 10000

// Config configures the console. Auth, Push and Secret are required.
type Config struct {
	Auth *auth.Service
	Push *push.Service
	// Sync and Hub, when set, give the overview its sync status (collections, the
	// watermark, this node's realtime streams).
	Sync *datasync.Service
	Hub  *datasync.Hub
	// Secret keys the CSRF tokens (HMAC-SHA256), at least 32 bytes. Every node of a
	// deployment needs the same one: cmd/api keeps it in the store.
	Secret []byte
	// ConfirmAbove: sending to more devices than this asks for confirmation first
	// (DefaultConfirmAbove); negative asks for every campaign.
	ConfirmAbove int
	// PushToLog says push messages go to the server's log, not to devices (no push
	// provider is set up): every page says so, so that "sent" is not misread.
	PushToLog bool
	// Files, when set, gives a document's page its attachments (an image preview) and a
	// user's page their storage against the quota.
	Files Files
	// Clock is the time (the system clock); the auth service keeps its own.
	Clock tideline.Clock
	// Logger receives failures (nil discards them).
	Logger *slog.Logger
}

// Console is the admin console, an http.Handler for the paths under Prefix. It takes the
// client's address from Request.RemoteAddr: the server that mounts it sets that to the
// client's IP as its trusted proxies say (see httpapi), so the sign-in rate limits count
// the right client.
type Console struct {
	cfg    Config
	log    *slog.Logger
	clock  tideline.Clock
	mux    *http.ServeMux
	pages  map[string]*template.Template
	static map[string]asset
}

//go:embed templates/*.html
var templateFS embed.FS

//go:embed static
var staticFS embed.FS

// asset is an embedded file with its content hash, which versions its URL.
type asset struct {
	body        []byte
	contentType string
	version     string
}

// New returns the console.
func New(cfg Config) (*Console, error) {
	if cfg.Auth == nil || cfg.Push == nil {
		return nil, errors.New("console: Config.Auth and Config.Push are required")
	}
	if len(cfg.Secret) < 32 {
		return nil, errors.New("console: Config.Secret must be at least 32 bytes")
	}
	if cfg.ConfirmAbove == 0 {
		cfg.ConfirmAbove = DefaultConfirmAbove
	}
	if cfg.Clock == nil {
		cfg.Clock = tideline.SystemClock{}
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	c := &Console{cfg: cfg, log: cfg.Logger, clock: cfg.Clock, static: map[string]asset{}}
	if err := c.loadStatic(); err != nil {
		return nil, err
	}
	if err := c.loadPages(); err != nil {
		return nil, err
	}
	c.routes()
	return c, nil
}

func (c *Console) routes() {
	m := http.NewServeMux()
	m.HandleFunc("GET "+Prefix, c.admin(c.overview))
	m.HandleFunc("GET "+Prefix+"/{$}", func(w http.ResponseWriter, r *http.Request) { http.Redirect(w, r, Prefix, http.StatusSeeOther) })
	m.HandleFunc("GET "+Prefix+"/signin", c.signInPage)
	m.HandleFunc("POST "+Prefix+"/signin", c.signIn)
	m.HandleFunc("POST "+Prefix+"/signout", c.admin(c.signOut))
	m.HandleFunc("GET "+Prefix+"/compose", c.admin(c.composePage))
	m.HandleFunc("POST "+Prefix+"/compose", c.admin(c.compose))
	m.HandleFunc("GET "+Prefix+"/audience", c.adminJSON(c.audience))
	m.HandleFunc("GET "+Prefix+"/campaigns", c.admin(c.campaigns))
	m.HandleFunc("GET "+Prefix+"/campaigns/{id}", c.admin(c.campaign))
	m.HandleFunc("GET "+Prefix+"/campaigns/{id}/progress", c.adminJSON(c.progress))
	m.HandleFunc("POST "+Prefix+"/campaigns/{id}/cancel", c.admin(c.cancel))
	m.HandleFunc("GET "+Prefix+"/users", c.admin(c.users))
	m.HandleFunc("GET "+Prefix+"/users/{id}", c.admin(c.user))
	m.HandleFunc("POST "+Prefix+"/users/{id}/sessions/{sid}/revoke", c.admin(c.revokeSession))
	m.HandleFunc("POST "+Prefix+"/users/{id}/disable", c.admin(c.setDisabled))
	m.HandleFunc("POST "+Prefix+"/users/{id}/devices/{did}/test", c.admin(c.testPush))
	m.HandleFunc("GET "+Prefix+"/topics", c.admin(c.topics))
	m.HandleFunc("GET "+Prefix+"/data", c.admin(c.collections))
	m.HandleFunc("GET "+Prefix+"/data/documents", c.admin(c.documents))
	m.HandleFunc("GET "+Prefix+"/data/document", c.admin(c.document))
	m.HandleFunc("POST "+Prefix+"/data/document/delete", c.admin(c.deleteDocument))
	m.HandleFunc("GET "+Prefix+"/data/file", c.admin(c.file))
	m.HandleFunc("GET "+Prefix+"/static/{name}", c.serveStatic)
	m.HandleFunc(Prefix+"/", func(w http.ResponseWriter, r *http.Request) {
		c.renderError(w, r, nil, tideline.Errorf(tideline.CodeNotFound, "There is no page here."))
	})
	c.mux = m
}

// csp allows the console's own script and stylesheet, and https images (the preview shows
// the notification's image).
const csp = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data: https:; connect-src 'self'; " +
	"form-action 'self'; frame-ancestors 'none'; base-uri 'none'"

// ServeHTTP serves the console's pages.
func (c *Console) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	h := w.Header()
	h.Set("Content-Security-Policy", csp)
	h.Set("X-Frame-Options", "DENY")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Referrer-Policy", "same-origin")
	h.Set("Cache-Control", "no-store")
	c.mux.ServeHTTP(w, r)
}

func (c *Console) loadStatic() error {
	return fs.WalkDir(staticFS, "static", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		body, err := staticFS.ReadFile(p)
		if err != nil {
			return err
		}
		sum := sha256.Sum256(body)
		c.static[path.Base(p)] = asset{body: body, contentType: mime.TypeByExtension(path.Ext(p)), version: hex.EncodeToString(sum[:6])}
		return nil
	})
}

// serveStatic serves an embedded asset. Pages link it with its content hash (?v=), so a
// versioned URL may be cached for good.
func (c *Console) serveStatic(w http.ResponseWriter, r *http.Request) {
	a, ok := c.static[r.PathValue("name")]
	if !ok {
		http.NotFound(w, r)
		return
	}
	if r.URL.Query().Get("v") == a.version {
		w.Header().Set("Cache-Control", "public, max-age=31536000, immutable")
	}
	w.Header().Set("Content-Type", a.contentType)
	_, _ = w.Write(a.body)
}

// assetURL is the versioned URL of an embedded asset.
func (c *Console) assetURL(name string) string {
	return Prefix + "/static/" + name + "?v=" + c.static[name].version
}

func (c *Console) loadPages() error {
	funcs := template.FuncMap{
		"asset":   c.assetURL,
		"when":    formatTime,
		"ago":     func(t time.Time) string { return ago(c.clock.Now(), t) },
		"target":  targetSummary,
		"percent": percent,
		"join":    strings.Join,
		"bytes":   byteSize,
		"inc":     func(i int) int { return i + 1 },
		"unit":    unit,
		"has":     slices.Contains[[]string],
		"doclink": docLink,
		"platforms": func() []string {
			return []string{push.PlatformAndroid, push.PlatformIOS, push.PlatformWeb}
		},
	}
	names, err := fs.Glob(templateFS, "templates/*.html")
	if err != nil {
		return err
	}
	c.pages = map[string]*template.Template{}
	for _, n := range names {
		name := strings.TrimSuffix(path.Base(n), ".html")
		if name == "layout" {
			continue
		}
		t, err := template.New(name).Funcs(funcs).ParseFS(templateFS, "templates/layout.html", n)
		if err != nil {
			return fmt.Errorf("console: template %s: %w", name, err)
		}
		c.pages[name] = t
	}
	return nil
}

// view is what every page's template gets.
type view struct {
	Title string
	// Nav is the section of the page, highlighted in the navigation.
	Nav string
	// Admin is the signed-in admin (nil on the sign-in page).
	Admin *auth.User
	// CSRF is the token every form of the page carries.
	CSRF string
	// Notice is a message about what the last action did; Error one about what failed.
	Notice, Error string
	// Refresh, when set, reloads the page every so many seconds for browsers without
	// JavaScript (a campaign that is sending).
	Refresh int
	// Data is the page's own.
	Data any
	// PushToLog: push messages go to the server's log (Config.PushToLog).
	PushToLog bool
}

// render writes page with v, as status.
func (c *Console) render(w http.ResponseWriter, r *http.Request, status int, page string, v view) {
	t, ok := c.pages[page]
	if !ok {
		panic("console: no page " + page)
	}
	v.PushToLog = c.cfg.PushToLog
	var b strings.Builder
	if err := t.ExecuteTemplate(&b, "layout", v); err != nil {
		c.log.ErrorContext(r.Context(), "console: render", "page", page, "err", err.Error())
		http.Error(w, "An internal error occurred.", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(status)
	_, _ = io.WriteString(w, b.String())
}

// errorStatus is the HTTP status of err (tideline.HTTPStatus), for an answer being written
// to w, which also gets the Retry-After the API would send (429s, and errors that say).
func errorStatus(w http.ResponseWriter, err error) int {
	status, _ := tideline.HTTPStatus(err)
	if ra, ok := tideline.RetryAfterHeader(err, status); ok {
		w.Header().Set("Retry-After", ra)
	}
	return status
}

// errorText is what an admin is told of err: its client-safe message, the setting that sets
// a rate limit (admins run the server), and for an internal error the request id to look
// for in the log (which has the cause).
func errorText(w http.ResponseWriter, err error) string {
	msg := tideline.ErrorMessage(err)
	if setting := tideline.LimitSetting(err); setting != "" {
		msg += " (the limit is set by " + setting + ")"
	}
	if status, _ := tideline.HTTPStatus(err); status >= 500 {
		if id := w.Header().Get("X-Request-Id"); id != "" {
			msg += " (request " + id + ")"
		}
	}
	return msg
}

// renderError shows an error page; s is the admin's session, nil when signed out.
func (c *Console) renderError(w http.ResponseWriter, r *http.Request, s *session, err error) {
	status := errorStatus(w, err)
	if status >= 500 {
		c.log.ErrorContext(r.Context(), "console", "path", r.URL.Path, "request_id", w.Header().Get("X-Request-Id"), "err", err.Error())
	}
	v := view{Title: http.StatusText(status), Error: errorText(w, err)}
	if s != nil {
		v.Admin, v.CSRF = &s.user, s.csrf
	}
	c.render(w, r, status, "error", v)
}

// unit is the name of what a count of n counts: unit for 1, else its plural ("1 poke",
// "2 pokes", "0 pokes"), as plural writes them whole.
func unit(n any, unit string) string {
	if fmt.Sprint(n) == "1" {
		return unit
	}
	return unit + "s"
}

func formatTime(t time.Time) string {
	if t.IsZero() {
		return "—"
	}
	return t.UTC().Format("2006-01-02 15:04 UTC")
}

// ago says how long before now t was, roughly.
func ago(now, t time.Time) string {
	if t.IsZero() {
		return "never"
	}
	d := now.Sub(t)
	switch {
	case d < time.Minute:
		return "just now"
	case d < time.Hour:
		return plural(int(d/time.Minute), "minute") + " ago"
	case d < 48*time.Hour:
		return plural(int(d/time.Hour), "hour") + " ago"
	}
	return plural(int(d/(24*time.Hour)), "day") + " ago"
}

func plural(n int, unit string) string {
	if n == 1 {
		return "1 " + unit
	}
	return fmt.Sprintf("%d %ss", n, unit)
}

func percent(part, whole int) int {
	if whole <= 0 {
		return 0
	}
	return min(100, part*100/whole)
}

// targetSummary describes a campaign's audience in a few words.
func targetSummary(t push.Target) string {
	switch {
	case t.All:
		return "All devices"
	case len(t.UserIDs) > 0:
		return plural(len(t.UserIDs), "user")
	case len(t.DeviceIDs) > 0:
		return plural(len(t.DeviceIDs), "device")
	case t.Topic != "":
		return "Topic " + t.Topic
	case t.Segment != nil:
		var parts []string
		g := t.Segment
		if len(g.Platforms) > 0 {
			parts = append(parts, strings.Join(g.Platforms, ", "))
		}
		if g.MinAppVersion != "" || g.MaxAppVersion != "" {
			parts = append(parts, "version "+cmp.Or(g.MinAppVersion, "any")+"–"+cmp.Or(g.MaxAppVersion, "any"))
		}
		if len(g.Locales) > 0 {
			parts = append(parts, "locales "+strings.Join(g.Locales, ", "))
		}
		switch {
		case g.SeenWithin >= 24*time.Hour:
			parts = append(parts, "seen within "+plural(int(g.SeenWithin/(24*time.Hour)), "day"))
		case g.SeenWithin > 0:
			parts = append(parts, "seen within "+g.SeenWithin.String())
		}
		if len(parts) == 0 {
			return "Segment: all devices"
		}
		return "Segment: " + strings.Join(parts, "; ")
	}
	return "—"
}
