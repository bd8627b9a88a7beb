package storetest

import (
	"fmt"
	stdsync "sync"
	"testing"

	"github.com/tideline-dev/tideline/push"
)

// The cases of push.CampaignStore's PurgeDeliveries; runPush runs them.

// sentCampaign is a campaign started at now with len(statuses) deliveries, claimed by "a"
// and given those final outcomes, failures at now+1, now+2, ... (so their order is known).
// It is left sending.
func sentCampaign(t *testing.T, s push.Store, now int, statuses ...string) (push.Campaign, []push.Delivery) {
	t.Helper()
	c := startedCampaign(t, s, now)
	due := make([]int, len(statuses))
	for i := range due {
		due[i] = now
	}
	ds := addDeliveries(t, s, c.ID, due...)
	if got := claimDeliveries(t, s, "a", now, now+1000, len(ds)); len(got) != len(ds) {
		t.Fatalf("claimed %d deliveries of %d", len(got), len(ds))
	}
	var outcomes []push.Outcome
	for i, st := range statuses {
		if st != push.DeliveryPending {
			outcomes = append(outcomes, final(leased(ds[i], "a", now+1000), st, fmt.Sprint("why ", i), now+1+i))
		}
	}
	finish(t, s, "a", len(outcomes), outcomes...)
	for i, st := range statuses {
		if st != push.DeliveryPending {
			ds[i] = done(leased(ds[i], "a", now+1000), final(ds[i], st, fmt.Sprint("why ", i), now+1+i))
		}
	}
	return c, ds
}

func purge(t *testing.T, s push.Store, before, keep, limit int) int {
	t.Helper()
	n, err := s.PurgeDeliveries(t.Context(), at(before), keep, limit)
	must(t, err, fmt.Sprintf("PurgeDeliveries before %d, limit %d", before, limit))
	return n
}

// wantFinal fails unless the campaign's stored counts are want.
func wantFinal(t *testing.T, s push.Store, id string, want push.Counts, what string) {
	t.Helper()
	got := getCampaign(t, s, id).Final
	if got == nil || *got != want {
		t.Fatalf("%s: Final = %+v, want %+v", what, got, want)
	}
}

// runPushPurgeDeliveries: the purge deletes the final deliveries of campaigns that ended
// before the horizon, but the first failed ones; stores the counts of a campaign that had
// none before deleting any of its deliveries; leaves pending deliveries, campaigns within
// the horizon and campaigns still sending alone; and, stopped after any call (limit 1),
// never loses or changes a campaign's counts.
func runPushPurgeDeliveries(t *testing.T, h Harness) {
	s := pushStore(t, h)
	S, F, P, C := push.DeliverySent, push.DeliveryFailed, push.DeliveryPruned, push.DeliveryCancelled
	// Completed at 100: 4 sent, 3 failed, a pruned and a cancelled one.
	done1, ds1 := sentCampaign(t, s, 1, S, F, S, F, P, S, F, C, S)
	if ok, err := s.FinishCampaign(t.Context(), done1.ID, at(100)); err != nil || !ok {
		t.Fatalf("FinishCampaign: %v %v", ok, err)
	}
	want1 := push.Counts{Sent: 4, Failed: 3, Pruned: 1, Cancelled: 1}
	wantFinal(t, s, done1.ID, want1, "a completed campaign")
	// Cancelled at 110 with one sent, one failed and two pending (cancelled with it): no
	// counts stored until the purge.
	cancelled, _ := sentCampaign(t, s, 2, S, push.DeliveryPending, F, push.DeliveryPending)
	_, err := s.CancelCampaign(t.Context(), cancelled.ID, at(110))
	must(t, err, "CancelCampaign")
	want2 := push.Counts{Sent: 1, Failed: 1, Cancelled: 2}
	wantCounts(t, s, cancelled.ID, want2, "a cancelled campaign")
	// Completed at 1000: within the horizon. Sending: not ended.
	recent, _ := sentCampaign(t, s, 3, S, F)
	if ok, err := s.FinishCampaign(t.Context(), recent.ID, at(1000)); err != nil || !ok {
		t.Fatalf("FinishCampaign: %v %v", ok, err)
	}
	sending, _ := sentCampaign(t, s, 4, S, push.DeliveryPending)
	wantSending := push.Counts{Sent: 1, Pending: 1}

	if n := purge(t, s, 100, 2, 10); n != 0 {
		t.Fatalf("a purge before the first end changed %d records", n)
	}
	calls, total := 0, 0
	for {
		n := purge(t, s, 1000, 2, 1) // a node stopped after each call
		if n == 0 {
			break
		}
		if calls++; calls > 100 {
			t.Fatal("the purge never ends")
		}
		total += n
		wantFinal(t, s, done1.ID, want1, fmt.Sprintf("after purge call %d", calls))
		live, err := s.CampaignCounts(t.Context(), cancelled.ID)
		must(t, err, "CampaignCounts")
		if c := getCampaign(t, s, cancelled.ID); live != want2 && (c.Final == nil || *c.Final != want2) {
			t.Fatalf("after purge call %d: a cancelled campaign's deliveries went (%+v left) and Final = %+v, want %+v", calls, live, c.Final, want2)
		}
	}
	// 7 deliveries of done1 (2 failures kept) and 3 of cancelled (its failure is kept), and
	// the two campaigns marked.
	if total != 7+3+2 {
		t.Fatalf("the purge changed %d records, want 12", total)
	}
	wantFinal(t, s, done1.ID, want1, "a purged completed campaign")
	wantFinal(t, s, cancelled.ID, want2, "a purged cancelled campaign")
	wantCounts(t, s, done1.ID, push.Counts{Failed: 2}, "a purged campaign's deliveries: its first failures")
	wantCounts(t, s, cancelled.ID, push.Counts{Failed: 1}, "a purged cancelled campaign's deliveries")
	wantErrors(t, s, done1.ID, 2, []push.Delivery{ds1[1], ds1[3]}, "the first failures of a purged campaign")
	wantCounts(t, s, recent.ID, push.Counts{Sent: 1, Failed: 1}, "a campaign within the horizon")
	wantCounts(t, s, sending.ID, wantSending, "a sending campaign")
	if n := purge(t, s, 1000, 2, 10); n != 0 {
		t.Fatalf("a purge of what was purged changed %d records", n)
	}
	if n := purge(t, s, 1001, 0, 10); n != 2+1 { // recent's two, and its mark; the earlier ones are marked
		t.Fatalf("a purge past the recent campaign's end, keeping no failure, changed %d records, want 3", n)
	}
	wantFinal(t, s, recent.ID, push.Counts{Sent: 1, Failed: 1}, "a purged recent campaign")
	wantCounts(t, s, recent.ID, push.Counts{}, "a purged recent campaign's deliveries")
	wantCounts(t, s, done1.ID, push.Counts{Failed: 2}, "a campaign marked purged keeps what it kept")
	wantCounts(t, s, sending.ID, wantSending, "a sending campaign at the end")
}

// runPushPurgeRace: nodes purging at once delete each deletable delivery once between
// them and store the one right count.
func runPushPurgeRace(t *testing.T, h Harness) {
	s := pushStore(t, h)
	S, F, P := push.DeliverySent, push.DeliveryFailed, push.DeliveryPruned
	var statuses []string
	for i := range Sized(h.Engine, 60, 24) {
		statuses = append(statuses, []string{S, S, F, P}[i%4])
	}
	c, _ := sentCampaign(t, s, 1, statuses...)
	_, err := s.CancelCampaign(t.Context(), c.ID, at(100)) // no stored counts: the purge stores them
	must(t, err, "CancelCampaign")
	want, err := s.CampaignCounts(t.Context(), c.ID)
	must(t, err, "CampaignCounts")
	var wg stdsync.WaitGroup
	totals := make([]int, 4)
	errs := make([]error, 4)
	for i := range totals {
		wg.Go(func() {
			for {
				n, err := s.PurgeDeliveries(t.Context(), at(1000), 3, 4)
				totals[i] += n
				if err != nil || n == 0 {
					errs[i] = err
					return
				}
			}
		})
	}
	wg.Wait()
	total := 0
	for i := range totals {
		must(t, errs[i], "PurgeDeliveries")
		total += totals[i]
	}
	if total < len(statuses)-3 || total > len(statuses)-3+4 { // each delivery once, and the mark by one to four nodes
		t.Fatalf("concurrent purges changed %d records, want %d deliveries and the marks", total, len(statuses)-3)
	}
	wantFinal(t, s, c.ID, want, "a campaign purged by racing nodes")
	wantCounts(t, s, c.ID, push.Counts{Failed: 3}, "a campaign purged by racing nodes: its first failures")
	if n := want.Sent + want.Failed + want.Pruned + want.Cancelled; n != len(statuses) {
		t.Fatalf("counts before the purge: %+v, want %d deliveries", want, len(statuses))
	}
}
