package sqlite

import (
	"context"
	"database/sql"
	"time"

	"github.com/tideline-dev/tideline/sync"
)

func (s syncStore) TouchedBuckets(ctx context.Context, after, through int64, limit int) ([]sync.Touched, bool, error) {
	rows, err := s.db.query(ctx, `SELECT DISTINCT b.bucket, b.collection FROM sync_doc_buckets b
		JOIN sync_docs d ON d.collection = b.collection AND d.scope = b.scope AND d.doc_id = b.doc_id
		WHERE b.seq > ? AND b.seq <= ? AND (b.member = 1 OR d.evict_seq = b.seq) LIMIT ?`,
		after, through, max(1, limit)+1)
	if err != nil {
		return nil, false, mapError(err, "touched buckets")
	}
	out, err := collect(rows, func(row scanner) (sync.Touched, error) {
		var t sync.Touched
		return t, row.Scan(&t.Bucket, &t.Collection)
	}, "touched buckets")
	if len(out) > limit {
		return out[:limit], true, err
	}
	return out, false, err
}

func (s syncStore) PurgeDocuments(ctx context.Context, before time.Time, limit int) (int, error) {
	n := 0
	err := s.db.inTx(ctx, "purge documents", func(ctx context.Context, tx *sql.Tx, _ *DB) error {
		rows, err := tx.QueryContext(ctx, `SELECT collection, scope, doc_id, seq, deleted FROM sync_docs
			WHERE (deleted = 1 OR evicted != '') AND updated_at < ? ORDER BY updated_at LIMIT ?`, millis(before), max(1, limit))
		if err != nil {
			return err
		}
		type victim struct {
			ref     sync.DocRef
			seq     int64
			deleted bool
		}
		var victims []victim
		for rows.Next() {
			var v victim
			if err := rows.Scan(&v.ref.Collection, &v.ref.Scope, &v.ref.ID, &v.seq, &v.deleted); err != nil {
				rows.Close()
				return err
			}
			victims = append(victims, v)
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return err
		}
		var horizon int64
		for _, v := range victims {
			key := []any{v.ref.Collection, v.ref.Scope, v.ref.ID}
			stmts := []string{`DELETE FROM sync_doc_buckets WHERE collection = ? AND scope = ? AND doc_id = ? AND member = 0`,
				`UPDATE sync_docs SET evicted = '' WHERE collection = ? AND scope = ? AND doc_id = ?`}
			if v.deleted {
				stmts = []string{`DELETE FROM sync_doc_buckets WHERE collection = ? AND scope = ? AND doc_id = ?`,
					`DELETE FROM sync_docs WHERE collection = ? AND scope = ? AND doc_id = ?`}
			}
			for _, q := range stmts {
				if _, err := tx.ExecContext(ctx, q, key...); err != nil {
					return err
				}
			}
			horizon = max(horizon, v.seq)
		}
		n = len(victims)
		_, err = tx.ExecContext(ctx, `UPDATE sync_state SET value = max(value, ?) WHERE key = 'purge_horizon'`, horizon)
		return err
	})
	return n, err
}

func (s syncStore) PurgeHorizon(ctx context.Context) (int64, error) {
	var h int64
	err := s.db.queryRow(ctx, `SELECT value FROM sync_state WHERE key = 'purge_horizon'`).Scan(&h)
	return h, mapError(err, "read the purge horizon")
}

func (s syncStore) AcquireLease(ctx context.Context, name, holder string, now, until time.Time) (bool, error) {
	res, err := s.db.write.ExecContext(ctx, `INSERT INTO sync_leases (name, holder, until) VALUES (?, ?, ?)
		ON CONFLICT (name) DO UPDATE SET holder = excluded.holder, until = excluded.until
		WHERE sync_leases.until <= ? OR sync_leases.holder = excluded.holder`, name, holder, millis(until), millis(now))
	if err != nil {
		return false, mapError(err, "acquire lease")
	}
	n, err := res.RowsAffected()
	return n == 1, mapError(err, "acquire lease")
}

func (s syncStore) CreateGroup(ctx context.Context, g sync.Group) error {
	return s.db.inTx(ctx, "create group", func(ctx context.Context, tx *sql.Tx, _ *DB) error {
		if _, err := tx.ExecContext(ctx, `INSERT INTO sync_groups (id, name, owner_id, created_at) VALUES (?, ?, ?, ?)`,
			g.ID, g.Name, g.OwnerID, millis(g.CreatedAt)); err != nil {
			return err
		}
		_, err := tx.ExecContext(ctx, `INSERT INTO sync_members (group_id, user_id, role, added_at) VALUES (?, ?, 'owner', ?)`,
			g.ID, g.OwnerID, millis(g.CreatedAt))
		return err
	})
}

func scanGroup(row scanner) (sync.Group, error) {
	var g sync.Group
	var created int64
	err := row.Scan(&g.ID, &g.Name, &g.OwnerID, &created)
	g.CreatedAt = fromMillis(created)
	return g, err
}

func (s syncStore) FindGroup(ctx context.Context, id string) (sync.Group, error) {
	g, err := scanGroup(s.db.queryRow(ctx, `SELECT id, name, owner_id, created_at FROM sync_groups WHERE id = ?`, id))
	return g, mapError(err, "find group")
}

func (s syncStore) ListGroups(ctx context.Context, userID string) ([]sync.Membership, error) {
	rows, err := s.db.query(ctx, `SELECT g.id, g.name, g.owner_id, g.created_at, m.role FROM sync_members m
		JOIN sync_groups g ON g.id = m.group_id WHERE m.user_id = ? ORDER BY g.name, g.id`, userID)
	if err != nil {
		return nil, mapError(err, "list groups")
	}
	return collect(rows, func(row scanner) (sync.Membership, error) {
		var m sync.Membership
		var created int64
		err := row.Scan(&m.Group.ID, &m.Group.Name, &m.Group.OwnerID, &created, &m.Role)
		m.Group.CreatedAt = fromMillis(created)
		return m, err
	}, "list groups")
}

func (s syncStore) ListMembers(ctx context.Context, groupID string) ([]sync.Member, error) {
	rows, err := s.db.query(ctx, `SELECT group_id, user_id, role, added_at FROM sync_members WHERE group_id = ?
		ORDER BY role != 'owner', added_at, user_id`, groupID)
	if err != nil {
		return nil, mapError(err, "list members")
	}
	return collect(rows, func(row scanner) (sync.Member, error) {
		var m sync.Member
		var added int64
		err := row.Scan(&m.GroupID, &m.UserID, &m.Role, &added)
		m.AddedAt = fromMillis(added)
		return m, err
	}, "list members")
}

func (s syncStore) AddMember(ctx context.Context, m sync.Member) error {
	return s.db.inTx(ctx, "add member", func(ctx context.Context, tx *sql.Tx, _ *DB) error {
		var one int
		if err := tx.QueryRowContext(ctx, `SELECT 1 FROM sync_groups WHERE id = ?`, m.GroupID).Scan(&one); err != nil {
			return err // no rows: not found
		}
		_, err := tx.ExecContext(ctx, `INSERT INTO sync_members (group_id, user_id, role, added_at) VALUES (?, ?, ?, ?)
			ON CONFLICT (group_id, user_id) DO NOTHING`, m.GroupID, m.UserID, m.Role, millis(m.AddedAt))
		return err
	})
}

func (s syncStore) RemoveMember(ctx context.Context, groupID, userID string) error {
	res, err := s.db.write.ExecContext(ctx, `DELETE FROM sync_members WHERE group_id = ? AND user_id = ?`, groupID, userID)
	return rowsOr(res, err, "remove member")
}

// DeleteGroup deletes the group; its memberships go with it (the foreign key's cascade),
// in the same statement.
func (s syncStore) DeleteGroup(ctx context.Context, id string) error {
	res, err := s.db.write.ExecContext(ctx, `DELETE FROM sync_groups WHERE id = ?`, id)
	return rowsOr(res, err, "delete group")
}

func (s syncStore) DeleteMemberships(ctx context.Context, userID string) error {
	_, err := s.db.write.ExecContext(ctx, `DELETE FROM sync_members WHERE user_id = ?`, userID)
	return mapError(err, "delete memberships")
}
