package sqlite

// pushCampaignSchema is migration 5: the tables of push.CampaignStore.
//
// Times are Unix milliseconds, 0 for "not yet" (started_at, finished_at) and for "no lease"
// (lease_until, with an empty lease_owner), so "no lease or an ended one" is lease_until <= now.
// The partial unique index on idempotency_key makes a key name one campaign; the unique
// (campaign_id, device_id) is what lets a worker add a campaign's deliveries again after a
// crash. push_deliveries_claim serves ClaimDeliveries (pending, by due);
// push_deliveries_campaign serves counts, errors (failed, by finished_at and id) and
// cancellation. Deliveries are a table WITHOUT ROWID, stored by their id (a UUIDv7, so new
// deliveries are appended): one b-tree fewer to write per delivery, of which a campaign
// may have hundreds of thousands.
var pushCampaignSchema = []string{
	`CREATE TABLE push_campaigns (
		id              TEXT    PRIMARY KEY,
		status          TEXT    NOT NULL,
		spec            BLOB    NOT NULL,
		idempotency_key TEXT    NOT NULL, -- '' when none
		dry_run         INTEGER NOT NULL,
		created_by      TEXT    NOT NULL,
		created_at      INTEGER NOT NULL,
		start_at        INTEGER NOT NULL,
		targeted        INTEGER NOT NULL,
		started_at      INTEGER NOT NULL, -- 0 until started
		finished_at     INTEGER NOT NULL, -- 0 until completed or cancelled
		lease_owner     TEXT    NOT NULL, -- '' when not leased
		lease_until     INTEGER NOT NULL  -- 0 when not leased
	) STRICT`,
	`CREATE UNIQUE INDEX push_campaigns_key ON push_campaigns (idempotency_key) WHERE idempotency_key != ''`,
	`CREATE INDEX push_campaigns_claim ON push_campaigns (status, start_at, id)`,
	`CREATE TABLE push_deliveries (
		id          TEXT    PRIMARY KEY,
		campaign_id TEXT    NOT NULL REFERENCES push_campaigns (id) ON DELETE CASCADE,
		device_id   TEXT    NOT NULL, -- the device's server id; the device may be gone
		user_id     TEXT    NOT NULL,
		due         INTEGER NOT NULL,
		status      TEXT    NOT NULL,
		attempts    INTEGER NOT NULL,
		error       TEXT    NOT NULL,
		lease_owner TEXT    NOT NULL, -- '' when not leased
		lease_until INTEGER NOT NULL, -- 0 when not leased
		finished_at INTEGER NOT NULL, -- 0 while pending
		UNIQUE (campaign_id, device_id)
	) STRICT, WITHOUT ROWID`,
	`CREATE INDEX push_deliveries_claim ON push_deliveries (status, due)`,
	`CREATE INDEX push_deliveries_campaign ON push_deliveries (campaign_id, status, finished_at, id)`,
}
