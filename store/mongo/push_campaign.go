package mongo

import (
	"cmp"
	"context"
	"errors"
	"regexp"
	"slices"
	"time"

	"github.com/tideline-dev/tideline"
	"github.com/tideline-dev/tideline/push"
	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"
)

// Campaigns and their deliveries across many nodes, without transactions.
//
// Every step below is one single-document atomic write, or a multi-document write whose
// effect on each document is decided by that document's own filter (MongoDB applies an
// updateMany document by document, each atomically; that is all it relies on). Work is
// shared through leases: a document is leased by writing leaseOwner and leaseUntil in a
// write conditional on the lease being free ({leaseUntil absent or <= now}), so of racing
// claims exactly one matches each document; a lease is released by writes conditional on
// its owner. A node that dies holding a lease loses nothing: the lease ends and the next
// claim takes the document again.
//
// Campaigns (one document each):
//   - CreateCampaign is one insert; the unique index on idempotencyKey lets exactly one of
//     racing creations with one key in, and the others read the winner.
//   - ClaimCampaign is one findOneAndUpdate on {queued, startAt <= now, lease free}: the
//     document it returns is the one it leased, atomically.
//   - StartCampaign is one update on {_id, queued, leaseOwner: owner}; a campaign that an
//     admin cancelled, or that another worker has taken after our lease ended, no longer
//     matches it.
//   - CancelCampaign is an update of the campaign on {queued or sending}, then an
//     updateMany of its pending deliveries. FinishCampaign is a read (no pending delivery)
//     then an update on {sending}: once a campaign is sending, its deliveries only leave
//     pending, never enter it (a retry stays pending throughout), so "none pending" stays
//     true between the read and the update. (One exception: a worker whose lease on the
//     campaign ended while it resolved the audience may still add deliveries for devices
//     that joined since; they are sent like the others, but the campaign may have been
//     completed already.)
//
// Deliveries (ClaimDeliveries, below, has its own argument). AddDeliveries relies on the
// unique index {campaignId, deviceId}: a worker that resolves an audience again after a
// crash, or two workers that both resolve it (one of them with an ended lease), insert
// each device's delivery once between them. FinishDeliveries writes outcomes on
// {_id in ids, leaseOwner: owner}: an outcome of a worker whose delivery has been claimed
// again by another is skipped, document by document.
//
// Cancelling while an audience is being resolved: the resolving worker may insert
// deliveries after CancelCampaign has cancelled the pending ones, and a node may die
// between CancelCampaign's two steps. So that such deliveries are never sent,
// ClaimDeliveries reads, after leasing, which of the leased deliveries' campaigns are
// cancelled and cancels those deliveries instead of returning them. A delivery leased
// before the campaign was cancelled may still be sent (as on any engine: it was in
// flight); one leased after is not, because the read follows the lease.

// maxClaimRounds bounds how often one ClaimDeliveries looks for more candidates after
// racing claims took some of those it found.
const maxClaimRounds = 4

// writeChunk is how many deliveries (or outcomes, or ids) go in one insertMany (or bulk
// write, or $in). A variable for tests.
var writeChunk = 1000

func (s *pushStore) campaigns() *mongo.Collection {
	return s.db.db.Collection(pushCampaignsCollection, durable)
}

func (s *pushStore) deliveries() *mongo.Collection {
	return s.db.db.Collection(pushDeliveriesCollection, durable)
}

type campaignDoc struct {
	ID             string    `bson:"_id"`
	Status         string    `bson:"status"`
	Spec           []byte    `bson:"spec"`
	IdempotencyKey string    `bson:"idempotencyKey,omitempty"` // absent when none: see pushCampaignIndexes
	DryRun         bool      `bson:"dryRun"`
	CreatedBy      string    `bson:"createdBy"`
	CreatedAt      time.Time `bson:"createdAt"`
	StartAt        time.Time `bson:"startAt"`
	Targeted       int       `bson:"targeted"`
	StartedAt      time.Time `bson:"startedAt,omitempty"`
	FinishedAt     time.Time `bson:"finishedAt,omitempty"`
	LeaseOwner     string    `bson:"leaseOwner,omitempty"`
	LeaseUntil     time.Time `bson:"leaseUntil,omitempty"`
	// Final: the counts stored when it completed, or by the purge (push_retention.go).
	Final  *countsDoc `bson:"final,omitempty"`
	Purged bool       `bson:"purged,omitempty"`
}

func (d campaignDoc) campaign() push.Campaign {
	return push.Campaign{ID: d.ID, Status: d.Status, Spec: d.Spec, IdempotencyKey: d.IdempotencyKey,
		DryRun: d.DryRun, CreatedBy: d.CreatedBy, CreatedAt: d.CreatedAt.UTC(), StartAt: d.StartAt.UTC(),
		Targeted: d.Targeted, StartedAt: d.StartedAt.UTC(), FinishedAt: d.FinishedAt.UTC(),
		LeaseOwner: d.LeaseOwner, LeaseUntil: d.LeaseUntil.UTC(), Final: d.Final.counts()}
}

type deliveryDoc struct {
	ID         string    `bson:"_id"`
	CampaignID string    `bson:"campaignId"`
	DeviceID   string    `bson:"deviceId"`
	UserID     string    `bson:"userId"`
	Due        time.Time `bson:"due"`
	Status     string    `bson:"status"`
	Attempts   int       `bson:"attempts"`
	Error      string    `bson:"error"`
	LeaseOwner string    `bson:"leaseOwner,omitempty"`
	LeaseUntil time.Time `bson:"leaseUntil,omitempty"`
	Claim      string    `bson:"claim,omitempty"`
	FinishedAt time.Time `bson:"finishedAt,omitempty"`
}

func (d deliveryDoc) delivery() push.Delivery {
	return push.Delivery{ID: d.ID, CampaignID: d.CampaignID, DeviceID: d.DeviceID, UserID: d.UserID,
		Due: d.Due.UTC(), Status: d.Status, Attempts: d.Attempts, Error: d.Error,
		LeaseOwner: d.LeaseOwner, LeaseUntil: d.LeaseUntil.UTC(), FinishedAt: d.FinishedAt.UTC()}
}

// ms is t as stored: BSON dates hold milliseconds. Zero stays zero.
func ms(t time.Time) time.Time {
	if t.IsZero() {
		return t
	}
	return t.Truncate(time.Millisecond).UTC()
}

// msCeil is t rounded up to a millisecond: a lease is stored ending no earlier than asked.
func msCeil(t time.Time) time.Time {
	m := ms(t)
	if m.Before(t) {
		m = m.Add(time.Millisecond)
	}
	return m
}

// leaseFree is the condition of a document nobody holds at now: no lease, or an ended one.
// ($not matches an absent field; one clause, not an $or, keeps the query planner on the
// claim indexes.)
func leaseFree(now time.Time) bson.E {
	return bson.E{Key: "leaseUntil", Value: bson.D{{Key: "$not", Value: bson.D{{Key: "$gt", Value: now}}}}}
}

// unsetLease is the $unset that releases a lease.
var unsetLease = bson.E{Key: "$unset", Value: bson.D{
	{Key: "leaseOwner", Value: ""}, {Key: "leaseUntil", Value: ""}, {Key: "claim", Value: ""},
}}

func idIn(ids []string) bson.D { return bson.D{{Key: "$in", Value: ids}} }

// idDoc is a document read for its _id alone (with onlyID).
type idDoc struct {
	ID string `bson:"_id"`
}

var onlyID = bson.D{{Key: "_id", Value: 1}}

// PruneToken unsets the token on its holder (the unique index keeps it to one device).
func (s *pushStore) PruneToken(ctx context.Context, token string) error {
	if token == "" {
		return nil
	}
	_, err := s.devices().UpdateMany(ctx, bson.D{{Key: "pushToken", Value: token}},
		bson.D{{Key: "$unset", Value: bson.D{{Key: "pushToken", Value: ""}}}})
	return mapError(err, "prune push token")
}

// noTopics leaves the topic sets out of device reads that do not return them.
var noTopics = bson.D{{Key: "topics", Value: 0}}

func (s *pushStore) DevicesByID(ctx context.Context, ids []string) ([]push.Device, error) {
	out := []push.Device{}
	for chunk := range slices.Chunk(ids, writeChunk) {
		docs, err := findAll[deviceDoc](ctx, s.devices(), bson.D{{Key: "_id", Value: idIn(chunk)}},
			options.Find().SetProjection(noTopics), "find devices by id")
		if err != nil {
			return nil, err
		}
		for _, d := range docs {
			out = append(out, withoutTopics(d))
		}
	}
	return out, nil
}

func withoutTopics(d deviceDoc) push.Device {
	dev := d.device()
	dev.Topics = nil
	return dev
}

// ListAudience is one find: every condition of a is a clause of the filter, the page
// walks _id upwards.
func (s *pushStore) ListAudience(ctx context.Context, a push.Audience, after string, limit int) ([]push.Device, error) {
	if limit <= 0 {
		return []push.Device{}, nil
	}
	id := bson.D{}
	if after != "" {
		id = append(id, bson.E{Key: "$gt", Value: after})
	}
	if len(a.DeviceIDs) > 0 {
		id = append(id, bson.E{Key: "$in", Value: a.DeviceIDs})
	}
	filter := bson.D{{Key: "pushToken", Value: bson.D{{Key: "$exists", Value: true}}}}
	if len(id) > 0 {
		filter = append(filter, bson.E{Key: "_id", Value: id})
	}
	if len(a.UserIDs) > 0 {
		filter = append(filter, bson.E{Key: "userId", Value: bson.D{{Key: "$in", Value: a.UserIDs}}})
	}
	if a.Topic != "" {
		filter = append(filter, bson.E{Key: "topics", Value: a.Topic})
	}
	if len(a.Platforms) > 0 {
		filter = append(filter, bson.E{Key: "platform", Value: bson.D{{Key: "$in", Value: a.Platforms}}})
	}
	if len(a.Locales) > 0 {
		// A locale matches exactly, or as a language: "en" matches "en-GB" (an anchored
		// prefix with the separator; case-sensitive).
		or := bson.A{bson.D{{Key: "locale", Value: bson.D{{Key: "$in", Value: a.Locales}}}}}
		for _, l := range a.Locales {
			or = append(or, bson.D{{Key: "locale", Value: bson.Regex{Pattern: "^" + regexp.QuoteMeta(l) + "-"}}})
		}
		filter = append(filter, bson.E{Key: "$or", Value: or})
	}
	if !a.SeenSince.IsZero() {
		filter = append(filter, bson.E{Key: "lastSeen", Value: bson.D{{Key: "$gte", Value: ms(a.SeenSince)}}})
	}
	opts := options.Find().SetSort(bson.D{{Key: "_id", Value: 1}}).SetLimit(int64(limit)).SetProjection(noTopics)
	if a.Topic != "" {
		opts.SetHint(topicAudienceIndex.Keys) // the topic's devices in _id order: no sort, no scan
	}
	docs, err := findAll[deviceDoc](ctx, s.devices(), filter, opts, "list audience")
	return convert(docs, err, withoutTopics)
}

// CreateCampaign inserts; when the idempotency key's unique index refuses it, the holder
// of the key is the answer. Campaigns are never deleted, so the holder is there to read.
func (s *pushStore) CreateCampaign(ctx context.Context, c push.Campaign) (push.Campaign, bool, error) {
	const what = "create campaign"
	d := campaignDoc{ID: c.ID, Status: push.CampaignQueued, Spec: c.Spec, IdempotencyKey: c.IdempotencyKey,
		DryRun: c.DryRun, CreatedBy: c.CreatedBy, CreatedAt: ms(c.CreatedAt), StartAt: ms(c.StartAt),
		Targeted: c.Targeted, StartedAt: ms(c.StartedAt), FinishedAt: ms(c.FinishedAt)}
	if d.Spec == nil {
		d.Spec = []byte{}
	}
	_, err := s.campaigns().InsertOne(ctx, d)
	if err == nil {
		return d.campaign(), true, nil
	}
	if !mongo.IsDuplicateKeyError(err) || c.IdempotencyKey == "" {
		return push.Campaign{}, false, mapError(err, what)
	}
	held, ferr := findOne[campaignDoc](ctx, s.campaigns(), bson.D{{Key: "idempotencyKey", Value: c.IdempotencyKey}}, what)
	if tideline.ErrorCode(ferr) == tideline.CodeNotFound {
		return push.Campaign{}, false, mapError(err, what) // the duplicate was the _id
	}
	if ferr != nil {
		return push.Campaign{}, false, ferr
	}
	return held.campaign(), false, nil
}

func (s *pushStore) GetCampaign(ctx context.Context, id string) (push.Campaign, error) {
	d, err := findOne[campaignDoc](ctx, s.campaigns(), bson.D{{Key: "_id", Value: id}}, "get campaign")
	return d.campaign(), err
}

func (s *pushStore) ListCampaigns(ctx context.Context, before string, limit int) ([]push.Campaign, error) {
	if limit <= 0 {
		return []push.Campaign{}, nil
	}
	filter := bson.D{}
	if before != "" {
		filter = bson.D{{Key: "_id", Value: bson.D{{Key: "$lt", Value: before}}}}
	}
	docs, err := findAll[campaignDoc](ctx, s.campaigns(), filter,
		options.Find().SetSort(bson.D{{Key: "_id", Value: -1}}).SetLimit(int64(limit)), "list campaigns")
	out, err := convert(docs, err, campaignDoc.campaign)
	if out == nil && err == nil {
		out = []push.Campaign{}
	}
	return out, err
}

// CampaignCounts is one aggregation: $match the campaign, $group by status with $sum: 1
// (FerretDB v1 has $sum; one accumulator per $group).
func (s *pushStore) CampaignCounts(ctx context.Context, id string) (push.Counts, error) {
	const what = "count deliveries"
	cur, err := s.deliveries().Aggregate(ctx, mongo.Pipeline{
		{{Key: "$match", Value: bson.D{{Key: "campaignId", Value: id}}}},
		{{Key: "$group", Value: bson.D{{Key: "_id", Value: "$status"}, {Key: "n", Value: bson.D{{Key: "$sum", Value: 1}}}}}},
	})
	if err != nil {
		return push.Counts{}, mapError(err, what)
	}
	var rows []struct {
		Status string `bson:"_id"`
		N      int    `bson:"n"`
	}
	if err := cur.All(ctx, &rows); err != nil {
		return push.Counts{}, mapError(err, what)
	}
	var c push.Counts
	for _, r := range rows {
		switch r.Status {
		case push.DeliveryPending:
			c.Pending = r.N
		case push.DeliverySent:
			c.Sent = r.N
		case push.DeliveryFailed:
			c.Failed = r.N
		case push.DeliveryPruned:
			c.Pruned = r.N
		case push.DeliveryCancelled:
			c.Cancelled = r.N
		}
	}
	return c, nil
}

func (s *pushStore) CampaignErrors(ctx context.Context, id string, limit int) ([]push.Delivery, error) {
	if limit <= 0 {
		return []push.Delivery{}, nil
	}
	docs, err := findAll[deliveryDoc](ctx, s.deliveries(),
		bson.D{{Key: "campaignId", Value: id}, {Key: "status", Value: push.DeliveryFailed}},
		options.Find().SetSort(bson.D{{Key: "finishedAt", Value: 1}, {Key: "_id", Value: 1}}).SetLimit(int64(limit)),
		"list campaign errors")
	out, err := convert(docs, err, deliveryDoc.delivery)
	if out == nil && err == nil {
		out = []push.Delivery{}
	}
	return out, err
}

// CancelCampaign: first the campaign, conditional on its status (of racing cancels and
// starts, each decided on the one document), then its pending deliveries. A node that dies
// between the two leaves pending deliveries of a cancelled campaign: ClaimDeliveries
// cancels them when it meets them (see the top of this file), and cancelling the campaign
// again finishes the job before answering conflict.
func (s *pushStore) CancelCampaign(ctx context.Context, id string, now time.Time) (push.Campaign, error) {
	const what = "cancel campaign"
	now = ms(now)
	var d campaignDoc
	err := s.campaigns().FindOneAndUpdate(ctx,
		bson.D{{Key: "_id", Value: id}, {Key: "status", Value: bson.D{{Key: "$in", Value: bson.A{push.CampaignQueued, push.CampaignSending}}}}},
		bson.D{
			{Key: "$set", Value: bson.D{{Key: "status", Value: push.CampaignCancelled}, {Key: "finishedAt", Value: now}}},
			{Key: "$unset", Value: bson.D{{Key: "leaseOwner", Value: ""}, {Key: "leaseUntil", Value: ""}}},
		},
		options.FindOneAndUpdate().SetReturnDocument(options.After)).Decode(&d)
	switch {
	case err == nil:
		return d.campaign(), s.cancelPending(ctx, id, now)
	case !errors.Is(err, mongo.ErrNoDocuments):
		return push.Campaign{}, mapError(err, what)
	}
	d, err = findOne[campaignDoc](ctx, s.campaigns(), bson.D{{Key: "_id", Value: id}}, what)
	if err != nil {
		return push.Campaign{}, err
	}
	if d.Status == push.CampaignCancelled {
		if err := s.cancelPending(ctx, id, now); err != nil {
			return d.campaign(), err
		}
	}
	return d.campaign(), tideline.Errorf(tideline.CodeConflict, "The campaign is %s; only a queued or sending campaign can be cancelled.", d.Status)
}

// cancelPending cancels the campaign's pending deliveries. A leased one keeps its lease:
// its worker may be sending it, and a final outcome it records still counts.
func (s *pushStore) cancelPending(ctx context.Context, id string, now time.Time) error {
	_, err := s.deliveries().UpdateMany(ctx,
		bson.D{{Key: "campaignId", Value: id}, {Key: "status", Value: push.DeliveryPending}},
		bson.D{{Key: "$set", Value: bson.D{{Key: "status", Value: push.DeliveryCancelled}, {Key: "finishedAt", Value: now}}}})
	return mapError(err, "cancel the campaign's deliveries")
}

// ClaimCampaign is one findOneAndUpdate: the campaign it returns is the one it leased.
func (s *pushStore) ClaimCampaign(ctx context.Context, owner string, now, leaseUntil time.Time) (push.Campaign, error) {
	now = ms(now)
	var d campaignDoc
	err := s.campaigns().FindOneAndUpdate(ctx,
		bson.D{{Key: "status", Value: push.CampaignQueued}, {Key: "startAt", Value: bson.D{{Key: "$lte", Value: now}}}, leaseFree(now)},
		bson.D{{Key: "$set", Value: bson.D{{Key: "leaseOwner", Value: owner}, {Key: "leaseUntil", Value: msCeil(leaseUntil)}}}},
		options.FindOneAndUpdate().SetSort(bson.D{{Key: "startAt", Value: 1}, {Key: "_id", Value: 1}}).
			SetReturnDocument(options.After)).Decode(&d)
	return d.campaign(), mapError(err, "claim campaign")
}

// AddDeliveries inserts in unordered chunks; the server skips what its unique indexes
// refuse ({campaignId, deviceId}, or the _id of a delivery stored before) and inserts the
// rest, and those refusals alone are not errors.
func (s *pushStore) AddDeliveries(ctx context.Context, ds []push.Delivery) error {
	const what = "add deliveries"
	for chunk := range slices.Chunk(ds, writeChunk) {
		docs := make([]deliveryDoc, len(chunk))
		for i, d := range chunk {
			docs[i] = deliveryDoc{ID: d.ID, CampaignID: d.CampaignID, DeviceID: d.DeviceID, UserID: d.UserID,
				Due: ms(d.Due), Status: push.DeliveryPending}
		}
		_, err := s.deliveries().InsertMany(ctx, docs, options.InsertMany().SetOrdered(false))
		if err != nil && !onlyDuplicates(err) {
			return mapError(err, what)
		}
	}
	return nil
}

// onlyDuplicates reports whether err is a bulk write's refusals by unique indexes and
// nothing else.
func onlyDuplicates(err error) bool {
	var bwe mongo.BulkWriteException
	if !errors.As(err, &bwe) || bwe.WriteConcernError != nil || len(bwe.WriteErrors) == 0 {
		return false
	}
	for _, we := range bwe.WriteErrors {
		if !mongo.IsDuplicateKeyError(we) {
			return false
		}
	}
	return true
}

// StartCampaign is one update conditional on the status and the lease's owner.
func (s *pushStore) StartCampaign(ctx context.Context, id, owner, status string, targeted int, now time.Time) error {
	const what = "start campaign"
	now = ms(now)
	set := bson.D{{Key: "status", Value: status}, {Key: "targeted", Value: targeted}, {Key: "startedAt", Value: now}}
	switch status {
	case push.CampaignSending:
	case push.CampaignCompleted:
		// A dry run or an empty audience: no deliveries, normally; counted all the same,
		// as FinishCampaign counts.
		n, err := s.CampaignCounts(ctx, id)
		if err != nil {
			return err
		}
		set = append(set, bson.E{Key: "finishedAt", Value: now}, bson.E{Key: "final", Value: storedCounts(n)})
	default:
		return tideline.Errorf(tideline.CodeInvalid, "A campaign starts as sending or completed, not %q.", status)
	}
	res, err := s.campaigns().UpdateOne(ctx,
		bson.D{{Key: "_id", Value: id}, {Key: "status", Value: push.CampaignQueued}, {Key: "leaseOwner", Value: owner}},
		bson.D{{Key: "$set", Value: set}, {Key: "$unset", Value: bson.D{{Key: "leaseOwner", Value: ""}, {Key: "leaseUntil", Value: ""}}}})
	if err != nil {
		return mapError(err, what)
	}
	if res.MatchedCount == 0 {
		return tideline.Errorf(tideline.CodeConflict, "The campaign is not queued and leased by %s: it was cancelled, or another worker took it.", owner)
	}
	return nil
}

// ClaimDeliveries, racing claims of any nodes, never returns a delivery another claim
// holds. Each round:
//
//	C1 find up to the wanted number of candidates: pending, due, lease free, earliest due
//	   first (ids only). A plain read: others may take them meanwhile.
//	C2 updateMany {_id in candidates, pending, due, lease free}: set leaseOwner = owner,
//	   leaseUntil, claim = a nonce of this call (a new random id), $inc attempts. Each
//	   document is decided atomically on its own filter, so a candidate another claim has
//	   taken since C1 (its lease is not free) is left alone, and of racing claims exactly
//	   one matches each delivery.
//	C3 find {_id in candidates, claim: nonce}: exactly the deliveries this call leased
//	   and nobody has taken since. The nonce, not the owner, tells them apart, because
//	   owners are node ids and one node runs several workers; leaseOwner keeps the owner,
//	   as FinishDeliveries and admins expect.
//
// Why no delivery is returned twice while its lease lasts: a call returns a delivery only
// if its C2 matched it, which needed the lease free at that call's now; a second call's C2
// can match it only once the first lease has ended, and then the first call's C3, if it
// comes later, no longer sees its nonce. When racing claims took candidates between C1
// and C2, a new round looks for others (up to maxClaimRounds), so a claim does not come
// back short while due work remains. A call that dies after C2 leaves deliveries leased
// and unsent: their lease ends and they are claimed again (Attempts counts that claim
// too). Last, deliveries of cancelled campaigns are cancelled, not returned (see the top).
func (s *pushStore) ClaimDeliveries(ctx context.Context, owner string, now, leaseUntil time.Time, limit int) ([]push.Delivery, error) {
	const what = "claim deliveries"
	now, until := ms(now), msCeil(leaseUntil)
	nonce := tideline.NewID()
	var out []deliveryDoc
	for round := 0; round < maxClaimRounds && len(out) < limit; round++ {
		want := limit - len(out)
		due := bson.D{
			{Key: "status", Value: push.DeliveryPending},
			{Key: "due", Value: bson.D{{Key: "$lte", Value: now}}},
			leaseFree(now),
		}
		// C1
		cands, err := findAll[idDoc](ctx, s.deliveries(), due, options.Find().
			SetSort(bson.D{{Key: "due", Value: 1}, {Key: "_id", Value: 1}}).
			SetLimit(int64(want)).
			SetProjection(onlyID), what)
		if err != nil {
			return nil, err
		}
		if len(cands) == 0 {
			break
		}
		ids := make([]string, len(cands))
		for i, c := range cands {
			ids[i] = c.ID
		}
		// C2
		res, err := s.deliveries().UpdateMany(ctx, append(bson.D{{Key: "_id", Value: idIn(ids)}}, due...), bson.D{
			{Key: "$set", Value: bson.D{{Key: "leaseOwner", Value: owner}, {Key: "leaseUntil", Value: until}, {Key: "claim", Value: nonce}}},
			{Key: "$inc", Value: bson.D{{Key: "attempts", Value: 1}}},
		})
		if err != nil {
			return nil, mapError(err, what)
		}
		if res.MatchedCount > 0 {
			// C3
			got, err := findAll[deliveryDoc](ctx, s.deliveries(),
				bson.D{{Key: "_id", Value: idIn(ids)}, {Key: "claim", Value: nonce}}, nil, what)
			if err != nil {
				return nil, err
			}
			out = append(out, got...)
		}
		if int(res.MatchedCount) == len(ids) && len(ids) < want {
			break // took every candidate there was
		}
		if !until.After(now) {
			break // a lease that is over at once does not keep our own from the next round
		}
	}
	out, err := s.dropCancelled(ctx, out, nonce, now)
	if err != nil {
		return nil, err
	}
	slices.SortFunc(out, func(a, b deliveryDoc) int {
		return cmp.Or(a.Due.Compare(b.Due), cmp.Compare(a.ID, b.ID))
	})
	return convert(out, nil, deliveryDoc.delivery)
}

// dropCancelled cancels, and leaves out, the claimed deliveries whose campaign is
// cancelled (read after the claim: see the top of this file).
func (s *pushStore) dropCancelled(ctx context.Context, ds []deliveryDoc, nonce string, now time.Time) ([]deliveryDoc, error) {
	const what = "claim deliveries: check the campaigns"
	if len(ds) == 0 {
		return []deliveryDoc{}, nil
	}
	var ids []string
	for _, d := range ds {
		if !slices.Contains(ids, d.CampaignID) {
			ids = append(ids, d.CampaignID)
		}
	}
	cancelled, err := findAll[idDoc](ctx, s.campaigns(),
		bson.D{{Key: "_id", Value: idIn(ids)}, {Key: "status", Value: push.CampaignCancelled}},
		options.Find().SetProjection(onlyID), what)
	if err != nil || len(cancelled) == 0 {
		return ds, err
	}
	var drop []string
	keep := ds[:0:0]
	for _, d := range ds {
		if slices.Contains(cancelled, idDoc{d.CampaignID}) {
			drop = append(drop, d.ID)
		} else {
			keep = append(keep, d)
		}
	}
	_, err = s.deliveries().UpdateMany(ctx, bson.D{{Key: "_id", Value: idIn(drop)}, {Key: "claim", Value: nonce}}, bson.D{
		{Key: "$set", Value: bson.D{{Key: "status", Value: push.DeliveryCancelled}, {Key: "finishedAt", Value: now}}},
		unsetLease,
	})
	return keep, mapError(err, what)
}

// FinishDeliveries records outcomes with updates on {_id in ids, leaseOwner: owner}: each
// delivery is decided on its own document, and one this owner no longer holds is left
// alone. Outcomes that write the same thing (typically: sent, at one time) share one
// updateMany, and all of a chunk's updates go in one ordered bulk write: one round trip,
// and few statements (on FerretDB v1, which scans the collection for every statement that
// filters on more than _id, this is the difference between milliseconds and a minute for
// a thousand outcomes; on MongoDB each statement uses the _id index either way). An id
// given twice keeps its first outcome.
//
// A retry is two updates, of which at most one matches each delivery: on a pending one it
// sets the new due time; on one cancelled meanwhile it only releases the lease (it stays
// cancelled). The first releases the lease, so the second cannot match after it; a
// delivery only moves from pending to cancelled, never back, so when the first misses
// because of the status the second matches. (One update choosing between them would need
// a pipeline update, which FerretDB v1 lacks.) The count is the sum of the matches.
func (s *pushStore) FinishDeliveries(ctx context.Context, owner string, outcomes []push.Outcome) (int, error) {
	const what = "finish deliveries"
	type write struct {
		status, error string
		at            time.Time // FinishedAt, or Due for a retry
	}
	seen := make(map[string]bool, len(outcomes))
	var (
		order  []write
		groups = map[write][]string{}
	)
	for _, o := range outcomes {
		if seen[o.DeliveryID] {
			continue
		}
		seen[o.DeliveryID] = true
		w := write{status: o.Status, error: o.Error, at: ms(o.At)}
		switch o.Status {
		case push.DeliveryPending:
			w.at = ms(o.Due)
		case push.DeliverySent, push.DeliveryFailed, push.DeliveryPruned, push.DeliveryCancelled:
		default:
			return 0, tideline.Errorf(tideline.CodeInvalid, "A delivery's outcome cannot be %q.", o.Status)
		}
		if _, ok := groups[w]; !ok {
			order = append(order, w)
		}
		groups[w] = append(groups[w], o.DeliveryID)
	}
	if owner == "" {
		return 0, nil // "" holds nothing, as on SQLite
	}
	recorded := 0
	var models []mongo.WriteModel
	flush := func() error {
		if len(models) == 0 {
			return nil
		}
		res, err := s.deliveries().BulkWrite(ctx, models, options.BulkWrite().SetOrdered(true))
		if err != nil {
			return mapError(err, what)
		}
		recorded += int(res.MatchedCount)
		models = models[:0]
		return nil
	}
	ids := 0 // in models
	for _, w := range order {
		for chunk := range slices.Chunk(groups[w], writeChunk) {
			held := bson.D{{Key: "_id", Value: idIn(chunk)}, {Key: "leaseOwner", Value: owner}}
			if w.status == push.DeliveryPending {
				models = append(models,
					mongo.NewUpdateManyModel().
						SetFilter(append(held, bson.E{Key: "status", Value: push.DeliveryPending})).
						SetUpdate(bson.D{
							{Key: "$set", Value: bson.D{{Key: "due", Value: w.at}, {Key: "error", Value: w.error}}},
							unsetLease,
						}),
					mongo.NewUpdateManyModel().
						SetFilter(append(held[:len(held):len(held)], bson.E{Key: "status", Value: push.DeliveryCancelled})).
						SetUpdate(bson.D{unsetLease}))
			} else {
				open := append(held, bson.E{Key: "status", Value: bson.D{{Key: "$in", Value: bson.A{push.DeliveryPending, push.DeliveryCancelled}}}})
				models = append(models, mongo.NewUpdateManyModel().SetFilter(open).SetUpdate(bson.D{
					{Key: "$set", Value: bson.D{{Key: "status", Value: w.status}, {Key: "error", Value: w.error}, {Key: "finishedAt", Value: w.at}}},
					unsetLease,
				}))
			}
			if ids += len(chunk); ids >= writeChunk {
				if err := flush(); err != nil {
					return recorded, err
				}
				ids = 0
			}
		}
	}
	return recorded, flush()
}

// FinishCampaign: no pending delivery (a read), then the update on {sending}. See the top
// of this file for why nothing becomes pending in between.
func (s *pushStore) FinishCampaign(ctx context.Context, id string, now time.Time) (bool, error) {
	const what = "finish campaign"
	err := s.deliveries().FindOne(ctx, bson.D{{Key: "campaignId", Value: id}, {Key: "status", Value: push.DeliveryPending}},
		options.FindOne().SetProjection(onlyID)).Err()
	if err == nil {
		return false, nil
	}
	if !errors.Is(err, mongo.ErrNoDocuments) {
		return false, mapError(err, what)
	}
	// Nothing these count changes before the update (see push_retention.go).
	n, err := s.CampaignCounts(ctx, id)
	if err != nil {
		return false, err
	}
	if err := s.pause(finishCounted, push.Device{}, id); err != nil {
		return false, err
	}
	res, err := s.campaigns().UpdateOne(ctx, bson.D{{Key: "_id", Value: id}, {Key: "status", Value: push.CampaignSending}},
		bson.D{{Key: "$set", Value: bson.D{{Key: "status", Value: push.CampaignCompleted}, {Key: "finishedAt", Value: ms(now)},
			{Key: "final", Value: storedCounts(n)}}}})
	if err != nil {
		return false, mapError(err, what)
	}
	return res.ModifiedCount == 1, nil
}
