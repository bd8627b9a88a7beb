package httpapi_test

import (
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/tideline-dev/tideline"
)

type deviceBody struct {
	ID           string   `json:"id"`
	DeviceID     string   `json:"deviceId"`
	Platform     string   `json:"platform"`
	HasPushToken bool     `json:"hasPushToken"`
	Timezone     string   `json:"timezone"`
	Topics       []string `json:"topics"`
	LastSeen     string   `json:"lastSeen"`
	Current      bool     `json:"current"`
}

func (a *apiTest) devices(token string) []deviceBody {
	a.t.Helper()
	return decode[struct{ Devices []deviceBody }](a.t, a.call("GET", "/v1/devices", token, nil), 200).Devices
}

func (a *apiTest) register(token string, body map[string]any) deviceBody {
	a.t.Helper()
	return decode[deviceBody](a.t, a.call("POST", "/v1/devices", token, body), 200)
}

func TestDevicesOverHTTP(t *testing.T) {
	a := newAPI(t, nil)
	ada, bob := a.signUp("ada@example.com"), a.signUp("bob@example.com")
	key := a.admin()

	for name, body := range map[string]string{
		"HostileID":    `{"deviceId":"$where","platform":"ios"}`,
		"PathID":       `{"deviceId":"../x","platform":"ios"}`,
		"OperatorID":   `{"deviceId":{"$gt":""},"platform":"ios"}`,
		"Platform":     `{"deviceId":"d1","platform":"symbian"}`,
		"TokenSpace":   `{"deviceId":"d1","platform":"ios","pushToken":"a b"}`,
		"TokenTooLong": `{"deviceId":"d1","platform":"ios","pushToken":"` + strings.Repeat("x", 4097) + `"}`,
		"Timezone":     `{"deviceId":"d1","platform":"ios","timezone":"Mars/Olympus_Mons"}`,
		"LocalZone":    `{"deviceId":"d1","platform":"ios","timezone":"Local"}`,
		"Locale":       `{"deviceId":"d1","platform":"ios","locale":"english please"}`,
		"AppVersion":   `{"deviceId":"d1","platform":"ios","appVersion":"$(rm -rf)"}`,
		"Missing":      `{"platform":"ios"}`,
	} {
		t.Run(name, func(t *testing.T) {
			checkProblem(t, a.raw("POST", "/v1/devices", ada.AccessToken, body), 400, tideline.CodeInvalid)
		})
	}
	checkProblem(t, a.raw("POST", "/v1/devices", key, `{"deviceId":"d1","platform":"ios"}`), 403, tideline.CodeForbidden) // an API key has no devices

	d := a.register(ada.AccessToken, map[string]any{"deviceId": "d1", "platform": "android", "pushToken": "tok-1", "appVersion": "2.3.1", "locale": "it_IT", "timezone": "Europe/Rome"})
	if d.ID == "" || !d.HasPushToken || !d.Current || d.Timezone != "Europe/Rome" || len(d.Topics) != 0 {
		t.Fatalf("registered %+v", d)
	}
	a.app.Clock.Advance(time.Minute)
	again := a.register(ada.AccessToken, map[string]any{"deviceId": "d1", "platform": "android", "pushToken": "tok-1"})
	if again.ID != d.ID || again.LastSeen == d.LastSeen {
		t.Fatalf("re-registered %+v, first %+v", again, d)
	}
	// Bob's install "d1" is his own device; the token, now his, leaves Ada's.
	b := a.register(bob.AccessToken, map[string]any{"deviceId": "d1", "platform": "ios", "pushToken": "tok-1"})
	if b.ID == d.ID || !b.HasPushToken {
		t.Fatalf("bob's d1 %+v", b)
	}
	if mine := a.devices(ada.AccessToken); len(mine) != 1 || mine[0].ID != d.ID || mine[0].HasPushToken {
		t.Fatalf("ada's devices after bob took the token: %+v", mine)
	}

	// Topics.
	put := func(token, device, topic string) int {
		return a.call("PUT", "/v1/devices/"+device+"/topics/"+topic, token, nil).Code
	}
	for _, tok := range []string{ada.AccessToken, bob.AccessToken} {
		if code := put(tok, "d1", "news"); code != 204 {
			t.Fatalf("subscribe: %d", code)
		}
	}
	if code := put(ada.AccessToken, "d1", "news"); code != 204 {
		t.Fatalf("subscribe twice: %d", code)
	}
	checkProblem(t, a.call("PUT", "/v1/devices/d1/topics/"+url.PathEscape("bad topic"), ada.AccessToken, nil), 400, tideline.CodeInvalid)
	checkProblem(t, a.call("PUT", "/v1/devices/d1/topics/$where", ada.AccessToken, nil), 400, tideline.CodeInvalid)
	checkProblem(t, a.call("PUT", "/v1/devices/d2/topics/news", ada.AccessToken, nil), 404, tideline.CodeNotFound)
	checkProblem(t, a.call("PUT", "/v1/devices/$where/topics/news", ada.AccessToken, nil), 404, tideline.CodeNotFound)
	topics := decode[struct {
		Topics []struct {
			Topic   string
			Devices int
		}
	}](t, a.call("GET", "/v1/admin/push/topics", key, nil), 200).Topics
	if len(topics) != 1 || topics[0].Topic != "news" || topics[0].Devices != 2 {
		t.Fatalf("topics %+v", topics)
	}
	checkProblem(t, a.call("GET", "/v1/admin/push/topics", ada.AccessToken, nil), 403, tideline.CodeForbidden)
	if code := a.call("DELETE", "/v1/devices/d1/topics/news", bob.AccessToken, nil).Code; code != 204 {
		t.Fatalf("unsubscribe: %d", code)
	}
	if mine := a.devices(ada.AccessToken); len(mine[0].Topics) != 1 || mine[0].Topics[0] != "news" {
		t.Fatalf("bob's unsubscribe touched ada's device: %+v", mine)
	}
	// At most 200 topics per device.
	for i := range 199 {
		if code := put(ada.AccessToken, "d1", "t"+itoa(i)); code != 204 {
			t.Fatalf("topic %d: %d", i, code)
		}
	}
	checkProblem(t, a.call("PUT", "/v1/devices/d1/topics/one-too-many", ada.AccessToken, nil), 413, tideline.CodeTooLarge)

	// Signing out unbinds the tokens that session registered.
	a.register(ada.AccessToken, map[string]any{"deviceId": "d2", "platform": "ios", "pushToken": "tok-2"})
	if rec := a.call("POST", "/v1/auth/logout", ada.AccessToken, nil); rec.Code != 204 {
		t.Fatalf("logout %d", rec.Code)
	}
	again2 := decode[sessionBody](t, a.call("POST", "/v1/auth/login", "", map[string]string{"email": "ada@example.com", "password": password}), 200)
	for _, dev := range a.devices(again2.AccessToken) {
		if dev.HasPushToken || dev.Current {
			t.Fatalf("after signing out: %+v", dev)
		}
	}

	if code := a.call("DELETE", "/v1/devices/d1", again2.AccessToken, nil).Code; code != 204 {
		t.Fatalf("delete: %d", code)
	}
	checkProblem(t, a.call("DELETE", "/v1/devices/d1", again2.AccessToken, nil), 404, tideline.CodeNotFound)
	if left := a.devices(bob.AccessToken); len(left) != 1 {
		t.Fatalf("ada's delete touched bob's: %+v", left)
	}
}

type campaignBody struct {
	ID     string `json:"id"`
	Status string `json:"status"`
	DryRun bool   `json:"dryRun"`
	Counts struct {
		Targeted, Pending, Sent, Failed, Pruned, Cancelled int
	} `json:"counts"`
	Target         map[string]any `json:"target"`
	IdempotencyKey string         `json:"idempotencyKey"`
	CreatedBy      string         `json:"createdBy"`
	FinishedAt     string         `json:"finishedAt"`
}

func TestCampaignsOverHTTP(t *testing.T) {
	a := newAPI(t, nil)
	ada, bob := a.signUp("ada@example.com"), a.signUp("bob@example.com")
	key := a.admin()
	a.register(ada.AccessToken, map[string]any{"deviceId": "d1", "platform": "ios", "pushToken": "tok-a"})
	a.register(bob.AccessToken, map[string]any{"deviceId": "d1", "platform": "android", "pushToken": "tok-b"})
	if code := a.call("PUT", "/v1/devices/d1/topics/news", bob.AccessToken, nil).Code; code != 204 {
		t.Fatalf("subscribe: %d", code)
	}
	const path = "/v1/admin/push/campaigns"
	big := strings.Repeat("x", 4000)
	for name, c := range map[string]struct {
		body   string
		status int
		code   tideline.Code
	}{
		"NoTarget":        {`{"target":{},"notification":{"title":"t"}}`, 400, tideline.CodeInvalid},
		"TwoTargets":      {`{"target":{"all":true,"topic":"news"},"notification":{"title":"t"}}`, 400, tideline.CodeInvalid},
		"UnknownTopic":    {`{"target":{"topic":"nwes"},"notification":{"title":"t"}}`, 400, tideline.CodeInvalid},
		"BadTopic":        {`{"target":{"topic":"a b"},"notification":{"title":"t"}}`, 400, tideline.CodeInvalid},
		"OperatorKey":     {`{"target":{"$where":"1"},"notification":{"title":"t"}}`, 400, tideline.CodeInvalid},
		"OperatorValue":   {`{"target":{"userIds":{"$ne":null}},"notification":{"title":"t"}}`, 400, tideline.CodeInvalid},
		"HostileUserID":   {`{"target":{"userIds":["$where"]},"notification":{"title":"t"}}`, 400, tideline.CodeInvalid},
		"NothingToShow":   {`{"target":{"all":true}}`, 400, tideline.CodeInvalid},
		"SilentWithTitle": {`{"target":{"all":true},"notification":{"title":"t"},"options":{"silent":true}}`, 400, tideline.CodeInvalid},
		"HTTPImage":       {`{"target":{"all":true},"notification":{"title":"t","imageUrl":"http://x.example/a.png"}}`, 400, tideline.CodeInvalid},
		"ReservedKey":     {`{"target":{"all":true},"notification":{"title":"t"},"data":{"google.x":"1"}}`, 400, tideline.CodeInvalid},
		"OversizedData":   {`{"target":{"all":true},"notification":{"title":"t"},"data":{"a":"` + big + `","b":"` + big[:200] + `"}}`, 413, tideline.CodeTooLarge},
		"Priority":        {`{"target":{"all":true},"notification":{"title":"t"},"options":{"priority":"urgent"}}`, 400, tideline.CodeInvalid},
		"LocalNoTime":     {`{"target":{"all":true},"notification":{"title":"t"},"localTime":true}`, 400, tideline.CodeInvalid},
		"FarFuture":       {`{"target":{"all":true},"notification":{"title":"t"},"sendAt":"2099-01-01T00:00:00Z"}`, 400, tideline.CodeInvalid},
		"VersionRange":    {`{"target":{"segment":{"minAppVersion":"3.0","maxAppVersion":"2.9"}},"notification":{"title":"t"}}`, 400, tideline.CodeInvalid},
		"Malformed":       {`{"target":`, 400, tideline.CodeInvalid},
	} {
		t.Run(name, func(t *testing.T) { checkProblem(t, a.raw("POST", path, key, c.body), c.status, c.code) })
	}
	send := `{"target":{"topic":"news"},"notification":{"title":"<script>alert(1)</script>","body":"hi"},"data":{"$where":"1"},"idempotencyKey":"k-1"}`
	checkProblem(t, a.raw("POST", path, ada.AccessToken, send), 403, tideline.CodeForbidden)
	checkProblem(t, a.raw("POST", path, "", send), 401, tideline.CodeUnauthenticated)
	if n := len(decode[struct{ Campaigns []campaignBody }](t, a.call("GET", path, key, nil), 200).Campaigns); n != 0 {
		t.Fatalf("refused requests stored %d campaigns", n)
	}

	c := decode[campaignBody](t, a.raw("POST", path, key, send), 202)
	if c.Status != "queued" || c.IdempotencyKey != "k-1" || c.Target["topic"] != "news" || c.CreatedBy != "" {
		t.Fatalf("created %+v", c)
	}
	// A retry with the same key is the same campaign; nothing new is queued.
	if again := decode[campaignBody](t, a.raw("POST", path, key, send), 202); again.ID != c.ID {
		t.Fatalf("retried with the key: %s, first %s", again.ID, c.ID)
	}
	svc := a.app.Push
	for {
		did, err := svc.Step(t.Context())
		if err != nil {
			t.Fatal(err)
		}
		if !did {
			break
		}
	}
	got := decode[campaignBody](t, a.call("GET", path+"/"+c.ID, key, nil), 200)
	if got.Status != "completed" || got.Counts.Targeted != 1 || got.Counts.Sent != 1 || got.FinishedAt == "" {
		t.Fatalf("after sending: %+v", got)
	}
	checkProblem(t, a.call("POST", path+"/"+c.ID+"/cancel", key, nil), 409, tideline.CodeConflict)
	checkProblem(t, a.call("GET", path+"/nope", key, nil), 404, tideline.CodeNotFound)
	checkProblem(t, a.call("GET", path+"/"+url.PathEscape("$where"), key, nil), 404, tideline.CodeNotFound)
	checkProblem(t, a.call("POST", path+"/nope/cancel", key, nil), 404, tideline.CodeNotFound)
	checkProblem(t, a.call("GET", path+"/"+c.ID, bob.AccessToken, nil), 403, tideline.CodeForbidden)

	// A dry run counts the audience and sends nothing; a scheduled campaign can be cancelled.
	dry := decode[campaignBody](t, a.raw("POST", path, key, `{"target":{"all":true},"notification":{"title":"t"},"dryRun":true}`), 202)
	later := decode[campaignBody](t, a.raw("POST", path, key, `{"target":{"all":true},"notification":{"title":"t"},"sendAt":"`+a.app.Clock.Now().Add(time.Hour).Format(time.RFC3339)+`"}`), 202)
	if did, err := svc.Step(t.Context()); !did || err != nil {
		t.Fatalf("dry run step: %v %v", did, err)
	}
	if did, err := svc.Step(t.Context()); did || err != nil {
		t.Fatalf("a campaign due in an hour was worked on: %v %v", did, err)
	}
	if d := decode[campaignBody](t, a.call("GET", path+"/"+dry.ID, key, nil), 200); d.Status != "completed" || !d.DryRun || d.Counts.Targeted != 2 || d.Counts.Sent != 0 {
		t.Fatalf("dry run: %+v", d)
	}
	if cl := decode[campaignBody](t, a.call("POST", path+"/"+later.ID+"/cancel", key, nil), 200); cl.Status != "cancelled" || cl.FinishedAt == "" {
		t.Fatalf("cancelled: %+v", cl)
	}
	a.app.Clock.Advance(2 * time.Hour)
	if did, err := svc.Step(t.Context()); did || err != nil {
		t.Fatalf("a cancelled campaign was worked on: %v %v", did, err)
	}
	page := decode[struct {
		Campaigns []campaignBody
		Next      string
	}](t, a.call("GET", path+"?limit=2", key, nil), 200)
	if len(page.Campaigns) != 2 || page.Campaigns[0].ID != later.ID || page.Campaigns[1].ID != dry.ID || page.Next != dry.ID {
		t.Fatalf("page 1: %+v", page)
	}
	rest := decode[struct{ Campaigns []campaignBody }](t, a.call("GET", path+"?limit=2&before="+page.Next, key, nil), 200).Campaigns
	if len(rest) != 1 || rest[0].ID != c.ID {
		t.Fatalf("page 2: %+v", rest)
	}
}
