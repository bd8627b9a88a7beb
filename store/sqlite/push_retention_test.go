package sqlite

import (
	"testing"
	"time"

	"github.com/tideline-dev/tideline"
	"github.com/tideline-dev/tideline/push"
	"github.com/tideline-dev/tideline/store/storetest"
)

// TestPushRetentionUpgrade: a campaign completed before migration 11 (final = 0, as the
// migration leaves it) is counted from its deliveries, and the purge stores its counts
// before it deletes any of them.
func TestPushRetentionUpgrade(t *testing.T) {
	t.Parallel()
	db := mustOpen(t, t.TempDir(), migrations)
	s := db.Push()
	ctx := t.Context()
	at := func(sec int) time.Time { return storetest.Epoch.Add(time.Duration(sec) * time.Second) }
	c, _, err := s.CreateCampaign(ctx, push.Campaign{ID: tideline.NewID(), Spec: []byte(`{}`), CreatedAt: at(0), StartAt: at(0)})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.ClaimCampaign(ctx, "w", at(0), at(60)); err != nil {
		t.Fatal(err)
	}
	if err := s.StartCampaign(ctx, c.ID, "w", push.CampaignSending, 3, at(1)); err != nil {
		t.Fatal(err)
	}
	var ds []push.Delivery
	for i := range 3 {
		ds = append(ds, push.Delivery{ID: tideline.NewID(), CampaignID: c.ID, DeviceID: string(rune('a' + i)), UserID: "u", Due: at(1)})
	}
	if err := s.AddDeliveries(ctx, ds); err != nil {
		t.Fatal(err)
	}
	if got, err := s.ClaimDeliveries(ctx, "w", at(2), at(60), 10); err != nil || len(got) != 3 {
		t.Fatalf("claim: %d %v", len(got), err)
	}
	outcomes := []push.Outcome{{DeliveryID: ds[0].ID, Status: push.DeliverySent, At: at(3)},
		{DeliveryID: ds[1].ID, Status: push.DeliverySent, At: at(3)}, {DeliveryID: ds[2].ID, Status: push.DeliveryFailed, Error: "x", At: at(3)}}
	if n, err := s.FinishDeliveries(ctx, "w", outcomes); err != nil || n != 3 {
		t.Fatalf("finish: %d %v", n, err)
	}
	if ok, err := s.FinishCampaign(ctx, c.ID, at(4)); err != nil || !ok {
		t.Fatalf("FinishCampaign: %v %v", ok, err)
	}
	if err := exec(db, `UPDATE push_campaigns SET final = 0, final_sent = 0, final_failed = 0`); err != nil {
		t.Fatal(err)
	}
	if got, err := s.GetCampaign(ctx, c.ID); err != nil || got.Final != nil {
		t.Fatalf("a campaign completed before migration 11: Final %+v, %v", got.Final, err)
	}
	want := push.Counts{Sent: 2, Failed: 1}
	if live, err := s.CampaignCounts(ctx, c.ID); err != nil || live != want {
		t.Fatalf("counted from its deliveries: %+v %v", live, err)
	}
	if n, err := s.PurgeDeliveries(ctx, at(100), 0, 1); err != nil || n != 1 {
		t.Fatalf("a purge of one delivery: %d %v", n, err)
	}
	if got, err := s.GetCampaign(ctx, c.ID); err != nil || got.Final == nil || *got.Final != want {
		t.Fatalf("after the first delete: Final %+v (%v), want %+v", got.Final, err, want)
	}
}
