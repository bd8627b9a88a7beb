package httpapi_test

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/tideline-dev/tideline"
)

// TestStreamsPerUser: one account holds at most sync.maxStreamsPerUser (10 by default)
// streams of a node, WebSocket and SSE together; the next is a 429 problem with
// Retry-After, and other accounts still get theirs (finding 9 of issue 15).
func TestStreamsPerUser(t *testing.T) {
	a := newAPI(t, nil)
	shortStreams(a)
	srv := httptest.NewServer(a.srv)
	defer srv.Close()
	ada, bob := a.signUp("ada@example.com"), a.signUp("bob@example.com")
	for range 10 {
		a.stream(srv, ada.AccessToken)
	}
	_, resp, err := dialStream(t, srv, bearer(ada.AccessToken), "")
	if err == nil || resp == nil || resp.StatusCode != http.StatusTooManyRequests || resp.Header.Get("Retry-After") == "" {
		t.Fatalf("the 11th WebSocket: %v %+v", err, resp)
	}
	req, _ := http.NewRequestWithContext(t.Context(), "GET", srv.URL+"/v1/sync/events", nil)
	req.Header.Set("Authorization", "Bearer "+ada.AccessToken)
	sse, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer sse.Body.Close()
	var p problem
	if sse.StatusCode != http.StatusTooManyRequests || sse.Header.Get("Content-Type") != "application/problem+json" ||
		json.NewDecoder(sse.Body).Decode(&p) != nil || p.Code != string(tideline.CodeRateLimited) || sse.Header.Get("Retry-After") == "" ||
		p.Setting != "sync.maxStreamsPerUser" {
		t.Fatalf("the 11th stream, as SSE: %d %+v", sse.StatusCode, p)
	}
	a.stream(srv, bob.AccessToken) // another account is unaffected
	// Without a valid token: 401, whatever the count.
	if _, resp, err := dialStream(t, srv, bearer("not-a-token"), ""); err == nil || resp == nil || resp.StatusCode != http.StatusUnauthorized {
		t.Fatalf("a forged token: %v %+v", err, resp)
	}
}
