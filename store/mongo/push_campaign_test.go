package mongo

import (
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/tideline-dev/tideline"
	"github.com/tideline-dev/tideline/push"
	"github.com/tideline-dev/tideline/store/storetest"
	"go.mongodb.org/mongo-driver/v2/bson"
)

// The conformance suite (TestConformance/Push) covers the campaign store's contract; these
// cases cover this engine's own risks: claims split into several commands (and interleaved
// with other nodes' commands), unique indexes that stand in for transactions, and the
// writes in chunks.

func at(sec int) time.Time { return storetest.Epoch.Add(time.Duration(sec) * time.Second) }

func newCampaign(key string, startAt int) push.Campaign {
	return push.Campaign{ID: tideline.NewID(), Status: push.CampaignQueued, Spec: []byte(`{"target":{"all":true}}`),
		IdempotencyKey: key, CreatedBy: "admin", CreatedAt: at(0), StartAt: at(startAt)}
}

// sendingCampaign creates a campaign and starts it (sending) through a lease of "starter".
func sendingCampaign(t *testing.T, s push.Store) push.Campaign {
	t.Helper()
	c, _, err := s.CreateCampaign(t.Context(), newCampaign("", 0))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.ClaimCampaign(t.Context(), "starter", at(0), at(60)); err != nil {
		t.Fatalf("ClaimCampaign: %v", err)
	}
	if err := s.StartCampaign(t.Context(), c.ID, "starter", push.CampaignSending, 0, at(0)); err != nil {
		t.Fatalf("StartCampaign: %v", err)
	}
	return c
}

func deliveries(campaignID string, n int, due time.Time) []push.Delivery {
	ds := make([]push.Delivery, n)
	for i := range ds {
		ds[i] = push.Delivery{ID: tideline.NewID(), CampaignID: campaignID, DeviceID: fmt.Sprintf("dev%05d", i),
			UserID: fmt.Sprintf("u%d", i%7), Due: due, Status: push.DeliveryPending}
	}
	return ds
}

// smallChunks makes the writes' chunks small for the test, so that a few dozen
// deliveries take several (FerretDB v1 takes milliseconds per document updated).
func smallChunks(t *testing.T) {
	old := writeChunk
	writeChunk = 40
	t.Cleanup(func() { writeChunk = old })
}

func countDocs(t *testing.T, db *DB, coll string, filter bson.D) int {
	t.Helper()
	n, err := db.db.Collection(coll).CountDocuments(t.Context(), filter)
	if err != nil {
		t.Fatal(err)
	}
	return int(n)
}

// TestPushCampaignSchema: migration 5 makes the indexes, runs again harmlessly, and the
// unique ones refuse what they should.
func TestPushCampaignSchema(t *testing.T) {
	t.Parallel()
	db := newPushDB(t)
	ctx := t.Context()
	if err := migratePushCampaigns(ctx, db); err != nil {
		t.Fatalf("migration 5 again: %v", err)
	}
	for coll, want := range map[string]map[string]bool{
		pushCampaignsCollection: {"idempotencyKey_1": true, "status_1_startAt_1__id_1": false},
		pushDeliveriesCollection: {"campaignId_1_deviceId_1": true, "status_1_due_1__id_1": false,
			"campaignId_1_status_1_finishedAt_1__id_1": false},
	} {
		specs, err := db.db.Collection(coll).Indexes().ListSpecifications(ctx)
		if err != nil {
			t.Fatal(err)
		}
		unique := map[string]bool{}
		for _, s := range specs {
			unique[s.Name] = s.Unique != nil && *s.Unique
		}
		for name, u := range want {
			if got, ok := unique[name]; !ok || got != u {
				t.Fatalf("%s index %s: present %v, unique %v; want unique %v (all: %v)", coll, name, ok, got, u, unique)
			}
		}
	}
	// Campaigns without a key coexist: the field is absent, never "" or null.
	s := db.Push()
	for range 3 {
		if _, created, err := s.CreateCampaign(ctx, newCampaign("", 0)); err != nil || !created {
			t.Fatalf("CreateCampaign without a key: %v, %v", created, err)
		}
	}
	if n := countDocs(t, db, pushCampaignsCollection, bson.D{{Key: "idempotencyKey", Value: bson.D{{Key: "$exists", Value: true}}}}); n != 0 {
		t.Fatalf("%d campaigns store an empty idempotency key", n)
	}
}

// TestPushCreateCampaignConcurrent: nodes creating a campaign with one idempotency key at
// once store one campaign, and every caller gets it.
func TestPushCreateCampaignConcurrent(t *testing.T) {
	t.Parallel()
	db := newPushDB(t)
	const n = 8
	var (
		wg      sync.WaitGroup
		ids     [n]string
		created [n]bool
	)
	for i := range n {
		wg.Go(func() {
			s := db.Push() // a store per node
			c, ok, err := s.CreateCampaign(t.Context(), newCampaign("key-1", i))
			if err != nil {
				t.Errorf("node %d: %v", i, err)
			}
			ids[i], created[i] = c.ID, ok
		})
	}
	wg.Wait()
	winners := 0
	for i := range n {
		if created[i] {
			winners++
		}
		if ids[i] != ids[0] || ids[i] == "" {
			t.Fatalf("callers got different campaigns: %q", ids)
		}
	}
	if winners != 1 {
		t.Fatalf("%d callers created the campaign, want 1", winners)
	}
	if got := countDocs(t, db, pushCampaignsCollection, bson.D{}); got != 1 {
		t.Fatalf("%d campaigns stored, want 1", got)
	}
}

// TestPushAddDeliveriesDuplicates: more deliveries than one insert chunk, added again (a
// worker resolving the audience again after a crash, with new delivery ids) and once more
// as they were (the same ids): only the missing ones are stored, nothing fails.
func TestPushAddDeliveriesDuplicates(t *testing.T) {
	t.Parallel()
	smallChunks(t)
	db := newPushDB(t)
	s := db.Push()
	c := sendingCampaign(t, s)
	total, first := 3*writeChunk+10, 2*writeChunk+20
	ds := deliveries(c.ID, total, at(0))
	if err := s.AddDeliveries(t.Context(), ds[:first]); err != nil {
		t.Fatal(err)
	}
	again := deliveries(c.ID, total, at(0)) // the same devices, new ids
	if err := s.AddDeliveries(t.Context(), again); err != nil {
		t.Fatalf("AddDeliveries again: %v", err)
	}
	if err := s.AddDeliveries(t.Context(), ds[:10]); err != nil {
		t.Fatalf("AddDeliveries of stored ids: %v", err)
	}
	counts, err := s.CampaignCounts(t.Context(), c.ID)
	if err != nil {
		t.Fatal(err)
	}
	if counts != (push.Counts{Pending: total}) {
		t.Fatalf("counts %+v, want %d pending", counts, total)
	}
	// The first ids stay; those added the second time have the new ones.
	if n := countDocs(t, db, pushDeliveriesCollection, bson.D{{Key: "_id", Value: bson.D{{Key: "$in", Value: idsOf(again[:first])}}}}); n != 0 {
		t.Fatalf("%d deliveries were replaced by their duplicates", n)
	}
}

func idsOf(ds []push.Delivery) []string {
	out := make([]string, len(ds))
	for i, d := range ds {
		out[i] = d.ID
	}
	return out
}

// TestPushClaimDeliveriesConcurrent: workers of several nodes, and several workers of
// one node (one owner), claim in small batches at once; the commands of their claims
// interleave, yet no delivery is returned twice, every one is returned once, and each
// was claimed once (Attempts 1).
func TestPushClaimDeliveriesConcurrent(t *testing.T) {
	t.Parallel()
	db := newPushDB(t)
	s := db.Push()
	c := sendingCampaign(t, s)
	const total = 120
	ds := deliveries(c.ID, total, at(0))
	for i := range ds {
		ds[i].Due = at(i % 5) // ties in due time, and several due times
	}
	if err := s.AddDeliveries(t.Context(), ds); err != nil {
		t.Fatal(err)
	}
	owners := []string{"node-a", "node-a", "node-a", "node-b", "node-b", "node-c", "node-d", "node-e"}
	var (
		mu     sync.Mutex
		got    = map[string]string{} // delivery id -> owner
		dups   []string
		claims int
	)
	var wg sync.WaitGroup
	for w, owner := range owners {
		wg.Go(func() {
			s := db.Push()
			for {
				batch, err := s.ClaimDeliveries(t.Context(), owner, at(10), at(300), 7)
				if err != nil {
					t.Errorf("worker %d: %v", w, err)
					return
				}
				if len(batch) == 0 {
					return
				}
				mu.Lock()
				claims++
				for _, d := range batch {
					if prev, ok := got[d.ID]; ok {
						dups = append(dups, fmt.Sprintf("%s by %s and %s", d.ID, prev, owner))
					}
					got[d.ID] = owner
					if d.LeaseOwner != owner || !d.LeaseUntil.Equal(at(300)) || d.Attempts != 1 {
						t.Errorf("claimed %+v, want leased by %s until %v, attempts 1", d, owner, at(300))
					}
				}
				if !slices.IsSortedFunc(batch, func(a, b push.Delivery) int { return a.Due.Compare(b.Due) }) {
					t.Errorf("a batch not by due time: %v", batch)
				}
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	if len(dups) > 0 {
		t.Fatalf("deliveries claimed twice: %q", dups)
	}
	if len(got) != total {
		t.Fatalf("%d deliveries claimed, want %d", len(got), total)
	}
	if n := countDocs(t, db, pushDeliveriesCollection, bson.D{{Key: "attempts", Value: 1}}); n != total {
		t.Fatalf("%d deliveries claimed exactly once in the store, want %d", n, total)
	}
	t.Logf("%d claims of up to 7", claims)
	// All leased: nothing more to claim until the leases end, then all of it again.
	if batch, err := s.ClaimDeliveries(t.Context(), "late", at(299), at(400), 1000); err != nil || len(batch) != 0 {
		t.Fatalf("claim while leased: %d, %v", len(batch), err)
	}
	if batch, err := s.ClaimDeliveries(t.Context(), "late", at(300), at(400), 1000); err != nil || len(batch) != total {
		t.Fatalf("claim when the leases ended: %d, %v; want %d", len(batch), err, total)
	}
}

// TestPushFinishDeliveriesBulk: outcomes in more than one bulk write, mixed with outcomes
// of deliveries another worker holds, of retries and of a delivery cancelled meanwhile.
func TestPushFinishDeliveriesBulk(t *testing.T) {
	t.Parallel()
	smallChunks(t)
	db := newPushDB(t)
	s := db.Push()
	c := sendingCampaign(t, s)
	n := 2*writeChunk + 30
	if err := s.AddDeliveries(t.Context(), deliveries(c.ID, n, at(0))); err != nil {
		t.Fatal(err)
	}
	mine, err := s.ClaimDeliveries(t.Context(), "a", at(1), at(100), n-2)
	if err != nil || len(mine) != n-2 {
		t.Fatalf("claim: %d, %v", len(mine), err)
	}
	theirs, err := s.ClaimDeliveries(t.Context(), "b", at(1), at(100), 10)
	if err != nil || len(theirs) != 2 {
		t.Fatalf("claim: %d, %v", len(theirs), err)
	}
	var outcomes []push.Outcome
	for i, d := range mine {
		o := push.Outcome{DeliveryID: d.ID, Status: push.DeliverySent, At: at(2)}
		switch i % 4 {
		case 1:
			o.Status, o.Error = push.DeliveryFailed, fmt.Sprint("bad ", i) // an update each
		case 2:
			o.Status, o.Error, o.Due = push.DeliveryPending, "retry", at(50)
		}
		outcomes = append(outcomes, o)
	}
	for _, d := range theirs {
		outcomes = append(outcomes, push.Outcome{DeliveryID: d.ID, Status: push.DeliverySent, At: at(2)})
	}
	start := time.Now()
	recorded, err := s.FinishDeliveries(t.Context(), "a", outcomes)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("%d outcomes recorded in %v", len(outcomes), time.Since(start))
	if recorded != n-2 {
		t.Fatalf("recorded %d outcomes, want %d", recorded, n-2)
	}
	counts, err := s.CampaignCounts(t.Context(), c.ID)
	if err != nil {
		t.Fatal(err)
	}
	retries := (n - 2 + 1) / 4
	failed := (n - 2 + 2) / 4
	if want := (push.Counts{Pending: retries + 2, Failed: failed, Sent: n - 2 - retries - failed}); counts != want {
		t.Fatalf("counts %+v, want %+v", counts, want)
	}
	if n := countDocs(t, db, pushDeliveriesCollection, bson.D{{Key: "leaseOwner", Value: "a"}}); n != 0 {
		t.Fatalf("%d deliveries still leased by a", n)
	}

	// b's retry of a delivery cancelled meanwhile: recorded, still cancelled, lease released.
	if _, err := s.CancelCampaign(t.Context(), c.ID, at(3)); err != nil {
		t.Fatal(err)
	}
	recorded, err = s.FinishDeliveries(t.Context(), "b", []push.Outcome{
		{DeliveryID: theirs[0].ID, Status: push.DeliveryPending, Due: at(60), Error: "retry", At: at(4)},
		{DeliveryID: theirs[1].ID, Status: push.DeliverySent, At: at(4)},
	})
	if err != nil || recorded != 2 {
		t.Fatalf("FinishDeliveries of cancelled deliveries: %d, %v; want 2", recorded, err)
	}
	var d deliveryDoc
	if err := db.db.Collection(pushDeliveriesCollection).FindOne(t.Context(), bson.D{{Key: "_id", Value: theirs[0].ID}}).Decode(&d); err != nil {
		t.Fatal(err)
	}
	if d.Status != push.DeliveryCancelled || d.LeaseOwner != "" || d.Claim != "" || !d.Due.Equal(at(0)) {
		t.Fatalf("a cancelled delivery after a retry: %+v", d)
	}
}

// TestPushCancelWhileResolving: a worker resolving an audience adds deliveries after an
// admin cancelled the campaign (or a node died between CancelCampaign's steps); a claim
// cancels them instead of returning them.
func TestPushCancelWhileResolving(t *testing.T) {
	t.Parallel()
	db := newPushDB(t)
	s := db.Push()
	other := sendingCampaign(t, s)
	c, _, err := s.CreateCampaign(t.Context(), newCampaign("", 0))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.ClaimCampaign(t.Context(), "w", at(0), at(60)); err != nil {
		t.Fatal(err)
	}
	ds := deliveries(c.ID, 5, at(0))
	if err := s.AddDeliveries(t.Context(), ds[:2]); err != nil {
		t.Fatal(err)
	}
	if _, err := s.CancelCampaign(t.Context(), c.ID, at(1)); err != nil {
		t.Fatal(err)
	}
	if err := s.AddDeliveries(t.Context(), ds[2:]); err != nil { // the worker did not know yet
		t.Fatal(err)
	}
	keep := deliveries(other.ID, 2, at(0))
	if err := s.AddDeliveries(t.Context(), keep); err != nil {
		t.Fatal(err)
	}
	got, err := s.ClaimDeliveries(t.Context(), "x", at(2), at(60), 10)
	if err != nil {
		t.Fatal(err)
	}
	ids, want := idsOf(got), idsOf(keep)
	slices.Sort(ids)
	slices.Sort(want)
	if !slices.Equal(ids, want) {
		t.Fatalf("claimed %q, want only the other campaign's %q", ids, want)
	}
	counts, err := s.CampaignCounts(t.Context(), c.ID)
	if err != nil {
		t.Fatal(err)
	}
	if counts != (push.Counts{Cancelled: 5}) {
		t.Fatalf("counts of the cancelled campaign %+v, want 5 cancelled", counts)
	}
	if n := countDocs(t, db, pushDeliveriesCollection, bson.D{{Key: "campaignId", Value: c.ID}, {Key: "leaseOwner", Value: bson.D{{Key: "$exists", Value: true}}}}); n != 0 {
		t.Fatalf("%d cancelled deliveries keep a lease", n)
	}

	// A node died between CancelCampaign's steps: cancelling again finishes the job.
	c2 := sendingCampaign(t, s)
	if err := s.AddDeliveries(t.Context(), deliveries(c2.ID, 3, at(100))); err != nil {
		t.Fatal(err)
	}
	if _, err := db.db.Collection(pushCampaignsCollection).UpdateOne(t.Context(), bson.D{{Key: "_id", Value: c2.ID}},
		bson.D{{Key: "$set", Value: bson.D{{Key: "status", Value: push.CampaignCancelled}}}}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.CancelCampaign(t.Context(), c2.ID, at(3)); tideline.ErrorCode(err) != tideline.CodeConflict {
		t.Fatalf("CancelCampaign of a cancelled campaign: %v, want conflict", err)
	}
	if counts, err := s.CampaignCounts(t.Context(), c2.ID); err != nil || counts != (push.Counts{Cancelled: 3}) {
		t.Fatalf("counts %+v, %v; want 3 cancelled", counts, err)
	}
}

// TestPushClaimCampaignConcurrent: workers of several nodes claim at once; each queued
// campaign is leased to one of them, in StartAt order per claim.
func TestPushClaimCampaignConcurrent(t *testing.T) {
	t.Parallel()
	db := newPushDB(t)
	s := db.Push()
	const n = 12
	for i := range n {
		if _, _, err := s.CreateCampaign(t.Context(), newCampaign("", n-i)); err != nil {
			t.Fatal(err)
		}
	}
	var (
		mu  sync.Mutex
		got = map[string]string{}
		wg  sync.WaitGroup
	)
	for w := range 6 {
		wg.Go(func() {
			owner := fmt.Sprint("w", w)
			s := db.Push()
			for {
				c, err := s.ClaimCampaign(t.Context(), owner, at(100), at(200))
				if tideline.ErrorCode(err) == tideline.CodeNotFound {
					return
				}
				if err != nil {
					t.Error(err)
					return
				}
				mu.Lock()
				if prev, ok := got[c.ID]; ok {
					t.Errorf("campaign %s claimed by %s and %s", c.ID, prev, owner)
				}
				got[c.ID] = owner
				mu.Unlock()
				if c.LeaseOwner != owner || !c.LeaseUntil.Equal(at(200)) {
					t.Errorf("claimed %+v", c)
				}
			}
		})
	}
	wg.Wait()
	if len(got) != n {
		t.Fatalf("%d campaigns claimed, want %d", len(got), n)
	}
}

// TestPushCampaignTimes: times are stored in milliseconds; a lease is stored ending no
// earlier than asked.
func TestPushCampaignTimes(t *testing.T) {
	t.Parallel()
	db := newPushDB(t)
	s := db.Push()
	c := newCampaign("", 0)
	c.CreatedAt = c.CreatedAt.Add(1234567 * time.Nanosecond)
	stored, _, err := s.CreateCampaign(t.Context(), c)
	if err != nil {
		t.Fatal(err)
	}
	read, err := s.GetCampaign(t.Context(), c.ID)
	if err != nil {
		t.Fatal(err)
	}
	if !stored.CreatedAt.Equal(at(0).Add(time.Millisecond)) || !read.CreatedAt.Equal(stored.CreatedAt) {
		t.Fatalf("createdAt returned %v, read %v; want %v", stored.CreatedAt, read.CreatedAt, at(0).Add(time.Millisecond))
	}
	if !read.StartedAt.IsZero() || !read.FinishedAt.IsZero() || !read.LeaseUntil.IsZero() || read.LeaseOwner != "" {
		t.Fatalf("a new campaign %+v has times or a lease", read)
	}
	leased, err := s.ClaimCampaign(t.Context(), "w", at(0), at(10).Add(time.Microsecond))
	if err != nil {
		t.Fatal(err)
	}
	if want := at(10).Add(time.Millisecond); !leased.LeaseUntil.Equal(want) {
		t.Fatalf("lease until %v, want %v", leased.LeaseUntil, want)
	}
}

// TestPushTopicAudienceHinted: a campaign's page of a topic's devices is read through the
// {topics, _id} index (migration 9), named in the query, so MongoDB walks the topic's
// devices in _id order and stops at the page's end instead of sorting them all.
func TestPushTopicAudienceHinted(t *testing.T) {
	t.Parallel()
	db, log := openMonitored(t, tideline.NewManualClock(storetest.Epoch))
	s := db.Push()
	for _, id := range []string{"a", "b", "c"} {
		register(t, s, "u1", id, "T"+id)
		if err := s.SetTopic(t.Context(), "u1", id, "news", true); err != nil {
			t.Fatal(err)
		}
	}
	var page []push.Device
	cmds := log.rawDuring(func() {
		var err error
		if page, err = s.ListAudience(t.Context(), push.Audience{Topic: "news"}, "", 2); err != nil {
			t.Fatal(err)
		}
	})
	if len(page) != 2 || len(cmds) != 1 {
		t.Fatalf("a page of 2 of the topic's 3 devices: %d devices, %d commands", len(page), len(cmds))
	}
	hint, err := cmds[0].LookupErr("hint")
	if err != nil || hint.String() != `{"topics": {"$numberInt":"1"},"_id": {"$numberInt":"1"}}` {
		t.Fatalf("the audience query %s names no {topics, _id} hint", cmds[0])
	}
}
