package fcmtest

import (
	"context"
	"encoding/json"
	"net/http"
	"slices"
	"strings"
	"testing"
)

func post(t *testing.T, s *Server, path, bearer, body string) (int, map[string]any) {
	t.Helper()
	req, err := http.NewRequest("POST", s.URL()+path, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if bearer != "" {
		req.Header.Set("Authorization", "Bearer "+bearer)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var v map[string]any
	_ = json.NewDecoder(resp.Body).Decode(&v)
	return resp.StatusCode, v
}

func TestSendRoute(t *testing.T) {
	t.Parallel()
	s := New(t)
	send := "/v1/projects/" + s.ProjectID + "/messages:send"
	tok := s.AccessToken()

	for _, bearer := range []string{"", "wrong"} {
		if code, body := post(t, s, send, bearer, `{"message":{"token":"a"}}`); code != 401 || body["error"].(map[string]any)["status"] != "UNAUTHENTICATED" {
			t.Errorf("bearer %q: %d %v", bearer, code, body)
		}
	}
	if code, _ := post(t, s, "/v1/projects/other/messages:send", tok, `{"message":{"token":"a"}}`); code != 404 {
		t.Errorf("other project: %d", code)
	}
	if code, _ := post(t, s, send, tok, `{"message":`); code != 400 {
		t.Errorf("bad JSON: %d", code)
	}

	code, body := post(t, s, send, tok, `{"validate_only":true,"message":{"token":"a","data":{"k":"v"}}}`)
	if code != 200 || len(s.Validated()) != 1 || len(s.Delivered()) != 0 || s.Count("a") != 0 {
		t.Fatalf("validate_only: %d %v, %d validated, %d delivered", code, body, len(s.Validated()), len(s.Delivered()))
	}
	code, body = post(t, s, send, tok, `{"message":{"token":"a","data":{"k":"v"}}}`)
	d := s.Delivered()
	if code != 200 || len(d) != 1 || d[0].Token != "a" || body["name"] != d[0].ID || d[0].Decode()["data"].(map[string]any)["k"] != "v" {
		t.Fatalf("send: %d %v, delivered %+v", code, body, d)
	}

	s.Unregister("gone")
	code, body = post(t, s, send, tok, `{"message":{"token":"gone"}}`)
	detail := body["error"].(map[string]any)["details"].([]any)[0].(map[string]any)
	if code != 404 || detail["errorCode"] != "UNREGISTERED" || detail["@type"] != "type.googleapis.com/google.firebase.fcm.v1.FcmError" {
		t.Fatalf("unregistered: %d %v", code, body)
	}
	if s.Requests() != 7 || s.TokensIssued() != 1 {
		t.Fatalf("%d requests, %d tokens", s.Requests(), s.TokensIssued())
	}
}

// send posts one message to token with the fake's access token, under ctx.
func send(ctx context.Context, s *Server, token string) (int, error) {
	req, err := http.NewRequestWithContext(ctx, "POST", s.Endpoint()+"/projects/"+s.ProjectID+"/messages:send",
		strings.NewReader(`{"message":{"token":"`+token+`"}}`))
	if err != nil {
		return 0, err
	}
	req.Header.Set("Authorization", "Bearer "+s.AccessToken())
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, err
	}
	resp.Body.Close()
	return resp.StatusCode, nil
}

// Block holds requests before FCM takes them: released, they are delivered; abandoned by
// their client, they are dropped. Await wakes on each of those events.
func TestBlock(t *testing.T) {
	t.Parallel()
	s := New(t)
	release := s.Block()
	ctx, cancel := context.WithCancel(t.Context())
	codes := make(chan int, 3)
	for _, tok := range []string{"a", "b"} {
		go func() { code, _ := send(ctx, s, tok); codes <- code }()
	}
	s.WaitFor(t, "2 requests held", func() bool { return s.Waiting() == 2 })
	cancel()
	s.WaitFor(t, "2 requests dropped", func() bool { return s.Dropped() == 2 && s.Waiting() == 0 })
	go func() { code, _ := send(t.Context(), s, "c"); codes <- code }()
	s.WaitFor(t, "c held", func() bool { return s.Waiting() == 1 })
	release()
	got := []int{<-codes, <-codes, <-codes}
	if slices.Sort(got); !slices.Equal(got, []int{0, 0, 200}) {
		t.Fatalf("answers %v", got)
	}
	if s.Count("a") != 0 || s.Count("b") != 0 || s.Count("c") != 1 || s.Dropped() != 2 {
		t.Fatalf("delivered %v, %d dropped", s.Delivered(), s.Dropped())
	}
}

// HoldAnswers lets FCM take the message and holds its answer: a client that goes away
// never learns that the message was delivered.
func TestHoldAnswers(t *testing.T) {
	t.Parallel()
	s := New(t)
	release := s.HoldAnswers()
	ctx, cancel := context.WithCancel(t.Context())
	errs := make(chan error, 1)
	go func() { _, err := send(ctx, s, "a"); errs <- err }()
	s.WaitFor(t, "the answer held", func() bool { return s.AnswersHeld() == 1 })
	if s.Count("a") != 1 {
		t.Fatalf("a held answer's message was not delivered: %d", s.Count("a"))
	}
	cancel()
	if err := <-errs; err == nil {
		t.Fatal("the client got an answer")
	}
	s.WaitFor(t, "the handler to end", func() bool { return s.AnswersHeld() == 0 })
	release()
	if code, err := send(t.Context(), s, "b"); err != nil || code != 200 || s.Count("b") != 1 || s.Dropped() != 0 {
		t.Fatalf("after the release: %d %v, %d dropped", code, err, s.Dropped())
	}
}

// Await returns ctx's error when the condition never holds.
func TestAwaitEnds(t *testing.T) {
	t.Parallel()
	s := New(t)
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	if err := s.Await(ctx, func() bool { return s.Requests() > 0 }); err != context.Canceled {
		t.Fatalf("Await = %v", err)
	}
}
