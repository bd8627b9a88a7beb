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
	t.Parallel()
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
