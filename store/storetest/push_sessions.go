package storetest

import (
	"testing"

	"github.com/tideline-dev/tideline"
	"github.com/tideline-dev/tideline/auth"
	"github.com/tideline-dev/tideline/push"
)

// runPushSessions checks what push asks of the auth sessions the engine keeps too: whether
// a session is active when a device binds to it, and the sweep of tokens bound to ended
// sessions (finding 3 of issue 15).
func runPushSessions(t *testing.T, h Harness) {
	e := open(t, h, h.NewLocation(t), tideline.NewManualClock(Epoch))
	as, ps := e.Auth(), e.Push()
	ada, bob := newUser("ada@example.com"), newUser("bob@example.com")
	must(t, as.CreateUser(t.Context(), ada), "CreateUser")
	must(t, as.CreateUser(t.Context(), bob), "CreateUser")
	session := func(u auth.User, id string, expires int) {
		t.Helper()
		s := auth.Session{ID: id, UserID: u.ID, CreatedAt: at(0), LastUsedAt: at(0), ExpiresAt: at(expires)}
		must(t, as.CreateSession(t.Context(), s, auth.RefreshToken{Hash: "rt-" + id, SessionID: id, UserID: u.ID, CreatedAt: at(0), ExpiresAt: at(expires)}), "CreateSession")
	}
	session(ada, "live", 3600)
	session(ada, "revoked", 3600)
	session(ada, "expiring", 60)
	session(bob, "bobs", 3600)
	must(t, as.RevokeSession(t.Context(), "revoked", at(10)), "RevokeSession")

	t.Run("SessionActive", func(t *testing.T) {
		for _, tt := range []struct {
			user, session string
			at            int
			want          bool
		}{
			{ada.ID, "live", 100, true},
			{ada.ID, "revoked", 100, false},
			{ada.ID, "expiring", 59, true},
			{ada.ID, "expiring", 60, false},
			{ada.ID, "unknown", 100, false},
			{ada.ID, "bobs", 100, false}, // another user's session
			{ada.ID, "", 100, false},
		} {
			got, err := ps.SessionActive(t.Context(), tt.user, tt.session, at(tt.at))
			must(t, err, "SessionActive")
			if got != tt.want {
				t.Errorf("SessionActive(%s at %d) = %v, want %v", tt.session, tt.at, got, tt.want)
			}
		}
	})

	t.Run("UnbindEndedSessions", func(t *testing.T) {
		bind := func(u auth.User, device, session, token string) {
			t.Helper()
			d := newDevice(u.ID, device, token, 1)
			d.SessionID = session
			upsert(t, ps, d)
		}
		bind(ada, "phone", "live", "T-live")
		bind(ada, "tablet", "revoked", "T-revoked")
		bind(ada, "watch", "expiring", "T-expiring")
		bind(ada, "old", "gone", "T-gone")      // a session that no longer exists
		bind(ada, "stolen", "bobs", "T-stolen") // bound to another user's session
		bind(ada, "quiet", "revoked", "")       // no token: nothing to clear
		bind(bob, "laptop", "bobs", "T-bobs")
		// At 30: revoked, gone and stolen have ended, in batches of at most limit.
		n, err := ps.UnbindEndedSessions(t.Context(), at(30), 2)
		must(t, err, "UnbindEndedSessions")
		if n != 2 {
			t.Fatalf("UnbindEndedSessions with limit 2 cleared %d", n)
		}
		n, err = ps.UnbindEndedSessions(t.Context(), at(30), 100)
		must(t, err, "UnbindEndedSessions")
		if n != 1 {
			t.Fatalf("UnbindEndedSessions cleared %d more, want the last of the 3 ended sessions' tokens", n)
		}
		want := map[string]bool{"phone": true, "watch": true, "laptop": true} // still bound
		for _, d := range append(listDevices(t, ps, ada.ID), listDevices(t, ps, bob.ID)...) {
			if (d.PushToken != "") != want[d.DeviceID] {
				t.Errorf("device %s bound: %v, want %v", d.DeviceID, d.PushToken != "", want[d.DeviceID])
			}
		}
		if n, err := ps.UnbindEndedSessions(t.Context(), at(60), 100); err != nil || n != 1 { // "expiring" has ended
			t.Fatalf("at the expiry: %d, %v; want 1", n, err)
		}
		if n, err := ps.UnbindEndedSessions(t.Context(), at(60), 100); err != nil || n != 0 {
			t.Fatalf("again: %d, %v; want 0", n, err)
		}
	})
}

func listDevices(t *testing.T, s push.Store, userID string) []push.Device {
	t.Helper()
	ds, err := s.ListDevices(t.Context(), userID)
	must(t, err, "ListDevices")
	return ds
}
