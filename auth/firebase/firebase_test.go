package firebase

import (
	"encoding/base64"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tideline-dev/tideline"
)

const project = "tideline-test"

// emulator is a local stand-in for the one Firebase Auth emulator route the SDK calls when
// it verifies an ID token in emulator mode: accounts:lookup, to see whether the user is
// disabled.
type emulator struct {
	mu       sync.Mutex
	disabled map[string]bool
	lookups  []string
}

func startEmulator(t *testing.T) *emulator {
	t.Helper()
	e := &emulator{disabled: map[string]bool{}}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != "POST" || r.URL.Path != "/identitytoolkit.googleapis.com/v1/projects/"+project+"/accounts:lookup" {
			http.Error(w, `{"error":{"code":404,"message":"NOT_FOUND"}}`, 404)
			return
		}
		var req struct {
			LocalID []string `json:"localId"`
		}
		body, _ := io.ReadAll(r.Body)
		_ = json.Unmarshal(body, &req)
		e.mu.Lock()
		defer e.mu.Unlock()
		var users []map[string]any
		for _, uid := range req.LocalID {
			e.lookups = append(e.lookups, uid)
			users = append(users, map[string]any{"localId": uid, "disabled": e.disabled[uid], "validSince": "0"})
		}
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(map[string]any{"users": users})
	}))
	t.Cleanup(srv.Close)
	t.Setenv(EmulatorHostEnv, strings.TrimPrefix(srv.URL, "http://"))
	return e
}

// idToken is an unsigned Firebase ID token, as the emulator issues them.
func idToken(change func(map[string]any)) string {
	now := time.Now().Unix()
	claims := map[string]any{
		"iss": "https://securetoken.google.com/" + project, "aud": project, "sub": "fb-uid-1", "user_id": "fb-uid-1",
		"iat": now, "exp": now + 3600, "auth_time": now, "email": "ada@example.com", "email_verified": true,
		"firebase": map[string]any{"sign_in_provider": "password", "identities": map[string]any{}},
	}
	if change != nil {
		change(claims)
	}
	header, _ := json.Marshal(map[string]string{"alg": "none", "typ": "JWT"})
	payload, _ := json.Marshal(claims)
	enc := base64.RawURLEncoding.EncodeToString
	return enc(header) + "." + enc(payload) + "."
}

func TestVerifier(t *testing.T) {
	emu := startEmulator(t)
	v, err := NewVerifier(t.Context(), project, true)
	if err != nil {
		t.Fatal(err)
	}
	id, err := v.Verify(t.Context(), idToken(nil))
	if err != nil {
		t.Fatal(err)
	}
	if id.Subject != "fb-uid-1" || id.Email != "ada@example.com" || !id.EmailVerified {
		t.Fatalf("identity %+v", id)
	}
	if len(emu.lookups) != 1 || emu.lookups[0] != "fb-uid-1" {
		t.Fatalf("the SDK looked up %v", emu.lookups)
	}
	emu.disabled["fb-uid-2"] = true
	for _, tt := range []struct {
		name  string
		token string
	}{
		{"OtherProject", idToken(func(c map[string]any) { c["aud"], c["iss"] = "other", "https://securetoken.google.com/other" })},
		{"WrongIssuer", idToken(func(c map[string]any) { c["iss"] = "https://evil.example.com" })},
		{"Expired", idToken(func(c map[string]any) { c["exp"] = time.Now().Add(-time.Hour).Unix() })},
		{"NoSubject", idToken(func(c map[string]any) { c["sub"] = "" })},
		{"DisabledUser", idToken(func(c map[string]any) { c["sub"] = "fb-uid-2" })},
		{"Garbage", "not-a-token"},
		{"Empty", ""},
	} {
		t.Run(tt.name, func(t *testing.T) {
			_, err := v.Verify(t.Context(), tt.token)
			if code := tideline.ErrorCode(err); code != tideline.CodeUnauthenticated {
				t.Fatalf("code %q (err %v)", code, err)
			}
		})
	}
}

func TestVerifierRefusesEmulatorUnlessAllowed(t *testing.T) {
	t.Setenv(EmulatorHostEnv, "127.0.0.1:9099")
	_, err := NewVerifier(t.Context(), project, false)
	if err == nil || !strings.Contains(err.Error(), "unsigned ID tokens") {
		t.Fatalf("err = %v", err)
	}
	if _, err := NewVerifier(t.Context(), "", true); err == nil {
		t.Fatal("no project id accepted")
	}
}

func TestVerifierWithoutEmulatorRejectsUnsignedTokens(t *testing.T) {
	t.Setenv(EmulatorHostEnv, "")
	v, err := NewVerifier(t.Context(), project, false)
	if err != nil {
		t.Fatal(err)
	}
	// Production mode: an unsigned token fails on its header before any certificate fetch
	// (this test never reaches the network).
	_, err = v.Verify(t.Context(), idToken(nil))
	if code := tideline.ErrorCode(err); code != tideline.CodeUnauthenticated {
		t.Fatalf("an unsigned token passed outside emulator mode: %v", err)
	}
}
