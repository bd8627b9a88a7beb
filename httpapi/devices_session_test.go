package httpapi_test

import (
	"net/http"
	"testing"

	"github.com/tideline-dev/tideline"
	"github.com/tideline-dev/tideline/app/apptest"
	"github.com/tideline-dev/tideline/store/enginetest"
)

// TestRegisterDeviceAfterSignOutOnAnotherNode: a node whose cache still trusts a session
// that another node signed out (it checks the store at most every 30 s per session) must
// not bind a push token to it (finding 3 of issue 15: such a device kept getting the
// user's campaigns).
func TestRegisterDeviceAfterSignOutOnAnotherNode(t *testing.T) {
	// Two nodes on one MongoDB database, each with its own session cache.
	a := newAPIWith(t, apptest.Options{Engine: enginetest.MongoDB})
	b := newAPIWith(t, apptest.Options{NodeOf: a.app})
	ada := a.signUp("ada@example.com")
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
	if ds, err := a.app.Push.ListDevices(t.Context(), ada.User.ID); err != nil || len(ds) != 0 {
		t.Fatalf("devices after the refused registration: %+v, %v", ds, err)
	}
}
