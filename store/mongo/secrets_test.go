package mongo

import (
	"testing"

	"github.com/tideline-dev/tideline/store/storetest"
	"go.mongodb.org/mongo-driver/v2/bson"
)

// TestSecretsMigration: migration 6 copies the secrets auth and sync kept in collections of
// their own into the one secret store, bytes unchanged, and running it again (another node
// starting, or a retry after a crash) changes nothing.
func TestSecretsMigration(t *testing.T) {
	t.Parallel()
	uri := storetest.MongoURI(t)
	name := newDatabaseName(t, uri)
	old := mustOpen(t, uri, name, migrations[:5])
	for coll, docs := range map[string][]any{
		authSecretsCollection: {bson.M{"_id": "refresh-rotation", "value": []byte{1, 2}}, bson.M{"_id": "console-csrf", "value": []byte{3, 4}}},
		syncSecretsCollection: {bson.M{"_id": "sync-cursor", "value": []byte{5, 6}}},
	} {
		if _, err := old.db.Collection(coll).InsertMany(t.Context(), docs); err != nil {
			t.Fatal(err)
		}
	}
	old.Close()

	db := mustOpen(t, uri, name, migrations)
	want := map[string]string{"refresh-rotation": "\x01\x02", "console-csrf": "\x03\x04", "sync-cursor": "\x05\x06"}
	check := func(when string) {
		t.Helper()
		all, err := db.Secrets().ListSecrets(t.Context())
		if err != nil {
			t.Fatal(err)
		}
		if len(all) != len(want) {
			t.Fatalf("%s: secrets %q, want %q", when, all, want)
		}
		for name, v := range want {
			if string(all[name]) != v {
				t.Fatalf("%s: secret %s = %x, want %x", when, name, all[name], v)
			}
		}
	}
	check("after the migration")
	if err := db.Secrets().ReplaceSecret(t.Context(), "sync-cursor", []byte{5, 6}, []byte{7}); err != nil {
		t.Fatal(err)
	}
	want["sync-cursor"] = "\x07"
	if err := migrateSecrets(t.Context(), db); err != nil {
		t.Fatal(err)
	}
	check("after running the migration again")
}
