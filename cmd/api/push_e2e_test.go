package main

import (
	"testing"

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
				env = append(env, "TIDELINE_MONGODB_URI="+storetest.MongoURI(t), "TIDELINE_MONGODB_DATABASE=e2e_devices")
			}
			p := startAPI(t, env, "--addr", "127.0.0.1:0")
			base := p.waitFor("tideline listening")["addr"].(string)
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
