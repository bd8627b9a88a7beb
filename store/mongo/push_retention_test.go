package mongo

import (
	"errors"
	"testing"

	"github.com/tideline-dev/tideline/push"
	"go.mongodb.org/mongo-driver/v2/bson"
)

// A node killed between the steps of FinishCampaign and PurgeDeliveries (the hook ends
// the call there, as a crash would) loses no count and counts nothing twice; a campaign
// completed before counts were stored (final absent, as the previous release left it) is
// counted from its deliveries until the purge stores its counts.

var errKilled = errors.New("killed")

// killAt is a hook that fails the call at step, once, and passes every other step.
func killAt(step pushStep) func(pushStep, push.Device, string) error {
	done := false
	return func(s pushStep, _ push.Device, _ string) error {
		if s == step && !done {
			done = true
			return errKilled
		}
		return nil
	}
}

// finishedDeliveries adds n deliveries to c, claims them for "w" and records outcomes:
// every third failed (at 10+i), the others sent.
func finishedDeliveries(t *testing.T, s push.Store, c push.Campaign, n int) push.Counts {
	t.Helper()
	ds := deliveries(c.ID, n, at(0))
	if err := s.AddDeliveries(t.Context(), ds); err != nil {
		t.Fatal(err)
	}
	if got, err := s.ClaimDeliveries(t.Context(), "w", at(1), at(100), n); err != nil || len(got) != n {
		t.Fatalf("ClaimDeliveries: %d, %v", len(got), err)
	}
	var want push.Counts
	outcomes := make([]push.Outcome, n)
	for i, d := range ds {
		outcomes[i] = push.Outcome{DeliveryID: d.ID, Status: push.DeliverySent, At: at(10 + i)}
		if i%3 == 0 {
			outcomes[i].Status, outcomes[i].Error = push.DeliveryFailed, "INVALID_ARGUMENT"
			want.Failed++
		} else {
			want.Sent++
		}
	}
	if got, err := s.FinishDeliveries(t.Context(), "w", outcomes); err != nil || got != n {
		t.Fatalf("FinishDeliveries: %d, %v", got, err)
	}
	return want
}

func TestPushFinishCampaignKilled(t *testing.T) {
	t.Parallel()
	db := newPushDB(t)
	c := sendingCampaign(t, db.Push())
	want := finishedDeliveries(t, db.Push(), c, 9)
	killed := pushNode(db, killAt(finishCounted))
	if ok, err := killed.FinishCampaign(t.Context(), c.ID, at(200)); !errors.Is(err, errKilled) || ok {
		t.Fatalf("FinishCampaign killed after counting: %v %v", ok, err)
	}
	if got, err := db.Push().GetCampaign(t.Context(), c.ID); err != nil || got.Status != push.CampaignSending || got.Final != nil {
		t.Fatalf("a campaign whose completion was killed after counting: %+v %v", got, err)
	}
	if ok, err := killed.FinishCampaign(t.Context(), c.ID, at(201)); err != nil || !ok {
		t.Fatalf("FinishCampaign again: %v %v", ok, err)
	}
	got, err := db.Push().GetCampaign(t.Context(), c.ID)
	if err != nil || got.Status != push.CampaignCompleted || got.Final == nil || *got.Final != want {
		t.Fatalf("completed: %+v (final %+v), want final %+v; %v", got, got.Final, want, err)
	}
}

func TestPushPurgeKilled(t *testing.T) {
	t.Parallel()
	db := newPushDB(t)
	s := db.Push()
	c := sendingCampaign(t, s)
	want := finishedDeliveries(t, s, c, 12)
	if ok, err := s.FinishCampaign(t.Context(), c.ID, at(200)); err != nil || !ok {
		t.Fatalf("FinishCampaign: %v %v", ok, err)
	}
	// As the previous release left a completed campaign: no counts stored.
	if _, err := db.db.Collection(pushCampaignsCollection).UpdateOne(t.Context(), bson.D{{Key: "_id", Value: c.ID}},
		bson.D{{Key: "$unset", Value: bson.D{{Key: "final", Value: ""}}}}); err != nil {
		t.Fatal(err)
	}
	if got, _ := s.GetCampaign(t.Context(), c.ID); got.Final != nil {
		t.Fatalf("final still there: %+v", got.Final)
	}
	if live, err := s.CampaignCounts(t.Context(), c.ID); err != nil || live != want {
		t.Fatalf("counts read from the deliveries: %+v %v, want %+v", live, err, want)
	}
	wantFinal := func(what string) {
		t.Helper()
		got, err := s.GetCampaign(t.Context(), c.ID)
		if err != nil || got.Final == nil || *got.Final != want {
			t.Fatalf("%s: final %+v (%v), want %+v", what, got.Final, err, want)
		}
	}
	total := countDocs(t, db, pushDeliveriesCollection, bson.D{{Key: "campaignId", Value: c.ID}})

	// Killed after storing the counts: nothing deleted.
	if _, err := pushNode(db, killAt(purgeCounted)).PurgeDeliveries(t.Context(), at(1000), 2, 5); !errors.Is(err, errKilled) {
		t.Fatalf("PurgeDeliveries killed after counting: %v", err)
	}
	wantFinal("killed after counting")
	if n := countDocs(t, db, pushDeliveriesCollection, bson.D{{Key: "campaignId", Value: c.ID}}); n != total {
		t.Fatalf("killed after counting: %d deliveries left of %d", n, total)
	}
	// Part deleted (a call's limit), then killed after the last delete, before the mark.
	if n, err := s.PurgeDeliveries(t.Context(), at(1000), 2, 5); err != nil || n != 5 {
		t.Fatalf("PurgeDeliveries of 5: %d %v", n, err)
	}
	wantFinal("after a part")
	if _, err := pushNode(db, killAt(purgeDeleted)).PurgeDeliveries(t.Context(), at(1000), 2, 100); !errors.Is(err, errKilled) {
		t.Fatalf("PurgeDeliveries killed before the mark: %v", err)
	}
	wantFinal("killed before the mark")
	if n := countDocs(t, db, pushDeliveriesCollection, bson.D{{Key: "campaignId", Value: c.ID}}); n != 2 {
		t.Fatalf("killed before the mark: %d deliveries left, want the 2 first failures", n)
	}
	if n, err := s.PurgeDeliveries(t.Context(), at(1000), 2, 100); err != nil || n != 1 {
		t.Fatalf("PurgeDeliveries after the kill: %d %v, want the mark", n, err)
	}
	if n, err := s.PurgeDeliveries(t.Context(), at(1000), 2, 100); err != nil || n != 0 {
		t.Fatalf("PurgeDeliveries when done: %d %v", n, err)
	}
	wantFinal("purged")
	if errs, err := s.CampaignErrors(t.Context(), c.ID, 10); err != nil || len(errs) != 2 || errs[0].FinishedAt != at(10) || errs[1].FinishedAt != at(13) {
		t.Fatalf("the kept failures: %+v %v", errs, err)
	}
}
