package sqlite

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"slices"
	"strings"
	"time"

	"github.com/tideline-dev/tideline"
	"github.com/tideline-dev/tideline/push"
)

// Campaigns and their deliveries keep their promises with the single writer: every claim
// is one UPDATE that picks and leases its rows, so two claims never see the same free row,
// and every change that must see a consistent state (idempotency keys, cancellation) runs
// in one write transaction.

// bareDeviceColumns read a device of push_devices d without its topics (an empty array, so
// scanDevice reads them).
const bareDeviceColumns = `d.id, d.user_id, d.device_id, d.session_id, d.platform, d.push_token, d.app_version,
	d.locale, d.timezone, d.created_at, d.last_seen, '[]'`

func (s pushStore) PruneToken(ctx context.Context, token string) error {
	if token == "" {
		return nil // an unbound device has the empty token: nothing to prune
	}
	_, err := s.db.write.ExecContext(ctx, `UPDATE push_devices SET push_token = '' WHERE push_token = ?`, token)
	return mapError(err, "prune token")
}

// jsonList encodes a list of strings for json_each, which reads it as one parameter
// whatever its length.
func jsonList(v []string) string {
	b, _ := json.Marshal(v) // strings always encode
	return string(b)
}

func (s pushStore) DevicesByID(ctx context.Context, ids []string) ([]push.Device, error) {
	if len(ids) == 0 {
		return nil, nil
	}
	rows, err := s.db.query(ctx, `SELECT `+bareDeviceColumns+` FROM push_devices d
		WHERE d.id IN (SELECT value FROM json_each(?))`, jsonList(ids))
	if err != nil {
		return nil, mapError(err, "devices by id")
	}
	return collect(rows, scanDevice, "devices by id")
}

// ListAudience adds one condition per field of a that is set; lists are passed as JSON
// arrays. A locale matches exactly or as a prefix followed by "-", compared with = and
// substr (LIKE would ignore case).
func (s pushStore) ListAudience(ctx context.Context, a push.Audience, after string, limit int) ([]push.Device, error) {
	var q strings.Builder
	q.WriteString(`SELECT ` + bareDeviceColumns + ` FROM push_devices d WHERE d.push_token != '' AND d.id > ?`)
	args := []any{after}
	if len(a.UserIDs) > 0 {
		q.WriteString(` AND d.user_id IN (SELECT value FROM json_each(?))`)
		args = append(args, jsonList(a.UserIDs))
	}
	if len(a.DeviceIDs) > 0 {
		q.WriteString(` AND d.id IN (SELECT value FROM json_each(?))`)
		args = append(args, jsonList(a.DeviceIDs))
	}
	if a.Topic != "" {
		q.WriteString(` AND EXISTS (SELECT 1 FROM push_topics t WHERE t.device = d.id AND t.topic = ?)`)
		args = append(args, a.Topic)
	}
	if len(a.Platforms) > 0 {
		q.WriteString(` AND d.platform IN (SELECT value FROM json_each(?))`)
		args = append(args, jsonList(a.Platforms))
	}
	if len(a.Locales) > 0 {
		q.WriteString(` AND EXISTS (SELECT 1 FROM json_each(?) l
			WHERE d.locale = l.value OR substr(d.locale, 1, length(l.value) + 1) = l.value || '-')`)
		args = append(args, jsonList(a.Locales))
	}
	if !a.SeenSince.IsZero() {
		q.WriteString(` AND d.last_seen >= ?`)
		args = append(args, millis(a.SeenSince))
	}
	q.WriteString(` ORDER BY d.id LIMIT ?`)
	args = append(args, max(0, limit))
	rows, err := s.db.query(ctx, q.String(), args...)
	if err != nil {
		return nil, mapError(err, "list audience")
	}
	return collect(rows, scanDevice, "list audience")
}

const campaignColumns = `id, status, spec, idempotency_key, dry_run, created_by, created_at, start_at, targeted,
	started_at, finished_at, lease_owner, lease_until, final, final_pending, final_sent, final_failed, final_pruned,
	final_cancelled`

func scanCampaign(row scanner) (push.Campaign, error) {
	var c push.Campaign
	var created, startAt, started, finished, leaseUntil int64
	var final bool
	var n push.Counts
	err := row.Scan(&c.ID, &c.Status, &c.Spec, &c.IdempotencyKey, &c.DryRun, &c.CreatedBy, &created, &startAt,
		&c.Targeted, &started, &finished, &c.LeaseOwner, &leaseUntil, &final, &n.Pending, &n.Sent, &n.Failed, &n.Pruned,
		&n.Cancelled)
	c.CreatedAt, c.StartAt = fromMillis(created), fromMillis(startAt)
	c.StartedAt, c.FinishedAt, c.LeaseUntil = fromOpt(started), fromOpt(finished), fromOpt(leaseUntil)
	if final {
		c.Final = &n
	}
	return c, err
}

const deliveryColumns = `id, campaign_id, device_id, user_id, due, status, attempts, error, lease_owner, lease_until, finished_at`

func scanDelivery(row scanner) (push.Delivery, error) {
	var d push.Delivery
	var due, leaseUntil, finished int64
	err := row.Scan(&d.ID, &d.CampaignID, &d.DeviceID, &d.UserID, &due, &d.Status, &d.Attempts, &d.Error,
		&d.LeaseOwner, &leaseUntil, &finished)
	d.Due, d.LeaseUntil, d.FinishedAt = fromMillis(due), fromOpt(leaseUntil), fromOpt(finished)
	return d, err
}

// CreateCampaign looks the key up and inserts in one write transaction, so calls with one
// key are serialized; the unique index on the key backs this up.
func (s pushStore) CreateCampaign(ctx context.Context, c push.Campaign) (push.Campaign, bool, error) {
	var out push.Campaign
	created := false
	err := s.db.inTx(ctx, "create campaign", func(ctx context.Context, tx *sql.Tx, _ *DB) error {
		if c.IdempotencyKey != "" {
			var err error
			out, err = scanCampaign(tx.QueryRowContext(ctx, `SELECT `+campaignColumns+` FROM push_campaigns
				WHERE idempotency_key = ? AND idempotency_key != ''`, c.IdempotencyKey)) // the index is partial
			if err == nil {
				return nil
			} else if err != sql.ErrNoRows {
				return err
			}
		}
		spec := c.Spec
		if spec == nil {
			spec = []byte{} // a NULL would break NOT NULL
		}
		_, err := tx.ExecContext(ctx, `INSERT INTO push_campaigns (id, status, spec, idempotency_key, dry_run, created_by,
				created_at, start_at, targeted, started_at, finished_at, lease_owner, lease_until)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, '', 0)`,
			c.ID, push.CampaignQueued, spec, c.IdempotencyKey, c.DryRun, c.CreatedBy, millis(c.CreatedAt),
			millis(c.StartAt), c.Targeted, opt(c.StartedAt), opt(c.FinishedAt))
		if err != nil {
			return err
		}
		created = true
		out, err = scanCampaign(tx.QueryRowContext(ctx, `SELECT `+campaignColumns+` FROM push_campaigns WHERE id = ?`, c.ID))
		return err
	})
	if err != nil {
		return push.Campaign{}, false, err
	}
	return out, created, nil
}

func (s pushStore) GetCampaign(ctx context.Context, id string) (push.Campaign, error) {
	c, err := scanCampaign(s.db.queryRow(ctx, `SELECT `+campaignColumns+` FROM push_campaigns WHERE id = ?`, id))
	return c, mapError(err, "get campaign")
}

func (s pushStore) ListCampaigns(ctx context.Context, before string, limit int) ([]push.Campaign, error) {
	q, args := `SELECT `+campaignColumns+` FROM push_campaigns ORDER BY id DESC LIMIT ?`, []any{max(0, limit)}
	if before != "" {
		q, args = `SELECT `+campaignColumns+` FROM push_campaigns WHERE id < ? ORDER BY id DESC LIMIT ?`, []any{before, max(0, limit)}
	}
	rows, err := s.db.query(ctx, q, args...)
	if err != nil {
		return nil, mapError(err, "list campaigns")
	}
	return collect(rows, scanCampaign, "list campaigns")
}

func (s pushStore) CampaignCounts(ctx context.Context, id string) (push.Counts, error) {
	var c push.Counts
	rows, err := s.db.query(ctx, `SELECT status, COUNT(*) FROM push_deliveries WHERE campaign_id = ? GROUP BY status`, id)
	if err != nil {
		return c, mapError(err, "campaign counts")
	}
	defer rows.Close()
	for rows.Next() {
		var status string
		var n int
		if err := rows.Scan(&status, &n); err != nil {
			return c, mapError(err, "campaign counts")
		}
		switch status {
		case push.DeliveryPending:
			c.Pending = n
		case push.DeliverySent:
			c.Sent = n
		case push.DeliveryFailed:
			c.Failed = n
		case push.DeliveryPruned:
			c.Pruned = n
		case push.DeliveryCancelled:
			c.Cancelled = n
		}
	}
	return c, mapError(rows.Err(), "campaign counts")
}

func (s pushStore) CampaignErrors(ctx context.Context, id string, limit int) ([]push.Delivery, error) {
	rows, err := s.db.query(ctx, `SELECT `+deliveryColumns+` FROM push_deliveries
		WHERE campaign_id = ? AND status = 'failed' ORDER BY finished_at, id LIMIT ?`, id, max(0, limit))
	if err != nil {
		return nil, mapError(err, "campaign errors")
	}
	return collect(rows, scanDelivery, "campaign errors")
}

func (s pushStore) CancelCampaign(ctx context.Context, id string, now time.Time) (push.Campaign, error) {
	var out push.Campaign
	err := s.db.inTx(ctx, "cancel campaign", func(ctx context.Context, tx *sql.Tx, _ *DB) error {
		var err error
		out, err = scanCampaign(tx.QueryRowContext(ctx, `SELECT `+campaignColumns+` FROM push_campaigns WHERE id = ?`, id))
		if err != nil {
			return err // no rows: not found
		}
		if out.Status != push.CampaignQueued && out.Status != push.CampaignSending {
			return tideline.Errorf(tideline.CodeConflict, "The campaign is %s already.", out.Status)
		}
		if _, err := tx.ExecContext(ctx, `UPDATE push_campaigns SET status = 'cancelled', finished_at = ?, lease_owner = '',
			lease_until = 0 WHERE id = ?`, millis(now), id); err != nil {
			return err
		}
		// Leases stay, so a worker sending one of them can still record what happened.
		if _, err := tx.ExecContext(ctx, `UPDATE push_deliveries SET status = 'cancelled', finished_at = ?
			WHERE campaign_id = ? AND status = 'pending'`, millis(now), id); err != nil {
			return err
		}
		out, err = scanCampaign(tx.QueryRowContext(ctx, `SELECT `+campaignColumns+` FROM push_campaigns WHERE id = ?`, id))
		return err
	})
	return out, err
}

func (s pushStore) ClaimCampaign(ctx context.Context, owner string, now, leaseUntil time.Time) (push.Campaign, error) {
	c, err := scanCampaign(s.db.write.QueryRowContext(ctx, `UPDATE push_campaigns SET lease_owner = ?, lease_until = ?
		WHERE id = (SELECT id FROM push_campaigns WHERE status = 'queued' AND start_at <= ? AND lease_until <= ?
			ORDER BY start_at, id LIMIT 1)
		RETURNING `+campaignColumns, owner, millis(leaseUntil), millis(now), millis(now)))
	return c, mapError(err, "claim campaign")
}

// deliveryRows is how many deliveries one INSERT of AddDeliveries stores.
const deliveryRows = 100

// insertDeliveries is an INSERT of n deliveries; ON CONFLICT DO NOTHING skips a
// (campaign_id, device_id) already stored, also by an earlier row of the statement.
func insertDeliveries(n int) string {
	var q strings.Builder
	q.WriteString(`INSERT INTO push_deliveries (id, campaign_id, device_id, user_id, due, status, attempts, error,
		lease_owner, lease_until, finished_at) VALUES `)
	for i := range n {
		if i > 0 {
			q.WriteString(", ")
		}
		q.WriteString(`(?, ?, ?, ?, ?, 'pending', 0, '', '', 0, 0)`)
	}
	q.WriteString(` ON CONFLICT DO NOTHING`)
	return q.String()
}

// AddDeliveries inserts the batch in one transaction, deliveryRows at a time with one
// prepared statement.
func (s pushStore) AddDeliveries(ctx context.Context, ds []push.Delivery) error {
	if len(ds) == 0 {
		return nil
	}
	return s.db.inTx(ctx, "add deliveries", func(ctx context.Context, tx *sql.Tx, _ *DB) error {
		// A campaign cancelled while its audience was being resolved gets no more
		// deliveries: the single writer orders this check before or after the cancel.
		cancelled := map[string]bool{}
		for _, d := range ds {
			if _, seen := cancelled[d.CampaignID]; seen {
				continue
			}
			var status string
			err := tx.QueryRowContext(ctx, `SELECT status FROM push_campaigns WHERE id = ?`, d.CampaignID).Scan(&status)
			if err != nil && !errors.Is(err, sql.ErrNoRows) {
				return err
			}
			cancelled[d.CampaignID] = status == push.CampaignCancelled
		}
		ds = slices.DeleteFunc(slices.Clone(ds), func(d push.Delivery) bool { return cancelled[d.CampaignID] })
		var full *sql.Stmt
		args := make([]any, 0, 5*deliveryRows)
		for len(ds) > 0 {
			chunk := ds[:min(len(ds), deliveryRows)]
			ds = ds[len(chunk):]
			args = args[:0]
			for _, d := range chunk {
				args = append(args, d.ID, d.CampaignID, d.DeviceID, d.UserID, millis(d.Due))
			}
			if len(chunk) < deliveryRows {
				if _, err := tx.ExecContext(ctx, insertDeliveries(len(chunk)), args...); err != nil {
					return err
				}
				continue
			}
			if full == nil {
				var err error
				if full, err = tx.PrepareContext(ctx, insertDeliveries(deliveryRows)); err != nil {
					return err
				}
				defer full.Close()
			}
			if _, err := full.ExecContext(ctx, args...); err != nil {
				return err
			}
		}
		return nil
	})
}

func (s pushStore) StartCampaign(ctx context.Context, id, owner, status string, targeted int, now time.Time) error {
	var finished int64
	switch status {
	case push.CampaignSending:
	case push.CampaignCompleted:
		finished = millis(now)
	default:
		return tideline.Errorf(tideline.CodeInvalid, "A campaign starts sending or completed, not %q.", status)
	}
	if owner == "" {
		return tideline.Errorf(tideline.CodeConflict, "The campaign is not leased by this worker.")
	}
	final := ""
	if status == push.CampaignCompleted {
		final = ", " + setFinal
	}
	res, err := s.db.write.ExecContext(ctx, `UPDATE push_campaigns SET status = ?, targeted = ?, started_at = ?, finished_at = ?,
			lease_owner = '', lease_until = 0`+final+`
		WHERE id = ? AND status = 'queued' AND lease_owner = ?`, status, targeted, millis(now), finished, id, owner)
	if err != nil {
		return mapError(err, "start campaign")
	}
	if n, err := res.RowsAffected(); err != nil {
		return mapError(err, "start campaign")
	} else if n == 0 {
		return tideline.Errorf(tideline.CodeConflict, "The campaign is not queued and leased by this worker.")
	}
	return nil
}

// ClaimDeliveries picks and leases in one UPDATE, which the single writer runs alone.
func (s pushStore) ClaimDeliveries(ctx context.Context, owner string, now, leaseUntil time.Time, limit int) ([]push.Delivery, error) {
	if limit <= 0 {
		return nil, nil
	}
	rows, err := s.db.write.QueryContext(ctx, `UPDATE push_deliveries SET lease_owner = ?, lease_until = ?, attempts = attempts + 1
		WHERE id IN (SELECT id FROM push_deliveries WHERE status = 'pending' AND due <= ? AND lease_until <= ?
			ORDER BY due LIMIT ?)
		RETURNING `+deliveryColumns, owner, millis(leaseUntil), millis(now), millis(now), limit)
	if err != nil {
		return nil, mapError(err, "claim deliveries")
	}
	return collect(rows, scanDelivery, "claim deliveries")
}

// FinishDeliveries records the outcomes in one transaction. A retry of a cancelled
// delivery only ends its lease.
func (s pushStore) FinishDeliveries(ctx context.Context, owner string, outcomes []push.Outcome) (int, error) {
	for _, o := range outcomes {
		switch o.Status {
		case push.DeliveryPending, push.DeliverySent, push.DeliveryFailed, push.DeliveryPruned, push.DeliveryCancelled:
		default:
			return 0, tideline.Errorf(tideline.CodeInvalid, "A delivery's outcome is not %q.", o.Status)
		}
	}
	if owner == "" || len(outcomes) == 0 {
		return 0, nil // "" holds nothing
	}
	recorded := 0
	err := s.db.inTx(ctx, "finish deliveries", func(ctx context.Context, tx *sql.Tx, _ *DB) error {
		final, err := tx.PrepareContext(ctx, `UPDATE push_deliveries SET status = ?, error = ?, finished_at = ?,
				lease_owner = '', lease_until = 0
			WHERE id = ? AND lease_owner = ? AND status IN ('pending', 'cancelled')`)
		if err != nil {
			return err
		}
		defer final.Close()
		retry, err := tx.PrepareContext(ctx, `UPDATE push_deliveries SET
				due = CASE status WHEN 'pending' THEN ? ELSE due END,
				error = CASE status WHEN 'pending' THEN ? ELSE error END,
				lease_owner = '', lease_until = 0
			WHERE id = ? AND lease_owner = ? AND status IN ('pending', 'cancelled')`)
		if err != nil {
			return err
		}
		defer retry.Close()
		recorded = 0
		for _, o := range outcomes {
			var res sql.Result
			if o.Status == push.DeliveryPending {
				res, err = retry.ExecContext(ctx, millis(o.Due), o.Error, o.DeliveryID, owner)
			} else {
				res, err = final.ExecContext(ctx, o.Status, o.Error, millis(o.At), o.DeliveryID, owner)
			}
			if err != nil {
				return err
			}
			n, err := res.RowsAffected()
			if err != nil {
				return err
			}
			recorded += int(n)
		}
		return nil
	})
	if err != nil {
		return 0, err
	}
	return recorded, nil
}

func (s pushStore) FinishCampaign(ctx context.Context, id string, now time.Time) (bool, error) {
	res, err := s.db.write.ExecContext(ctx, `UPDATE push_campaigns SET status = 'completed', finished_at = ?, `+setFinal+`
		WHERE id = ? AND status = 'sending'
			AND NOT EXISTS (SELECT 1 FROM push_deliveries WHERE campaign_id = ? AND status = 'pending')`,
		millis(now), id, id)
	if err != nil {
		return false, mapError(err, "finish campaign")
	}
	n, err := res.RowsAffected()
	return n > 0, mapError(err, "finish campaign")
}
