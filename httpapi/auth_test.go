package httpapi_test

import (
	"bytes"
	"crypto/ed25519"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/golang-jwt/jwt/v5"
	"github.com/tideline-dev/tideline"
	"github.com/tideline-dev/tideline/app"
	"github.com/tideline-dev/tideline/auth"
	"github.com/tideline-dev/tideline/httpapi"
)

// call sends a JSON request (body nil for none) with an optional bearer token.
func (a *apiTest) call(method, path, token string, body any) *httptest.ResponseRecorder {
	a.t.Helper()
	var r *http.Request
	if body == nil {
		r = httptest.NewRequest(method, path, nil)
	} else {
		b, err := json.Marshal(body)
		if err != nil {
			a.t.Fatal(err)
		}
		r = httptest.NewRequest(method, path, bytes.NewReader(b))
		r.Header.Set("Content-Type", "application/json")
	}
	if token != "" {
		r.Header.Set("Authorization", "Bearer "+token)
	}
	r.RemoteAddr = "203.0.113.5:4000"
	return a.do(r)
}

// decode decodes rec's JSON body into a value of type T, checking the status first.
func decode[T any](t *testing.T, rec *httptest.ResponseRecorder, status int) T {
	t.Helper()
	var v T
	if rec.Code != status {
		t.Fatalf("status %d, want %d: %s", rec.Code, status, rec.Body)
	}
	if err := json.Unmarshal(rec.Body.Bytes(), &v); err != nil {
		t.Fatalf("decode %T: %v: %s", v, err, rec.Body)
	}
	return v
}

type sessionBody struct {
	User struct {
		ID        string `json:"id"`
		Email     string `json:"email"`
		Anonymous bool   `json:"anonymous"`
	} `json:"user"`
	AccessToken  string `json:"accessToken"`
	RefreshToken string `json:"refreshToken"`
	ExpiresIn    int    `json:"expiresIn"`
	SessionID    string `json:"sessionId"`
}

const password = "correct horse battery staple"

func (a *apiTest) signUp(email string) sessionBody {
	a.t.Helper()
	return decode[sessionBody](a.t, a.call("POST", "/v1/auth/signup", "", map[string]any{"email": email, "password": password, "device": map[string]string{"name": "Pixel", "platform": "android"}}), 201)
}

// admin returns an admin API key.
func (a *apiTest) admin() string {
	a.t.Helper()
	_, raw, err := a.app.Auth.CreateAdminKey(a.t.Context(), auth.Principal{AdminKeyID: "bootstrap"}, "test", auth.Client{})
	if err != nil {
		a.t.Fatal(err)
	}
	return raw
}

// TestSecuritySweep checks every operation of the spec that names a security scheme:
// without credentials it is 401, with forged ones 401, with the wrong kind 403.
func TestSecuritySweep(t *testing.T) {
	t.Parallel()
	a := newAPI(t, nil)
	user := a.signUp("ada@example.com").AccessToken
	adminKey := a.admin()
	doc, _ := openapi3.NewLoader().LoadFromData(tideline.OpenAPI)
	n := 0
	for path, item := range doc.Paths.Map() {
		for method, op := range item.Operations() {
			if op.Security == nil || len(*op.Security) == 0 {
				continue
			}
			n++
			scheme := ""
			for name := range (*op.Security)[0] {
				scheme = name
			}
			url := httpapi.PathParam.ReplaceAllString(path, tideline.NewID())
			for _, tt := range []struct {
				name, token string
				status      int
			}{
				{"none", "", 401},
				{"garbage", "garbage", 401},
				{"forgedAdminKey", "tladm_" + strings.Repeat("A", 43), 401},
				{"wrongKind", map[string]string{"bearerAuth": adminKey, "adminAuth": user}[scheme], 403},
			} {
				rec := a.call(method, url, tt.token, map[string]any{})
				checkProblem(t, rec, tt.status, "")
				if tt.status == 401 && !strings.HasPrefix(rec.Header().Get("WWW-Authenticate"), "Bearer") {
					t.Errorf("%s %s (%s): no WWW-Authenticate", method, path, tt.name)
				}
			}
		}
	}
	if n < 15 {
		t.Fatalf("only %d secured operations found; the sweep is not reaching them", n)
	}
}

// TestHostileBodies sends malformed and hostile bodies to every operation with a JSON
// request body: each is refused with 4xx and a problem document, never a 500.
func TestHostileBodies(t *testing.T) {
	t.Parallel()
	a := newAPI(t, nil)
	user := a.signUp("ada@example.com").AccessToken
	adminKey := a.admin()
	doc, _ := openapi3.NewLoader().LoadFromData(tideline.OpenAPI)
	bodies := []struct {
		name, contentType, body string
		status                  int
	}{
		{"NotJSONContentType", "text/plain", `{"email":"a@example.com"}`, 415},
		{"FormEncoded", "application/x-www-form-urlencoded", `email=a@example.com`, 415},
		{"MalformedJSON", "application/json", `{"email":`, 400},
		{"Array", "application/json", `[1,2,3]`, 400},
		{"OperatorObjects", "application/json", `{"email":{"$ne":""},"password":{"$where":"1"},"refreshToken":{"$gt":""},"token":{"$regex":".*"},"name":{"$ne":1},"roles":{"$ne":[]},"displayName":{"$set":1}}`, 400},
	}
	for path, item := range doc.Paths.Map() {
		for method, op := range item.Operations() {
			if op.RequestBody == nil || op.RequestBody.Value.Content.Get("application/json") == nil {
				continue
			}
			token := ""
			if op.Security != nil && len(*op.Security) > 0 {
				token = user
				if _, ok := (*op.Security)[0]["adminAuth"]; ok {
					token = adminKey
				}
			}
			url := httpapi.PathParam.ReplaceAllString(path, tideline.NewID())
			for _, b := range bodies {
				if b.name == "OperatorObjects" && len(op.RequestBody.Value.Content.Get("application/json").Schema.Value.Required) == 0 {
					continue // every member optional: unknown members are ignored, as everywhere
				}
				r := httptest.NewRequest(method, url, strings.NewReader(b.body))
				r.Header.Set("Content-Type", b.contentType)
				if token != "" {
					r.Header.Set("Authorization", "Bearer "+token)
				}
				rec := a.do(r)
				if rec.Code >= 500 || rec.Code < 400 {
					t.Errorf("%s %s %s: status %d: %s", method, path, b.name, rec.Code, rec.Body)
					continue
				}
				p := checkProblem(t, rec, b.status, "")
				if b.name == "OperatorObjects" && len(p.Fields) == 0 {
					t.Errorf("%s %s: no field named in %+v", method, path, p)
				}
			}
		}
	}
	if u, _ := a.app.Auth.ListUsers(t.Context(), auth.UserQuery{}); len(u) != 1 {
		t.Fatalf("hostile bodies created users: %d", len(u))
	}
}

func TestAuthFlow(t *testing.T) {
	t.Parallel()
	a := newAPI(t, nil)
	up := a.signUp(" Ada@Example.com ")
	if up.User.Email != "ada@example.com" || up.ExpiresIn != 900 || up.SessionID == "" {
		t.Fatalf("sign-up %+v", up)
	}
	checkProblem(t, a.call("POST", "/v1/auth/signup", "", map[string]string{"email": "ada@example.com", "password": password}), 409, tideline.CodeEmailTaken)
	p := checkProblem(t, a.call("POST", "/v1/auth/signup", "", map[string]string{"email": "bob@example.com", "password": "password1"}), 400, tideline.CodeWeakPassword)
	if p.Fields["password"] == "" {
		t.Fatalf("no password field in %+v", p)
	}
	p = checkProblem(t, a.call("POST", "/v1/auth/signup", "", map[string]string{"email": "bob@example.com"}), 400, tideline.CodeInvalid)
	if p.Fields["password"] == "" {
		t.Fatalf("missing password not named: %+v", p)
	}

	login := decode[sessionBody](t, a.call("POST", "/v1/auth/login", "", map[string]string{"email": "ada@example.com", "password": password}), 200)
	wrong := checkProblem(t, a.call("POST", "/v1/auth/login", "", map[string]string{"email": "ada@example.com", "password": "wrong!!!!"}), 401, tideline.CodeInvalidCredentials)
	unknown := checkProblem(t, a.call("POST", "/v1/auth/login", "", map[string]string{"email": "nobody@example.com", "password": "wrong!!!!"}), 401, tideline.CodeInvalidCredentials)
	if wrong.Detail != unknown.Detail {
		t.Fatal("login errors differ between a wrong password and an unknown email")
	}

	me := decode[map[string]any](t, a.call("GET", "/v1/me", login.AccessToken, nil), 200)
	if me["id"] != up.User.ID || me["email"] != "ada@example.com" {
		t.Fatalf("me %v", me)
	}
	sessions := decode[struct {
		Sessions []struct {
			ID, DeviceName, Platform, IP string
			Current                      bool
		}
	}](t, a.call("GET", "/v1/auth/sessions", login.AccessToken, nil), 200)
	if len(sessions.Sessions) != 2 || !sessions.Sessions[0].Current || sessions.Sessions[1].DeviceName != "Pixel" || sessions.Sessions[0].IP != "203.0.113.5" {
		t.Fatalf("sessions %+v", sessions)
	}

	// Refresh twice, then replay the first refresh token.
	r1 := decode[sessionBody](t, a.call("POST", "/v1/auth/refresh", "", map[string]string{"refreshToken": up.RefreshToken}), 200)
	r2 := decode[sessionBody](t, a.call("POST", "/v1/auth/refresh", "", map[string]string{"refreshToken": r1.RefreshToken}), 200)
	if r1.RefreshToken == up.RefreshToken || r2.RefreshToken == r1.RefreshToken || r2.SessionID != up.SessionID {
		t.Fatal("refresh did not rotate")
	}
	a.app.Clock.Advance(11 * time.Second)
	checkProblem(t, a.call("POST", "/v1/auth/refresh", "", map[string]string{"refreshToken": up.RefreshToken}), 401, tideline.CodeRefreshTokenReused)
	checkProblem(t, a.call("POST", "/v1/auth/refresh", "", map[string]string{"refreshToken": r2.RefreshToken}), 401, tideline.CodeUnauthenticated)
	checkProblem(t, a.call("GET", "/v1/me", r2.AccessToken, nil), 401, tideline.CodeUnauthenticated)

	// Another user cannot end Ada's session.
	bob := a.signUp("bob@example.com")
	checkProblem(t, a.call("DELETE", "/v1/auth/sessions/"+login.SessionID, bob.AccessToken, nil), 404, tideline.CodeNotFound)
	if rec := a.call("POST", "/v1/auth/logout", login.AccessToken, nil); rec.Code != 204 {
		t.Fatalf("logout %d", rec.Code)
	}
	checkProblem(t, a.call("GET", "/v1/me", login.AccessToken, nil), 401, tideline.CodeUnauthenticated)
}

func TestJWKSVerifiesAccessTokens(t *testing.T) {
	t.Parallel()
	a := newAPI(t, nil)
	up := a.signUp("ada@example.com")
	rec := a.get("/.well-known/jwks.json")
	if cc := rec.Header().Get("Cache-Control"); cc != httpapi.JWKSCacheControl {
		t.Fatalf("Cache-Control %q", cc)
	}
	set := decode[struct {
		Keys []struct{ Kty, Crv, X, Kid, Alg string }
	}](t, rec, 200)
	// Verify as a third party would, with nothing but the key set.
	tok, err := jwt.Parse(up.AccessToken, func(tok *jwt.Token) (any, error) {
		for _, k := range set.Keys {
			if k.Kid == tok.Header["kid"] && k.Kty == "OKP" && k.Crv == "Ed25519" {
				x, err := base64.RawURLEncoding.DecodeString(k.X)
				return ed25519.PublicKey(x), err
			}
		}
		return nil, jwt.ErrTokenUnverifiable
	}, jwt.WithValidMethods([]string{"EdDSA"}), jwt.WithIssuer("tideline"), jwt.WithAudience("tideline"), jwt.WithTimeFunc(a.app.Clock.Now))
	if err != nil || !tok.Valid {
		t.Fatalf("the JWKS does not verify the token: %v", err)
	}
	if sub, _ := tok.Claims.GetSubject(); sub != up.User.ID {
		t.Fatalf("sub %q", sub)
	}
}

func TestAnonymousLinkOverHTTP(t *testing.T) {
	t.Parallel()
	a := newAPI(t, nil)
	anon := decode[sessionBody](t, a.call("POST", "/v1/auth/anonymous", "", nil), 201)
	if !anon.User.Anonymous || anon.User.Email != "" {
		t.Fatalf("anonymous %+v", anon.User)
	}
	withDevice := decode[sessionBody](t, a.call("POST", "/v1/auth/anonymous", "", map[string]any{"device": map[string]string{"name": "iPad"}}), 201)
	if withDevice.User.ID == anon.User.ID {
		t.Fatal("two anonymous sign-ins gave one user")
	}
	linked := decode[struct {
		User struct {
			ID        string
			Anonymous bool
		}
		AccessToken string
	}](t, a.call("POST", "/v1/auth/link", anon.AccessToken, map[string]string{"email": "ada@example.com", "password": password}), 200)
	if linked.User.ID != anon.User.ID || linked.User.Anonymous {
		t.Fatalf("linked %+v", linked.User)
	}
	checkProblem(t, a.call("POST", "/v1/auth/link", linked.AccessToken, map[string]string{"email": "x@example.com", "password": password}), 409, tideline.CodeConflict)
}

func TestPasswordResetOverHTTP(t *testing.T) {
	t.Parallel()
	a := newAPI(t, nil)
	a.signUp("ada@example.com")
	a.app.Mail.Next(t) // verification
	unknown := a.call("POST", "/v1/auth/password/forgot", "", map[string]string{"email": "nobody@example.com"})
	known := a.call("POST", "/v1/auth/password/forgot", "", map[string]string{"email": "ada@example.com"})
	if unknown.Code != 202 || known.Code != 202 || unknown.Body.String() != known.Body.String() {
		t.Fatalf("forgot answers differ: %d %q / %d %q", unknown.Code, unknown.Body, known.Code, known.Body)
	}
	mail := a.app.Mail.Next(t)
	token := mail.Text[strings.Index(mail.Text, "tlact_"):]
	token = strings.Fields(token)[0]
	if extra, ok := a.app.Mail.Waiting(); ok {
		t.Fatalf("an email went to %s", extra.To)
	}
	if rec := a.call("POST", "/v1/auth/password/reset", "", map[string]string{"token": token, "password": "a different passphrase"}); rec.Code != 204 {
		t.Fatalf("reset %d %s", rec.Code, rec.Body)
	}
	checkProblem(t, a.call("POST", "/v1/auth/password/reset", "", map[string]string{"token": token, "password": "yet another passphrase"}), 400, tideline.CodeInvalid)
	decode[sessionBody](t, a.call("POST", "/v1/auth/login", "", map[string]string{"email": "ada@example.com", "password": "a different passphrase"}), 200)
}

func TestRateLimitOverHTTP(t *testing.T) {
	t.Parallel()
	a := newAPI(t, func(c *app.Config) { c.Auth.Limits = &auth.Limits{Signup: auth.Rate{Burst: 1, Per: time.Minute}} })
	a.signUp("ada@example.com")
	rec := a.call("POST", "/v1/auth/signup", "", map[string]string{"email": "bob@example.com", "password": password})
	checkProblem(t, rec, 429, tideline.CodeRateLimited)
	if ra := rec.Header().Get("Retry-After"); ra != "60" {
		t.Fatalf("Retry-After %q, want 60", ra)
	}
}

func TestMeOverHTTP(t *testing.T) {
	t.Parallel()
	a := newAPI(t, nil)
	up := a.signUp("ada@example.com")
	u := decode[map[string]any](t, a.call("PATCH", "/v1/me", up.AccessToken, map[string]string{"displayName": "Ada"}), 200)
	if u["displayName"] != "Ada" {
		t.Fatalf("%v", u)
	}
	p := checkProblem(t, a.call("PATCH", "/v1/me", up.AccessToken, map[string]string{"displayName": strings.Repeat("x", 201)}), 400, tideline.CodeInvalid)
	if p.Fields["displayName"] == "" {
		t.Fatalf("%+v", p)
	}
	checkProblem(t, a.call("PATCH", "/v1/me", up.AccessToken, map[string]string{"password": "a new passphrase!", "currentPassword": "nope"}), 401, tideline.CodeInvalidCredentials)
	if rec := a.call("DELETE", "/v1/me", up.AccessToken, nil); rec.Code != 204 {
		t.Fatalf("delete %d", rec.Code)
	}
	checkProblem(t, a.call("GET", "/v1/me", up.AccessToken, nil), 401, tideline.CodeUnauthenticated)
}

func TestAdminOverHTTP(t *testing.T) {
	t.Parallel()
	a := newAPI(t, nil)
	key := a.admin()
	var ids []string
	for _, e := range []string{"a@example.com", "b@example.com", "c@other.org"} {
		ids = append(ids, a.signUp(e).User.ID)
	}
	type page struct {
		Users []struct{ ID string }
		Next  *string
	}
	p1 := decode[page](t, a.call("GET", "/v1/admin/users?limit=2", key, nil), 200)
	if len(p1.Users) != 2 || p1.Next == nil || *p1.Next != ids[1] {
		t.Fatalf("page 1 %+v", p1)
	}
	p2 := decode[page](t, a.call("GET", "/v1/admin/users?limit=2&after="+*p1.Next, key, nil), 200)
	if len(p2.Users) != 1 || p2.Users[0].ID != ids[2] || p2.Next != nil {
		t.Fatalf("page 2 %+v", p2)
	}
	found := decode[page](t, a.call("GET", "/v1/admin/users?email=OTHER.ORG", key, nil), 200)
	if len(found.Users) != 1 || found.Users[0].ID != ids[2] {
		t.Fatalf("search %+v", found)
	}
	checkProblem(t, a.call("GET", "/v1/admin/users?limit=1000", key, nil), 400, tideline.CodeInvalid)
	checkProblem(t, a.call("GET", "/v1/admin/users?limit=abc", key, nil), 400, tideline.CodeInvalid)
	checkProblem(t, a.call("GET", "/v1/admin/users/"+tideline.NewID(), key, nil), 404, tideline.CodeNotFound)

	u := decode[map[string]any](t, a.call("PATCH", "/v1/admin/users/"+ids[0], key, map[string]any{"roles": []string{"editor"}, "disabled": true}), 200)
	if u["disabled"] != true || u["roles"].([]any)[0] != "editor" {
		t.Fatalf("%v", u)
	}
	checkProblem(t, a.call("POST", "/v1/auth/login", "", map[string]string{"email": "a@example.com", "password": password}), 403, tideline.CodeAccountDisabled)
	checkProblem(t, a.call("PATCH", "/v1/admin/users/"+ids[0], key, map[string]any{"roles": "admin"}), 400, tideline.CodeInvalid)
	sess := decode[map[string][]any](t, a.call("GET", "/v1/admin/users/"+ids[1]+"/sessions", key, nil), 200)
	if len(sess["sessions"]) != 1 {
		t.Fatalf("sessions %v", sess)
	}
	if rec := a.call("DELETE", "/v1/admin/users/"+ids[1], key, nil); rec.Code != 204 {
		t.Fatalf("delete %d", rec.Code)
	}

	created := decode[struct {
		Key    struct{ ID, Prefix string }
		Secret string
	}](t, a.call("POST", "/v1/admin/keys", key, map[string]string{"name": "ops"}), 201)
	if !strings.HasPrefix(created.Secret, created.Key.Prefix) {
		t.Fatalf("%+v", created)
	}
	list := decode[struct{ Keys []struct{ ID, Prefix string } }](t, a.call("GET", "/v1/admin/keys", created.Secret, nil), 200)
	if len(list.Keys) != 2 || strings.Contains(fmtJSON(list), created.Secret) {
		t.Fatalf("keys %+v", list)
	}
	if rec := a.call("DELETE", "/v1/admin/keys/"+created.Key.ID, key, nil); rec.Code != 204 {
		t.Fatalf("delete key %d", rec.Code)
	}
	checkProblem(t, a.call("GET", "/v1/admin/keys", created.Secret, nil), 401, tideline.CodeUnauthenticated)

	rot := decode[struct{ Kid string }](t, a.call("POST", "/v1/admin/signing-keys/rotate", key, nil), 200)
	jwks := decode[struct{ Keys []struct{ Kid string } }](t, a.get("/.well-known/jwks.json"), 200)
	if len(jwks.Keys) != 2 || jwks.Keys[1].Kid != rot.Kid {
		t.Fatalf("jwks %+v after rotating to %s", jwks, rot.Kid)
	}
	audit := decode[struct {
		Events []struct{ Type, Actor string }
		Next   *string
	}](t, a.call("GET", "/v1/admin/audit?limit=3", key, nil), 200)
	if len(audit.Events) != 3 || audit.Events[0].Type != "signing_key_rotated" || audit.Next == nil {
		t.Fatalf("audit %+v", audit)
	}
	older := decode[struct{ Events []struct{ Type string } }](t, a.call("GET", "/v1/admin/audit?type=signup&before="+*audit.Next, key, nil), 200)
	if len(older.Events) != 3 {
		t.Fatalf("older signups %+v", older)
	}
}

func fmtJSON(v any) string { b, _ := json.Marshal(v); return string(b) }

func TestBodyTooLargeOnJSONRoute(t *testing.T) {
	t.Parallel()
	a := newAPI(t, func(c *app.Config) { c.MaxBodyBytes = 2048 })
	big := map[string]string{"email": "ada@example.com", "password": strings.Repeat("x", 4000)}
	checkProblem(t, a.call("POST", "/v1/auth/signup", "", big), 413, tideline.CodeTooLarge)
	b, _ := json.Marshal(big)
	r := httptest.NewRequest("POST", "/v1/auth/signup", bytes.NewReader(b))
	r.Header.Set("Content-Type", "application/json")
	r.ContentLength = -1 // chunked: found while reading
	checkProblem(t, a.do(r), 413, tideline.CodeTooLarge)
}
