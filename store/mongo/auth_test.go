package mongo

import (
	"testing"
	"time"

	"github.com/tideline-dev/tideline"
	"github.com/tideline-dev/tideline/auth"
	"github.com/tideline-dev/tideline/store/storetest"
	"go.mongodb.org/mongo-driver/v2/bson"
)

// The conformance suite (TestConformance) covers auth.Store; these cases cover what only
// this engine has: its migration, its document layout, and the gaps between its writes.

func newAuthDB(t *testing.T) *DB {
	t.Helper()
	uri := storetest.MongoURI(t)
	return mustOpen(t, uri, newDatabaseName(t, uri), migrations)
}

func testUser(id, email string) auth.User {
	return auth.User{ID: id, Email: email, Roles: []string{"editor"}, CreatedAt: storetest.Epoch, UpdatedAt: storetest.Epoch, Version: 1}
}

func TestMigrateAuth(t *testing.T) {
	t.Parallel()
	uri := storetest.MongoURI(t)
	name := newDatabaseName(t, uri)
	mustOpen(t, uri, name, migrations[:1]).Close() // a database from before auth
	db := mustOpen(t, uri, name, migrations)
	info, err := db.Info(t.Context())
	if err != nil || info.SchemaVersion != migrations[len(migrations)-1].version {
		t.Fatalf("after the upgrade: schema %d, %v; want %d", info.SchemaVersion, err, migrations[len(migrations)-1].version)
	}
	// Running it again (a node that crashed before recording it) changes nothing and fails
	// nothing; FerretDB v1 would panic if several existing indexes came in one command.
	for range 2 {
		if err := migrateAuth(t.Context(), db); err != nil {
			t.Fatalf("migrateAuth again: %v", err)
		}
	}
	s := db.Auth()
	if err := s.CreateUser(t.Context(), testUser(tideline.NewID(), "ada@example.com")); err != nil {
		t.Fatal(err)
	}
	err = s.CreateUser(t.Context(), testUser(tideline.NewID(), "ada@example.com"))
	if code := tideline.ErrorCode(err); code != tideline.CodeConflict {
		t.Fatalf("a second user with the email: code %q, want conflict (err: %v)", code, err)
	}
}

// TestCreateSessionRefusedLeavesNoToken: CreateSession writes the token before the session;
// when the session is refused, the token must not stay behind.
func TestCreateSessionRefusedLeavesNoToken(t *testing.T) {
	t.Parallel()
	s := newAuthDB(t).Auth()
	ctx := t.Context()
	sess := auth.Session{ID: tideline.NewID(), UserID: tideline.NewID(), CreatedAt: storetest.Epoch, LastUsedAt: storetest.Epoch, ExpiresAt: storetest.Epoch.Add(time.Hour)}
	first := auth.RefreshToken{Hash: "first", SessionID: sess.ID, UserID: sess.UserID, CreatedAt: storetest.Epoch, ExpiresAt: sess.ExpiresAt}
	if err := s.CreateSession(ctx, sess, first); err != nil {
		t.Fatal(err)
	}
	again := first
	again.Hash = "again"
	err := s.CreateSession(ctx, sess, again)
	if code := tideline.ErrorCode(err); code != tideline.CodeConflict {
		t.Fatalf("CreateSession with an existing id: code %q, want conflict (err: %v)", code, err)
	}
	_, _, err = s.SpendRefreshToken(ctx, "again", storetest.Epoch)
	if code := tideline.ErrorCode(err); code != tideline.CodeNotFound {
		t.Fatalf("the refused session's token: code %q, want not_found (err: %v)", code, err)
	}
	if _, spent, err := s.SpendRefreshToken(ctx, "first", storetest.Epoch); err != nil || !spent {
		t.Fatalf("the existing session's token was touched: spent=%v %v", spent, err)
	}
}

// TestAuthDocumentLayout pins what a team sees with any MongoDB tool: camelCase fields,
// BSON dates, and "not yet" times and a missing email left out rather than stored as null.
func TestAuthDocumentLayout(t *testing.T) {
	t.Parallel()
	db := newAuthDB(t)
	s, ctx := db.Auth(), t.Context()
	anon := testUser(tideline.NewID(), "")
	anon.Roles = nil
	sess := auth.Session{ID: tideline.NewID(), UserID: anon.ID, CreatedAt: storetest.Epoch, LastUsedAt: storetest.Epoch, ExpiresAt: storetest.Epoch}
	tok := auth.RefreshToken{Hash: "h", SessionID: sess.ID, UserID: anon.ID, CreatedAt: storetest.Epoch, ExpiresAt: storetest.Epoch}
	for _, err := range []error{
		s.CreateUser(ctx, anon),
		s.CreateSession(ctx, sess, tok),
		s.CreateIdentity(ctx, auth.Identity{Provider: "firebase", Subject: "s1", UserID: anon.ID, CreatedAt: storetest.Epoch}),
	} {
		if err != nil {
			t.Fatal(err)
		}
	}
	raw := func(coll string, id any) bson.Raw {
		t.Helper()
		doc, err := db.db.Collection(coll).FindOne(ctx, bson.M{"_id": id}).Raw()
		if err != nil {
			t.Fatalf("%s %v: %v", coll, id, err)
		}
		return doc
	}
	user := raw(usersCollection, anon.ID)
	if _, err := user.LookupErr("email"); err == nil {
		t.Errorf("a user without email has an email field: %v", user)
	}
	if v := user.Lookup("roles"); v.Type != bson.TypeArray {
		t.Errorf("roles is %v, want an array: %v", v.Type, user)
	}
	if v := user.Lookup("createdAt"); v.Type != bson.TypeDateTime {
		t.Errorf("createdAt is %v, want a date: %v", v.Type, user)
	}
	if _, err := raw(sessionsCollection, sess.ID).LookupErr("revokedAt"); err == nil {
		t.Errorf("an active session has revokedAt")
	}
	if _, err := raw(refreshTokensCollection, "h").LookupErr("usedAt"); err == nil {
		t.Errorf("an unspent token has usedAt")
	}
	if err := s.RevokeSession(ctx, sess.ID, storetest.Epoch); err != nil {
		t.Fatal(err)
	}
	if v := raw(sessionsCollection, sess.ID).Lookup("revokedAt"); v.Type != bson.TypeDateTime {
		t.Errorf("a revoked session's revokedAt is %v, want a date", v.Type)
	}
	ident := raw(identitiesCollection, bson.D{{Key: "provider", Value: "firebase"}, {Key: "subject", Value: "s1"}})
	if v := ident.Lookup("userId"); v.StringValue() != anon.ID {
		t.Errorf("identity: %v", ident)
	}
}
