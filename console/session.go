package console

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"net"
	"net/http"
	"net/url"
	"strings"

	"github.com/tideline-dev/tideline"
	"github.com/tideline-dev/tideline/auth"
)

// The console's session is an auth session, signed in with Login like any app's. Its
// tokens travel in three cookies, all HttpOnly (no script can read them), SameSite=Strict
// (no other site's page can send them), Path=/console (the API never sees them) and Secure
// when the request came over TLS (see overTLS):
//
//   - cookieAccess: the access token (15 minutes). Every request checks it with
//     auth.Authenticate, which sees a revoked session, a disabled user and the current
//     roles within auth.sessionCheckTTL.
//   - cookieRefresh: the refresh token. When the access token has expired it is exchanged
//     (auth.Refresh, rotating it as an app does) and both cookies are replaced.
//   - cookieLogin: a random value before sign-in, which the sign-in form's CSRF token is
//     bound to.
//
// The cookies are browser-session cookies: closing the browser signs out. Nothing is kept
// in the node's memory, so any node serves any request.
//
// CSRF: every form carries a token, HMAC-SHA256(Config.Secret, session id), checked on
// every POST; the sign-in form's is bound to cookieLogin instead. A page on another site can
// neither read the token nor, with SameSite=Strict, send the cookies.
const (
	cookieAccess  = "tl_console_access"
	cookieRefresh = "tl_console_refresh"
	cookieLogin   = "tl_console_login"
	// csrfField is the name of the CSRF token in forms.
	csrfField = "csrf"
)

// session is a signed-in admin.
type session struct {
	p    auth.Principal
	user auth.User
	csrf string
}

// client describes the request for the auth service (sessions and the audit log record
// it, rate limits count it).
func client(r *http.Request) auth.Client {
	ip := r.RemoteAddr
	if host, _, err := net.SplitHostPort(ip); err == nil {
		ip = host
	}
	return auth.Client{IP: ip, UserAgent: r.UserAgent(), DeviceName: "Tideline console", Platform: "web"}
}

func (c *Console) mac(parts ...string) string {
	m := hmac.New(sha256.New, c.cfg.Secret)
	m.Write([]byte(strings.Join(parts, "\x00")))
	return base64.RawURLEncoding.EncodeToString(m.Sum(nil))
}

func (c *Console) setCookie(w http.ResponseWriter, r *http.Request, name, value string) {
	maxAge := 0
	if value == "" {
		maxAge = -1
	}
	http.SetCookie(w, &http.Cookie{Name: name, Value: value, Path: Prefix, MaxAge: maxAge,
		HttpOnly: true, Secure: overTLS(r), SameSite: http.SameSiteStrictMode})
}

// overTLS reports whether the browser reached the console over TLS: the server's own, or a
// proxy's that terminates TLS and says so in X-Forwarded-Proto. A client that sends the
// header itself over plain HTTP only gets Secure cookies, which its browser then refuses
// to keep: it cannot sign in, and harms nobody else.
func overTLS(r *http.Request) bool {
	return r.TLS != nil || strings.EqualFold(r.Header.Get("X-Forwarded-Proto"), "https")
}

func cookie(r *http.Request, name string) string {
	if ck, err := r.Cookie(name); err == nil {
		return ck.Value
	}
	return ""
}

func (c *Console) clearSession(w http.ResponseWriter, r *http.Request) {
	c.setCookie(w, r, cookieAccess, "")
	c.setCookie(w, r, cookieRefresh, "")
}

// current returns the admin signed in by the request's cookies, refreshing the access
// token when it has expired. It fails with unauthenticated when nobody is signed in (or
// the session has ended; the cookies are then cleared), and with forbidden when the user
// is not an admin (any more).
func (c *Console) current(w http.ResponseWriter, r *http.Request) (*session, error) {
	ctx := r.Context()
	access, refresh := cookie(r, cookieAccess), cookie(r, cookieRefresh)
	if access == "" && refresh == "" {
		return nil, tideline.Errorf(tideline.CodeUnauthenticated, "Sign in first.")
	}
	p, err := c.cfg.Auth.Authenticate(ctx, access)
	if err != nil && refresh != "" && tideline.ErrorCode(err) == tideline.CodeUnauthenticated {
		var res auth.Result
		if res, err = c.cfg.Auth.Refresh(ctx, refresh, client(r)); err == nil {
			c.setCookie(w, r, cookieAccess, res.Tokens.AccessToken)
			c.setCookie(w, r, cookieRefresh, res.Tokens.RefreshToken)
			p, err = c.cfg.Auth.Authenticate(ctx, res.Tokens.AccessToken)
		}
	}
	switch tideline.ErrorCode(err) {
	case "":
	case tideline.CodeUnauthenticated, tideline.CodeRefreshTokenReused, tideline.CodeAccountDisabled:
		c.clearSession(w, r)
		return nil, tideline.Errorf(tideline.CodeUnauthenticated, "Your session has ended; sign in again.")
	default:
		return nil, err
	}
	if !p.Admin() || p.SessionID == "" {
		return nil, tideline.Errorf(tideline.CodeForbidden, "Your account does not have the admin role.")
	}
	u, err := c.cfg.Auth.GetUser(ctx, p.UserID)
	if err != nil {
		return nil, err
	}
	return &session{p: p, user: u, csrf: c.mac("csrf", p.SessionID)}, nil
}

// admin wraps a page handler: a visitor who is not signed in is sent to the sign-in page
// (and back here after), one who is not an admin gets 403, and a POST without the
// session's CSRF token gets 403 and changes nothing.
func (c *Console) admin(h func(http.ResponseWriter, *http.Request, *session)) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		s, err := c.current(w, r)
		switch tideline.ErrorCode(err) {
		case "":
		case tideline.CodeUnauthenticated:
			next := r.URL.Path
			if r.Method != http.MethodGet || next == Prefix {
				next = ""
			}
			target := Prefix + "/signin"
			if next != "" {
				target += "?next=" + url.QueryEscape(next)
			}
			http.Redirect(w, r, target, http.StatusSeeOther)
			return
		default:
			c.renderError(w, r, nil, err)
			return
		}
		if r.Method == http.MethodPost && !hmac.Equal([]byte(r.PostFormValue(csrfField)), []byte(s.csrf)) {
			c.renderError(w, r, s, errCSRF)
			return
		}
		h(w, r, s)
	}
}

var errCSRF = tideline.Errorf(tideline.CodeForbidden, "This form has expired or was sent from another site, so nothing was done. Go back, reload the page and try again.")

// adminJSON wraps a JSON endpoint (for the pages' scripts): 401 or 403 with a JSON error
// instead of a redirect.
func (c *Console) adminJSON(h func(http.ResponseWriter, *http.Request, *session)) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		s, err := c.current(w, r)
		if err != nil {
			writeJSON(w, errorStatus(w, err), map[string]string{"error": errorText(w, err)})
			return
		}
		h(w, r, s)
	}
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

type signInData struct {
	Email, Next string
}

// signInPage shows the sign-in form, or goes on to the console when already signed in.
func (c *Console) signInPage(w http.ResponseWriter, r *http.Request) {
	next := safeNext(r.URL.Query().Get("next"))
	if s, err := c.current(w, r); err == nil && s != nil {
		http.Redirect(w, r, next, http.StatusSeeOther)
		return
	}
	c.renderSignIn(w, r, http.StatusOK, signInData{Next: next}, "")
}

func (c *Console) renderSignIn(w http.ResponseWriter, r *http.Request, status int, d signInData, msg string) {
	nonce := cookie(r, cookieLogin)
	if len(nonce) != 43 {
		b := make([]byte, 32)
		_, _ = rand.Read(b)
		nonce = base64.RawURLEncoding.EncodeToString(b)
		c.setCookie(w, r, cookieLogin, nonce)
	}
	c.render(w, r, status, "signin", view{Title: "Sign in", CSRF: c.mac("login", nonce), Error: msg, Data: d})
}

// signIn checks the form's CSRF token, signs in with auth.Login (rate limited per IP and
// per account; the answer never says whether the email has an account) and lets in only
// users with the admin role: another user's new session is ended at once.
func (c *Console) signIn(w http.ResponseWriter, r *http.Request) {
	d := signInData{Email: r.PostFormValue("email"), Next: safeNext(r.PostFormValue("next"))}
	nonce := cookie(r, cookieLogin)
	if nonce == "" || !hmac.Equal([]byte(r.PostFormValue(csrfField)), []byte(c.mac("login", nonce))) {
		c.renderSignIn(w, r, http.StatusForbidden, d, "This form has expired or was sent from another site. Sign in again.")
		return
	}
	cl := client(r)
	res, err := c.cfg.Auth.Login(r.Context(), d.Email, r.PostFormValue("password"), cl)
	if err != nil {
		msg := errorText(w, err)
		if tideline.ErrorCode(err) == tideline.CodeInvalid {
			msg = "Enter the email and password of an admin account."
		}
		c.renderSignIn(w, r, errorStatus(w, err), d, msg)
		return
	}
	p, err := c.cfg.Auth.Authenticate(r.Context(), res.Tokens.AccessToken)
	if err == nil && !p.Admin() {
		if err := c.cfg.Auth.Logout(r.Context(), p, cl); err != nil {
			c.log.ErrorContext(r.Context(), "console: end a non-admin's session", "err", err.Error())
		}
		c.renderSignIn(w, r, http.StatusForbidden, d, "This account does not have the admin role. Ask an admin, or run `api admin create`.")
		return
	}
	if err != nil {
		c.renderSignIn(w, r, errorStatus(w, err), d, errorText(w, err))
		return
	}
	c.setCookie(w, r, cookieAccess, res.Tokens.AccessToken)
	c.setCookie(w, r, cookieRefresh, res.Tokens.RefreshToken)
	c.setCookie(w, r, cookieLogin, "")
	http.Redirect(w, r, d.Next, http.StatusSeeOther)
}

// signOut ends the auth session (its tokens stop working everywhere) and clears the
// cookies.
func (c *Console) signOut(w http.ResponseWriter, r *http.Request, s *session) {
	if err := c.cfg.Auth.Logout(r.Context(), s.p, client(r)); err != nil {
		c.renderError(w, r, s, err)
		return
	}
	c.clearSession(w, r)
	http.Redirect(w, r, Prefix+"/signin", http.StatusSeeOther)
}

// safeNext is where to go after signing in: a console path, never another site.
func safeNext(next string) string {
	if !strings.HasPrefix(next, Prefix+"/") || strings.ContainsAny(next, "\\\r\n") || strings.HasPrefix(next, Prefix+"//") ||
		strings.HasPrefix(next, Prefix+"/signin") {
		return Prefix
	}
	return next
}
