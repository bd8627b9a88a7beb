package sqlite

import (
	"testing"
)

// TestSecretsMigration: migration 6 moves the secrets auth and sync kept in tables of their
// own into the one secret store, with their bytes unchanged (sealed values stay sealed).
func TestSecretsMigration(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	old := mustOpen(t, dir, migrations[:5])
	for _, stmt := range []string{
		`INSERT INTO auth_secrets (name, value) VALUES ('refresh-rotation', x'0102'), ('console-csrf', x'0304')`,
		`INSERT INTO sync_secrets (name, value) VALUES ('sync-cursor', x'0506')`,
	} {
		if _, err := old.write.Exec(stmt); err != nil {
			t.Fatal(err)
		}
	}
	old.Close()

	db := mustOpen(t, dir, migrations)
	all, err := db.Secrets().ListSecrets(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{"refresh-rotation": "\x01\x02", "console-csrf": "\x03\x04", "sync-cursor": "\x05\x06"}
	if len(all) != len(want) {
		t.Fatalf("secrets after migration: %q, want %q", all, want)
	}
	for name, v := range want {
		if string(all[name]) != v {
			t.Fatalf("secret %s = %x, want %x", name, all[name], v)
		}
	}
	var tables int
	if err := db.read.QueryRow(`SELECT count(*) FROM sqlite_schema WHERE name IN ('auth_secrets', 'sync_secrets')`).Scan(&tables); err != nil || tables != 0 {
		t.Fatalf("the old tables remain (%d, %v)", tables, err)
	}
}
