package httpapi_test

import (
	"testing"
	"time"

	"github.com/tideline-dev/tideline/app/apptest"
	"github.com/tideline-dev/tideline/store/enginetest"
)

// TestCampaignCountsAfterSweep: once the sweep has deleted a campaign's deliveries (past
// push.deliveryRetention), the API shows the campaign, alone and in the list, with the
// counts it showed before.
func TestCampaignCountsAfterSweep(t *testing.T) {
	t.Parallel()
	for _, engine := range []string{enginetest.SQLite, enginetest.MongoDB} {
		t.Run(engine, func(t *testing.T) {
			t.Parallel()
			a := newAPIWith(t, apptest.Options{Engine: engine})
			key := a.admin()
			for _, email := range []string{"ada@example.com", "bob@example.com", "cy@example.com"} {
				s := a.signUp(email)
				a.register(s.AccessToken, map[string]any{"deviceId": "d1", "platform": "ios", "pushToken": "tok-" + email})
			}
			const path = "/v1/admin/push/campaigns"
			c := decode[campaignBody](t, a.raw("POST", path, key, `{"target":{"all":true},"notification":{"title":"Hi"}}`), 202)
			a.app.Drain()
			before := decode[campaignBody](t, a.call("GET", path+"/"+c.ID, key, nil), 200)
			if before.Status != "completed" || before.Counts.Sent != 3 || before.Counts.Targeted != 3 {
				t.Fatalf("before the sweep: %+v", before)
			}
			a.app.Clock.Advance(31 * 24 * time.Hour)
			if n, err := a.app.Push.SweepDeliveries(t.Context()); err != nil || n != 3+1 {
				t.Fatalf("sweep: %d records, %v; want the 3 deliveries and the campaign's mark", n, err)
			}
			after := decode[campaignBody](t, a.call("GET", path+"/"+c.ID, key, nil), 200)
			if after.Counts != before.Counts || after.Status != before.Status || after.FinishedAt != before.FinishedAt {
				t.Fatalf("after the sweep: %+v, before %+v", after, before)
			}
			list := decode[struct{ Campaigns []campaignBody }](t, a.call("GET", path, key, nil), 200).Campaigns
			if len(list) != 1 || list[0].Counts != before.Counts {
				t.Fatalf("listed after the sweep: %+v, before %+v", list, before.Counts)
			}
		})
	}
}
