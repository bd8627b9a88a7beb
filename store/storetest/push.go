package storetest

import (
	"fmt"
	"slices"
	stdsync "sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/tideline-dev/tideline"
	"github.com/tideline-dev/tideline/push"
)

// runPush checks the engine's push.Store against the contract documented on the interface.
func runPush(t *testing.T, h Harness) {
	t.Run("UpsertAndFind", func(t *testing.T) { runPushUpsert(t, h) })
	t.Run("OneTokenOneOwner", func(t *testing.T) { runPushTokenOwner(t, h) })
	t.Run("ConcurrentTokenOneOwner", func(t *testing.T) { runPushTokenRace(t, h) })
	t.Run("ListDevices", func(t *testing.T) { runPushList(t, h) })
	t.Run("DeleteDevice", func(t *testing.T) { runPushDelete(t, h) })
	t.Run("DeleteUserDevices", func(t *testing.T) { runPushDeleteUser(t, h) })
	t.Run("UnbindSessions", func(t *testing.T) { runPushUnbind(t, h) })
	t.Run("Sessions", func(t *testing.T) { runPushSessions(t, h) })
	t.Run("Topics", func(t *testing.T) { runPushTopics(t, h) })
	t.Run("CountDevices", func(t *testing.T) { runPushCountDevices(t, h) })
	t.Run("TimesInMilliseconds", func(t *testing.T) { runPushTimes(t, h) })
	t.Run("PruneToken", func(t *testing.T) { runPushPruneToken(t, h) })
	t.Run("DevicesByID", func(t *testing.T) { runPushDevicesByID(t, h) })
	t.Run("ListAudience", func(t *testing.T) { runPushListAudience(t, h) })
	t.Run("CreateCampaign", func(t *testing.T) { runPushCreateCampaign(t, h) })
	t.Run("ConcurrentCreateCampaignOneKey", func(t *testing.T) { runPushCreateCampaignRace(t, h) })
	t.Run("ListCampaigns", func(t *testing.T) { runPushListCampaigns(t, h) })
	t.Run("ClaimCampaign", func(t *testing.T) { runPushClaimCampaign(t, h) })
	t.Run("ConcurrentClaimCampaign", func(t *testing.T) { runPushClaimCampaignRace(t, h) })
	t.Run("StartCampaign", func(t *testing.T) { runPushStartCampaign(t, h) })
	t.Run("AddDeliveries", func(t *testing.T) { runPushAddDeliveries(t, h) })
	t.Run("ClaimDeliveries", func(t *testing.T) { runPushClaimDeliveries(t, h) })
	t.Run("ConcurrentClaimDeliveries", func(t *testing.T) { runPushClaimDeliveriesRace(t, h) })
	t.Run("FinishDeliveries", func(t *testing.T) { runPushFinishDeliveries(t, h) })
	t.Run("CampaignErrors", func(t *testing.T) { runPushCampaignErrors(t, h) })
	t.Run("CancelCampaign", func(t *testing.T) { runPushCancelCampaign(t, h) })
	t.Run("AddAfterCancel", func(t *testing.T) { runPushAddAfterCancel(t, h) })
	t.Run("FinishCampaign", func(t *testing.T) { runPushFinishCampaign(t, h) })
	t.Run("PurgeDeliveries", func(t *testing.T) { runPushPurgeDeliveries(t, h) })
	t.Run("ConcurrentPurgeDeliveries", func(t *testing.T) { runPushPurgeRace(t, h) })
}

func pushStore(t *testing.T, h Harness) push.Store {
	t.Helper()
	return open(t, h, h.NewLocation(t), tideline.NewManualClock(Epoch)).Push()
}

// newDevice is an iOS device of userID, registered by session s1 with token, seen at seen.
func newDevice(userID, deviceID, token string, seen int) push.Device {
	return push.Device{ID: tideline.NewID(), UserID: userID, DeviceID: deviceID, SessionID: "s1",
		Platform: push.PlatformIOS, PushToken: token, AppVersion: "1.0.0", Locale: "it-IT",
		Timezone: "Europe/Rome", CreatedAt: at(seen), LastSeen: at(seen)}
}

func upsert(t *testing.T, s push.Store, d push.Device) push.Device {
	t.Helper()
	got, err := s.UpsertDevice(t.Context(), d)
	must(t, err, "UpsertDevice "+d.UserID+"/"+d.DeviceID)
	return got
}

func findDevice(t *testing.T, s push.Store, userID, deviceID string) push.Device {
	t.Helper()
	d, err := s.FindDevice(t.Context(), userID, deviceID)
	must(t, err, "FindDevice "+userID+"/"+deviceID)
	return d
}

// wantDevice fails unless the stored device (userID, deviceID) is want.
func wantDevice(t *testing.T, s push.Store, want push.Device, what string) {
	t.Helper()
	if diff := cmp.Diff(want, findDevice(t, s, want.UserID, want.DeviceID), equate...); diff != "" {
		t.Fatalf("%s (-want +got):\n%s", what, diff)
	}
}

func topics(t *testing.T, s push.Store) []push.TopicCount {
	t.Helper()
	got, err := s.ListTopics(t.Context())
	must(t, err, "ListTopics")
	return got
}

func runPushUpsert(t *testing.T, h Harness) {
	s := pushStore(t, h)
	_, err := s.FindDevice(t.Context(), "u1", "d1")
	wantCode(t, err, tideline.CodeNotFound, "FindDevice before any upsert")
	first := newDevice("u1", "d1", "T1", 1)
	got := upsert(t, s, first)
	if diff := cmp.Diff(first, got, equate...); diff != "" {
		t.Fatalf("UpsertDevice created (-want +got):\n%s", diff)
	}
	wantDevice(t, s, first, "FindDevice")
	must(t, s.SetTopic(t.Context(), "u1", "d1", "news", true), "SetTopic")

	change := push.Device{ID: tideline.NewID(), UserID: "u1", DeviceID: "d1", SessionID: "s2",
		Platform: push.PlatformAndroid, PushToken: "T2", AppVersion: "2.0.0", Locale: "en-GB",
		Timezone: "Europe/London", CreatedAt: at(99), LastSeen: at(10), Topics: []string{"ignored"}}
	got = upsert(t, s, change)
	want := change
	want.ID, want.CreatedAt, want.Topics = first.ID, first.CreatedAt, []string{"news"} // kept
	if diff := cmp.Diff(want, got, equate...); diff != "" {
		t.Fatalf("UpsertDevice updated (-want +got):\n%s", diff)
	}
	wantDevice(t, s, want, "FindDevice after the update")

	// Another user's device of the same name is another device.
	_, err = s.FindDevice(t.Context(), "u2", "d1")
	wantCode(t, err, tideline.CodeNotFound, "FindDevice of another user's device id")
	theirs := newDevice("u2", "d1", "T3", 20)
	if got := upsert(t, s, theirs); got.ID != theirs.ID || len(got.Topics) != 0 {
		t.Fatalf("u2's d1 took u1's d1: %+v", got)
	}
	wantDevice(t, s, want, "u1's d1 after u2 registered a d1")
	wantDevice(t, s, theirs, "u2's d1")
	_, err = s.FindDevice(t.Context(), "u1", "nope")
	wantCode(t, err, tideline.CodeNotFound, "FindDevice unknown")

	// An upsert without a token unbinds the device.
	want.PushToken, want.LastSeen = "", at(30)
	change.PushToken, change.LastSeen = "", at(30)
	upsert(t, s, change)
	wantDevice(t, s, want, "after an upsert without a token")
}

func runPushTokenOwner(t *testing.T, h Harness) {
	s := pushStore(t, h)
	a := upsert(t, s, newDevice("u1", "d1", "T", 1))
	b := upsert(t, s, newDevice("u2", "d9", "T", 2))
	if b.PushToken != "T" {
		t.Fatalf("the new holder was stored with token %q", b.PushToken)
	}
	lost := a
	lost.PushToken = ""
	wantDevice(t, s, lost, "the device that lost the token to another user's")
	wantDevice(t, s, b, "the device that took the token")

	a = upsert(t, s, newDevice("u1", "d1", "T", 3))
	if a.PushToken != "T" || findDevice(t, s, "u2", "d9").PushToken != "" {
		t.Fatal("re-registering the token on u1/d1 did not take it back from u2/d9")
	}
	// Another device of the same user takes it too.
	upsert(t, s, newDevice("u1", "d2", "T", 4))
	if findDevice(t, s, "u1", "d1").PushToken != "" || findDevice(t, s, "u1", "d2").PushToken != "T" {
		t.Fatal("u1/d2 did not take the token from u1/d1")
	}
	// Devices without a token take nothing.
	upsert(t, s, newDevice("u3", "d3", "", 5))
	upsert(t, s, newDevice("u3", "d4", "", 6))
	if findDevice(t, s, "u1", "d2").PushToken != "T" {
		t.Fatal("a device registered without a token took one")
	}
}

func runPushTokenRace(t *testing.T, h Harness) {
	s := pushStore(t, h)
	users := []string{"u0", "u1"}
	for round := range 2 { // first every device is new, then every device exists
		token := fmt.Sprint("T", round)
		var wg stdsync.WaitGroup
		for i := range 8 {
			wg.Go(func() {
				d := newDevice(users[i%2], fmt.Sprint("d", i), token, round)
				if _, err := s.UpsertDevice(t.Context(), d); err != nil {
					t.Errorf("round %d, device %d: %v", round, i, err)
				}
			})
		}
		wg.Wait()
		devices, holders := 0, 0
		for _, u := range users {
			list, err := s.ListDevices(t.Context(), u)
			must(t, err, "ListDevices")
			devices += len(list)
			for _, d := range list {
				if d.PushToken == token {
					holders++
				}
			}
		}
		if devices != 8 || holders != 1 {
			t.Fatalf("round %d: %d devices, %d of them hold the token they all registered; want 8 and 1", round, devices, holders)
		}
	}
}

func runPushList(t *testing.T, h Harness) {
	s := pushStore(t, h)
	if got, err := s.ListDevices(t.Context(), "u1"); err != nil || len(got) != 0 {
		t.Fatalf("ListDevices of a user without devices: %v %v", got, err)
	}
	d1 := upsert(t, s, newDevice("u1", "d1", "", 5))
	d2 := upsert(t, s, newDevice("u1", "d2", "", 9))
	d3 := upsert(t, s, newDevice("u1", "d3", "", 5))
	d0 := upsert(t, s, newDevice("u1", "d0", "", 1))
	upsert(t, s, newDevice("u2", "d4", "", 20))
	got, err := s.ListDevices(t.Context(), "u1")
	must(t, err, "ListDevices")
	if diff := cmp.Diff([]push.Device{d2, d1, d3, d0}, got, equate...); diff != "" {
		t.Fatalf("ListDevices, most recently seen first, then by device id (-want +got):\n%s", diff)
	}
	// Registering again moves a device to the front.
	d0.LastSeen = at(30)
	upsert(t, s, d0)
	if got, _ := s.ListDevices(t.Context(), "u1"); len(got) != 4 || got[0].DeviceID != "d0" || !got[0].LastSeen.Equal(at(30)) {
		t.Fatalf("after d0 registered again: %+v", got)
	}
}

func runPushDelete(t *testing.T, h Harness) {
	s := pushStore(t, h)
	upsert(t, s, newDevice("u1", "d1", "T1", 1))
	upsert(t, s, newDevice("u1", "d2", "T2", 2))
	for _, sub := range []struct{ device, topic string }{{"d1", "news"}, {"d1", "sports"}, {"d2", "news"}} {
		must(t, s.SetTopic(t.Context(), "u1", sub.device, sub.topic, true), "SetTopic")
	}
	if diff := cmp.Diff([]push.TopicCount{{Topic: "news", Devices: 2}, {Topic: "sports", Devices: 1}}, topics(t, s)); diff != "" {
		t.Fatalf("ListTopics (-want +got):\n%s", diff)
	}
	wantCode(t, s.DeleteDevice(t.Context(), "u2", "d1"), tideline.CodeNotFound, "DeleteDevice of another user's device id")
	must(t, s.DeleteDevice(t.Context(), "u1", "d1"), "DeleteDevice")
	_, err := s.FindDevice(t.Context(), "u1", "d1")
	wantCode(t, err, tideline.CodeNotFound, "FindDevice after DeleteDevice")
	wantCode(t, s.DeleteDevice(t.Context(), "u1", "d1"), tideline.CodeNotFound, "DeleteDevice twice")
	if diff := cmp.Diff([]push.TopicCount{{Topic: "news", Devices: 1}}, topics(t, s)); diff != "" {
		t.Fatalf("ListTopics after DeleteDevice (-want +got):\n%s", diff)
	}
	// The same device id registered again is a new device, without the old one's topics.
	again := newDevice("u1", "d1", "T1", 3)
	if got := upsert(t, s, again); got.ID != again.ID || len(got.Topics) != 0 || !got.CreatedAt.Equal(at(3)) {
		t.Fatalf("the re-registered device: %+v", got)
	}
	if got := findDevice(t, s, "u1", "d2"); len(got.Topics) != 1 {
		t.Fatalf("the other device after DeleteDevice: %+v", got)
	}
}

func runPushDeleteUser(t *testing.T, h Harness) {
	s := pushStore(t, h)
	upsert(t, s, newDevice("u1", "d1", "T1", 1))
	upsert(t, s, newDevice("u1", "d2", "T2", 2))
	theirs := upsert(t, s, newDevice("u2", "d1", "T3", 3))
	must(t, s.SetTopic(t.Context(), "u1", "d1", "news", true), "SetTopic")
	must(t, s.SetTopic(t.Context(), "u1", "d2", "sports", true), "SetTopic")
	must(t, s.SetTopic(t.Context(), "u2", "d1", "news", true), "SetTopic")
	theirs.Topics = []string{"news"}
	must(t, s.DeleteUserDevices(t.Context(), "u1"), "DeleteUserDevices")
	if got, err := s.ListDevices(t.Context(), "u1"); err != nil || len(got) != 0 {
		t.Fatalf("u1's devices after DeleteUserDevices: %v %v", got, err)
	}
	wantDevice(t, s, theirs, "another user's device")
	if diff := cmp.Diff([]push.TopicCount{{Topic: "news", Devices: 1}}, topics(t, s)); diff != "" {
		t.Fatalf("ListTopics after DeleteUserDevices (-want +got):\n%s", diff)
	}
	must(t, s.DeleteUserDevices(t.Context(), "u1"), "DeleteUserDevices again")
	must(t, s.DeleteUserDevices(t.Context(), "nobody"), "DeleteUserDevices of a user without devices")
	// The deleted devices' tokens are free: a new device takes one without touching u2.
	upsert(t, s, newDevice("u3", "d1", "T1", 4))
	wantDevice(t, s, theirs, "another user's device after a freed token was registered")
}

func runPushUnbind(t *testing.T, h Harness) {
	s := pushStore(t, h)
	reg := func(userID, deviceID, session, token string) push.Device {
		d := newDevice(userID, deviceID, token, 1)
		d.SessionID = session
		return upsert(t, s, d)
	}
	mine := []push.Device{reg("u1", "d1", "s1", "T1"), reg("u1", "d2", "s1", "T2"), reg("u1", "d3", "s2", "T3"),
		reg("u1", "d4", "s3", "T4"), reg("u1", "d5", "s3", "")}
	theirs := reg("u2", "d1", "s1", "T5")
	unbind := func(sessionID, except string, want int, unbound ...int) {
		t.Helper()
		n, err := s.UnbindSessions(t.Context(), "u1", sessionID, except)
		must(t, err, "UnbindSessions")
		if n != want {
			t.Fatalf("UnbindSessions(%q, except %q) cleared %d, want %d", sessionID, except, n, want)
		}
		for _, i := range unbound {
			mine[i].PushToken = ""
		}
		for _, d := range mine {
			wantDevice(t, s, d, fmt.Sprintf("after UnbindSessions(%q, except %q)", sessionID, except))
		}
		wantDevice(t, s, theirs, "another user's device")
	}
	unbind("s1", "", 2, 0, 1)
	unbind("s1", "", 0)
	unbind("nope", "", 0)
	unbind("", "s3", 1, 2) // everywhere but s3: d3
	unbind("", "", 1, 3)   // everywhere: d4 (d5 had no token)
	if n, err := s.UnbindSessions(t.Context(), "nobody", "", ""); err != nil || n != 0 {
		t.Fatalf("UnbindSessions of a user without devices: %d %v", n, err)
	}
	// The token of an unbound device is free for another device.
	reg("u3", "d1", "s9", "T1")
	for _, d := range mine {
		wantDevice(t, s, d, "after a freed token was registered")
	}
}

func runPushTopics(t *testing.T, h Harness) {
	s := pushStore(t, h)
	if got := topics(t, s); len(got) != 0 {
		t.Fatalf("ListTopics of an empty store: %v", got)
	}
	d := upsert(t, s, newDevice("u1", "d1", "T1", 1))
	set := func(userID, deviceID, topic string, member bool) {
		t.Helper()
		must(t, s.SetTopic(t.Context(), userID, deviceID, topic, member), fmt.Sprintf("SetTopic(%s, %s, %v)", deviceID, topic, member))
	}
	for _, topic := range []string{"b", "a", "c", "Zeta", "a"} {
		set("u1", "d1", topic, true)
	}
	if got := findDevice(t, s, "u1", "d1").Topics; !slices.Equal(got, []string{"Zeta", "a", "b", "c"}) {
		t.Fatalf("topics %q, want them sorted, each once", got)
	}
	set("u1", "d1", "b", false)
	set("u1", "d1", "b", false)
	set("u1", "d1", "never", false)
	d.Topics = []string{"Zeta", "a", "c"}
	wantDevice(t, s, d, "after unsubscribing")
	for _, member := range []bool{true, false} {
		wantCode(t, s.SetTopic(t.Context(), "u1", "nope", "a", member), tideline.CodeNotFound, "SetTopic on an unknown device")
		wantCode(t, s.SetTopic(t.Context(), "u2", "d1", "a", member), tideline.CodeNotFound, "SetTopic on another user's device id")
	}
	upsert(t, s, newDevice("u2", "d1", "T2", 2))
	set("u2", "d1", "a", true)
	set("u2", "d1", "b", true)
	set("u2", "d1", "b", false)
	want := []push.TopicCount{{Topic: "Zeta", Devices: 1}, {Topic: "a", Devices: 2}, {Topic: "c", Devices: 1}}
	if diff := cmp.Diff(want, topics(t, s)); diff != "" {
		t.Fatalf("ListTopics (-want +got):\n%s", diff)
	}
	if got, _ := s.ListDevices(t.Context(), "u1"); len(got) != 1 || !slices.Equal(got[0].Topics, d.Topics) {
		t.Fatalf("ListDevices carries the topics: %+v", got)
	}

	// The limit holds however many subscriptions race (finding 11 of issue 15: concurrent
	// subscribes stored 202 topics).
	t.Run("LimitUnderConcurrency", func(t *testing.T) {
		upsert(t, s, newDevice("u3", "full", "T3", 3))
		for i := range push.MaxTopicsPerDevice - 5 {
			set("u3", "full", fmt.Sprint("t", i), true)
		}
		var wg stdsync.WaitGroup
		errs := make([]error, 20)
		for i := range errs {
			wg.Go(func() { errs[i] = s.SetTopic(t.Context(), "u3", "full", fmt.Sprint("race", i), true) })
		}
		wg.Wait()
		ok := 0
		for _, err := range errs {
			if err == nil {
				ok++
			} else {
				wantCode(t, err, tideline.CodeTooLarge, "SetTopic past the limit")
			}
		}
		if got := len(findDevice(t, s, "u3", "full").Topics); ok != 5 || got != push.MaxTopicsPerDevice {
			t.Fatalf("%d of 20 racing subscriptions succeeded, %d topics stored; want 5 and %d", ok, got, push.MaxTopicsPerDevice)
		}
		set("u3", "full", "t0", true) // already in: fine at the limit
		wantCode(t, s.SetTopic(t.Context(), "u3", "full", "one-more", true), tideline.CodeTooLarge, "SetTopic at the limit")
		set("u3", "full", "t0", false)
		set("u3", "full", "one-more", true) // a place was freed
	})
}

func runPushCountDevices(t *testing.T, h Harness) {
	s := pushStore(t, h)
	count := func() []push.PlatformCount {
		t.Helper()
		got, err := s.CountDevices(t.Context())
		must(t, err, "CountDevices")
		return got
	}
	if got := count(); len(got) != 0 {
		t.Fatalf("CountDevices of an empty store: %v", got)
	}
	for i, p := range []string{push.PlatformIOS, push.PlatformAndroid, push.PlatformAndroid, push.PlatformAndroid, push.PlatformIOS} {
		d := newDevice(fmt.Sprintf("u%d", i), "d", fmt.Sprintf("T%d", i), i)
		d.Platform = p
		upsert(t, s, d)
	}
	// An Android device without a token, one whose token moved to another device, one
	// signed out, and a deleted one.
	noToken := newDevice("u9", "d", "", 9)
	noToken.Platform = push.PlatformAndroid
	upsert(t, s, noToken)
	taker := newDevice("u0", "d2", "T1", 10) // takes T1 from u1's Android device
	taker.Platform = push.PlatformWeb
	upsert(t, s, taker)
	if _, err := s.UnbindSessions(t.Context(), "u2", "s1", ""); err != nil {
		t.Fatal(err)
	}
	must(t, s.DeleteDevice(t.Context(), "u4", "d"), "DeleteDevice")
	want := []push.PlatformCount{
		{Platform: push.PlatformAndroid, Devices: 4, WithToken: 1},
		{Platform: push.PlatformIOS, Devices: 1, WithToken: 1},
		{Platform: push.PlatformWeb, Devices: 1, WithToken: 1},
	}
	if diff := cmp.Diff(want, count()); diff != "" {
		t.Fatalf("CountDevices (-want +got):\n%s", diff)
	}
}

func runPushTimes(t *testing.T, h Harness) {
	s := pushStore(t, h)
	d := newDevice("u1", "d1", "T1", 0)
	d.CreatedAt, d.LastSeen = at(1).Add(7*time.Millisecond), at(3).Add(123*time.Millisecond)
	if got := upsert(t, s, d); !got.CreatedAt.Equal(d.CreatedAt) || !got.LastSeen.Equal(d.LastSeen) {
		t.Fatalf("UpsertDevice returned created %v, last seen %v; want %v, %v", got.CreatedAt, got.LastSeen, d.CreatedAt, d.LastSeen)
	}
	wantDevice(t, s, d, "milliseconds round-trip")
	// Finer than a millisecond is not kept; the upsert returns the device as stored.
	d.LastSeen = at(4).Add(999*time.Millisecond + 999*time.Microsecond)
	got := upsert(t, s, d)
	d.LastSeen = at(4).Add(999 * time.Millisecond)
	if !got.LastSeen.Equal(d.LastSeen) {
		t.Fatalf("UpsertDevice returned last seen %v, want it as stored, %v", got.LastSeen, d.LastSeen)
	}
	wantDevice(t, s, d, "a time finer than a millisecond")
}
