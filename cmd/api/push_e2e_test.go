package main

import (
	"strings"
	"testing"

	"github.com/tideline-dev/tideline/push/fcm/fcmtest"
	"github.com/tideline-dev/tideline/store/storetest"
)

// TestServeDevices registers a device through the binary on both engines and checks the
// wiring of push to auth: signing out unbinds the session's token, deleting the account
// deletes the devices.
func TestServeDevices(t *testing.T) {
	for _, engine := range []string{"sqlite", "mongodb"} {
		t.Run(engine, func(t *testing.T) {
			env := []string{"TIDELINE_AUTH_ARGON2_MEMORY=64KiB", "TIDELINE_DATA_DIR=" + t.TempDir()}
			if engine == "mongodb" {
				env = append(env, testMasterKeyEnv, "TIDELINE_MONGODB_URI="+storetest.MongoURI(t), "TIDELINE_MONGODB_DATABASE=e2e_devices")
			}
			p := startAPI(t, env, "--addr", "127.0.0.1:0")
			base := p.waitFor("tideline listening")["addr"].(string)
			p.waitFor("push notifications are written to this log, not sent: set fcm.credentialsFile to send them through Firebase Cloud Messaging")
			creds := map[string]string{"email": "ada@example.com", "password": "correct horse battery staple"}
			status, up := callJSON(t, "POST", base+"/v1/auth/signup", "", creds)
			if status != 201 {
				t.Fatalf("signup %d %v", status, up)
			}
			token := up["accessToken"].(string)
			status, d := callJSON(t, "POST", base+"/v1/devices", token, map[string]any{"deviceId": "phone", "platform": "android", "pushToken": "tok-1", "timezone": "Asia/Tokyo"})
			if status != 200 || d["hasPushToken"] != true || d["current"] != true {
				t.Fatalf("register %d %v", status, d)
			}
			if status, _ := callJSON(t, "POST", base+"/v1/auth/logout", token, nil); status != 204 {
				t.Fatalf("logout %d", status)
			}
			status, in := callJSON(t, "POST", base+"/v1/auth/login", "", creds)
			if status != 200 {
				t.Fatalf("login %d %v", status, in)
			}
			token = in["accessToken"].(string)
			status, list := callJSON(t, "GET", base+"/v1/devices", token, nil)
			devices, _ := list["devices"].([]any)
			if status != 200 || len(devices) != 1 || devices[0].(map[string]any)["hasPushToken"] != false {
				t.Fatalf("after signing out %d %v", status, list)
			}
			if status, body := callJSON(t, "DELETE", base+"/v1/me", token, nil); status != 204 {
				t.Fatalf("delete account %d %v", status, body)
			}
		})
	}
}

// TestServeCampaignAndWakeUp runs the binary with FCM pointed at a local fake (the real
// Firebase SDK and OAuth flow inside the server): an admin's campaign reaches the user's
// device, and a change to the user's data wakes the device with a silent push.
func TestServeCampaignAndWakeUp(t *testing.T) {
	for _, engine := range []string{"sqlite", "mongodb"} {
		t.Run(engine, func(t *testing.T) {
			fake := fcmtest.New(t)
			uri := ""
			if engine == "mongodb" {
				uri = storetest.MongoURI(t)
			}
			env := syncEnv(t, engine, uri, "e2e_campaign",
				"TIDELINE_FCM_CREDENTIALS_FILE="+fake.WriteCredentials(t), "TIDELINE_FCM_ENDPOINT="+fake.Endpoint(),
				"TIDELINE_ADMIN_EMAIL=ops@example.com", "TIDELINE_ADMIN_PASSWORD=another admin passphrase")
			p := startAPI(t, env, "--addr", "127.0.0.1:0")
			base := p.waitFor("tideline listening")["addr"].(string)
			if fcm := p.waitFor("push notifications are sent through Firebase Cloud Messaging"); fcm["project"] != fcmtest.DefaultProjectID {
				t.Fatalf("start-up log: %v", fcm)
			}
			ada := signUp(t, base, "ada@example.com")
			if status, d := callJSON(t, "POST", base+"/v1/devices", ada.token, map[string]any{"deviceId": "phone", "platform": "ios", "pushToken": "tok-ada"}); status != 200 {
				t.Fatalf("register %d %v", status, d)
			}
			status, in := callJSON(t, "POST", base+"/v1/auth/login", "", map[string]string{"email": "ops@example.com", "password": "another admin passphrase"})
			if status != 200 {
				t.Fatalf("admin login %d %v", status, in)
			}
			admin := in["accessToken"].(string)
			status, c := callJSON(t, "POST", base+"/v1/admin/push/campaigns", admin, map[string]any{
				"target": map[string]any{"userIds": []string{ada.id}}, "notification": map[string]any{"title": "Hi Ada"}})
			if status != 202 {
				t.Fatalf("campaign %d %v", status, c)
			}
			// The server logs the campaign's completion after recording it.
			if done := p.waitFor("push campaign completed"); done["campaign"] != c["id"] {
				t.Fatalf("completed %v, want campaign %v", done, c["id"])
			}
			_, c = callJSON(t, "GET", base+"/v1/admin/push/campaigns/"+c["id"].(string), admin, nil)
			if counts := c["counts"].(map[string]any); c["status"] != "completed" || counts["sent"] != float64(1) || fake.Count("tok-ada") != 1 {
				t.Fatalf("campaign %v, %d delivered", c, fake.Count("tok-ada"))
			}
			if c["createdBy"] == nil {
				t.Fatalf("a campaign sent by an admin user names them: %v", c)
			}
			if metrics, err := httpGet(base + "/metrics"); err != nil || !strings.Contains(metrics, `tideline_push_deliveries_total{outcome="sent"} 1`) {
				t.Fatalf("no push metrics (%v):\n%s", err, metrics)
			}

			// Ada has no open stream: a change to her data wakes her device.
			pushApplied(t, base, ada, "ada-laptop", map[string]any{"id": 1, "collection": "todos", "docId": "t1", "op": "put", "fields": map[string]any{"title": "milk"}})
			fake.WaitFor(t, "the wake-up", func() bool { return fake.Count("tok-ada") >= 2 })
			got := fake.Delivered()
			if len(got) != 2 || got[1].Decode()["data"].(map[string]any)["tideline"] != "sync" {
				t.Fatalf("no silent wake-up after the change: %d messages", len(got))
			}
		})
	}
}
