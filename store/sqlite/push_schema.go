package sqlite

// pushSchema is migration 4: the tables of push.Store.
//
// A device is named by the pair (user_id, device_id); id is the server's id, which topic
// subscriptions refer to, so deleting a device deletes its subscriptions. The partial
// unique index on push_token is what makes one token have one owner: an upsert that takes a
// token clears it from its holder first, in the same transaction, and the index refuses
// anything that would leave two holders. An unbound device has an empty token.
var pushSchema = []string{
	`CREATE TABLE push_devices (
		id          TEXT    PRIMARY KEY,
		user_id     TEXT    NOT NULL,
		device_id   TEXT    NOT NULL,
		session_id  TEXT    NOT NULL,
		platform    TEXT    NOT NULL,
		push_token  TEXT    NOT NULL, -- '' when unbound
		app_version TEXT    NOT NULL,
		locale      TEXT    NOT NULL,
		timezone    TEXT    NOT NULL,
		created_at  INTEGER NOT NULL,
		last_seen   INTEGER NOT NULL,
		UNIQUE (user_id, device_id)
	) STRICT`,
	`CREATE UNIQUE INDEX push_devices_token ON push_devices (push_token) WHERE push_token != ''`,
	`CREATE INDEX push_devices_session ON push_devices (user_id, session_id)`,
	`CREATE TABLE push_topics (
		device TEXT NOT NULL REFERENCES push_devices (id) ON DELETE CASCADE,
		topic  TEXT NOT NULL,
		PRIMARY KEY (device, topic)
	) STRICT, WITHOUT ROWID`,
	`CREATE INDEX push_topics_topic ON push_topics (topic)`,
}
