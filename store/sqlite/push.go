package sqlite

import (
	"context"
	"database/sql"
	"encoding/json"
	"time"

	"github.com/tideline-dev/tideline/push"
)

// Push returns the embedded engine's push.Store.
func (db *DB) Push() push.Store { return pushStore{db} }

// pushStore keeps its promises with the single writer: a token changes hands inside one
// write transaction, so registrations of one token are serialized and the last one holds it.
type pushStore struct{ db *DB }

var _ push.Store = pushStore{}

// deviceColumns read a device of push_devices d, with its topics sorted as a JSON array.
const deviceColumns = `d.id, d.user_id, d.device_id, d.session_id, d.platform, d.push_token, d.app_version,
	d.locale, d.timezone, d.created_at, d.last_seen,
	(SELECT json_group_array(t.topic ORDER BY t.topic) FROM push_topics t WHERE t.device = d.id)`

func scanDevice(row scanner) (push.Device, error) {
	var d push.Device
	var created, seen int64
	var topics string
	err := row.Scan(&d.ID, &d.UserID, &d.DeviceID, &d.SessionID, &d.Platform, &d.PushToken, &d.AppVersion,
		&d.Locale, &d.Timezone, &created, &seen, &topics)
	if err != nil {
		return d, err
	}
	d.CreatedAt, d.LastSeen = fromMillis(created), fromMillis(seen)
	if err := json.Unmarshal([]byte(topics), &d.Topics); err != nil {
		return d, err
	}
	if len(d.Topics) == 0 {
		d.Topics = nil
	}
	return d, nil
}

func (s pushStore) UpsertDevice(ctx context.Context, d push.Device) (push.Device, error) {
	var out push.Device
	err := s.db.inTx(ctx, "upsert device", func(ctx context.Context, tx *sql.Tx, _ *DB) error {
		if d.PushToken != "" {
			if _, err := tx.ExecContext(ctx, `UPDATE push_devices SET push_token = ''
				WHERE push_token = ? AND NOT (user_id = ? AND device_id = ?)`, d.PushToken, d.UserID, d.DeviceID); err != nil {
				return err
			}
		}
		_, err := tx.ExecContext(ctx, `INSERT INTO push_devices (id, user_id, device_id, session_id, platform, push_token,
				app_version, locale, timezone, created_at, last_seen) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
			ON CONFLICT (user_id, device_id) DO UPDATE SET session_id = excluded.session_id, platform = excluded.platform,
				push_token = excluded.push_token, app_version = excluded.app_version, locale = excluded.locale,
				timezone = excluded.timezone, last_seen = excluded.last_seen`,
			d.ID, d.UserID, d.DeviceID, d.SessionID, d.Platform, d.PushToken, d.AppVersion, d.Locale, d.Timezone,
			millis(d.CreatedAt), millis(d.LastSeen))
		if err != nil {
			return err
		}
		out, err = scanDevice(tx.QueryRowContext(ctx, `SELECT `+deviceColumns+` FROM push_devices d
			WHERE d.user_id = ? AND d.device_id = ?`, d.UserID, d.DeviceID))
		return err
	})
	return out, err
}

func (s pushStore) FindDevice(ctx context.Context, userID, deviceID string) (push.Device, error) {
	d, err := scanDevice(s.db.queryRow(ctx, `SELECT `+deviceColumns+` FROM push_devices d
		WHERE d.user_id = ? AND d.device_id = ?`, userID, deviceID))
	return d, mapError(err, "find device")
}

func (s pushStore) ListDevices(ctx context.Context, userID string) ([]push.Device, error) {
	rows, err := s.db.query(ctx, `SELECT `+deviceColumns+` FROM push_devices d
		WHERE d.user_id = ? ORDER BY d.last_seen DESC, d.device_id`, userID)
	if err != nil {
		return nil, mapError(err, "list devices")
	}
	return collect(rows, scanDevice, "list devices")
}

func (s pushStore) DeleteDevice(ctx context.Context, userID, deviceID string) error {
	res, err := s.db.write.ExecContext(ctx, `DELETE FROM push_devices WHERE user_id = ? AND device_id = ?`, userID, deviceID)
	return rowsOr(res, err, "delete device") // its topics go by the foreign key's cascade
}

func (s pushStore) DeleteUserDevices(ctx context.Context, userID string) error {
	_, err := s.db.write.ExecContext(ctx, `DELETE FROM push_devices WHERE user_id = ?`, userID)
	return mapError(err, "delete user devices")
}

// UnbindSessions counts the devices whose token it cleared; a device already unbound is
// not counted. With sessionID "" and except "", every device of the user is unbound.
func (s pushStore) UnbindSessions(ctx context.Context, userID, sessionID, except string) (int, error) {
	q := `UPDATE push_devices SET push_token = '' WHERE user_id = ? AND push_token != '' AND session_id = ?`
	args := []any{userID, sessionID}
	if sessionID == "" {
		q = `UPDATE push_devices SET push_token = '' WHERE user_id = ? AND push_token != '' AND session_id != ?`
		args = []any{userID, except}
		if except == "" {
			q, args = `UPDATE push_devices SET push_token = '' WHERE user_id = ? AND push_token != ''`, args[:1]
		}
	}
	res, err := s.db.write.ExecContext(ctx, q, args...)
	if err != nil {
		return 0, mapError(err, "unbind sessions")
	}
	n, err := res.RowsAffected()
	return int(n), mapError(err, "unbind sessions")
}

func (s pushStore) SessionActive(ctx context.Context, userID, sessionID string, at time.Time) (bool, error) {
	var n int
	err := s.db.queryRow(ctx, `SELECT COUNT(*) FROM auth_sessions WHERE id = ? AND user_id = ? AND revoked_at = 0 AND expires_at > ?`,
		sessionID, userID, millis(at)).Scan(&n)
	return n > 0, mapError(err, "check a session")
}

// UnbindEndedSessions is one statement: the devices with a token and no active session of
// their user, at most limit of them.
func (s pushStore) UnbindEndedSessions(ctx context.Context, at time.Time, limit int) (int, error) {
	res, err := s.db.write.ExecContext(ctx, `UPDATE push_devices SET push_token = '' WHERE id IN (
		SELECT d.id FROM push_devices d WHERE d.push_token != '' AND NOT EXISTS (
			SELECT 1 FROM auth_sessions s WHERE s.id = d.session_id AND s.user_id = d.user_id AND s.revoked_at = 0 AND s.expires_at > ?)
		LIMIT ?)`, millis(at), max(1, limit))
	if err != nil {
		return 0, mapError(err, "unbind ended sessions")
	}
	n, err := res.RowsAffected()
	return int(n), mapError(err, "unbind ended sessions")
}

func (s pushStore) SetTopic(ctx context.Context, userID, deviceID, topic string, member bool) error {
	return s.db.inTx(ctx, "set topic", func(ctx context.Context, tx *sql.Tx, _ *DB) error {
		var id string
		if err := tx.QueryRowContext(ctx, `SELECT id FROM push_devices WHERE user_id = ? AND device_id = ?`,
			userID, deviceID).Scan(&id); err != nil {
			return err // no rows: not found
		}
		if !member {
			_, err := tx.ExecContext(ctx, `DELETE FROM push_topics WHERE device = ? AND topic = ?`, id, topic)
			return err
		}
		var others int // the device's other topics: the limit, in the write transaction
		if err := tx.QueryRowContext(ctx, `SELECT COUNT(*) FROM push_topics WHERE device = ? AND topic != ?`, id, topic).Scan(&others); err != nil {
			return err
		}
		if others >= push.MaxTopicsPerDevice {
			return push.ErrTooManyTopics
		}
		_, err := tx.ExecContext(ctx, `INSERT INTO push_topics (device, topic) VALUES (?, ?) ON CONFLICT (device, topic) DO NOTHING`, id, topic)
		return err
	})
}

func (s pushStore) CountDevices(ctx context.Context) ([]push.PlatformCount, error) {
	rows, err := s.db.query(ctx, `SELECT platform, COUNT(*), SUM(push_token != '') FROM push_devices GROUP BY platform ORDER BY platform`)
	if err != nil {
		return nil, mapError(err, "count devices")
	}
	return collect(rows, func(row scanner) (push.PlatformCount, error) {
		var c push.PlatformCount
		return c, row.Scan(&c.Platform, &c.Devices, &c.WithToken)
	}, "count devices")
}

func (s pushStore) ListTopics(ctx context.Context) ([]push.TopicCount, error) {
	rows, err := s.db.query(ctx, `SELECT topic, COUNT(*) FROM push_topics GROUP BY topic ORDER BY topic`)
	if err != nil {
		return nil, mapError(err, "list topics")
	}
	return collect(rows, func(row scanner) (push.TopicCount, error) {
		var c push.TopicCount
		return c, row.Scan(&c.Topic, &c.Devices)
	}, "list topics")
}
