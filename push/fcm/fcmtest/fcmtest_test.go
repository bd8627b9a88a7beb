package fcmtest

import (
	"encoding/json"
	"net/http"
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
