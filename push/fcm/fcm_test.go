package fcm

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/tideline-dev/tideline/push"
	"github.com/tideline-dev/tideline/push/fcm/fcmtest"
)

// newProvider returns a provider that sends to srv with srv's credentials, through the real
// OAuth flow.
func newProvider(t *testing.T, srv *fcmtest.Server, change func(*Config)) *Provider {
	t.Helper()
	cfg := Config{CredentialsFile: srv.WriteCredentials(t), Endpoint: srv.Endpoint()}
	if change != nil {
		change(&cfg)
	}
	p, err := New(t.Context(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// get digs into decoded JSON: get(m, "apns.headers.apns-priority").
func get(v any, path string) any {
	for _, k := range strings.Split(path, ".") {
		m, ok := v.(map[string]any)
		if !ok {
			return nil
		}
		v = m[k]
	}
	return v
}

func want(t *testing.T, msg map[string]any, fields map[string]any) {
	t.Helper()
	for path, w := range fields {
		got := get(msg, path)
		if fmt.Sprint(got) != fmt.Sprint(w) {
			t.Errorf("%s = %v, want %v", path, got, w)
		}
	}
}

func TestSendBatch(t *testing.T) {
	t.Parallel()
	srv := fcmtest.New(t)
	p := newProvider(t, srv, nil)
	if p.Name() != "fcm" || p.ProjectID() != fcmtest.DefaultProjectID {
		t.Fatalf("name %q, project %q", p.Name(), p.ProjectID())
	}
	badge := 3
	longTag := strings.Repeat("t", 70)
	msgs := make([]push.Message, push.MaxBatch)
	for i := range msgs {
		msgs[i] = push.Message{Token: fmt.Sprintf("tok-%03d", i), Platform: "android", Title: "Hi", Body: "n" + strconv.Itoa(i)}
	}
	msgs[0] = push.Message{Token: "tok-000", Platform: "ios", Title: "Sale", Body: "50% off", Data: map[string]string{"k": "v"},
		Priority: "high", TTL: time.Hour, CollapseKey: "sales", Badge: &badge, Sound: "default", Tag: "campaign-1"}
	msgs[1] = push.Message{Token: "tok-001", Platform: "web", Title: "Look", ImageURL: "https://img.example.com/a.png", Priority: "normal", Tag: "campaign-2"}
	msgs[2] = push.Message{Token: "tok-002", Platform: "ios", Silent: true, Title: "ignored", Data: map[string]string{"sync": "1"}, Tag: longTag}

	start := time.Now()
	results, err := p.Send(t.Context(), msgs)
	end := time.Now()
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("%d messages sent in %v", len(msgs), end.Sub(start))
	for i, r := range results {
		if r.Outcome != push.ResultSent || !strings.HasPrefix(r.ID, "projects/"+fcmtest.DefaultProjectID+"/messages/") {
			t.Fatalf("result %d: %+v", i, r)
		}
	}
	delivered := srv.Delivered()
	if len(delivered) != len(msgs) || srv.Requests() != len(msgs) || srv.TokensIssued() != 1 {
		t.Fatalf("%d delivered in %d requests with %d access tokens", len(delivered), srv.Requests(), srv.TokensIssued())
	}
	byToken := map[string]map[string]any{}
	for _, m := range delivered {
		byToken[m.Token] = m.Decode()
	}
	for _, m := range msgs {
		if srv.Count(m.Token) != 1 {
			t.Fatalf("%s delivered %d times", m.Token, srv.Count(m.Token))
		}
	}

	normal := byToken["tok-000"]
	want(t, normal, map[string]any{
		"token": "tok-000", "notification.title": "Sale", "notification.body": "50% off", "notification.image": nil, "data.k": "v",
		"android.priority": "high", "android.ttl": "3600s", "android.collapse_key": "sales",
		"android.notification.tag": "campaign-1", "android.notification.sound": "default",
		"apns.headers.apns-priority": "10", "apns.headers.apns-push-type": "alert", "apns.headers.apns-collapse-id": "campaign-1",
		"apns.payload.aps.alert.title": "Sale", "apns.payload.aps.alert.body": "50% off", "apns.payload.aps.badge": 3,
		"apns.payload.aps.sound": "default", "apns.payload.aps.mutable-content": nil, "apns.payload.aps.content-available": nil,
		"webpush.headers.TTL": "3600", "webpush.headers.Urgency": "high", "webpush.notification.tag": "campaign-1",
	})
	// An hour after the provider's clock read during Send, which lies between start and end.
	exp, _ := strconv.ParseInt(fmt.Sprint(get(normal, "apns.headers.apns-expiration")), 10, 64)
	if lo, hi := start.Add(time.Hour).Unix(), end.Add(time.Hour).Unix(); exp < lo || exp > hi {
		t.Errorf("apns-expiration %d, want an hour after the send: %d to %d", exp, lo, hi)
	}

	image := byToken["tok-001"]
	want(t, image, map[string]any{
		"notification.title": "Look", "notification.image": "https://img.example.com/a.png",
		"android.priority": "normal", "android.ttl": nil, "android.notification.image": "https://img.example.com/a.png",
		"apns.headers.apns-priority": "5", "apns.headers.apns-push-type": "alert", "apns.headers.apns-expiration": nil,
		"apns.payload.aps.mutable-content": 1, "apns.fcm_options.image": "https://img.example.com/a.png",
		"webpush.headers.Urgency": "normal", "webpush.headers.TTL": nil,
		"webpush.notification.tag": "campaign-2", "webpush.notification.image": "https://img.example.com/a.png",
	})

	silent := byToken["tok-002"]
	want(t, silent, map[string]any{
		"notification": nil, "data.sync": "1", "android.priority": "high", "android.notification": nil,
		"apns.headers.apns-priority": "5", "apns.headers.apns-push-type": "background",
		"apns.payload.aps.content-available": 1, "apns.payload.aps.alert": nil, "apns.payload.aps.sound": nil,
		"webpush.notification": nil, "webpush.headers.Urgency": "high",
	})
	if id := fmt.Sprint(get(silent, "apns.headers.apns-collapse-id")); len(id) != 64 || id == longTag[:64] {
		t.Errorf("apns-collapse-id of a 70-byte tag: %q", id)
	}

	plain := byToken["tok-499"]
	want(t, plain, map[string]any{"notification.body": "n499", "android.priority": nil, "apns.headers.apns-priority": "10", "webpush.headers": nil})
}

func TestSendClassifiesErrors(t *testing.T) {
	t.Parallel()
	srv := fcmtest.New(t)
	p := newProvider(t, srv, nil)
	// 100 messages: 0-4 to uninstalled apps, 5-9 to malformed tokens, 10-11 refused locally;
	// of the others, 5 meet a rate limit and 5 a server error, in no particular order.
	msgs := make([]push.Message, 100)
	for i := range msgs {
		msgs[i] = push.Message{Token: fmt.Sprintf("tok-%02d", i), Title: "t"}
		switch {
		case i < 5:
			srv.Unregister(msgs[i].Token)
		case i < 10:
			srv.Invalidate(msgs[i].Token)
		}
	}
	msgs[10].Token = ""
	msgs[11].ImageURL = "not a url"
	srv.RateLimit(5, "7")
	srv.InternalErrors(5)

	start := time.Now()
	results, err := p.Send(t.Context(), msgs)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("mixed batch of %d in %v, %d requests", len(msgs), time.Since(start), srv.Requests())
	count := map[string]int{}
	for i, r := range results {
		count[r.Outcome+" "+r.Code]++
		switch {
		case i < 5:
			if r.Outcome != push.ResultUnregistered || r.Code != "UNREGISTERED" || r.Message == "" {
				t.Errorf("unregistered token %d: %+v", i, r)
			}
		case i < 10:
			if r.Outcome != push.ResultInvalid || r.Code != "INVALID_ARGUMENT" {
				t.Errorf("invalid token %d: %+v", i, r)
			}
		case i < 12:
			if r.Outcome != push.ResultInvalid || r.Code != "INVALID_ARGUMENT" || r.Message == "" {
				t.Errorf("locally refused message %d: %+v", i, r)
			}
		case r.Code == "QUOTA_EXCEEDED":
			if r.Outcome != push.ResultRetry || r.RetryAfter != 7*time.Second {
				t.Errorf("rate-limited message %d: %+v", i, r)
			}
		case r.Code == "INTERNAL":
			if r.Outcome != push.ResultRetry || r.RetryAfter != 0 {
				t.Errorf("server error %d: %+v", i, r)
			}
		case r.Outcome != push.ResultSent:
			t.Errorf("message %d: %+v", i, r)
		}
	}
	if count["retry QUOTA_EXCEEDED"] != 5 || count["retry INTERNAL"] != 5 || count["sent "] != 78 {
		t.Errorf("outcomes %v", count)
	}
	// The SDK retries neither 429 nor 500: one request per message that reached the fake.
	if srv.Requests() != 98 {
		t.Errorf("%d requests for 98 messages: the SDK retried", srv.Requests())
	}
	for _, m := range msgs[:10] {
		if srv.Count(m.Token) != 0 {
			t.Errorf("%s was delivered", m.Token)
		}
	}

	// Retry-After as an HTTP date: the wait from the provider's clock, read during Send.
	date := time.Now().Add(30 * time.Second).UTC().Truncate(time.Second)
	srv.RateLimit(1, date.Format(http.TimeFormat))
	before := time.Now()
	results, err = p.Send(t.Context(), msgs[20:21])
	after := time.Now()
	if err != nil {
		t.Fatal(err)
	}
	lo, hi := date.Sub(after).Round(time.Second), date.Sub(before).Round(time.Second)
	if r := results[0]; r.Outcome != push.ResultRetry || r.RetryAfter < lo || r.RetryAfter > hi {
		t.Errorf("Retry-After date: %+v, want %v to %v", r, lo, hi)
	}
}

func TestRetryAfter(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC)
	for h, w := range map[string]time.Duration{
		"": 0, "0": 0, "-3": 0, "120": 2 * time.Minute, "junk": 0, "99999999999999": maxRetryAfter,
		now.Add(90 * time.Second).Format(http.TimeFormat): 90 * time.Second,
		now.Add(-time.Minute).Format(http.TimeFormat):     0,
	} {
		if got := retryAfter(h, now); got != w {
			t.Errorf("Retry-After %q: %v, want %v", h, got, w)
		}
	}
}

func TestSendWithContextDone(t *testing.T) {
	t.Parallel()
	srv := fcmtest.New(t)
	p := newProvider(t, srv, nil)
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	if _, err := p.Send(ctx, []push.Message{{Token: "a", Title: "t"}}); err == nil {
		t.Fatal("no error")
	}
	if srv.Requests() != 0 || srv.TokensIssued() != 0 {
		t.Fatalf("%d requests, %d tokens", srv.Requests(), srv.TokensIssued())
	}
}

// A batch whose context ends while FCM holds its requests: every message is a retry, and the
// fake records none as delivered.
func TestSendContextEndsMidBatch(t *testing.T) {
	t.Parallel()
	srv := fcmtest.New(t)
	p := newProvider(t, srv, nil)
	release := srv.Block()
	ctx, cancel := context.WithCancel(t.Context())
	msgs := []push.Message{{Token: "a", Title: "t"}, {Token: "b", Title: "t"}, {Token: "c", Title: "t"}}
	done := make(chan []push.Result)
	go func() {
		results, err := p.Send(ctx, msgs)
		if err != nil {
			t.Error(err)
		}
		done <- results
	}()
	srv.WaitFor(t, "the batch held", func() bool { return srv.Waiting() == len(msgs) })
	cancel()
	results := <-done
	for i, r := range results {
		if r.Outcome != push.ResultRetry || r.Code != "CANCELLED" {
			t.Errorf("result %d: %+v", i, r)
		}
	}
	// The fake notices the closed connections and drops the held requests.
	srv.WaitFor(t, "the held requests dropped", func() bool { return srv.Dropped() == len(msgs) })
	release()
	if d := srv.Delivered(); len(d) != 0 {
		t.Fatalf("delivered %v", d)
	}
}

// A deadline that passes while FCM is silent: Send ends with it, and the SDK, whose
// network-error retries would otherwise go on for seconds, makes no other attempt. A
// transport under the provider's counts the attempts.
func TestSendDeadline(t *testing.T) {
	t.Parallel()
	srv := fcmtest.New(t)
	var attempts atomic.Int32
	p := newProvider(t, srv, func(c *Config) {
		c.HTTPClient = &http.Client{Transport: roundTripper(func(r *http.Request) (*http.Response, error) {
			if strings.HasSuffix(r.URL.Path, ":send") {
				attempts.Add(1)
			}
			return http.DefaultTransport.RoundTrip(r)
		})}
	})
	// An access token first, so that the deadline meets the send, not the token's fetch.
	if _, err := p.Send(t.Context(), []push.Message{{Token: "warm", Title: "t"}}); err != nil {
		t.Fatal(err)
	}
	attempts.Store(0)
	defer srv.Block()()
	ctx, cancel := context.WithTimeout(t.Context(), 300*time.Millisecond)
	defer cancel()
	done := make(chan []push.Result, 1)
	go func() {
		results, err := p.Send(ctx, []push.Message{{Token: "a", Title: "t"}})
		if err != nil {
			t.Error(err)
		}
		done <- results
	}()
	var results []push.Result
	select {
	case results = <-done:
	case <-time.After(fcmtest.WaitLimit): // a hang, not a speed limit
		t.Fatalf("Send did not end with its context; FCM holds %d requests", srv.Waiting())
	}
	if r := results[0]; r.Outcome != push.ResultRetry || r.Code != "DEADLINE_EXCEEDED" {
		t.Errorf("result %+v", r)
	}
	if n := attempts.Load(); n != 1 {
		t.Errorf("%d attempts to send: the SDK retried after the deadline", n)
	}
}

// The fake refuses a wrong bearer token (401); the provider reports it failed. The wrong token
// is put on the requests by the test HTTPClient's transport, under the provider's.
func TestWrongBearerToken(t *testing.T) {
	t.Parallel()
	srv := fcmtest.New(t)
	p := newProvider(t, srv, func(c *Config) {
		c.HTTPClient = &http.Client{Transport: roundTripper(func(r *http.Request) (*http.Response, error) {
			if strings.HasSuffix(r.URL.Path, ":send") {
				if !strings.HasPrefix(r.Header.Get("Authorization"), "Bearer fcmtest.") {
					t.Errorf("the provider sent Authorization %q", r.Header.Get("Authorization"))
				}
				r = r.Clone(r.Context())
				r.Header.Set("Authorization", "Bearer wrong")
			}
			return http.DefaultTransport.RoundTrip(r)
		})}
	})
	results, err := p.Send(t.Context(), []push.Message{{Token: "a", Title: "t"}})
	if err != nil {
		t.Fatal(err)
	}
	if r := results[0]; r.Outcome != push.ResultRetry || r.Code != "UNAUTHENTICATED" {
		t.Fatalf("result %+v", r)
	}
	if srv.TokensIssued() != 1 || len(srv.Delivered()) != 0 {
		t.Fatalf("%d tokens issued, %d delivered", srv.TokensIssued(), len(srv.Delivered()))
	}
}

type roundTripper func(*http.Request) (*http.Response, error)

func (f roundTripper) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

// A key the token endpoint refuses: Send fails at once, having sent nothing.
func TestRefusedKey(t *testing.T) {
	t.Parallel()
	srv := fcmtest.New(t)
	other := fcmtest.New(t)
	// other's key, with srv's token endpoint: a signature srv cannot verify.
	b, err := os.ReadFile(other.WriteCredentials(t))
	if err != nil {
		t.Fatal(err)
	}
	var key map[string]string
	if err := json.Unmarshal(b, &key); err != nil {
		t.Fatal(err)
	}
	key["token_uri"] = srv.TokenURL()
	srv.WriteCredentials(t) // srv has a key of its own
	path := writeJSON(t, key)
	p := newProvider(t, srv, func(c *Config) { c.CredentialsFile = path })
	start := time.Now()
	_, err = p.Send(t.Context(), []push.Message{{Token: "a", Title: "t"}})
	if err == nil || !strings.Contains(err.Error(), "invalid_grant") || strings.Contains(err.Error(), "PRIVATE KEY") {
		t.Fatalf("err = %v", err)
	}
	t.Logf("refused key: %v after %v", err, time.Since(start))
	if srv.Requests() != 0 {
		t.Fatalf("%d send requests", srv.Requests())
	}
}

// Application Default Credentials: GOOGLE_APPLICATION_CREDENTIALS names the key, which gives
// the project too.
func TestApplicationDefaultCredentials(t *testing.T) {
	srv := fcmtest.New(t)
	t.Setenv("GOOGLE_APPLICATION_CREDENTIALS", srv.WriteCredentials(t))
	p := newProvider(t, srv, func(c *Config) { c.CredentialsFile = "" })
	if p.ProjectID() != fcmtest.DefaultProjectID {
		t.Fatalf("project %q", p.ProjectID())
	}
	results, err := p.Send(t.Context(), []push.Message{{Token: "a", Title: "t"}})
	if err != nil || results[0].Outcome != push.ResultSent {
		t.Fatalf("%v %+v", err, results)
	}
}

func TestNewErrors(t *testing.T) {
	t.Parallel()
	srv := fcmtest.New(t)
	var good map[string]string
	b, _ := os.ReadFile(srv.WriteCredentials(t))
	_ = json.Unmarshal(b, &good)
	with := func(change func(map[string]string)) string {
		key := map[string]string{}
		for k, v := range good {
			key[k] = v
		}
		change(key)
		return writeJSON(t, key)
	}
	notJSON := filepath.Join(t.TempDir(), "key.json")
	if err := os.WriteFile(notJSON, []byte(`{"private_key": "-----BEGIN PRIVATE KEY-----\nSECRET`), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		name string
		cfg  Config
		want []string
	}{
		{"NoFile", Config{CredentialsFile: filepath.Join(t.TempDir(), "missing.json")}, []string{CredentialsFileEnv, "missing.json", "no such file"}},
		{"NotJSON", Config{CredentialsFile: notJSON}, []string{CredentialsFileEnv, "not JSON"}},
		{"UserCredentials", Config{CredentialsFile: with(func(k map[string]string) { k["type"] = "authorized_user" })}, []string{CredentialsFileEnv, `"authorized_user"`, "service_account"}},
		{"NoPrivateKey", Config{CredentialsFile: with(func(k map[string]string) { delete(k, "private_key") })}, []string{CredentialsFileEnv, "private_key"}},
		{"NoProject", Config{CredentialsFile: with(func(k map[string]string) { delete(k, "project_id") })}, []string{ProjectIDEnv}},
		{"BadEndpoint", Config{CredentialsFile: srv.WriteCredentials(t), Endpoint: "127.0.0.1:9099/v1"}, []string{EndpointEnv, "127.0.0.1:9099/v1"}},
		{"EndpointSlash", Config{CredentialsFile: srv.WriteCredentials(t), Endpoint: srv.Endpoint() + "/"}, []string{EndpointEnv}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			_, err := New(t.Context(), tt.cfg)
			if err == nil {
				t.Fatal("no error")
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not say %q", err, w)
				}
			}
			if strings.Contains(err.Error(), "SECRET") || strings.Contains(err.Error(), "PRIVATE KEY") {
				t.Errorf("error %q shows the key", err)
			}
		})
	}

	// A project id in the configuration wins over the key's.
	p, err := New(t.Context(), Config{CredentialsFile: with(func(k map[string]string) { delete(k, "project_id") }), ProjectID: "other"})
	if err != nil || p.ProjectID() != "other" {
		t.Fatalf("%v %v", p, err)
	}
}

func writeJSON(t *testing.T, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "key.json")
	if err := os.WriteFile(path, b, 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}
