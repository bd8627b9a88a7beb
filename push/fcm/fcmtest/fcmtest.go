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
// requests, Block holds requests until released. Errors have FCM's body, so the SDK's error
// predicates (messaging.IsUnregistered, ...) see them as they would see FCM's.
//
// A Server is safe for concurrent use (the SDK sends up to 50 requests at once).
package fcmtest

import (
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
	gate         chan struct{} // nil: open; closed by the release function
	waiting      int
	requests     int
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
	}
	mux := http.NewServeMux()
	mux.HandleFunc("POST /token", s.token)
	mux.HandleFunc("POST /v1/projects/{project}/{method}", s.send)
	s.srv = httptest.NewServer(mux)
	t.Cleanup(func() {
		s.mu.Lock()
		if s.gate != nil {
			close(s.gate) // let blocked handlers end, or Close waits for them
			s.gate = nil
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

// Block holds every send request that arrives from now on until release is called (release
// may be called more than once). A held request whose client goes away (a cancelled context,
// a killed worker) is dropped, not recorded; one released is handled as usual. The fake
// notices a closed connection within milliseconds: a test that cancels and then releases
// should wait for Waiting to fall to 0 in between.
func (s *Server) Block() (release func()) {
	s.mu.Lock()
	defer s.mu.Unlock()
	gate := make(chan struct{})
	s.gate = gate
	var once sync.Once
	return func() {
		once.Do(func() {
			s.mu.Lock()
			defer s.mu.Unlock()
			close(gate)
			if s.gate == gate {
				s.gate = nil
			}
		})
	}
}

// Waiting is how many send requests Block is holding now.
func (s *Server) Waiting() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.waiting
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
	// (it cancels r.Context()), which pass relies on.
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, 1<<20))
	if err != nil || json.Unmarshal(body, &req) != nil || json.Unmarshal(req.Message, &target) != nil {
		fcmError(w, http.StatusBadRequest, "INVALID_ARGUMENT", "Invalid JSON payload received.", "")
		return
	}
	if target.Token == "" {
		fcmError(w, http.StatusBadRequest, "INVALID_ARGUMENT", "The fake sends to tokens only.", "INVALID_ARGUMENT")
		return
	}

	if !s.pass(r) {
		return // the client went away while held: nothing to answer, nothing delivered
	}

	s.mu.Lock()
	defer s.mu.Unlock()
	switch {
	case s.unregistered[target.Token]:
		fcmError(w, http.StatusNotFound, "NOT_FOUND", "Requested entity was not found.", "UNREGISTERED")
	case s.invalid[target.Token]:
		fcmError(w, http.StatusBadRequest, "INVALID_ARGUMENT", "The registration token is not a valid FCM registration token", "INVALID_ARGUMENT")
	case s.rateLimited > 0:
		s.rateLimited--
		if s.retryAfter != "" {
			w.Header().Set("Retry-After", s.retryAfter)
		}
		fcmError(w, http.StatusTooManyRequests, "RESOURCE_EXHAUSTED", "Quota exceeded for quota metric 'Send requests'.", "QUOTA_EXCEEDED")
	case s.internal > 0:
		s.internal--
		fcmError(w, http.StatusInternalServerError, "INTERNAL", "Internal error encountered.", "INTERNAL")
	case r.Context().Err() != nil:
		// The client went away: it will not see an answer, so it is not a delivery.
	default:
		n := len(s.delivered) + len(s.validated) + 1
		m := Message{Token: target.Token, ID: fmt.Sprintf("projects/%s/messages/%d", s.ProjectID, n), JSON: req.Message}
		if req.ValidateOnly {
			s.validated = append(s.validated, m)
		} else {
			s.delivered = append(s.delivered, m)
			s.counts[m.Token]++
		}
		writeJSON(w, http.StatusOK, map[string]string{"name": m.ID})
	}
}

// pass waits while Block holds requests; false when the client went away meanwhile.
func (s *Server) pass(r *http.Request) bool {
	s.mu.Lock()
	gate := s.gate
	if gate != nil {
		s.waiting++
	}
	s.mu.Unlock()
	if gate == nil {
		return r.Context().Err() == nil
	}
	defer func() {
		s.mu.Lock()
		s.waiting--
		s.mu.Unlock()
	}()
	select {
	case <-gate:
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
