package storetest

import (
	"cmp"
	"fmt"
	"slices"
	stdsync "sync"
	"testing"
	"time"

	gocmp "github.com/google/go-cmp/cmp"
	"github.com/tideline-dev/tideline"
	"github.com/tideline-dev/tideline/push"
)

// The cases of push.Store's audience methods and of push.CampaignStore; runPush runs them.

// sortedIDs returns n new ids in increasing order (ids made in one millisecond are not).
func sortedIDs(n int) []string {
	ids := make([]string, n)
	for i := range ids {
		ids[i] = tideline.NewID()
	}
	slices.Sort(ids)
	return ids
}

// byID sorts devices by server id, as ListAudience returns them.
func byID(ds []push.Device) []push.Device {
	ds = slices.Clone(ds)
	slices.SortFunc(ds, func(a, b push.Device) int { return cmp.Compare(a.ID, b.ID) })
	return ds
}

// deliveriesByID sorts deliveries by id, for comparing sets.
func deliveriesByID(ds []push.Delivery) []push.Delivery {
	ds = slices.Clone(ds)
	slices.SortFunc(ds, func(a, b push.Delivery) int { return cmp.Compare(a.ID, b.ID) })
	return ds
}

// newCampaign is a queued campaign starting at startAt, with an opaque spec.
func newCampaign(key string, startAt int) push.Campaign {
	return push.Campaign{ID: tideline.NewID(), Status: push.CampaignQueued, Spec: []byte(`{"title":"Hi"}`),
		IdempotencyKey: key, CreatedBy: "admin1", CreatedAt: at(0), StartAt: at(startAt)}
}

func createCampaign(t *testing.T, s push.Store, c push.Campaign) push.Campaign {
	t.Helper()
	got, created, err := s.CreateCampaign(t.Context(), c)
	must(t, err, "CreateCampaign")
	if !created {
		t.Fatalf("CreateCampaign %s: not created", c.ID)
	}
	return got
}

func getCampaign(t *testing.T, s push.Store, id string) push.Campaign {
	t.Helper()
	c, err := s.GetCampaign(t.Context(), id)
	must(t, err, "GetCampaign "+id)
	return c
}

// wantCampaign fails unless the stored campaign want.ID is want.
func wantCampaign(t *testing.T, s push.Store, want push.Campaign, what string) {
	t.Helper()
	if diff := gocmp.Diff(want, getCampaign(t, s, want.ID), equate...); diff != "" {
		t.Fatalf("%s (-want +got):\n%s", what, diff)
	}
}

func claimCampaign(t *testing.T, s push.Store, owner string, now, until int) push.Campaign {
	t.Helper()
	c, err := s.ClaimCampaign(t.Context(), owner, at(now), at(until))
	must(t, err, fmt.Sprintf("ClaimCampaign by %s at %d", owner, now))
	return c
}

func wantNoCampaign(t *testing.T, s push.Store, owner string, now int, what string) {
	t.Helper()
	c, err := s.ClaimCampaign(t.Context(), owner, at(now), at(now+30))
	if tideline.ErrorCode(err) != tideline.CodeNotFound {
		t.Fatalf("%s: ClaimCampaign at %d = %+v, %v; want not_found", what, now, c, err)
	}
}

// startedCampaign is a campaign claimed and started (sending) by worker "w0" at now.
func startedCampaign(t *testing.T, s push.Store, now int) push.Campaign {
	t.Helper()
	c := createCampaign(t, s, newCampaign("", now))
	claimed := claimCampaign(t, s, "w0", now, now+30)
	if claimed.ID != c.ID {
		t.Fatalf("ClaimCampaign claimed %s, want the campaign just created, %s", claimed.ID, c.ID)
	}
	must(t, s.StartCampaign(t.Context(), c.ID, "w0", push.CampaignSending, 0, at(now)), "StartCampaign")
	return getCampaign(t, s, c.ID)
}

// newDelivery is a delivery of campaign to a device (its server id), due at due.
func newDelivery(campaignID, deviceID string, due int) push.Delivery {
	return push.Delivery{ID: tideline.NewID(), CampaignID: campaignID, DeviceID: deviceID, UserID: "u-" + deviceID,
		Due: at(due), Status: push.DeliveryPending}
}

// addDeliveries adds one delivery of c per due time, to devices dev0, dev1, ...
func addDeliveries(t *testing.T, s push.Store, campaignID string, due ...int) []push.Delivery {
	t.Helper()
	var ds []push.Delivery
	for i, d := range due {
		ds = append(ds, newDelivery(campaignID, fmt.Sprint("dev", i), d))
	}
	must(t, s.AddDeliveries(t.Context(), ds), "AddDeliveries")
	return ds
}

// leased is d as ClaimDeliveries returns it to owner: one more attempt, leased until until.
func leased(d push.Delivery, owner string, until int) push.Delivery {
	d.Attempts++
	d.LeaseOwner, d.LeaseUntil = owner, at(until)
	return d
}

// claimDeliveries claims for owner and returns the claimed deliveries sorted by id.
func claimDeliveries(t *testing.T, s push.Store, owner string, now, until, limit int) []push.Delivery {
	t.Helper()
	got, err := s.ClaimDeliveries(t.Context(), owner, at(now), at(until), limit)
	must(t, err, fmt.Sprintf("ClaimDeliveries by %s at %d", owner, now))
	return deliveriesByID(got)
}

func wantClaim(t *testing.T, s push.Store, owner string, now, until, limit int, want []push.Delivery, what string) {
	t.Helper()
	got := claimDeliveries(t, s, owner, now, until, limit)
	if diff := gocmp.Diff(deliveriesByID(want), got, equate...); diff != "" {
		t.Fatalf("%s: ClaimDeliveries by %s at %d, limit %d (-want +got):\n%s", what, owner, now, limit, diff)
	}
}

func finish(t *testing.T, s push.Store, owner string, want int, outcomes ...push.Outcome) {
	t.Helper()
	n, err := s.FinishDeliveries(t.Context(), owner, outcomes)
	must(t, err, "FinishDeliveries by "+owner)
	if n != want {
		t.Fatalf("FinishDeliveries by %s recorded %d outcomes, want %d", owner, n, want)
	}
}

// final is a final outcome of d at at(when).
func final(d push.Delivery, status, why string, when int) push.Outcome {
	return push.Outcome{DeliveryID: d.ID, Status: status, Error: why, At: at(when)}
}

// retry is a retry outcome of d, due again at at(due).
func retry(d push.Delivery, why string, due int) push.Outcome {
	return push.Outcome{DeliveryID: d.ID, Status: push.DeliveryPending, Due: at(due), Error: why}
}

// done is d after the final outcome o: no lease.
func done(d push.Delivery, o push.Outcome) push.Delivery {
	d.Status, d.Error, d.FinishedAt = o.Status, o.Error, o.At
	d.LeaseOwner, d.LeaseUntil = "", time.Time{}
	return d
}

func wantCounts(t *testing.T, s push.Store, campaignID string, want push.Counts, what string) {
	t.Helper()
	got, err := s.CampaignCounts(t.Context(), campaignID)
	must(t, err, "CampaignCounts")
	if got != want {
		t.Fatalf("%s: CampaignCounts = %+v, want %+v", what, got, want)
	}
}

func wantErrors(t *testing.T, s push.Store, campaignID string, limit int, want []push.Delivery, what string) {
	t.Helper()
	got, err := s.CampaignErrors(t.Context(), campaignID, limit)
	must(t, err, "CampaignErrors")
	if diff := gocmp.Diff(want, got, equate...); diff != "" {
		t.Fatalf("%s: CampaignErrors, limit %d (-want +got):\n%s", what, limit, diff)
	}
}

func runPushPruneToken(t *testing.T, h Harness) {
	s := pushStore(t, h)
	a := upsert(t, s, newDevice("u1", "d1", "Ta", 1))
	b := upsert(t, s, newDevice("u2", "d1", "Tb", 2))
	must(t, s.PruneToken(t.Context(), "Ta"), "PruneToken")
	a.PushToken = ""
	wantDevice(t, s, a, "the device whose token was pruned")
	wantDevice(t, s, b, "another device")
	must(t, s.PruneToken(t.Context(), "Ta"), "PruneToken again")
	must(t, s.PruneToken(t.Context(), "unknown"), "PruneToken of a token nobody holds")
	must(t, s.PruneToken(t.Context(), ""), "PruneToken of an empty token")
	wantDevice(t, s, a, "the pruned device after more prunes")
	wantDevice(t, s, b, "another device after more prunes")
	// The pruned token is free: the device re-registers it.
	a.PushToken, a.LastSeen = "Ta", at(5)
	upsert(t, s, a)
	wantDevice(t, s, a, "the device that registered its pruned token again")
}

func runPushDevicesByID(t *testing.T, h Harness) {
	s := pushStore(t, h)
	byIDs := func(ids ...string) []push.Device {
		t.Helper()
		got, err := s.DevicesByID(t.Context(), ids)
		must(t, err, "DevicesByID")
		return byID(got)
	}
	if got := byIDs(); len(got) != 0 {
		t.Fatalf("DevicesByID() = %+v", got)
	}
	a := upsert(t, s, newDevice("u1", "d1", "Ta", 1))
	b := upsert(t, s, newDevice("u1", "d2", "", 2)) // without a token: still returned
	c := upsert(t, s, newDevice("u2", "d1", "Tc", 3))
	must(t, s.SetTopic(t.Context(), "u1", "d1", "news", true), "SetTopic") // not returned
	if diff := gocmp.Diff(byID([]push.Device{a, b}), byIDs(a.ID, "unknown", b.ID), equate...); diff != "" {
		t.Fatalf("DevicesByID (-want +got):\n%s", diff)
	}
	if diff := gocmp.Diff([]push.Device{c}, byIDs(c.ID, c.ID), equate...); diff != "" {
		t.Fatalf("DevicesByID of one id twice (-want +got):\n%s", diff)
	}
	must(t, s.DeleteDevice(t.Context(), "u1", "d1"), "DeleteDevice")
	if diff := gocmp.Diff([]push.Device{b}, byIDs(a.ID, b.ID), equate...); diff != "" {
		t.Fatalf("DevicesByID after a device was deleted (-want +got):\n%s", diff)
	}
}

func runPushListAudience(t *testing.T, h Harness) {
	s := pushStore(t, h)
	reg := func(userID, deviceID, platform, locale string, seen int, token string, topics ...string) push.Device {
		t.Helper()
		d := newDevice(userID, deviceID, token, seen)
		d.Platform, d.Locale = platform, locale
		d = upsert(t, s, d)
		for _, topic := range topics {
			must(t, s.SetTopic(t.Context(), userID, deviceID, topic, true), "SetTopic")
		}
		return d // without topics, as ListAudience returns it
	}
	a := reg("u1", "a", push.PlatformIOS, "en", 10, "Ta", "news")
	b := reg("u1", "b", push.PlatformAndroid, "en-GB", 20, "Tb", "news", "sports")
	c := reg("u2", "c", push.PlatformWeb, "eng", 30, "Tc", "sports")
	d := reg("u2", "d", push.PlatformIOS, "EN-gb", 40, "Td")
	e := reg("u3", "e", push.PlatformAndroid, "en-GB", 50, "", "news", "sports") // no token: never in an audience
	f := reg("u3", "f", push.PlatformIOS, "fr", 5, "Tf", "news")
	g := reg("u4", "g", push.PlatformWeb, "zh-Hant-TW", 60, "Tg")

	audience := func(a push.Audience, want ...push.Device) {
		t.Helper()
		got, err := s.ListAudience(t.Context(), a, "", 100)
		must(t, err, "ListAudience")
		if diff := gocmp.Diff(byID(want), got, equate...); diff != "" {
			t.Fatalf("ListAudience(%+v) (-want +got):\n%s", a, diff)
		}
	}
	audience(push.Audience{All: true}, a, b, c, d, f, g)
	audience(push.Audience{UserIDs: []string{"u1", "u3"}}, a, b, f)
	audience(push.Audience{UserIDs: []string{"nobody"}})
	audience(push.Audience{DeviceIDs: []string{a.ID, e.ID, tideline.NewID(), g.ID}}, a, g)
	audience(push.Audience{Topic: "news"}, a, b, f)
	audience(push.Audience{Topic: "sports"}, b, c)
	audience(push.Audience{Topic: "none"})
	audience(push.Audience{Platforms: []string{push.PlatformIOS}}, a, d, f)
	audience(push.Audience{Platforms: []string{push.PlatformAndroid, push.PlatformWeb}}, b, c, g)
	// Locales: the tag itself, or the tag and "-" as a prefix; exact case.
	audience(push.Audience{Locales: []string{"en"}}, a, b)
	audience(push.Audience{Locales: []string{"en-GB"}}, b)
	audience(push.Audience{Locales: []string{"EN-gb"}}, d)
	audience(push.Audience{Locales: []string{"fr", "zh-Hant"}}, f, g)
	audience(push.Audience{Locales: []string{"zh"}}, g)
	audience(push.Audience{Locales: []string{"e", "en-"}})
	audience(push.Audience{SeenSince: at(30)}, c, d, g)
	audience(push.Audience{All: true, SeenSince: at(61)})
	// Every condition given holds.
	audience(push.Audience{Topic: "news", Platforms: []string{push.PlatformIOS}}, a, f)
	audience(push.Audience{UserIDs: []string{"u1", "u2"}, Locales: []string{"en"}, SeenSince: at(15)}, b)
	audience(push.Audience{All: true, Platforms: []string{push.PlatformAndroid}}, b)
	audience(push.Audience{DeviceIDs: []string{a.ID, b.ID, c.ID}, Platforms: []string{push.PlatformWeb}}, c)
	audience(push.Audience{Topic: "sports", Locales: []string{"en"}, Platforms: []string{push.PlatformAndroid}, SeenSince: at(20)}, b)
	audience(push.Audience{Topic: "sports", SeenSince: at(21), Platforms: []string{push.PlatformAndroid}})

	// A device that loses its token leaves every audience; one that gets one joins.
	e.PushToken, e.LastSeen = "Te", at(70)
	e = upsert(t, s, e)
	e.Topics = nil
	must(t, s.PruneToken(t.Context(), "Ta"), "PruneToken")
	audience(push.Audience{Topic: "news"}, b, e, f)

	// Paging: up to limit devices with ID greater than after, by ID.
	all := byID([]push.Device{b, c, d, e, f, g})
	page := func(a push.Audience, after string, limit int, want ...push.Device) {
		t.Helper()
		got, err := s.ListAudience(t.Context(), a, after, limit)
		must(t, err, "ListAudience")
		if diff := gocmp.Diff(want, got, equate...); diff != "" {
			t.Fatalf("ListAudience(%+v) after %q, limit %d (-want +got):\n%s", a, after, limit, diff)
		}
	}
	everyone := push.Audience{All: true}
	page(everyone, "", 4, all[:4]...)
	page(everyone, all[3].ID, 4, all[4:]...)
	page(everyone, all[5].ID, 4)
	page(everyone, all[1].ID, 1, all[2])
	var seen []push.Device
	for after := ""; ; {
		got, err := s.ListAudience(t.Context(), push.Audience{Topic: "news"}, after, 2)
		must(t, err, "ListAudience")
		if len(got) == 0 {
			break
		}
		if len(got) > 2 {
			t.Fatalf("ListAudience, limit 2, returned %d devices", len(got))
		}
		seen = append(seen, got...)
		after = got[len(got)-1].ID
	}
	if diff := gocmp.Diff(byID([]push.Device{b, e, f}), seen, equate...); diff != "" {
		t.Fatalf("paging through a topic's audience, two at a time (-want +got):\n%s", diff)
	}
}

func runPushCreateCampaign(t *testing.T, h Harness) {
	s := pushStore(t, h)
	_, err := s.GetCampaign(t.Context(), tideline.NewID())
	wantCode(t, err, tideline.CodeNotFound, "GetCampaign before any campaign")

	c := newCampaign("", 10)
	c.Spec = []byte{0, 1, 2, 0xff, '{', '}'} // opaque bytes
	c.DryRun, c.CreatedBy = true, ""
	c.Status, c.LeaseOwner, c.LeaseUntil = push.CampaignSending, "w1", at(50) // the engine stores queued, no lease
	got, created, err := s.CreateCampaign(t.Context(), c)
	must(t, err, "CreateCampaign")
	want := c
	want.Status, want.LeaseOwner, want.LeaseUntil = push.CampaignQueued, "", time.Time{}
	if diff := gocmp.Diff(want, got, equate...); diff != "" || !created {
		t.Fatalf("CreateCampaign returned created %v (-want +got):\n%s", created, diff)
	}
	wantCampaign(t, s, want, "GetCampaign")

	// An idempotency key returns the campaign that has it, and stores nothing.
	k := createCampaign(t, s, newCampaign("key-1", 20))
	again := newCampaign("key-1", 30)
	again.Spec = []byte(`{"title":"Other"}`)
	got, created, err = s.CreateCampaign(t.Context(), again)
	must(t, err, "CreateCampaign with a key already used")
	if diff := gocmp.Diff(k, got, equate...); diff != "" || created {
		t.Fatalf("CreateCampaign with a key already used returned created %v (-want +got):\n%s", created, diff)
	}
	_, err = s.GetCampaign(t.Context(), again.ID)
	wantCode(t, err, tideline.CodeNotFound, "GetCampaign of the campaign refused for its key")
	wantCampaign(t, s, k, "the campaign that has the key")
	// Keys are exact; "" is no key, which any number of campaigns have.
	other := createCampaign(t, s, newCampaign("KEY-1", 20))
	noKey := createCampaign(t, s, newCampaign("", 20))
	list, err := s.ListCampaigns(t.Context(), "", 10)
	must(t, err, "ListCampaigns")
	if len(list) != 4 {
		t.Fatalf("%d campaigns stored, want 4: %+v", len(list), list)
	}
	wantCampaign(t, s, other, "a campaign whose key differs in case")
	wantCampaign(t, s, noKey, "a second campaign without a key")

	// Times are kept to the millisecond.
	ms := newCampaign("", 0)
	ms.CreatedAt, ms.StartAt = at(1).Add(7*time.Millisecond+999*time.Microsecond), at(2).Add(123*time.Millisecond)
	got = createCampaign(t, s, ms)
	ms.CreatedAt = at(1).Add(7 * time.Millisecond)
	if diff := gocmp.Diff(ms, got, equate...); diff != "" {
		t.Fatalf("CreateCampaign returns the campaign as stored, to the millisecond (-want +got):\n%s", diff)
	}
	wantCampaign(t, s, ms, "a campaign's times to the millisecond")
}

func runPushCreateCampaignRace(t *testing.T, h Harness) {
	s := pushStore(t, h)
	const n = 8
	results := make([]push.Campaign, n)
	created := make([]bool, n)
	var wg stdsync.WaitGroup
	for i := range n {
		wg.Go(func() {
			var err error
			results[i], created[i], err = s.CreateCampaign(t.Context(), newCampaign("same", i))
			if err != nil {
				t.Errorf("CreateCampaign %d: %v", i, err)
			}
		})
	}
	wg.Wait()
	if t.Failed() {
		return
	}
	winner := slices.Index(created, true)
	if winner < 0 || slices.Index(created[winner+1:], true) >= 0 {
		t.Fatalf("concurrent CreateCampaign with one key: created %v, want exactly one", created)
	}
	for i, c := range results {
		if diff := gocmp.Diff(results[winner], c, equate...); diff != "" {
			t.Fatalf("call %d did not return the stored campaign (-want +got):\n%s", i, diff)
		}
	}
	list, err := s.ListCampaigns(t.Context(), "", 100)
	must(t, err, "ListCampaigns")
	if diff := gocmp.Diff([]push.Campaign{results[winner]}, list, equate...); diff != "" {
		t.Fatalf("campaigns stored (-want +got):\n%s", diff)
	}
}

func runPushListCampaigns(t *testing.T, h Harness) {
	s := pushStore(t, h)
	list := func(before string, limit int) []push.Campaign {
		t.Helper()
		got, err := s.ListCampaigns(t.Context(), before, limit)
		must(t, err, "ListCampaigns")
		return got
	}
	if got := list("", 10); len(got) != 0 {
		t.Fatalf("ListCampaigns of an empty store: %+v", got)
	}
	ids := sortedIDs(5)
	cs := make([]push.Campaign, len(ids))
	for _, i := range []int{2, 0, 4, 1, 3} { // not in id order
		c := newCampaign(fmt.Sprint("key", i), 10-i)
		c.ID = ids[i]
		cs[i] = createCampaign(t, s, c)
	}
	newest := slices.Clone(cs)
	slices.Reverse(newest)
	if diff := gocmp.Diff(newest, list("", 10), equate...); diff != "" {
		t.Fatalf("ListCampaigns, newest (greatest id) first (-want +got):\n%s", diff)
	}
	check := func(before string, limit int, want ...push.Campaign) {
		t.Helper()
		if diff := gocmp.Diff(want, list(before, limit), equate...); diff != "" {
			t.Fatalf("ListCampaigns before %q, limit %d (-want +got):\n%s", before, limit, diff)
		}
	}
	check("", 2, cs[4], cs[3])
	check(ids[3], 2, cs[2], cs[1])
	check(ids[1], 2, cs[0])
	check(ids[0], 2)
	check(tideline.NewID(), 1, cs[4]) // a bound that is no campaign's id
	// Claiming, starting and cancelling change nothing about the order.
	claimed := claimCampaign(t, s, "w1", 10, 40) // the earliest StartAt: cs[4]
	must(t, s.StartCampaign(t.Context(), claimed.ID, "w1", push.CampaignSending, 3, at(11)), "StartCampaign")
	_, err := s.CancelCampaign(t.Context(), ids[2], at(12))
	must(t, err, "CancelCampaign")
	got := list("", 10)
	if len(got) != 5 || !slices.EqualFunc(got, newest, func(a, b push.Campaign) bool { return a.ID == b.ID }) {
		t.Fatalf("ListCampaigns after changes: %+v", got)
	}
}

func runPushClaimCampaign(t *testing.T, h Harness) {
	s := pushStore(t, h)
	wantNoCampaign(t, s, "a", 100, "an empty store")
	c1 := createCampaign(t, s, newCampaign("", 10))
	c2 := createCampaign(t, s, newCampaign("", 5))
	c3 := createCampaign(t, s, newCampaign("", 20))
	gone := createCampaign(t, s, newCampaign("", 1))
	_, err := s.CancelCampaign(t.Context(), gone.ID, at(2))
	must(t, err, "CancelCampaign")

	wantNoCampaign(t, s, "a", 4, "before any campaign's StartAt")
	claim := func(owner string, now, until int, want push.Campaign, what string) {
		t.Helper()
		got := claimCampaign(t, s, owner, now, until)
		want.LeaseOwner, want.LeaseUntil = owner, at(until)
		if diff := gocmp.Diff(want, got, equate...); diff != "" {
			t.Fatalf("%s: ClaimCampaign by %s at %d (-want +got):\n%s", what, owner, now, diff)
		}
		wantCampaign(t, s, want, what+": the stored campaign")
	}
	claim("a", 10, 40, c2, "the earliest StartAt first")
	claim("b", 10, 40, c1, "StartAt at now")
	wantNoCampaign(t, s, "b", 10, "the others are leased or not due")
	claim("a", 20, 60, c3, "the next one due")
	wantNoCampaign(t, s, "c", 39, "every lease is live")
	wantNoCampaign(t, s, "a", 39, "a live lease is not claimed again by its owner")
	claim("c", 40, 90, c2, "a lease that ended (LeaseUntil at now), the earliest StartAt")
	wantCode(t, s.StartCampaign(t.Context(), c2.ID, "a", push.CampaignSending, 1, at(41)), tideline.CodeConflict,
		"StartCampaign by the owner whose lease was taken")
	must(t, s.StartCampaign(t.Context(), c1.ID, "b", push.CampaignSending, 1, at(41)), "StartCampaign")
	claim("d", 100, 200, c2, "an ended lease")
	claim("d", 100, 200, c3, "an ended lease")
	wantNoCampaign(t, s, "d", 100, "only queued campaigns are claimed (one is sending, one cancelled)")
}

func runPushClaimCampaignRace(t *testing.T, h Harness) {
	s := pushStore(t, h)
	c := createCampaign(t, s, newCampaign("", 1))
	const n = 6
	got := make([]push.Campaign, n)
	errs := make([]error, n)
	var wg stdsync.WaitGroup
	for i := range n {
		wg.Go(func() { got[i], errs[i] = s.ClaimCampaign(t.Context(), fmt.Sprint("w", i), at(2), at(30)) })
	}
	wg.Wait()
	winners := 0
	for i, err := range errs {
		switch tideline.ErrorCode(err) {
		case "":
			winners++
			if got[i].ID != c.ID || got[i].LeaseOwner != fmt.Sprint("w", i) {
				t.Fatalf("worker %d claimed %+v", i, got[i])
			}
			if stored := getCampaign(t, s, c.ID); stored.LeaseOwner != got[i].LeaseOwner {
				t.Fatalf("worker %d claimed the campaign, but it is leased to %q", i, stored.LeaseOwner)
			}
		case tideline.CodeNotFound:
		default:
			t.Fatalf("worker %d: %v", i, err)
		}
	}
	if winners != 1 {
		t.Fatalf("%d of %d concurrent ClaimCampaign calls got the one campaign, want 1", winners, n)
	}
}

func runPushStartCampaign(t *testing.T, h Harness) {
	s := pushStore(t, h)
	c1 := createCampaign(t, s, newCampaign("", 1))
	c2 := createCampaign(t, s, newCampaign("", 2))
	c3 := createCampaign(t, s, newCampaign("", 3))
	never := createCampaign(t, s, newCampaign("", 1000))
	start := func(id, owner, status string, targeted, now int) error {
		return s.StartCampaign(t.Context(), id, owner, status, targeted, at(now))
	}

	claimID := func(id, owner string, now, until int) push.Campaign {
		t.Helper()
		c := claimCampaign(t, s, owner, now, until)
		if c.ID != id {
			t.Fatalf("ClaimCampaign by %s at %d claimed %s, want %s", owner, now, c.ID, id)
		}
		return c
	}
	c1 = claimID(c1.ID, "a", 10, 40)
	wantCode(t, start(c1.ID, "b", push.CampaignSending, 5, 11), tideline.CodeConflict, "StartCampaign by another owner")
	wantCampaign(t, s, c1, "a campaign after a conflicting StartCampaign")
	must(t, start(c1.ID, "a", push.CampaignSending, 5, 12), "StartCampaign")
	c1.Status, c1.Targeted, c1.StartedAt = push.CampaignSending, 5, at(12)
	c1.LeaseOwner, c1.LeaseUntil = "", time.Time{}
	wantCampaign(t, s, c1, "a started campaign")
	wantCode(t, start(c1.ID, "a", push.CampaignSending, 6, 13), tideline.CodeConflict, "StartCampaign twice")
	wantCampaign(t, s, c1, "a campaign started twice")

	// A lease that ended and was taken by another worker.
	claimID(c2.ID, "a", 10, 40)
	c2 = claimID(c2.ID, "b", 40, 70)
	wantCode(t, start(c2.ID, "a", push.CampaignSending, 5, 41), tideline.CodeConflict, "StartCampaign after the lease was taken")
	wantCampaign(t, s, c2, "a campaign whose former owner tried to start it")
	// Completed: a dry run or an empty audience.
	must(t, start(c2.ID, "b", push.CampaignCompleted, 0, 42), "StartCampaign completed")
	c2.Status, c2.Targeted, c2.StartedAt, c2.FinishedAt = push.CampaignCompleted, 0, at(42), at(42)
	c2.Final = &push.Counts{} // stored with the status: no deliveries
	c2.LeaseOwner, c2.LeaseUntil = "", time.Time{}
	wantCampaign(t, s, c2, "a campaign started completed")

	// A lease that ended but nobody took: the owner still holds it.
	c3 = claimID(c3.ID, "a", 10, 40)
	must(t, start(c3.ID, "a", push.CampaignSending, 7, 100), "StartCampaign after the lease ended, not taken")
	c3.Status, c3.Targeted, c3.StartedAt = push.CampaignSending, 7, at(100)
	c3.LeaseOwner, c3.LeaseUntil = "", time.Time{}
	wantCampaign(t, s, c3, "a campaign started after its lease ended")

	// Not leased, cancelled, unknown.
	wantCode(t, start(never.ID, "a", push.CampaignSending, 1, 100), tideline.CodeConflict, "StartCampaign of a campaign nobody claimed")
	wantCampaign(t, s, never, "a campaign nobody claimed")
	leasedThenCancelled := createCampaign(t, s, newCampaign("", 100))
	claimID(leasedThenCancelled.ID, "a", 100, 130)
	cancelled, err := s.CancelCampaign(t.Context(), leasedThenCancelled.ID, at(101))
	must(t, err, "CancelCampaign")
	wantCode(t, start(leasedThenCancelled.ID, "a", push.CampaignSending, 1, 102), tideline.CodeConflict, "StartCampaign of a cancelled campaign")
	wantCampaign(t, s, cancelled, "a cancelled campaign after StartCampaign")
	wantCode(t, start(tideline.NewID(), "a", push.CampaignSending, 1, 102), tideline.CodeConflict, "StartCampaign of an unknown campaign")
}

func runPushAddDeliveries(t *testing.T, h Harness) {
	s := pushStore(t, h)
	c := createCampaign(t, s, newCampaign("", 1))
	c2 := createCampaign(t, s, newCampaign("", 1))
	must(t, s.AddDeliveries(t.Context(), nil), "AddDeliveries of nothing")
	wantCounts(t, s, c.ID, push.Counts{}, "a campaign without deliveries")

	// Stored pending, without a lease, with no attempt, whatever the caller passed.
	ds := []push.Delivery{newDelivery(c.ID, "dev1", 1), newDelivery(c.ID, "dev2", 2), newDelivery(c.ID, "dev3", 3)}
	ds[0].Due = at(1).Add(5*time.Millisecond + 500*time.Microsecond) // kept to the millisecond
	ds[1].Status, ds[1].Attempts, ds[1].LeaseOwner, ds[1].LeaseUntil = push.DeliverySent, 4, "w9", at(1000)
	must(t, s.AddDeliveries(t.Context(), ds), "AddDeliveries")
	wantCounts(t, s, c.ID, push.Counts{Pending: 3}, "after AddDeliveries")
	stored := slices.Clone(ds)
	stored[0].Due = at(1).Add(5 * time.Millisecond)
	stored[1].Status, stored[1].Attempts, stored[1].LeaseOwner, stored[1].LeaseUntil = push.DeliveryPending, 0, "", time.Time{}

	// Again after a crash: a (CampaignID, DeviceID) already stored is skipped, even one
	// already sent; one earlier in the same call too.
	wantClaim(t, s, "w1", 2, 30, 1, []push.Delivery{leased(stored[0], "w1", 30)}, "the first delivery")
	finish(t, s, "w1", 1, final(stored[0], push.DeliverySent, "", 2))
	sent := done(leased(stored[0], "w1", 30), final(stored[0], push.DeliverySent, "", 2))
	dup0, dup2 := newDelivery(c.ID, "dev1", 50), newDelivery(c.ID, "dev3", 60)
	dev4, dev4again := newDelivery(c.ID, "dev4", 4), newDelivery(c.ID, "dev4", 70)
	elsewhere := newDelivery(c2.ID, "dev1", 5) // the same device in another campaign
	must(t, s.AddDeliveries(t.Context(), []push.Delivery{dup0, dev4, dup2, dev4again}), "AddDeliveries again")
	must(t, s.AddDeliveries(t.Context(), []push.Delivery{elsewhere}), "AddDeliveries of another campaign")
	wantCounts(t, s, c.ID, push.Counts{Pending: 3, Sent: 1}, "after AddDeliveries again")
	wantCounts(t, s, c2.ID, push.Counts{Pending: 1}, "the other campaign")

	want := []push.Delivery{leased(stored[1], "w2", 100), leased(stored[2], "w2", 100), leased(dev4, "w2", 100), leased(elsewhere, "w2", 100)}
	wantClaim(t, s, "w2", 80, 100, 100, want, "every pending delivery")
	finish(t, s, "w1", 0, final(sent, push.DeliveryFailed, "again", 81)) // it was finished already
	wantCounts(t, s, c.ID, push.Counts{Pending: 3, Sent: 1}, "at the end")
}

func runPushClaimDeliveries(t *testing.T, h Harness) {
	s := pushStore(t, h)
	c := createCampaign(t, s, newCampaign("", 1))
	if got := claimDeliveries(t, s, "a", 100, 130, 10); len(got) != 0 {
		t.Fatalf("ClaimDeliveries of an empty store: %+v", got)
	}
	ds := addDeliveries(t, s, c.ID, 10, 5, 20, 7, 30)
	d1, d2, d3, d4, d5 := ds[0], ds[1], ds[2], ds[3], ds[4]

	wantClaim(t, s, "a", 4, 70, 10, nil, "nothing is due")
	wantClaim(t, s, "a", 10, 70, 2, []push.Delivery{leased(d2, "a", 70), leased(d4, "a", 70)}, "the earliest Due first, up to limit")
	wantClaim(t, s, "b", 10, 80, 10, []push.Delivery{leased(d1, "b", 80)}, "Due at now; leased ones are not claimed")
	wantClaim(t, s, "a", 69, 100, 10, []push.Delivery{leased(d3, "a", 100), leased(d5, "a", 100)}, "no live lease is claimed, even by its owner")
	// a's first lease ended at 70: those deliveries are claimed again, earliest Due first.
	wantClaim(t, s, "c", 70, 90, 1, []push.Delivery{leased(leased(d2, "a", 70), "c", 90)}, "a lease that ended")
	wantClaim(t, s, "c", 70, 90, 10, []push.Delivery{leased(leased(d4, "a", 70), "c", 90)}, "a lease that ended")
	wantClaim(t, s, "c", 79, 90, 10, nil, "every lease is live")
	// At 90: b's lease (until 80) and c's (until 90) have ended.
	d2, d4 = leased(leased(d2, "a", 70), "c", 90), leased(leased(d4, "a", 70), "c", 90)
	wantClaim(t, s, "d", 90, 200, 2, []push.Delivery{leased(d2, "d", 200), leased(d4, "d", 200)}, "ended leases, the earliest Due first")
	wantClaim(t, s, "d", 90, 200, 10, []push.Delivery{leased(leased(d1, "b", 80), "d", 200)}, "an ended lease")
	wantClaim(t, s, "d", 100, 200, 10, []push.Delivery{leased(leased(d3, "a", 100), "d", 200), leased(leased(d5, "a", 100), "d", 200)}, "the rest")
	wantClaim(t, s, "d", 199, 300, 10, nil, "every delivery is leased")
	// Deliveries of every campaign are claimed.
	other := createCampaign(t, s, newCampaign("", 1))
	o := addDeliveries(t, s, other.ID, 150)
	wantClaim(t, s, "e", 150, 180, 10, []push.Delivery{leased(o[0], "e", 180)}, "another campaign's delivery")
}

func runPushClaimDeliveriesRace(t *testing.T, h Harness) {
	s := pushStore(t, h)
	c := createCampaign(t, s, newCampaign("", 1))
	n := Sized(h.Engine, 300, 100)
	ds := make([]push.Delivery, n)
	for i := range ds {
		ds[i] = newDelivery(c.ID, fmt.Sprint("dev", i), i%17)
	}
	must(t, s.AddDeliveries(t.Context(), ds), "AddDeliveries")
	const workers = 4
	claimed := make([][]push.Delivery, workers)
	var wg stdsync.WaitGroup
	for w := range workers {
		wg.Go(func() {
			for {
				got, err := s.ClaimDeliveries(t.Context(), fmt.Sprint("w", w), at(20), at(100), 9)
				if err != nil {
					t.Errorf("worker %d: %v", w, err)
					return
				}
				if len(got) == 0 {
					return
				}
				if len(got) > 9 {
					t.Errorf("worker %d claimed %d deliveries, limit 9", w, len(got))
				}
				claimed[w] = append(claimed[w], got...)
			}
		})
	}
	wg.Wait()
	if t.Failed() {
		return
	}
	owner := map[string]string{}
	for w, got := range claimed {
		for _, d := range got {
			if prev, ok := owner[d.ID]; ok {
				t.Fatalf("delivery %s claimed by w%d and by %s", d.ID, w, prev)
			}
			owner[d.ID] = d.LeaseOwner
			if d.LeaseOwner != fmt.Sprint("w", w) || d.Attempts != 1 || d.Status != push.DeliveryPending {
				t.Fatalf("worker %d claimed %+v", w, d)
			}
		}
	}
	if len(owner) != n {
		t.Fatalf("%d deliveries claimed, want %d", len(owner), n)
	}
	if got := claimDeliveries(t, s, "late", 99, 130, 10); len(got) != 0 {
		t.Fatalf("ClaimDeliveries while every lease is live: %d", len(got))
	}
}

func runPushFinishDeliveries(t *testing.T, h Harness) {
	s := pushStore(t, h)
	c := startedCampaign(t, s, 1)
	ds := addDeliveries(t, s, c.ID, 1, 2, 3, 4, 5, 6)
	claimed := claimDeliveries(t, s, "a", 10, 20, 10)
	if len(claimed) != 6 {
		t.Fatalf("claimed %d deliveries, want 6", len(claimed))
	}
	d := make([]push.Delivery, len(ds)) // as leased
	for i := range ds {
		d[i] = leased(ds[i], "a", 20)
	}
	wantCounts(t, s, c.ID, push.Counts{Pending: 6}, "claimed deliveries are pending")

	sent, failed, pruned := final(d[0], push.DeliverySent, "", 11), final(d[1], push.DeliveryFailed, "bad token format", 12),
		final(d[2], push.DeliveryPruned, "unregistered", 13)
	unknown := push.Outcome{DeliveryID: tideline.NewID(), Status: push.DeliverySent, At: at(13)}
	finish(t, s, "b", 0, final(d[0], push.DeliveryFailed, "not mine", 11)) // a holds it
	finish(t, s, "a", 4, sent, failed, pruned, unknown, retry(d[3], "429", 40))
	wantCounts(t, s, c.ID, push.Counts{Pending: 3, Sent: 1, Failed: 1, Pruned: 1}, "after outcomes")
	failedDelivery := done(d[1], failed)
	wantErrors(t, s, c.ID, 10, []push.Delivery{failedDelivery}, "one failure")
	// The lease is cleared: a second outcome is skipped.
	finish(t, s, "a", 0, final(d[0], push.DeliveryFailed, "twice", 14), retry(d[3], "twice", 41))
	wantCounts(t, s, c.ID, push.Counts{Pending: 3, Sent: 1, Failed: 1, Pruned: 1}, "after outcomes of deliveries no longer held")

	// a's lease ended at 20. Nobody claimed d[5] since: a's outcome is recorded.
	finish(t, s, "a", 1, final(d[5], push.DeliverySent, "", 25))
	// d[4] is claimed by b: a's outcome is skipped, b's is recorded.
	wantClaim(t, s, "b", 30, 60, 10, []push.Delivery{leased(d[4], "b", 60)}, "a retry is not due; an ended lease is claimed")
	finish(t, s, "a", 0, final(d[4], push.DeliverySent, "", 31))
	finish(t, s, "b", 1, final(d[4], push.DeliveryFailed, "quota", 32))
	wantCounts(t, s, c.ID, push.Counts{Pending: 1, Sent: 2, Failed: 2, Pruned: 1}, "after b's outcome")

	// The retry: pending, due again at Due, with its reason; claimed again then.
	retried := d[3]
	retried.Due, retried.Error, retried.LeaseOwner, retried.LeaseUntil = at(40), "429", "", time.Time{}
	wantClaim(t, s, "c", 39, 70, 10, nil, "a retry before its Due")
	wantClaim(t, s, "c", 40, 70, 10, []push.Delivery{leased(retried, "c", 70)}, "a retry at its Due")
	gaveUp := final(d[3], push.DeliveryFailed, "retries ran out", 41)
	finish(t, s, "c", 1, gaveUp)
	wantCounts(t, s, c.ID, push.Counts{Sent: 2, Failed: 3, Pruned: 1}, "at the end")
	wantErrors(t, s, c.ID, 10, []push.Delivery{failedDelivery, done(leased(d[4], "b", 60), final(d[4], push.DeliveryFailed, "quota", 32)),
		done(leased(retried, "c", 70), gaveUp)}, "three failures, the first first")
	wantClaim(t, s, "c", 1000, 1100, 10, nil, "finished deliveries")
}

func runPushCampaignErrors(t *testing.T, h Harness) {
	s := pushStore(t, h)
	c := startedCampaign(t, s, 1)
	other := startedCampaign(t, s, 2)
	wantErrors(t, s, c.ID, 10, nil, "no deliveries")
	wantErrors(t, s, tideline.NewID(), 10, nil, "an unknown campaign")
	ds := addDeliveries(t, s, c.ID, 1, 2, 3, 4, 5)
	o := addDeliveries(t, s, other.ID, 1)
	claimDeliveries(t, s, "a", 10, 100, 10)
	d := make([]push.Delivery, len(ds))
	for i := range ds {
		d[i] = leased(ds[i], "a", 100)
	}
	outcomes := []push.Outcome{final(d[0], push.DeliveryFailed, "third", 30), final(d[1], push.DeliveryFailed, "first", 10),
		final(d[2], push.DeliveryPruned, "pruned", 5), final(d[3], push.DeliveryFailed, "second", 20),
		final(d[4], push.DeliverySent, "", 1), final(leased(o[0], "a", 100), push.DeliveryFailed, "other", 1)}
	finish(t, s, "a", 6, outcomes...)
	first, second, third := done(d[1], outcomes[1]), done(d[3], outcomes[3]), done(d[0], outcomes[0])
	wantErrors(t, s, c.ID, 10, []push.Delivery{first, second, third}, "failed deliveries only, the first failed first")
	wantErrors(t, s, c.ID, 2, []push.Delivery{first, second}, "up to limit")
	wantErrors(t, s, c.ID, 1, []push.Delivery{first}, "up to limit")
}

func runPushCancelCampaign(t *testing.T, h Harness) {
	s := pushStore(t, h)
	_, err := s.CancelCampaign(t.Context(), tideline.NewID(), at(1))
	wantCode(t, err, tideline.CodeNotFound, "CancelCampaign of an unknown campaign")

	// Queued, leased by a worker that is adding its deliveries.
	queued := createCampaign(t, s, newCampaign("", 1))
	claimCampaign(t, s, "w", 1, 100)
	addDeliveries(t, s, queued.ID, 1, 2)
	got, err := s.CancelCampaign(t.Context(), queued.ID, at(5))
	must(t, err, "CancelCampaign of a queued campaign")
	queued.Status, queued.FinishedAt = push.CampaignCancelled, at(5) // no lease
	if diff := gocmp.Diff(queued, got, equate...); diff != "" {
		t.Fatalf("CancelCampaign of a queued campaign (-want +got):\n%s", diff)
	}
	wantCampaign(t, s, queued, "a cancelled queued campaign")
	wantCounts(t, s, queued.ID, push.Counts{Cancelled: 2}, "a cancelled queued campaign")
	wantCode(t, s.StartCampaign(t.Context(), queued.ID, "w", push.CampaignSending, 2, at(6)), tideline.CodeConflict,
		"StartCampaign of a cancelled campaign")
	got, err = s.CancelCampaign(t.Context(), queued.ID, at(7))
	wantCode(t, err, tideline.CodeConflict, "CancelCampaign twice")
	if diff := gocmp.Diff(queued, got, equate...); diff != "" {
		t.Fatalf("CancelCampaign twice returns the campaign unchanged (-want +got):\n%s", diff)
	}
	wantCampaign(t, s, queued, "a campaign cancelled twice")

	// Sending: its pending deliveries are cancelled, those that have an outcome keep it.
	sending := startedCampaign(t, s, 10)
	untouched := startedCampaign(t, s, 10)
	ds := addDeliveries(t, s, sending.ID, 10, 11, 12, 13, 14, 50)
	addDeliveries(t, s, untouched.ID, 5000, 5001)
	if got := claimDeliveries(t, s, "a", 14, 100, 10); len(got) != 5 {
		t.Fatalf("claimed %d deliveries, want 5", len(got))
	}
	d := make([]push.Delivery, len(ds)) // as leased by a
	for i := range ds {
		d[i] = leased(ds[i], "a", 100)
	}
	finish(t, s, "a", 2, final(d[0], push.DeliverySent, "", 15), final(d[1], push.DeliveryFailed, "bad", 15))
	got, err = s.CancelCampaign(t.Context(), sending.ID, at(20))
	must(t, err, "CancelCampaign of a sending campaign")
	sending.Status, sending.FinishedAt = push.CampaignCancelled, at(20)
	if diff := gocmp.Diff(sending, got, equate...); diff != "" {
		t.Fatalf("CancelCampaign of a sending campaign (-want +got):\n%s", diff)
	}
	wantCampaign(t, s, sending, "a cancelled sending campaign")
	wantCounts(t, s, sending.ID, push.Counts{Sent: 1, Failed: 1, Cancelled: 4}, "a cancelled sending campaign")
	wantCounts(t, s, untouched.ID, push.Counts{Pending: 2}, "another campaign")
	wantClaim(t, s, "b", 1000, 1100, 10, nil, "cancelled deliveries (and a lease that ended) are not claimed")

	// The worker that was sending cancelled deliveries (its lease ended, nobody took them)
	// records what happened after all; a retry leaves one cancelled, and ends the lease.
	finish(t, s, "a", 3, final(d[2], push.DeliverySent, "", 21), retry(d[3], "429", 50), final(d[4], push.DeliveryFailed, "late", 22))
	wantCounts(t, s, sending.ID, push.Counts{Sent: 2, Failed: 2, Cancelled: 2}, "outcomes of cancelled deliveries")
	finish(t, s, "a", 0, final(d[3], push.DeliverySent, "", 23), final(d[5], push.DeliverySent, "", 23)) // not held
	wantCounts(t, s, sending.ID, push.Counts{Sent: 2, Failed: 2, Cancelled: 2}, "outcomes of cancelled deliveries not held")
	wantErrors(t, s, sending.ID, 10, []push.Delivery{done(d[1], final(d[1], push.DeliveryFailed, "bad", 15)),
		done(d[4], final(d[4], push.DeliveryFailed, "late", 22))}, "failures of a cancelled campaign")
	wantClaim(t, s, "b", 2000, 2100, 10, nil, "cancelled deliveries after a retry outcome")
	wantCounts(t, s, untouched.ID, push.Counts{Pending: 2}, "another campaign at the end")

	// Completed: unchanged, with a conflict.
	completed := createCampaign(t, s, newCampaign("", 30))
	claimCampaign(t, s, "w", 30, 60)
	must(t, s.StartCampaign(t.Context(), completed.ID, "w", push.CampaignCompleted, 0, at(31)), "StartCampaign completed")
	completed = getCampaign(t, s, completed.ID)
	got, err = s.CancelCampaign(t.Context(), completed.ID, at(32))
	wantCode(t, err, tideline.CodeConflict, "CancelCampaign of a completed campaign")
	if diff := gocmp.Diff(completed, got, equate...); diff != "" {
		t.Fatalf("CancelCampaign of a completed campaign returns it unchanged (-want +got):\n%s", diff)
	}
	wantCampaign(t, s, completed, "a completed campaign after CancelCampaign")
}

func runPushFinishCampaign(t *testing.T, h Harness) {
	s := pushStore(t, h)
	finishCampaign := func(id string, now int, want bool, what string) {
		t.Helper()
		ok, err := s.FinishCampaign(t.Context(), id, at(now))
		must(t, err, "FinishCampaign")
		if ok != want {
			t.Fatalf("%s: FinishCampaign = %v, want %v", what, ok, want)
		}
	}
	finishCampaign(tideline.NewID(), 1, false, "an unknown campaign")
	c := startedCampaign(t, s, 1)
	ds := addDeliveries(t, s, c.ID, 1, 2)
	finishCampaign(c.ID, 3, false, "pending deliveries")
	claimDeliveries(t, s, "a", 3, 100, 10)
	finishCampaign(c.ID, 4, false, "pending deliveries, leased")
	finish(t, s, "a", 2, final(leased(ds[0], "a", 100), push.DeliverySent, "", 5), retry(leased(ds[1], "a", 100), "503", 10))
	finishCampaign(c.ID, 6, false, "a delivery to retry")
	wantCampaign(t, s, c, "a campaign not finished")
	claimDeliveries(t, s, "a", 10, 100, 10)
	finish(t, s, "a", 1, final(leased(ds[1], "a", 100), push.DeliveryPruned, "unregistered", 11))
	finishCampaign(c.ID, 12, true, "every delivery has an outcome")
	c.Status, c.FinishedAt = push.CampaignCompleted, at(12)
	c.Final = &push.Counts{Sent: 1, Pruned: 1} // stored with the status
	wantCampaign(t, s, c, "a finished campaign")
	finishCampaign(c.ID, 13, false, "a completed campaign")
	wantCampaign(t, s, c, "a campaign finished twice")

	empty := startedCampaign(t, s, 20)
	finishCampaign(empty.ID, 21, true, "a sending campaign without deliveries")
	if got := getCampaign(t, s, empty.ID).Final; got == nil || *got != (push.Counts{}) {
		t.Fatalf("a campaign finished without deliveries: Final = %+v, want zero counts", got)
	}
	queued := createCampaign(t, s, newCampaign("", 1000))
	finishCampaign(queued.ID, 22, false, "a queued campaign")
	wantCampaign(t, s, queued, "a queued campaign after FinishCampaign")
	cancelled := startedCampaign(t, s, 30)
	cancelled, err := s.CancelCampaign(t.Context(), cancelled.ID, at(31))
	must(t, err, "CancelCampaign")
	if cancelled.Final != nil {
		t.Fatalf("a cancelled campaign has stored counts %+v: its late outcomes would be missed", *cancelled.Final)
	}
	finishCampaign(cancelled.ID, 32, false, "a cancelled campaign")
	wantCampaign(t, s, cancelled, "a cancelled campaign after FinishCampaign")
}

// runPushAddAfterCancel: deliveries added to a campaign an admin cancelled while a worker
// was resolving its audience are never claimed, and do not stay pending.
func runPushAddAfterCancel(t *testing.T, h Harness) {
	s := pushStore(t, h)
	c := createCampaign(t, s, newCampaign("", 1))
	claimCampaign(t, s, "w0", 1, 100)
	other := startedCampaign(t, s, 1)
	_, err := s.CancelCampaign(t.Context(), c.ID, at(2))
	must(t, err, "CancelCampaign")
	late := addDeliveries(t, s, c.ID, 1, 1, 1)
	live := addDeliveries(t, s, other.ID, 1)
	wantClaim(t, s, "w1", 3, 50, 10, []push.Delivery{leased(live[0], "w1", 50)}, "a claim after deliveries were added to a cancelled campaign")
	counts, err := s.CampaignCounts(t.Context(), c.ID)
	must(t, err, "CampaignCounts")
	if counts.Pending != 0 || counts.Sent != 0 || counts.Cancelled > len(late) {
		t.Fatalf("deliveries added after cancel: %+v, want none pending or sent", counts)
	}
}
