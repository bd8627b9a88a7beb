package httpapi_test

import (
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	datasync "github.com/tideline-dev/tideline/sync"
)

// The Tideline-Client header of a push or a pull is recorded for the admin (sync health);
// a malformed, hostile or oversized one is ignored, and never fails the request.
func TestTidelineClientHeader(t *testing.T) {
	t.Parallel()
	a := newAPI(t, nil)
	ada := a.signUp("ada@example.com")
	send := func(path, header, body string) {
		t.Helper()
		r := httptest.NewRequest("POST", path, strings.NewReader(body))
		r.Header.Set("Content-Type", "application/json")
		r.Header.Set("Authorization", "Bearer "+ada.AccessToken)
		if header != "" {
			r.Header.Set("Tideline-Client", header)
		}
		if rec := a.do(r); rec.Code != 200 {
			t.Fatalf("%s with Tideline-Client %.40q: %d %s", path, header, rec.Code, rec.Body)
		}
	}
	health := func() map[string]datasync.ClientActivity {
		t.Helper()
		list, err := a.app.Sync.ClientHealth(t.Context(), ada.User.ID)
		if err != nil {
			t.Fatal(err)
		}
		out := map[string]datasync.ClientActivity{}
		for _, c := range list {
			out[c.ClientID] = c
		}
		return out
	}
	put := `{"clientId":"%s","mutations":[{"id":1,"collection":"todos","docId":"t1","op":"put","fields":{"a":1}}]}`
	send("/v1/sync/push", "sdk=go/v0.4.0; protocol=1; client=ada-phone", strings.Replace(put, "%s", "ada-phone", 1))
	send("/v1/sync/pull", "sdk=flutter/0.1.0; protocol=1; client=ada-tablet", `{}`)
	now := a.app.Clock.Now()
	got := health()
	if p := got["ada-phone"]; p.SDK != "go/v0.4.0" || p.Protocol != 1 || !p.LastPush.Equal(now) || !p.LastPull.IsZero() || p.High != 1 {
		t.Errorf("the phone: %+v", p)
	}
	if tab := got["ada-tablet"]; tab.SDK != "flutter/0.1.0" || !tab.LastPull.Equal(now) || !tab.LastPush.IsZero() {
		t.Errorf("the tablet: %+v", tab)
	}

	// Hostile headers: the request is served, and what the header says is left out.
	a.app.Clock.Advance(2 * time.Minute)
	for i, h := range []string{
		"sdk=<script>alert(1)</script>; protocol=1; client=ada-laptop",
		"sdk=go/1; protocol=99999; client=../../etc",
		"client=ada-watch; pad=" + strings.Repeat("x", 4096),
		";;;=;==",
	} {
		client := []string{"ada-laptop", "ada-phone2", "ada-watch", "ada-tv"}[i]
		send("/v1/sync/push", h, strings.Replace(put, "%s", client, 1))
		send("/v1/sync/pull", h, `{}`)
	}
	got = health()
	if l := got["ada-laptop"]; l.SDK != "" || l.Protocol != 1 || l.LastPush.IsZero() {
		t.Errorf("a hostile SDK: %+v", l)
	}
	if p := got["ada-phone2"]; p.SDK != "go/1" || p.Protocol != 0 {
		t.Errorf("a protocol out of range: %+v", p)
	}
	for id := range got {
		if strings.ContainsAny(id, "<>/.") {
			t.Errorf("a client id from a hostile header was recorded: %q", id)
		}
	}
	if _, ok := got["ada-watch"]; !ok || got["ada-watch"].SDK != "" {
		t.Errorf("the oversized header's push: %+v", got["ada-watch"])
	}
}
