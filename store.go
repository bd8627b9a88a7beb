package tideline

import "time"

// StoreInfo describes the data a storage engine has opened. Both engines report it, the
// start-up log prints it and /readyz returns part of it.
type StoreInfo struct {
	// Engine is "sqlite" (the embedded engine) or "mongodb".
	Engine string
	// Location is where the data lives: the SQLite file's path, or the MongoDB hosts and
	// database name. It never contains credentials.
	Location string
	// InstanceID is made when the data is first created and stays the same across restarts,
	// so a changed ID means the server is looking at different data.
	InstanceID string
	// CreatedAt is when the data was first created.
	CreatedAt time.Time
	// SchemaVersion is the version of the data's schema after start-up migrations.
	SchemaVersion int
}
