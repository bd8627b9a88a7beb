package push_test

import (
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/tideline-dev/tideline/push"
	"github.com/tideline-dev/tideline/push/fcm/fcmtest"
)

func TestSweepDeliveries(t *testing.T) {
	t.Parallel()
	onEngines(t, testSweepDeliveries)
}

// The sweep deletes the deliveries of campaigns that ended more than DeliveryRetention
// ago, completed or cancelled, and each campaign reads as before: the same counts,
// audience size and first errors, in the list too. A campaign within the retention keeps
// its deliveries.
func testSweepDeliveries(t *testing.T, engine string) {
	fake := fcmtest.New(t)
	e := fcmEnv(t, engine, fake, push.Config{Batch: 10, DeliveryRetention: 48 * time.Hour})
	e.devicesN(20, 5, nil)
	fake.Unregister("tok-3")
	fake.Invalidate("tok-4")
	fake.Invalidate("tok-7")
	done := e.create(hello(push.Target{All: true}))
	drain(t, e.svc)
	// Cancelled after its first batch.
	k := hello(push.Target{All: true})
	k.Notification.Title = "Second"
	cancelled := e.create(k)
	for range 2 {
		if did, err := e.svc.Step(t.Context()); !did || err != nil {
			t.Fatal(did, err)
		}
	}
	if _, err := e.svc.CancelCampaign(t.Context(), cancelled.ID); err != nil {
		t.Fatal(err)
	}
	before := map[string]push.CampaignView{done.ID: e.campaign(done.ID), cancelled.ID: e.campaign(cancelled.ID)}
	if c := before[done.ID]; c.Status != push.CampaignCompleted || c.Counts != (push.Counts{Sent: 17, Failed: 2, Pruned: 1}) || len(c.Errors) != 2 {
		t.Fatalf("before the sweep: %s %+v, %d errors", c.Status, c.Counts, len(c.Errors))
	}
	if c := before[cancelled.ID]; c.Status != push.CampaignCancelled || c.Counts.Cancelled == 0 || c.Counts.Sent == 0 {
		t.Fatalf("cancelled before the sweep: %s %+v", c.Status, c.Counts)
	}
	list := func() []push.CampaignView {
		t.Helper()
		vs, err := e.svc.ListCampaigns(t.Context(), "", 10)
		if err != nil {
			t.Fatal(err)
		}
		return vs
	}
	listed := list()

	sweep := func() int {
		t.Helper()
		n, err := e.svc.SweepDeliveries(t.Context())
		if err != nil {
			t.Fatal(err)
		}
		return n
	}
	e.clock.Advance(47 * time.Hour)
	if n := sweep(); n != 0 {
		t.Fatalf("a sweep within the retention changed %d records", n)
	}
	e.clock.Advance(2 * time.Hour)
	recent := e.create(hello(push.Target{UserIDs: []string{"u0"}})) // ends now: within the retention
	drain(t, e.svc)
	if n := sweep(); n < 20 {
		t.Fatalf("the sweep changed %d records, want at least the 18 deliveries of the completed campaign", n)
	}
	for id, want := range before {
		got := e.campaign(id)
		if diff := cmp.Diff(want.Counts, got.Counts); diff != "" || got.Targeted != want.Targeted || got.Status != want.Status {
			t.Fatalf("campaign %s after the sweep: targeted %d (was %d), status %s, counts (-before +after):\n%s", id, got.Targeted, want.Targeted, got.Status, diff)
		}
		if diff := cmp.Diff(want.Errors, got.Errors); diff != "" {
			t.Fatalf("campaign %s's errors after the sweep (-before +after):\n%s", id, diff)
		}
		live, err := e.store.CampaignCounts(t.Context(), id)
		if err != nil || live.Sent != 0 || live.Pruned != 0 || live.Cancelled != 0 {
			t.Fatalf("campaign %s: deliveries left after the sweep %+v (%v)", id, live, err)
		}
	}
	seen := 0
	for _, v := range list() {
		for _, was := range listed {
			if v.ID == was.ID {
				seen++
				if v.Counts != was.Counts || v.Targeted != was.Targeted {
					t.Fatalf("listed after the sweep: %s %+v of %d, was %+v of %d", v.ID, v.Counts, v.Targeted, was.Counts, was.Targeted)
				}
			}
		}
	}
	if seen != len(listed) {
		t.Fatalf("the list after the sweep has %d of the %d campaigns listed before", seen, len(listed))
	}
	if live, err := e.store.CampaignCounts(t.Context(), recent.ID); err != nil || live.Sent == 0 {
		t.Fatalf("a campaign within the retention lost its deliveries: %+v %v", live, err)
	}
	if !strings.Contains(e.campaign(done.ID).Errors[0].Error, "INVALID_ARGUMENT") {
		t.Fatalf("kept error: %+v", e.campaign(done.ID).Errors[0])
	}
	if n := sweep(); n != 0 {
		t.Fatalf("a second sweep changed %d records", n)
	}
}
