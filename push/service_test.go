package push_test

import (
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/tideline-dev/tideline"
	"github.com/tideline-dev/tideline/auth"
	"github.com/tideline-dev/tideline/push"
	"github.com/tideline-dev/tideline/store/enginetest"
)

// The service's tests run on both engines, on real storage.
func eachEngine(t *testing.T, test func(t *testing.T, e *env)) {
	enginetest.Each(t, func(t *testing.T, engine string) { test(t, newEnv(t, engine)) })
}

type env struct {
	t     *testing.T
	svc   *push.Service
	clock *tideline.ManualClock
	store push.Store
	auth  auth.Store // the same engine's: devices bind to its sessions
}

func newEnv(t *testing.T, engine string) *env { return newEnvWith(t, engine, push.Config{}) }

// newEnvWith is newEnv with the service configured by cfg (its Clock is the env's).
func newEnvWith(t *testing.T, engine string, cfg push.Config) *env {
	t.Helper()
	db := enginetest.Open(t, engine, nil)
	clock := tideline.NewManualClock(time.Date(2026, 5, 1, 9, 0, 0, 0, time.UTC))
	cfg.Clock = clock
	return &env{t: t, svc: push.New(db.Push(), cfg), clock: clock, store: db.Push(), auth: db.Auth()}
}

func (e *env) register(user, session string, r push.Registration) push.Device {
	e.t.Helper()
	e.signIn(user, session)
	d, err := e.svc.RegisterDevice(e.t.Context(), user, session, r)
	if err != nil {
		e.t.Fatalf("RegisterDevice: %v", err)
	}
	return d
}

func (e *env) devices(user string) map[string]push.Device {
	e.t.Helper()
	ds, err := e.svc.ListDevices(e.t.Context(), user)
	if err != nil {
		e.t.Fatal(err)
	}
	out := map[string]push.Device{}
	for _, d := range ds {
		out[d.DeviceID] = d
	}
	return out
}

var wantCode = enginetest.WantCode

func TestDevices(t *testing.T) {
	t.Parallel()
	eachEngine(t, testDevices)
}

func testDevices(t *testing.T, e *env) {
	phone := push.Registration{DeviceID: "phone", Platform: push.PlatformIOS, PushToken: "tok-phone", Locale: "en_GB", Timezone: "Europe/London"}
	first := e.register("ada", "s1", phone)
	if first.Locale != "en-GB" || first.PushToken != "tok-phone" || first.SessionID != "s1" {
		t.Fatalf("registered %+v", first)
	}
	// Registering again (the SDK does at every start, and after a lost response) keeps the
	// device: same id, same creation, a later last-seen.
	e.clock.Advance(time.Minute)
	again := e.register("ada", "s1", phone)
	if again.ID != first.ID || !again.CreatedAt.Equal(first.CreatedAt) || !again.LastSeen.After(first.LastSeen) {
		t.Fatalf("again %+v, first %+v", again, first)
	}
	e.register("ada", "s2", push.Registration{DeviceID: "tablet", Platform: push.PlatformAndroid, PushToken: "tok-tablet"})
	e.register("bob", "s3", push.Registration{DeviceID: "phone", Platform: push.PlatformAndroid, PushToken: "tok-bob"})

	// Sign-out of s1 unbinds the phone's token only.
	if err := e.svc.SessionsEnded(t.Context(), "ada", "s1", ""); err != nil {
		t.Fatal(err)
	}
	ds := e.devices("ada")
	if ds["phone"].PushToken != "" || ds["tablet"].PushToken != "tok-tablet" || e.devices("bob")["phone"].PushToken != "tok-bob" {
		t.Fatalf("after s1 ended: %+v / bob %+v", ds, e.devices("bob"))
	}
	// A password change ends every other session: s2's tablet loses its token, the phone,
	// registered again by the current session s4, keeps its own.
	e.register("ada", "s4", phone)
	if err := e.svc.SessionsEnded(t.Context(), "ada", "", "s4"); err != nil {
		t.Fatal(err)
	}
	ds = e.devices("ada")
	if ds["phone"].PushToken != "tok-phone" || ds["tablet"].PushToken != "" {
		t.Fatalf("after the others ended: %+v", ds)
	}

	// Topics, and their limit.
	for _, topic := range []string{"news", "sport", "news"} {
		if err := e.svc.SetTopic(t.Context(), "ada", "phone", topic, true); err != nil {
			t.Fatal(err)
		}
	}
	if err := e.svc.SetTopic(t.Context(), "bob", "phone", "news", true); err != nil {
		t.Fatal(err)
	}
	wantCode(t, e.svc.SetTopic(t.Context(), "bob", "tablet", "news", true), tideline.CodeNotFound) // ada's device name, not bob's
	wantCode(t, e.svc.SetTopic(t.Context(), "ada", "phone", "bad topic", true), tideline.CodeInvalid)
	topics, err := e.svc.ListTopics(t.Context())
	if err != nil || len(topics) != 2 || topics[0] != (push.TopicCount{Topic: "news", Devices: 2}) || topics[1] != (push.TopicCount{Topic: "sport", Devices: 1}) {
		t.Fatalf("topics %+v %v", topics, err)
	}
	if got := e.devices("ada")["phone"].Topics; len(got) != 2 || got[0] != "news" || got[1] != "sport" {
		t.Fatalf("phone's topics %v", got)
	}

	// Deleting the user removes their devices and subscriptions, and nobody else's.
	if err := e.svc.DeleteUser(t.Context(), "ada"); err != nil {
		t.Fatal(err)
	}
	if err := e.svc.DeleteUser(t.Context(), "ada"); err != nil { // a retried deletion
		t.Fatal(err)
	}
	if len(e.devices("ada")) != 0 || len(e.devices("bob")) != 1 {
		t.Fatalf("after deleting ada: %+v / %+v", e.devices("ada"), e.devices("bob"))
	}
	topics, _ = e.svc.ListTopics(t.Context())
	if len(topics) != 1 || topics[0] != (push.TopicCount{Topic: "news", Devices: 1}) {
		t.Fatalf("topics after deleting ada %+v", topics)
	}
	wantCode(t, e.svc.DeleteDevice(t.Context(), "ada", "phone"), tideline.CodeNotFound)
}

func TestTopicLimit(t *testing.T) {
	t.Parallel()
	eachEngine(t, testTopicLimit)
}

func testTopicLimit(t *testing.T, e *env) {
	e.register("ada", "s1", push.Registration{DeviceID: "phone", Platform: push.PlatformWeb})
	for i := range push.MaxTopicsPerDevice {
		if err := e.svc.SetTopic(t.Context(), "ada", "phone", "t"+strings.Repeat("x", i%5)+string(rune('a'+i%26))+strconv.Itoa(i), true); err != nil {
			t.Fatalf("topic %d: %v", i, err)
		}
	}
	wantCode(t, e.svc.SetTopic(t.Context(), "ada", "phone", "one-more", true), tideline.CodeTooLarge)
	if err := e.svc.SetTopic(t.Context(), "ada", "phone", "ta0", true); err != nil { // already in: fine
		t.Fatal(err)
	}
	if err := e.svc.SetTopic(t.Context(), "ada", "phone", "one-more", false); err != nil { // leaving what one is not in: fine
		t.Fatal(err)
	}
}
