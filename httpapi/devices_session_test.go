package httpapi

import (
	"net/http"
	"testing"

	"github.com/tideline-dev/tideline"
	"github.com/tideline-dev/tideline/auth"
)

// TestRegisterDeviceAfterSignOutOnAnotherNode: a node whose cache still trusts a session
// that another node signed out (it checks the store at most every 30 s per session) must
// not bind a push token to it (finding 3 of issue 15: such a device kept getting the
// user's campaigns).
func TestRegisterDeviceAfterSignOutOnAnotherNode(t *testing.T) {
	a := newAPI(t, nil)
	ada := a.signUp("ada@example.com")
	// Node B: the same store, its own auth service, so its own session cache.
	authB, err := auth.New(t.Context(), a.db.Auth(), authConfig(a.clock, a.mail))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(authB.Close)
	cfgB := a.srv.cfg
	cfgB.Auth, cfgB.Registry = authB, nil
	srvB, err := New(cfgB)
	if err != nil {
		t.Fatal(err)
	}
	b := *a
	b.srv = srvB
	if rec := b.call("GET", "/v1/devices", ada.AccessToken, nil); rec.Code != http.StatusOK { // B caches the session
		t.Fatalf("list on node B: %d %s", rec.Code, rec.Body)
	}
	if rec := a.call("POST", "/v1/auth/logout", ada.AccessToken, nil); rec.Code != http.StatusNoContent {
		t.Fatalf("logout on node A: %d %s", rec.Code, rec.Body)
	}
	if rec := b.call("GET", "/v1/devices", ada.AccessToken, nil); rec.Code != http.StatusOK {
		t.Fatalf("node B should still trust its cache here (the window this test is about): %d", rec.Code)
	}
	reg := map[string]string{"deviceId": "phone-1", "platform": "ios", "pushToken": "fcm-token-1"}
	checkProblem(t, b.call("POST", "/v1/devices", ada.AccessToken, reg), http.StatusUnauthorized, tideline.CodeUnauthenticated)
	if ds, err := a.srv.cfg.Push.ListDevices(t.Context(), ada.User.ID); err != nil || len(ds) != 0 {
		t.Fatalf("devices after the refused registration: %+v, %v", ds, err)
	}
}
