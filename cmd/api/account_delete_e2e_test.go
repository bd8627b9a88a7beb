package main

import (
	"context"
	"slices"
	"strings"
	"syscall"
	"testing"

	"github.com/tideline-dev/tideline"
	"github.com/tideline-dev/tideline/store/mongo"
	"github.com/tideline-dev/tideline/store/sqlite"
	"github.com/tideline-dev/tideline/store/storetest"
	datasync "github.com/tideline-dev/tideline/sync"
)

// TestServeAccountDeletionDeletesDocuments: deleting an account through the binary deletes
// every document it owns (finding 1 of issue 15: DELETE /v1/me answered 204 and left them
// all, the public and shared ones readable by others and by new users). A reader's next
// pull drops the public post and the shared list, a new user's initial sync holds none of
// them, and the store, read after the server stops, holds no document of the user but
// bare tombstones. On both engines.
func TestServeAccountDeletionDeletesDocuments(t *testing.T) {
	for _, engine := range []string{"sqlite", "mongodb"} {
		t.Run(engine, func(t *testing.T) {
			uri, db := "", "e2e_delete_"+strings.ReplaceAll(tideline.NewID(), "-", "")[:16]
			if engine == "mongodb" {
				uri = storetest.MongoURI(t)
			}
			env := syncEnv(t, engine, uri, db, `TIDELINE_SYNC_COLLECTIONS=[{"name":"posts","read":"public-read"},{"name":"lists","read":"owner-shared"}]`)
			p := startAPI(t, env, "--addr", "127.0.0.1:0")
			base := p.waitFor("tideline listening")["addr"].(string)

			ada, bob := signUp(t, base, "ada@example.com"), signUp(t, base, "bob@example.com")
			pushApplied(t, base, ada, "ada-phone",
				map[string]any{"id": 1, "collection": "notes", "docId": "diary", "op": "put", "fields": map[string]any{"text": "private"}},
				map[string]any{"id": 2, "collection": "posts", "docId": "hello", "op": "put", "fields": map[string]any{"text": "public"}},
				map[string]any{"id": 3, "collection": "lists", "docId": "trip", "op": "put", "fields": map[string]any{"text": "shared",
					"_acl": map[string]any{"read": []string{bob.bucket}}}})
			reader := newReplica()
			reader.sync(t, base, bob)
			if _, ok := reader.docs["posts/hello"]; !ok || len(reader.docs) != 2 || reader.docs["lists/trip"] == nil {
				t.Fatalf("bob's replica before: %v", reader.docs)
			}

			if status, body := callJSON(t, "DELETE", base+"/v1/me", ada.token, nil); status != 204 {
				t.Fatalf("DELETE /v1/me: %d %s", status, js(body))
			}
			pages := reader.sync(t, base, bob)
			if len(reader.docs) != 0 {
				t.Fatalf("bob's replica after the deletion: %v (pages %v)", reader.docs, changeIDs(pages...))
			}
			if got := changeIDs(pages...); !slices.Equal(slices.Sorted(slices.Values(got)), []string{"lists/trip:delete", "posts/hello:delete"}) {
				t.Fatalf("bob's pull after the deletion: %v", got)
			}
			if docs := serverState(t, base, signUp(t, base, "carol@example.com")); len(docs) != 0 {
				t.Fatalf("a new user's initial sync: %v", docs)
			}

			if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil {
				t.Fatal(err)
			}
			if code := p.wait(); code != 0 {
				t.Fatalf("exit %d:\n%s", code, p.log)
			}
			store := openSyncStore(t, engine, env, uri, db)
			if left, err := store.ListOwnedDocuments(t.Context(), ada.id, 100); err != nil || len(left) != 0 {
				t.Fatalf("the deleted user's documents in the store: %+v, %v", left, err)
			}
			refs := []datasync.DocRef{{Collection: "notes", Scope: ada.id, ID: "diary"}, {Collection: "posts", ID: "hello"}, {Collection: "lists", ID: "trip"}}
			docs, err := store.FindDocuments(t.Context(), refs)
			if err != nil || len(docs) != len(refs) {
				t.Fatalf("the tombstones: %+v, %v", docs, err)
			}
			for _, d := range docs {
				if !d.Deleted || len(d.Fields) != 0 {
					t.Fatalf("%v is not a bare tombstone: %+v", d.Ref, d)
				}
			}
		})
	}
}

// openSyncStore opens, after its server stopped, the sync store the server of env used.
func openSyncStore(t *testing.T, engine string, env []string, uri, db string) datasync.Store {
	t.Helper()
	var store interface {
		Sync() datasync.Store
		Close() error
	}
	var err error
	if engine == "mongodb" {
		store, err = mongo.Open(context.WithoutCancel(t.Context()), mongo.Options{URI: uri, Database: db})
	} else {
		var dir string
		for _, kv := range env {
			if v, ok := strings.CutPrefix(kv, "TIDELINE_DATA_DIR="); ok {
				dir = v
			}
		}
		store, err = sqlite.Open(t.Context(), dir, sqlite.Options{})
	}
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { store.Close() })
	return store.Sync()
}
