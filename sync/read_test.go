package sync_test

import (
	"testing"

	"github.com/tideline-dev/tideline"
	"github.com/tideline-dev/tideline/store/enginetest"
	datasync "github.com/tideline-dev/tideline/sync"
)

// TestReadDocument: a document is read by whoever one of its buckets lets pull it (its
// owner, a reader its ACL names) and by nobody else, who cannot tell it from an absent one;
// a deleted document is gone for everybody.
func TestReadDocument(t *testing.T) {
	eachEngine(t, func(t *testing.T, engine string) {
		e := newEnv(t, engine, func(c *datasync.Config) {
			c.Collections = []datasync.Collection{{Name: "docs", Read: datasync.OwnerShared}, {Name: "mine", Read: datasync.OwnerOnly}}
		})
		wantStatus(t, e.push("alice", "a1", put(1, "docs", "d1", map[string]any{"title": "x", "_acl": map[string]any{"read": []any{"user:bob"}}}))[0], "applied")
		wantStatus(t, e.push("alice", "a1", put(2, "mine", "m1", map[string]any{"title": "private"}))[0], "applied")
		read := func(user, coll, id string) (map[string]any, error) {
			return e.svc.ReadDocument(t.Context(), datasync.Caller{UserID: user}, coll, id)
		}
		for _, user := range []string{"alice", "bob"} {
			f, err := read(user, "docs", "d1")
			if err != nil || f["title"] != "x" {
				t.Fatalf("%s reads %v, %v", user, f, err)
			}
		}
		if f, err := read("alice", "mine", "m1"); err != nil || f["title"] != "private" {
			t.Fatalf("the owner reads %v, %v", f, err)
		}
		for _, c := range []struct{ user, coll, id string }{
			{"carol", "docs", "d1"}, {"bob", "mine", "m1"}, {"alice", "docs", "absent"}, {"alice", "Bad Name", "d1"}, {"alice", "docs", "../d1"},
		} {
			_, err := read(c.user, c.coll, c.id)
			enginetest.WantCode(t, err, tideline.CodeNotFound)
		}
		wantStatus(t, e.push("alice", "a1", datasync.Mutation{ID: 3, Collection: "docs", DocID: "d1", Op: "delete"})[0], "applied")
		_, err := read("alice", "docs", "d1")
		enginetest.WantCode(t, err, tideline.CodeNotFound)
	})
}
