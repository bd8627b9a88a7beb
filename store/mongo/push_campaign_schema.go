package mongo

import (
	"context"
	"fmt"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"
)

// The campaign collections. Times are BSON dates (milliseconds); a time that has not
// happened yet (startedAt, finishedAt) and a lease that is not held (leaseOwner,
// leaseUntil, claim) are absent, as in the auth collections.
const (
	// {_id: campaign id (UUIDv7), status, spec: binary, idempotencyKey (absent when none),
	// dryRun, createdBy, createdAt, startAt, targeted, startedAt, finishedAt, leaseOwner,
	// leaseUntil, final: {pending, sent, failed, pruned, cancelled} (the counts stored when it
	// completed or by the purge; absent before), purged: true once its deliveries are
	// purged (absent before); see push_retention.go}
	pushCampaignsCollection = "tideline_push_campaigns"
	// {_id: delivery id (UUIDv7), campaignId, deviceId (the device's _id), userId, due,
	// status, attempts, error, leaseOwner, leaseUntil, claim, finishedAt}. claim is the
	// nonce of the ClaimDeliveries call that took the lease (see push_campaign.go).
	pushDeliveriesCollection = "tideline_push_deliveries"
)

// pushCampaignIndexes are the indexes of the campaign collections:
//   - campaigns {idempotencyKey}, unique and sparse: of concurrent CreateCampaign calls with
//     one key, the server lets exactly one insert succeed. Campaigns without a key leave the
//     field out, as devices do their token (FerretDB v1 ignores sparse and has no partial
//     indexes; its unique indexes skip absent fields, which is why "" is never stored).
//     Unique on a non-shard-key field: the collection stays unsharded (it is small);
//   - campaigns {status, startAt, _id}: ClaimCampaign's queued campaigns whose time has
//     come, earliest first (ties by _id);
//   - deliveries {campaignId, deviceId}, unique: one delivery per device and campaign, so a
//     worker that resolves an audience again after a crash adds only what is missing. It
//     keeps the deliveries collection unsharded, or sharded on {campaignId, ...};
//   - deliveries {status, due, _id}: ClaimDeliveries' pending deliveries that are due,
//     earliest first (leased ones are filtered on the way; there are at most a batch per
//     worker);
//   - deliveries {campaignId, status, finishedAt, _id}: a campaign's counts by status, its
//     pending deliveries (CancelCampaign, FinishCampaign) and its failures in the order
//     they failed (CampaignErrors).
//
// The sorts end with _id, and so do the indexes: a campaign's 100,000 deliveries are often
// all due at one instant, and an index on {status, due} alone would leave MongoDB to sort
// every one of them at each claim to find the first few by _id; with _id in the index the
// claim reads the first few entries in order.
//
// Listing campaigns newest first walks _id (UUIDv7 ids grow with time).
var pushCampaignIndexes = []struct {
	collection string
	model      mongo.IndexModel
}{
	{pushCampaignsCollection, mongo.IndexModel{Keys: bson.D{{Key: "idempotencyKey", Value: 1}},
		Options: options.Index().SetUnique(true).SetSparse(true)}},
	{pushCampaignsCollection, mongo.IndexModel{Keys: bson.D{{Key: "status", Value: 1}, {Key: "startAt", Value: 1}, {Key: "_id", Value: 1}}}},
	{pushDeliveriesCollection, mongo.IndexModel{Keys: bson.D{{Key: "campaignId", Value: 1}, {Key: "deviceId", Value: 1}},
		Options: options.Index().SetUnique(true)}},
	{pushDeliveriesCollection, mongo.IndexModel{Keys: bson.D{{Key: "status", Value: 1}, {Key: "due", Value: 1}, {Key: "_id", Value: 1}}}},
	{pushDeliveriesCollection, mongo.IndexModel{Keys: bson.D{{Key: "campaignId", Value: 1}, {Key: "status", Value: 1},
		{Key: "finishedAt", Value: 1}, {Key: "_id", Value: 1}}}},
}

// migratePushCampaigns is migration 5: the indexes of the campaign collections (creating
// an index creates its collection), one command each (FerretDB v1 panics on a
// createIndexes that lists two existing ones). Creating an index that exists does nothing,
// so a rerun or several nodes at once are harmless, and the change is additive: the
// previous binary never reads these collections.
func migratePushCampaigns(ctx context.Context, db *DB) error {
	for _, ix := range pushCampaignIndexes {
		if _, err := db.db.Collection(ix.collection).Indexes().CreateOne(ctx, ix.model); err != nil {
			return fmt.Errorf("index %v on %s: %w", ix.model.Keys, ix.collection, err)
		}
	}
	return nil
}
