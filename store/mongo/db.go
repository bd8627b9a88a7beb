// Package mongo is Tideline's MongoDB storage engine: every feature's store on one MongoDB
// database, through the official driver go.mongodb.org/mongo-driver/v2.
//
// It relies only on what a standalone MongoDB guarantees: single-document atomic updates,
// unique indexes and conditional writes. It never needs multi-document transactions, change
// streams, TTL indexes or collations, so it runs on a standalone server, a replica set,
// Atlas or a sharded cluster, and many Tideline nodes can share one database.
package mongo

import (
	"context"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/tideline-dev/tideline"
	"github.com/tideline-dev/tideline/auth"
	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/event"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"
	"go.mongodb.org/mongo-driver/v2/mongo/readconcern"
	"go.mongodb.org/mongo-driver/v2/mongo/readpref"
	"go.mongodb.org/mongo-driver/v2/mongo/writeconcern"
	"go.mongodb.org/mongo-driver/v2/x/mongo/driver/connstring"
)

// DefaultOperationTimeout is Options.OperationTimeout's default.
const DefaultOperationTimeout = 30 * time.Second

// durable makes a collection's reads and writes majority-committed, on the primary, whatever
// the URI or the deployment's default says (a deployment may have lowered it to w:1). Every
// collection of the engine is opened with it: sync (see syncOptions), and auth, push and
// rate limits, where a w:1 write lost in a failover would undo a refresh rotation (its
// user signed out when the old token is reused), a session revocation, or a delivery's
// lease (a duplicate push), and a read from a secondary could show a spent token unspent.
var durable = options.Collection().SetReadPreference(readpref.Primary()).
	SetReadConcern(readconcern.Majority()).SetWriteConcern(writeconcern.Majority())

// counting is for the admin console's counts, read at every page view over whole
// collections: from a secondary when there is one (the primary serves the API), with
// local read concern (a count a moment old is as good), and each bounded by countTimeout.
var counting = options.Collection().SetReadPreference(readpref.SecondaryPreferred()).
	SetReadConcern(readconcern.Local())

// countTimeout bounds each of the console's counts: a slow count fails its page with
// unavailable (503) rather than hold a connection and a secondary's CPU for the
// operation timeout.
const countTimeout = 5 * time.Second

// DefaultDatabase is the database used when neither Options.Database nor the URI names one.
const DefaultDatabase = "tideline"

// DB is the MongoDB engine connected to one database. It is safe for concurrent use.
type DB struct {
	client   *mongo.Client
	db       *mongo.Database
	clock    tideline.Clock
	location string
	log      *slog.Logger
	syncer   *syncer // the sync store's per-process state
	rates    *RateStore
	// filesHook, when set (only by tests), runs between the files sweeper's steps; an
	// error stops the sweep there (files_sweep.go).
	filesHook func(step, id string) error
}

// Options configure Open.
type Options struct {
	// URI is the MongoDB connection string (mongodb:// or mongodb+srv://). Required.
	URI string
	// Database overrides the database named in the URI; both empty means DefaultDatabase.
	Database string
	// ConnectTimeout bounds how long Open waits for a reachable server; 0 means 10 s.
	ConnectTimeout time.Duration
	// Clock stamps creation and migration times and the sync ledger, and times the
	// fencing of stalled sync writes; nil means the system clock.
	Clock tideline.Clock
	// SyncFenceAfter is how long a sync sequence number may stay unsettled (its writer
	// stalled or died) before the watermark moves past it, fencing the late write off so
	// that it retries with a new number; 0 means DefaultSyncFenceAfter. Too short, and slow
	// writers retry needlessly; too long, and readers wait that long after a crash.
	SyncFenceAfter time.Duration
	// OperationTimeout bounds every operation whose context has no deadline (the driver's
	// client-side timeout, unless the URI sets timeoutMS), so that none hangs while no
	// majority of the replica set is up to acknowledge it, and a sync commit as a whole,
	// which runs to its end even when the request that started it is cancelled; 0 means
	// DefaultOperationTimeout.
	OperationTimeout time.Duration
	// Logger receives what Open has to say that is not an error: that the database was
	// migrated by a newer, compatible Tideline (a rolling upgrade). Nil means no log.
	Logger *slog.Logger

	// monitor, when set (only by tests), sees every command the driver sends.
	monitor *event.CommandMonitor
}

// Open connects to MongoDB, checks that a server answers within the connect timeout, and
// migrates the database forward (creating collections and indexes, idempotently). It fails
// with CodeInvalid for a malformed URI, CodeUnavailable when no server answers in time or
// the database has a breaking migration of a newer Tideline (one with only additive
// migrations it does not know is served). Messages never contain the URI's credentials.
func Open(ctx context.Context, opts Options) (*DB, error) {
	return open(ctx, opts, migrations)
}

func open(ctx context.Context, opts Options, migs []migration) (_ *DB, err error) {
	if opts.Clock == nil {
		opts.Clock = tideline.SystemClock{}
	}
	if opts.ConnectTimeout <= 0 {
		opts.ConnectTimeout = 10 * time.Second
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	cs, err := connstring.ParseAndValidate(opts.URI)
	if err != nil {
		return nil, tideline.Wrap(err, tideline.CodeInvalid, "The MongoDB URI is not valid: "+redactedCause(err, opts.URI))
	}
	name := opts.Database
	if name == "" {
		name = cs.Database
	}
	if name == "" {
		name = DefaultDatabase
	}
	hosts := strings.Join(cs.Hosts, ",")
	co := options.Client().ApplyURI(opts.URI).
		SetServerSelectionTimeout(opts.ConnectTimeout).
		SetConnectTimeout(opts.ConnectTimeout).
		SetAppName("tideline")
	if opts.OperationTimeout <= 0 {
		opts.OperationTimeout = DefaultOperationTimeout
	}
	if !cs.TimeoutSet {
		co.SetTimeout(opts.OperationTimeout)
	}
	if opts.monitor != nil {
		co.SetMonitor(opts.monitor)
	}
	client, err := mongo.Connect(co)
	if err != nil {
		return nil, tideline.Wrap(err, tideline.CodeInvalid, "The MongoDB client options are not valid: "+redactedCause(err, opts.URI))
	}
	db := &DB{client: client, db: client.Database(name), clock: opts.Clock, location: hosts + "/" + name,
		log: opts.Logger, syncer: newSyncer(opts.SyncFenceAfter, opts.OperationTimeout)}
	db.rates = NewRateStore(db)
	defer func() {
		if err != nil {
			_ = db.Close()
		}
	}()

	pingCtx, cancel := context.WithTimeout(ctx, opts.ConnectTimeout)
	defer cancel()
	if err := client.Ping(pingCtx, readpref.PrimaryPreferred()); err != nil {
		return nil, tideline.Wrap(err, tideline.CodeUnavailable, fmt.Sprintf(
			"No MongoDB server at %s answered within %s. Check the host, port, credentials and network, or unset the MongoDB URI to use the embedded engine.",
			hosts, opts.ConnectTimeout))
	}
	if err := db.migrate(ctx, migs); err != nil {
		return nil, err
	}
	return db, nil
}

// redactedCause is err's text with the URI's password, if any, removed.
func redactedCause(err error, uri string) string {
	msg := err.Error()
	if i := strings.Index(uri, "://"); i >= 0 {
		rest := uri[i+3:]
		if at := strings.LastIndex(strings.SplitN(rest, "/", 2)[0], "@"); at >= 0 {
			if userinfo := rest[:at]; userinfo != "" {
				msg = strings.ReplaceAll(msg, userinfo, "***")
			}
		}
	}
	return msg
}

// Close disconnects from MongoDB.
func (db *DB) Close() error {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	return db.client.Disconnect(ctx)
}

// RateStore returns the rate limit counters every node of the deployment shares (see
// RateStore). It is one per DB, since each sweeps the ended windows.
func (db *DB) RateStore() auth.RateStore { return db.rates }

// Ping checks that the primary answers (for /readyz): every write, and every read, goes
// to the primary, so a node without one can serve nothing but errors and should be taken
// out of its load balancer until an election ends. It fails with CodeUnavailable.
func (db *DB) Ping(ctx context.Context) error {
	if err := db.client.Ping(ctx, readpref.Primary()); err != nil {
		return tideline.Wrap(err, tideline.CodeUnavailable, "No MongoDB primary answers.")
	}
	return nil
}

// Info describes the opened database.
func (db *DB) Info(ctx context.Context) (tideline.StoreInfo, error) {
	info := tideline.StoreInfo{Engine: "mongodb", Location: db.location}
	var inst struct {
		InstanceID string    `bson:"instanceId"`
		CreatedAt  time.Time `bson:"createdAt"`
	}
	if err := db.db.Collection(metaCollection, durable).FindOne(ctx, bson.D{{Key: "_id", Value: "instance"}}).Decode(&inst); err != nil {
		return info, mapError(err, "read store info")
	}
	v, err := db.schemaVersion(ctx)
	if err != nil {
		return info, err
	}
	info.InstanceID, info.CreatedAt, info.SchemaVersion = inst.InstanceID, inst.CreatedAt.UTC(), v
	return info, nil
}
