package sqlite

import (
	"context"
	"database/sql"
	"time"
)

// pushRetentionSchema is migration 11: a campaign's final counts, stored on it when it
// completes (FinishCampaign, StartCampaign) or by PurgeDeliveries before it deletes any
// delivery, and the mark of a campaign whose deliveries are purged.
//
// final is 1 when the final_* columns hold the counts. Campaigns that completed before
// this migration have final = 0: their counts are read from their deliveries, as before,
// until PurgeDeliveries stores them (no backfill: nothing is deleted before it is
// counted). push_campaigns_ended serves the purge's oldest-ended-first scan of the
// campaigns not yet purged.
var pushRetentionSchema = []string{
	`ALTER TABLE push_campaigns ADD COLUMN final INTEGER NOT NULL DEFAULT 0`,
	`ALTER TABLE push_campaigns ADD COLUMN final_pending INTEGER NOT NULL DEFAULT 0`,
	`ALTER TABLE push_campaigns ADD COLUMN final_sent INTEGER NOT NULL DEFAULT 0`,
	`ALTER TABLE push_campaigns ADD COLUMN final_failed INTEGER NOT NULL DEFAULT 0`,
	`ALTER TABLE push_campaigns ADD COLUMN final_pruned INTEGER NOT NULL DEFAULT 0`,
	`ALTER TABLE push_campaigns ADD COLUMN final_cancelled INTEGER NOT NULL DEFAULT 0`,
	`ALTER TABLE push_campaigns ADD COLUMN purged INTEGER NOT NULL DEFAULT 0`,
	`CREATE INDEX push_campaigns_ended ON push_campaigns (purged, finished_at, id) WHERE status IN ('completed', 'cancelled')`,
}

// setFinal is the SET clause that stores a campaign's counts from its deliveries, in the
// statement that changes its status (one statement: atomic with it).
const setFinal = `final = 1,
	final_pending = (SELECT COUNT(*) FROM push_deliveries d WHERE d.campaign_id = push_campaigns.id AND d.status = 'pending'),
	final_sent = (SELECT COUNT(*) FROM push_deliveries d WHERE d.campaign_id = push_campaigns.id AND d.status = 'sent'),
	final_failed = (SELECT COUNT(*) FROM push_deliveries d WHERE d.campaign_id = push_campaigns.id AND d.status = 'failed'),
	final_pruned = (SELECT COUNT(*) FROM push_deliveries d WHERE d.campaign_id = push_campaigns.id AND d.status = 'pruned'),
	final_cancelled = (SELECT COUNT(*) FROM push_deliveries d WHERE d.campaign_id = push_campaigns.id AND d.status = 'cancelled')`

// PurgeDeliveries is one write transaction: the campaigns to purge, oldest ended first;
// for each, its counts when it has none, then a delete of its final deliveries but the
// first keepErrors failed ones, and the mark once nothing is left. A crash rolls it all
// back.
func (s pushStore) PurgeDeliveries(ctx context.Context, endedBefore time.Time, keepErrors, limit int) (int, error) {
	limit, keepErrors = max(1, limit), max(0, keepErrors)
	changed := 0
	err := s.db.inTx(ctx, "purge deliveries", func(ctx context.Context, tx *sql.Tx, _ *DB) error {
		changed = 0
		rows, err := tx.QueryContext(ctx, `SELECT id FROM push_campaigns
			WHERE status IN ('completed', 'cancelled') AND purged = 0 AND finished_at < ?
			ORDER BY purged, finished_at, id LIMIT ?`, millis(endedBefore), limit)
		if err != nil {
			return err
		}
		var ids []string
		for rows.Next() {
			var id string
			if err := rows.Scan(&id); err != nil {
				rows.Close()
				return err
			}
			ids = append(ids, id)
		}
		if err := rows.Close(); err != nil {
			return err
		}
		budget := limit
		for _, id := range ids {
			if _, err := tx.ExecContext(ctx, `UPDATE push_campaigns SET `+setFinal+` WHERE id = ? AND final = 0`, id); err != nil {
				return err
			}
			res, err := tx.ExecContext(ctx, `DELETE FROM push_deliveries WHERE id IN (
					SELECT id FROM push_deliveries WHERE campaign_id = ? AND status != 'pending'
						AND id NOT IN (SELECT id FROM push_deliveries WHERE campaign_id = ? AND status = 'failed'
							ORDER BY finished_at, id LIMIT ?)
					LIMIT ?)`, id, id, keepErrors, budget)
			if err != nil {
				return err
			}
			n, err := res.RowsAffected()
			if err != nil {
				return err
			}
			changed, budget = changed+int(n), budget-int(n)
			if budget == 0 {
				return nil // more may be left: the next call looks again
			}
			if _, err := tx.ExecContext(ctx, `UPDATE push_campaigns SET purged = 1 WHERE id = ?`, id); err != nil {
				return err
			}
			changed++
		}
		return nil
	})
	if err != nil {
		return 0, err
	}
	return changed, nil
}
