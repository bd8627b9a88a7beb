package mongo

import (
	"testing"
	"time"

	"github.com/tideline-dev/tideline"
	"github.com/tideline-dev/tideline/auth"
	"github.com/tideline-dev/tideline/push"
	"github.com/tideline-dev/tideline/store/storetest"
	datasync "github.com/tideline-dev/tideline/sync"
)

// TestEveryCommandIsDurableAndBounded watches the commands that auth, push, rate limits
// and sync send, on a connection whose URI says nothing of write concern or timeouts (as
// a deployment whose default is w:1 would): every write asks for w:majority, every read
// for a majority read concern, and every command but a cursor's carries a time limit
// (maxTimeMS, from mongodb.operationTimeout), so that a failover can roll back none of them
// and none waits forever without a majority.
func TestEveryCommandIsDurableAndBounded(t *testing.T) {
	t.Parallel()
	db, log := openMonitored(t, tideline.NewManualClock(storetest.Epoch))
	ctx, now := t.Context(), storetest.Epoch
	u := auth.User{ID: "u1", Email: "ada@example.com", CreatedAt: now, UpdatedAt: now, Version: 1}
	s := auth.Session{ID: "s1", UserID: "u1", CreatedAt: now, LastUsedAt: now, ExpiresAt: now.Add(time.Hour)}
	rt := auth.RefreshToken{Hash: "h1", SessionID: "s1", UserID: "u1", CreatedAt: now, ExpiresAt: now.Add(time.Hour)}
	steps := []struct {
		name string
		do   func() error
	}{
		{"CreateUser", func() error { return db.Auth().CreateUser(ctx, u) }},
		{"CreateSession", func() error { return db.Auth().CreateSession(ctx, s, rt) }},
		{"FindSession", func() error { _, err := db.Auth().FindSession(ctx, "s1"); return err }},
		{"RevokeSession", func() error { return db.Auth().RevokeSession(ctx, "s1", now) }},
		{"UpsertDevice", func() error {
			_, err := db.Push().UpsertDevice(ctx, push.Device{ID: "d1", UserID: "u1", DeviceID: "phone", SessionID: "s1", Platform: "android", PushToken: "tok", CreatedAt: now, LastSeen: now})
			return err
		}},
		{"RateLimit", func() error {
			_, _, err := db.RateStore().Take(ctx, "login:ada", auth.Rate{Burst: 5, Per: time.Minute}, now, 1)
			return err
		}},
		{"SyncCommit", func() error {
			_, err := db.Sync().Commit(ctx, datasync.Commit{Writes: []datasync.Write{{Doc: note("a", 1, "A")}}})
			return err
		}},
	}
	cmds := log.rawDuring(func() {
		for _, st := range steps {
			if err := st.do(); err != nil {
				t.Fatalf("%s: %v", st.name, err)
			}
		}
	})
	writes, reads := 0, 0
	for _, c := range cmds {
		name := c.Index(0).Key()
		switch name {
		case "getMore", "killCursors", "endSessions", "hello", "isMaster", "ping":
			continue
		}
		// A find or aggregate that opens a cursor carries none: the driver bounds it on the
		// client side instead (DRIVERS-2722, so that getMore never meets a killed cursor).
		if _, err := c.LookupErr("maxTimeMS"); err != nil && name != "find" && name != "aggregate" {
			t.Errorf("%s carries no time limit: %s", name, c)
		}
		switch name {
		case "insert", "update", "delete", "findAndModify":
			writes++
			if w, err := c.LookupErr("writeConcern", "w"); err != nil || w.StringValue() != "majority" {
				t.Errorf("%s does not ask for w:majority: %s", name, c)
			}
		case "find", "aggregate", "count":
			reads++
			if l, err := c.LookupErr("readConcern", "level"); err != nil || l.StringValue() != "majority" {
				t.Errorf("%s does not read majority-committed data: %s", name, c)
			}
		}
	}
	if writes == 0 || reads == 0 {
		t.Fatalf("%d writes and %d reads seen: the monitor missed them", writes, reads)
	}
}

// TestConsoleCountsSpareThePrimary: the console's counts over whole collections (users,
// devices by platform, topics), read at every page view, ask for local read concern (which
// a secondary serves, with secondaryPreferred: not observable on FerretDB, a single server,
// where the driver sends no read preference) and the counts carry countTimeout as their time
// limit instead of the 30 s operation timeout.
func TestConsoleCountsSpareThePrimary(t *testing.T) {
	t.Parallel()
	db, log := openMonitored(t, tideline.NewManualClock(storetest.Epoch))
	cmds := log.rawDuring(func() {
		if _, err := db.Auth().CountUsers(t.Context()); err != nil {
			t.Fatal(err)
		}
		if _, err := db.Push().CountDevices(t.Context()); err != nil {
			t.Fatal(err)
		}
		if _, err := db.Push().ListTopics(t.Context()); err != nil {
			t.Fatal(err)
		}
	})
	if len(cmds) != 6 {
		t.Fatalf("%d commands, want 6 (3 user counts, 2 device counts, 1 topic list)", len(cmds))
	}
	for i, c := range cmds {
		if l, err := c.LookupErr("readConcern", "level"); err != nil || l.StringValue() != "local" {
			t.Errorf("%s: read concern %v, want local", c.Index(0).Value(), l)
		}
		if i < 3 { // CountDocuments: the driver sends its time limit (an aggregate cursor's, none)
			if ms, err := c.LookupErr("maxTimeMS"); err != nil || ms.AsInt64() > countTimeout.Milliseconds() {
				t.Errorf("%s: maxTimeMS %v, want at most %d", c.Index(0).Value(), ms, countTimeout.Milliseconds())
			}
		}
	}
}
