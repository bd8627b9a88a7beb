package app

import (
	"context"
	"log/slog"

	"github.com/tideline-dev/tideline"
	"github.com/tideline-dev/tideline/auth"
	"github.com/tideline-dev/tideline/files"
	"github.com/tideline-dev/tideline/push"
	"github.com/tideline-dev/tideline/store/mongo"
	"github.com/tideline-dev/tideline/store/sqlite"
	datasync "github.com/tideline-dev/tideline/sync"
)

// Engine is a storage engine: the embedded one (store/sqlite) or MongoDB (store/mongo).
// Both implement every feature's store and pass the same conformance suite.
type Engine interface {
	Ping(ctx context.Context) error
	Info(ctx context.Context) (tideline.StoreInfo, error)
	Close() error
	Auth() auth.Store
	Sync() datasync.Store
	Push() push.Store
	// Files is the file store (attachments).
	Files() files.Store
	// Secrets is the one store of server secrets (the app seals it with the master key).
	Secrets() tideline.SecretStore
	// RateStore is where auth counts its rate limits (and with them the console's sign-in)
	// so that every node counts against one limit; nil keeps them in this process's memory
	// (the embedded engine: one process owns the data).
	RateStore() auth.RateStore
}

var (
	_ Engine = (*sqlite.DB)(nil)
	_ Engine = (*mongo.DB)(nil)
)

// Open opens the MongoDB engine when a URI is configured, else the embedded engine. log
// (nil: discard) hears what the engine says that is not an error, such as a database
// migrated further by a newer release during a rolling upgrade.
func Open(ctx context.Context, cfg *Config, log *slog.Logger) (Engine, error) {
	if cfg.MongoDBURI != "" {
		return mongo.Open(ctx, mongo.Options{URI: cfg.MongoDBURI, Database: cfg.MongoDBDatabase, ConnectTimeout: cfg.MongoDBConnectTimeout,
			OperationTimeout: cfg.MongoDBOperationTimeout, Logger: log})
	}
	return sqlite.Open(ctx, cfg.DataDir, sqlite.Options{})
}
