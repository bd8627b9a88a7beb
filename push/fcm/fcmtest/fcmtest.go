// Package fcmtest is a local fake of Firebase Cloud Messaging's HTTP v1 API, for tests: the
// messages:send route, and an OAuth token endpoint so that the Firebase SDK's real
// service-account flow runs against it.
//
// A test starts a Server, writes the service-account key it trusts, and points the fcm
// provider at it:
//
//	srv := fcmtest.New(t)
//	p, err := fcm.New(ctx, fcm.Config{CredentialsFile: srv.WriteCredentials(t), Endpoint: srv.Endpoint()})
//
// Every message to a token is accepted and recorded (Delivered, Count) unless a hook says
// otherwise: Unregister and Invalidate mark tokens, RateLimit and InternalErrors fail the next
// requests, Block holds requests before FCM takes them and HoldAnswers after, until
// released. Errors have FCM's body, so the SDK's error predicates (messaging.IsUnregistered,
// ...) see them as they would see FCM's.
//
// Tests wait for what the fake does with Await or WaitFor, which wake on its events (a
// request arriving, held, dropped or answered), never by sleeping:
//
//	release := srv.Block()
//	go send(ctx, batch)
//	srv.WaitFor(t, "the batch held", func() bool { return srv.Waiting() == len(batch) })
//
// A Server is safe for concurrent use (the SDK sends up to 50 requests at once).
package fcmtest

import (
	"context"
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// WaitLimit bounds WaitFor. It only turns a hang into a failure that says what never
// happened; the waits themselves end on events.
const WaitLimit = 2 * time.Minute

// DefaultProjectID is the ProjectID of a new Server.
const DefaultProjectID = "tideline-fcmtest"

// Message is one message the fake accepted.
type Message struct {
	Token string
	// ID is the name the fake answered: projects/{p}/messages/{n}.
	ID string
	// JSON is the request's "message" object, as the client sent it.
	JSON json.RawMessage
}

// Decode returns the message's JSON as a map, to look at its fields:
// m.Decode()["apns"].(map[string]any)["headers"].
func (m Message) Decode() map[string]any {
	var v map[string]any
	_ = json.Unmarshal(m.JSON, &v)
	return v
}

// Server is the fake. Its hooks and accessors may be called while it serves.
type Server struct {
	// ProjectID is the only project whose messages:send route exists (DefaultProjectID;
	// change it before sending, if at all).
	ProjectID string

	srv   *httptest.Server
	email string

	keyOnce sync.Once
	key     atomic.Pointer[rsa.PrivateKey] // set by WriteCredentials

	mu           sync.Mutex
	accessTokens map[string]bool
	unregistered map[string]bool
	invalid      map[string]bool
	rateLimited  int
	retryAfter   string
	internal     int
	gate         chan struct{} // Block's: nil: open; closed by the release function
	answerGate   chan struct{} // HoldAnswers': the same
	waiting      int           // requests Block holds
	answersHeld  int           // answers HoldAnswers holds
	dropped      int           // held requests whose client went away
	requests     int
	changed      chan struct{} // closed and replaced at every change: Await's signal
	delivered    []Message
	validated    []Message
	counts       map[string]int
}

// New starts a fake on 127.0.0.1; it closes when the test ends.
func New(t testing.TB) *Server {
	t.Helper()
	s := &Server{
		ProjectID:    DefaultProjectID,
		email:        "fcmtest@" + DefaultProjectID + ".iam.gserviceaccount.com",
		accessTokens: map[string]bool{},
		unregistered: map[string]bool{},
		invalid:      map[string]bool{},
		counts:       map[string]int{},
		changed:      make(chan struct{}),
	}
	mux := http.NewServeMux()
	mux.HandleFunc("POST /token", s.token)
	mux.HandleFunc("POST /v1/projects/{project}/{method}", s.send)
	s.srv = httptest.NewServer(mux)
	t.Cleanup(func() {
		s.mu.Lock()
		for _, g := range []*chan struct{}{&s.gate, &s.answerGate} {
			if *g != nil {
				close(*g) // let held handlers end, or Close waits for them
				*g = nil
			}
		}
		s.mu.Unlock()
		s.srv.Close()
	})
	return s
}

// URL is the fake's base URL (http://127.0.0.1:port).
func (s *Server) URL() string { return s.srv.URL }

// Endpoint is what fcm.Config.Endpoint takes to send to the fake: URL()+"/v1".
func (s *Server) Endpoint() string { return s.srv.URL + "/v1" }

// TokenURL is the OAuth token endpoint that WriteCredentials puts in token_uri.
func (s *Server) TokenURL() string { return s.srv.URL + "/token" }

// WriteCredentials writes a service-account key file the fake trusts (a fresh RSA key, the
// fake's project, token_uri = TokenURL) into t.TempDir() and returns its path.
func (s *Server) WriteCredentials(t testing.TB) string {
	t.Helper()
	s.keyOnce.Do(func() {
		key, err := rsa.GenerateKey(rand.Reader, 2048)
		if err != nil {
			t.Fatal(err)
		}
		s.key.Store(key)
	})
	der, err := x509.MarshalPKCS8PrivateKey(s.key.Load())
	if err != nil {
		t.Fatal(err)
	}
	b, err := json.MarshalIndent(map[string]string{
		"type":           "service_account",
		"project_id":     s.ProjectID,
		"private_key_id": "fcmtest-key",
		"private_key":    string(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der})),
		"client_email":   s.email,
		"client_id":      "1",
		"token_uri":      s.TokenURL(),
	}, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "fcm-service-account.json")
	if err := os.WriteFile(path, b, 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// Unregister makes messages to these tokens fail as FCM fails for an uninstalled app: 404
// NOT_FOUND with FcmError UNREGISTERED.
func (s *Server) Unregister(tokens ...string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, tok := range tokens {
		s.unregistered[tok] = true
	}
}

// Invalidate makes messages to these tokens fail as FCM fails for a malformed token: 400
// INVALID_ARGUMENT with FcmError INVALID_ARGUMENT.
func (s *Server) Invalidate(tokens ...string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, tok := range tokens {
		s.invalid[tok] = true
	}
}

// RateLimit makes the next n send requests fail with 429 RESOURCE_EXHAUSTED (FcmError
// QUOTA_EXCEEDED) and, unless retryAfter is "", that Retry-After header: seconds ("30") or an
// HTTP date. Requests for unregistered or invalid tokens are answered as such and do not
// count.
func (s *Server) RateLimit(n int, retryAfter string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.rateLimited, s.retryAfter = n, retryAfter
}

// InternalErrors makes the next n send requests fail with 500 INTERNAL (after any RateLimit
// ones). Requests for unregistered or invalid tokens do not count.
func (s *Server) InternalErrors(n int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.internal = n
}

// Block holds every send request that arrives from now on, before FCM takes it, until
// release is called (release may be called more than once). A held request whose client
// goes away (a cancelled context, a killed worker) is dropped (Dropped counts it), not
// recorded; one released is handled as usual. Wait for Waiting to reach a batch's size
// before cancelling its sender, and for Dropped before releasing, and nothing depends on
// when the fake notices a closed connection.
func (s *Server) Block() (release func()) {
	return s.hold(&s.gate)
}

// HoldAnswers lets every send request that arrives from now on through, FCM taking its
// message (Delivered and Count record it) but holding the answer until release is called
// or the client goes away. AnswersHeld counts the held answers. A sender killed meanwhile
// never learns that FCM took its messages: the window docs/push.md names, in which a
// campaign's batch is legitimately sent twice.
func (s *Server) HoldAnswers() (release func()) {
	return s.hold(&s.answerGate)
}

func (s *Server) hold(gate *chan struct{}) (release func()) {
	s.mu.Lock()
	defer s.mu.Unlock()
	g := make(chan struct{})
	*gate = g
	var once sync.Once
	return func() {
		once.Do(func() {
			s.mu.Lock()
			defer s.mu.Unlock()
			close(g)
			if *gate == g {
				*gate = nil
			}
			s.changedLocked()
		})
	}
}

// Waiting is how many send requests Block is holding now.
func (s *Server) Waiting() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.waiting
}

// AnswersHeld is how many answers HoldAnswers is holding now (their messages are delivered).
func (s *Server) AnswersHeld() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.answersHeld
}

// Dropped is how many send requests were dropped because their client went away before
// FCM took the message (while Block held them, typically): nothing was delivered.
func (s *Server) Dropped() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.dropped
}

// Await returns when cond holds, or ctx's error when ctx ends first. cond may call the
// Server's accessors; it is checked at once and again after every change of the fake's
// state (a request arriving, being held, dropped, released or answered), so Await waits
// for an event, not for a timer.
func (s *Server) Await(ctx context.Context, cond func() bool) error {
	for {
		s.mu.Lock()
		changed := s.changed // taken before cond runs: a change after it closes this one
		s.mu.Unlock()
		if cond() {
			return nil
		}
		select {
		case <-changed:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

// WaitFor is Await for a test: it fails t, saying it was waiting for what, if cond does
// not hold within WaitLimit.
func (s *Server) WaitFor(t testing.TB, what string, cond func() bool) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), WaitLimit)
	defer cancel()
	if err := s.Await(ctx, cond); err != nil {
		t.Fatalf("fcmtest: waiting for %s: %v (%d requests, %d held, %d answers held, %d dropped, %d delivered)",
			what, err, s.Requests(), s.Waiting(), s.AnswersHeld(), s.Dropped(), len(s.Delivered()))
	}
}

// changedLocked wakes Await; s.mu is held.
func (s *Server) changedLocked() {
	close(s.changed)
	s.changed = make(chan struct{})
}

// Delivered returns a copy of the messages accepted for delivery, in arrival order.
func (s *Server) Delivered() []Message {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Message(nil), s.delivered...)
}

// Validated returns a copy of the validate_only (dry run) messages accepted.
func (s *Server) Validated() []Message {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Message(nil), s.validated...)
}

// Count is how many messages were delivered to token.
func (s *Server) Count(token string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.counts[token]
}

// Requests is how many send requests arrived, answered with success or not (token requests
// not included).
func (s *Server) Requests() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.requests
}

// TokensIssued is how many access tokens were issued (by the token endpoint or AccessToken).
func (s *Server) TokensIssued() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.accessTokens)
}

// AccessToken issues an access token without the OAuth flow, for a client that sets the
// Authorization header itself ("Bearer " + token).
func (s *Server) AccessToken() string {
	b := make([]byte, 18)
	_, _ = rand.Read(b)
	tok := "fcmtest." + base64.RawURLEncoding.EncodeToString(b)
	s.mu.Lock()
	defer s.mu.Unlock()
	s.accessTokens[tok] = true
	s.changedLocked()
	return tok
}

// token is the OAuth 2.0 JWT-bearer grant (RFC 7523) as Google's token endpoint runs it: the
// assertion must be signed by the key of WriteCredentials, by its client_email, for this URL.
func (s *Server) token(w http.ResponseWriter, r *http.Request) {
	if r.FormValue("grant_type") != "urn:ietf:params:oauth:grant-type:jwt-bearer" {
		oauthError(w, "unsupported_grant_type", "grant_type must be jwt-bearer")
		return
	}
	if err := s.verifyAssertion(r.FormValue("assertion")); err != nil {
		oauthError(w, "invalid_grant", err.Error())
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"access_token": s.AccessToken(), "token_type": "Bearer", "expires_in": 3600})
}

func (s *Server) verifyAssertion(jwt string) error {
	parts := strings.Split(jwt, ".")
	if len(parts) != 3 {
		return errors.New("the assertion is not a JWT")
	}
	var header struct{ Alg string }
	var claims struct {
		Iss, Aud, Scope string
		Exp             int64
	}
	if err := decodePart(parts[0], &header); err != nil || header.Alg != "RS256" {
		return errors.New("the assertion's header is not RS256")
	}
	key := s.key.Load()
	if key == nil {
		return errors.New("no credentials were written (WriteCredentials)")
	}
	sig, err := base64.RawURLEncoding.DecodeString(parts[2])
	if err != nil {
		return errors.New("the assertion's signature is not base64url")
	}
	sum := sha256.Sum256([]byte(parts[0] + "." + parts[1]))
	if err := rsa.VerifyPKCS1v15(&key.PublicKey, crypto.SHA256, sum[:], sig); err != nil {
		return errors.New("Invalid JWT Signature.")
	}
	if err := decodePart(parts[1], &claims); err != nil {
		return errors.New("the assertion's claims are not JSON")
	}
	switch {
	case claims.Iss != s.email:
		return fmt.Errorf("unknown issuer %q", claims.Iss)
	case claims.Aud != s.TokenURL():
		return fmt.Errorf("audience %q is not %s", claims.Aud, s.TokenURL())
	case claims.Exp < time.Now().Unix():
		return errors.New("the assertion expired")
	case claims.Scope == "":
		return errors.New("the assertion has no scope")
	}
	return nil
}

func decodePart(part string, v any) error {
	b, err := base64.RawURLEncoding.DecodeString(part)
	if err != nil {
		return err
	}
	return json.Unmarshal(b, v)
}

// send is POST /v1/projects/{project}/messages:send.
func (s *Server) send(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	s.requests++
	s.changedLocked()
	authorized := s.accessTokens[strings.TrimPrefix(r.Header.Get("Authorization"), "Bearer ")]
	s.mu.Unlock()
	if !authorized {
		fcmError(w, http.StatusUnauthorized, "UNAUTHENTICATED", "Request had invalid authentication credentials. Expected OAuth 2 access token.", "")
		return
	}
	if r.PathValue("project") != s.ProjectID || r.PathValue("method") != "messages:send" {
		fcmError(w, http.StatusNotFound, "NOT_FOUND", "Requested entity was not found.", "")
		return
	}
	var req struct {
		ValidateOnly bool            `json:"validate_only"`
		Message      json.RawMessage `json:"message"`
	}
	var target struct{ Token string }
	// Reading the body to its end also lets the server notice a client that goes away
	// (it cancels r.Context()), which wait relies on.
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, 1<<20))
	if err != nil || json.Unmarshal(body, &req) != nil || json.Unmarshal(req.Message, &target) != nil {
		fcmError(w, http.StatusBadRequest, "INVALID_ARGUMENT", "Invalid JSON payload received.", "")
		return
	}
	if target.Token == "" {
		fcmError(w, http.StatusBadRequest, "INVALID_ARGUMENT", "The fake sends to tokens only.", "INVALID_ARGUMENT")
		return
	}

	if !s.wait(r, &s.gate, &s.waiting) {
		s.mu.Lock()
		s.dropped++
		s.changedLocked()
		s.mu.Unlock()
		return // the client went away while held: nothing to answer, nothing delivered
	}
	answer := s.take(r, target.Token, req.ValidateOnly, req.Message)
	s.wait(r, &s.answerGate, &s.answersHeld) // FCM has the message; the client may never hear so
	answer(w)
}

// take decides the answer to a send request to token and records a delivered message.
func (s *Server) take(r *http.Request, token string, validateOnly bool, msg json.RawMessage) (answer func(http.ResponseWriter)) {
	s.mu.Lock()
	defer s.mu.Unlock()
	defer s.changedLocked()
	switch {
	case s.unregistered[token]:
		return func(w http.ResponseWriter) {
			fcmError(w, http.StatusNotFound, "NOT_FOUND", "Requested entity was not found.", "UNREGISTERED")
		}
	case s.invalid[token]:
		return func(w http.ResponseWriter) {
			fcmError(w, http.StatusBadRequest, "INVALID_ARGUMENT", "The registration token is not a valid FCM registration token", "INVALID_ARGUMENT")
		}
	case s.rateLimited > 0:
		s.rateLimited--
		retryAfter := s.retryAfter
		return func(w http.ResponseWriter) {
			if retryAfter != "" {
				w.Header().Set("Retry-After", retryAfter)
			}
			fcmError(w, http.StatusTooManyRequests, "RESOURCE_EXHAUSTED", "Quota exceeded for quota metric 'Send requests'.", "QUOTA_EXCEEDED")
		}
	case s.internal > 0:
		s.internal--
		return func(w http.ResponseWriter) {
			fcmError(w, http.StatusInternalServerError, "INTERNAL", "Internal error encountered.", "INTERNAL")
		}
	case r.Context().Err() != nil:
		// The client went away before FCM took the message: it is not a delivery.
		s.dropped++
		return func(http.ResponseWriter) {}
	}
	n := len(s.delivered) + len(s.validated) + 1
	m := Message{Token: token, ID: fmt.Sprintf("projects/%s/messages/%d", s.ProjectID, n), JSON: msg}
	if validateOnly {
		s.validated = append(s.validated, m)
	} else {
		s.delivered = append(s.delivered, m)
		s.counts[m.Token]++
	}
	return func(w http.ResponseWriter) { writeJSON(w, http.StatusOK, map[string]string{"name": m.ID}) }
}

// wait waits while *gate is set (Block's or HoldAnswers'), counting itself in *held; false
// when the client went away meanwhile.
func (s *Server) wait(r *http.Request, gate *chan struct{}, held *int) bool {
	s.mu.Lock()
	g := *gate
	if g != nil {
		*held++
		s.changedLocked()
	}
	s.mu.Unlock()
	if g == nil {
		return r.Context().Err() == nil
	}
	defer func() {
		s.mu.Lock()
		*held--
		s.changedLocked()
		s.mu.Unlock()
	}()
	select {
	case <-g:
		return r.Context().Err() == nil
	case <-r.Context().Done():
		return false
	}
}

// fcmError writes FCM's error body; fcmCode, when set, is the FcmError detail that the SDK's
// messaging.Is... predicates read.
func fcmError(w http.ResponseWriter, status int, grpcStatus, message, fcmCode string) {
	e := map[string]any{"code": status, "status": grpcStatus, "message": message}
	if fcmCode != "" {
		e["details"] = []map[string]string{{"@type": "type.googleapis.com/google.firebase.fcm.v1.FcmError", "errorCode": fcmCode}}
	}
	writeJSON(w, status, map[string]any{"error": e})
}

func oauthError(w http.ResponseWriter, code, description string) {
	writeJSON(w, http.StatusBadRequest, map[string]string{"error": code, "error_description": description})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=UTF-8")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}
