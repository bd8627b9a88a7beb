package storetest

import (
	"cmp"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/tideline-dev/tideline"
	"github.com/tideline-dev/tideline/sync"
)

// runSyncOwnedDocuments checks ListOwnedDocuments: a deleted user's live documents, of
// every collection, whole; not tombstones, not other users'.
func runSyncOwnedDocuments(t *testing.T, h Harness) {
	s := syncStore(t, h)
	owned := func(owner string, limit int) []sync.Document {
		t.Helper()
		docs, err := s.ListOwnedDocuments(t.Context(), owner, limit)
		must(t, err, "ListOwnedDocuments")
		return docs
	}
	if docs := owned("u1", 10); len(docs) != 0 {
		t.Fatalf("an empty store: %+v", docs)
	}
	note := newDoc("note", 1, map[string]any{"title": "mine"})
	post := newDoc("post", 1, map[string]any{"title": "public"}, "public")
	post.Ref = sync.DocRef{Collection: "posts", ID: "post"}
	gone := newDoc("gone", 1, map[string]any{"x": int64(1)})
	theirs := newDoc("theirs", 1, map[string]any{"x": int64(2)}, "user:u2")
	theirs.Owner, theirs.Ref.Scope = "u2", "u2"
	commit(t, s, sync.Write{Doc: note}, sync.Write{Doc: post}, sync.Write{Doc: gone}, sync.Write{Doc: theirs})
	deleted := gone
	deleted.Version, deleted.Deleted, deleted.Fields = 2, true, map[string]any{}
	commit(t, s, sync.Write{Doc: deleted, BaseVersion: 1})

	docs := owned("u1", 10)
	slices.SortFunc(docs, func(a, b sync.Document) int { return cmpRef(a.Ref, b.Ref) })
	if len(docs) != 2 || docs[0].Ref != note.Ref || docs[1].Ref != post.Ref {
		t.Fatalf("u1's documents: %+v", docs)
	}
	if d := docs[0]; d.Owner != "u1" || d.Version != 1 || d.Seq == 0 || d.Fields["title"] != "mine" || !slices.Equal(d.Buckets, note.Buckets) || d.Meta.Clients["c1"] != 1 {
		t.Fatalf("a listed document is not whole: %+v", d)
	}
	if docs := owned("u1", 1); len(docs) != 1 {
		t.Fatalf("with limit 1: %d documents", len(docs))
	}
	for i := range 5 { // more than a limit, across collections
		d := newDoc(fmt.Sprint("more", i), 1, map[string]any{"i": int64(i)})
		d.Ref.Collection = fmt.Sprintf("coll%d", i%2)
		commit(t, s, sync.Write{Doc: d})
	}
	if docs := owned("u1", 4); len(docs) != 4 {
		t.Fatalf("with limit 4 of 7: %d documents", len(docs))
	}
	if docs := owned("u1", 100); len(docs) != 7 {
		t.Fatalf("all of u1's: %d documents, want 7", len(docs))
	}
}

func cmpRef(a, b sync.DocRef) int {
	return cmp.Or(strings.Compare(a.Collection, b.Collection), strings.Compare(a.Scope, b.Scope), strings.Compare(a.ID, b.ID))
}

// runSyncDeleteGroup checks DeleteGroup: the group and its memberships go at once.
func runSyncDeleteGroup(t *testing.T, h Harness) {
	s := syncStore(t, h)
	g := sync.Group{ID: tideline.NewID(), Name: "Family", OwnerID: "u1", CreatedAt: at(1)}
	kept := sync.Group{ID: tideline.NewID(), Name: "Club", OwnerID: "u2", CreatedAt: at(1)}
	must(t, s.CreateGroup(t.Context(), g), "CreateGroup")
	must(t, s.CreateGroup(t.Context(), kept), "CreateGroup")
	must(t, s.AddMember(t.Context(), sync.Member{GroupID: g.ID, UserID: "u2", Role: sync.GroupMember, AddedAt: at(2)}), "AddMember")
	must(t, s.DeleteGroup(t.Context(), g.ID), "DeleteGroup")
	_, err := s.FindGroup(t.Context(), g.ID)
	wantCode(t, err, tideline.CodeNotFound, "FindGroup after DeleteGroup")
	for _, u := range []string{"u1", "u2"} {
		mine, err := s.ListGroups(t.Context(), u)
		must(t, err, "ListGroups")
		if slices.ContainsFunc(mine, func(m sync.Membership) bool { return m.Group.ID == g.ID }) {
			t.Fatalf("%s still lists the deleted group: %+v", u, mine)
		}
	}
	if members, err := s.ListMembers(t.Context(), g.ID); err != nil || len(members) != 0 {
		t.Fatalf("members of the deleted group: %+v, %v", members, err)
	}
	if mine, _ := s.ListGroups(t.Context(), "u2"); len(mine) != 1 || mine[0].Group.ID != kept.ID {
		t.Fatalf("u2's other group: %+v", mine)
	}
	wantCode(t, s.DeleteGroup(t.Context(), g.ID), tideline.CodeNotFound, "DeleteGroup twice")
	wantCode(t, s.AddMember(t.Context(), sync.Member{GroupID: g.ID, UserID: "u3", Role: sync.GroupMember, AddedAt: at(3)}), tideline.CodeNotFound, "AddMember to a deleted group")
}
