package mongo

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/tideline-dev/tideline/push"
	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"
)

// Delivery retention without transactions.
//
// A campaign's counts are stored on it, in final, in the same single-document update that
// completes it (FinishCampaign, StartCampaign): the counts are read first, and nothing
// they count changes between the read and the update (a sending campaign with no pending
// delivery has only final deliveries, whose status no write changes again; see the top
// of push_campaign.go), so a node that dies between the two has changed nothing and the
// next FinishCampaign counts again. (The one exception of push_campaign.go stands: a
// worker whose lease on the campaign ended may add deliveries after it completed; they
// are sent, and not in final.) A cancelled campaign, and one that completed before this
// engine stored counts, has no final: its counts are read from its deliveries.
//
// PurgeDeliveries works campaign by campaign, each step idempotent:
//  1. when final is absent, count the deliveries and $set final on {_id, final absent}:
//     of racing sweeps one sets it, and all counted the same deliveries (nothing is
//     deleted before final exists, and the campaign ended long ago);
//  2. read up to a batch of its deliveries with a final status, but the first keepErrors
//     failed ones (CampaignErrors' order, so what the console lists stays), and delete
//     them by _id (deleteMany takes no limit);
//  3. when fewer than a batch were left, $set purged: later sweeps skip it.
//
// A node that dies after 1 has stored the counts, and deleted nothing; one that dies in 2
// leaves some deliveries, which the next sweep deletes; final is never written twice, so
// nothing is lost or counted twice. Pending deliveries are never deleted: on this engine
// a worker whose lease ended may still add some after the campaign ended (see
// push_campaign.go), and they are still to be sent.

// countsDoc is push.Counts as stored in a campaign's final.
type countsDoc struct {
	Pending   int `bson:"pending"`
	Sent      int `bson:"sent"`
	Failed    int `bson:"failed"`
	Pruned    int `bson:"pruned"`
	Cancelled int `bson:"cancelled"`
}

func storedCounts(c push.Counts) *countsDoc {
	return &countsDoc{Pending: c.Pending, Sent: c.Sent, Failed: c.Failed, Pruned: c.Pruned, Cancelled: c.Cancelled}
}

func (d *countsDoc) counts() *push.Counts {
	if d == nil {
		return nil
	}
	return &push.Counts{Pending: d.Pending, Sent: d.Sent, Failed: d.Failed, Pruned: d.Pruned, Cancelled: d.Cancelled}
}

// finalStatuses are the statuses of deliveries that are done with.
var finalStatuses = bson.A{push.DeliverySent, push.DeliveryFailed, push.DeliveryPruned, push.DeliveryCancelled}

func (s *pushStore) PurgeDeliveries(ctx context.Context, endedBefore time.Time, keepErrors, limit int) (int, error) {
	const what = "purge deliveries"
	limit, keepErrors = max(1, limit), max(0, keepErrors)
	cs, err := findAll[campaignDoc](ctx, s.campaigns(), bson.D{
		{Key: "status", Value: bson.D{{Key: "$in", Value: bson.A{push.CampaignCompleted, push.CampaignCancelled}}}},
		{Key: "finishedAt", Value: bson.D{{Key: "$lt", Value: ms(endedBefore)}}},
		{Key: "purged", Value: bson.D{{Key: "$exists", Value: false}}},
	}, options.Find().SetSort(bson.D{{Key: "finishedAt", Value: 1}, {Key: "_id", Value: 1}}).SetLimit(int64(limit)).
		SetProjection(bson.D{{Key: "_id", Value: 1}, {Key: "final", Value: 1}}), what)
	if err != nil {
		return 0, err
	}
	changed, budget := 0, limit
	for _, c := range cs {
		if c.Final == nil {
			n, err := s.CampaignCounts(ctx, c.ID)
			if err != nil {
				return changed, err
			}
			if _, err := s.campaigns().UpdateOne(ctx,
				bson.D{{Key: "_id", Value: c.ID}, {Key: "final", Value: bson.D{{Key: "$exists", Value: false}}}},
				bson.D{{Key: "$set", Value: bson.D{{Key: "final", Value: storedCounts(n)}}}}); err != nil {
				return changed, mapError(err, what)
			}
		}
		if err := s.pause(purgeCounted, push.Device{}, c.ID); err != nil {
			return changed, err
		}
		var keep []idDoc
		if keepErrors > 0 { // (a limit of 0 is none)
			keep, err = findAll[idDoc](ctx, s.deliveries(),
				bson.D{{Key: "campaignId", Value: c.ID}, {Key: "status", Value: push.DeliveryFailed}},
				options.Find().SetSort(bson.D{{Key: "finishedAt", Value: 1}, {Key: "_id", Value: 1}}).SetLimit(int64(keepErrors)).
					SetProjection(onlyID), what)
			if err != nil {
				return changed, err
			}
		}
		kept := make([]string, len(keep))
		for i, k := range keep {
			kept[i] = k.ID
		}
		gone, err := findAll[idDoc](ctx, s.deliveries(), bson.D{
			{Key: "campaignId", Value: c.ID},
			{Key: "status", Value: bson.D{{Key: "$in", Value: finalStatuses}}},
			{Key: "_id", Value: bson.D{{Key: "$nin", Value: kept}}},
		}, options.Find().SetLimit(int64(budget)).SetProjection(onlyID), what)
		if err != nil {
			return changed, err
		}
		if len(gone) > 0 {
			ids := make([]string, len(gone))
			for i, g := range gone {
				ids[i] = g.ID
			}
			res, err := s.deliveries().DeleteMany(ctx, bson.D{{Key: "_id", Value: idIn(ids)}, {Key: "campaignId", Value: c.ID}})
			if err != nil {
				return changed, mapError(err, what)
			}
			changed += int(res.DeletedCount)
		}
		if len(gone) == budget {
			return changed, nil // more may be left: the next call looks again
		}
		budget -= len(gone)
		if err := s.pause(purgeDeleted, push.Device{}, c.ID); err != nil {
			return changed, err
		}
		if _, err := s.campaigns().UpdateOne(ctx, bson.D{{Key: "_id", Value: c.ID}},
			bson.D{{Key: "$set", Value: bson.D{{Key: "purged", Value: true}}}}); err != nil {
			return changed, mapError(err, what)
		}
		changed++
	}
	return changed, nil
}

// migrateDropTopicsIndex is migration 12: the devices' {topics} index goes, as {topics,
// _id} (migration 10) serves every query on topics with its prefix (a topic's devices,
// ListAudience hinted) and ListTopics reads no index ($unwind of every device). One index
// fewer to write at every subscription. An index that is not there (a rerun, another
// node first) is no error. Additive: an older binary names no index but the ones it
// creates, which migration 10 made or it does not know.
func migrateDropTopicsIndex(ctx context.Context, db *DB) error {
	err := db.db.Collection(pushDevicesCollection).Indexes().DropOne(ctx, "topics_1")
	var ce mongo.CommandError
	if err != nil && errors.As(err, &ce) && (ce.Code == 27 || ce.Code == 26) { // IndexNotFound, NamespaceNotFound
		return nil
	}
	if err != nil {
		return fmt.Errorf("drop index topics_1 on %s: %w", pushDevicesCollection, err)
	}
	return nil
}
