package app_test

import (
	"bytes"
	"errors"
	"log/slog"
	"path/filepath"
	"strings"
	"testing"

	"github.com/tideline-dev/tideline"
	"github.com/tideline-dev/tideline/app"
	"github.com/tideline-dev/tideline/internal/testkit"
	"github.com/tideline-dev/tideline/store/enginetest"
	"github.com/tideline-dev/tideline/store/storetest"
	datasync "github.com/tideline-dev/tideline/sync"
)

// node is the app started as the server starts it, until the test closes it.
type node struct {
	t *testing.T
	*app.App
}

// start starts the app on cfg; a failure is returned.
func start(t *testing.T, cfg app.Config, log *slog.Logger) (node, error) {
	t.Helper()
	cfg.Logger = log
	a, err := app.New(t.Context(), cfg)
	if err != nil {
		return node{}, err
	}
	return node{t: t, App: a}, nil
}

// pull pulls for user u1 from cursor, failing the test on an error (an invalid cursor),
// and returns the new cursor.
func (n node) pull(cursor string) string {
	n.t.Helper()
	p, err := n.Sync.Pull(n.t.Context(), datasync.Caller{UserID: "u1"}, datasync.PullRequest{Cursor: cursor})
	if err != nil {
		n.t.Fatalf("pull: %v", err)
	}
	return p.Cursor
}

// storedCursorSecret is the cursor secret as the engine stores it.
func storedCursorSecret(t *testing.T, raw app.Engine) []byte {
	t.Helper()
	all, err := raw.Secrets().ListSecrets(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	return all[tideline.SecretCursor]
}

// TestSyncCursorSecretSealed: on both engines, sync's cursor secret is stored encrypted
// with the master key. A secret an earlier version stored in plaintext keeps its value when
// it is encrypted (at start on the embedded engine; by `keys rotate-master` on MongoDB,
// where nodes of the earlier version may still serve), so the cursors clients hold stay
// valid, as they do across restarts and a master key rotation; a wrong master key stops the
// start with a message naming a secret and both keys.
func TestCursorSecretSealed(t *testing.T) {
	for _, engineName := range []string{"sqlite", "mongodb"} {
		t.Run(engineName, func(t *testing.T) {
			cfg := app.Config{DataDir: filepath.Join(t.TempDir(), "data")}
			if engineName == "mongodb" {
				cfg.MongoDBURI, cfg.MongoDBDatabase = storetest.MongoURI(t), enginetest.NewDatabaseName()
			}
			keyDir := t.TempDir()
			oldKey, newKey := tideline.NewMasterKey(), tideline.NewMasterKey()
			cfg.MasterKey = oldKey.String()

			// An earlier version: the secret in plaintext, and a client's cursor.
			raw, err := app.Open(t.Context(), &cfg, nil)
			if err != nil {
				t.Fatal(err)
			}
			earlier, err := datasync.New(t.Context(), raw.Sync(), datasync.Config{Secrets: raw.Secrets()})
			if err != nil {
				t.Fatal(err)
			}
			p, err := earlier.Pull(t.Context(), datasync.Caller{UserID: "u1"}, datasync.PullRequest{})
			if err != nil {
				t.Fatal(err)
			}
			oldCursor := p.Cursor
			plain := storedCursorSecret(t, raw)
			if len(plain) != 32 || tideline.IsSealed(plain) {
				t.Fatalf("the earlier version stored %x", plain)
			}
			raw.Close()

			// This version starts and accepts the earlier cursor; the secret is encrypted at
			// start on the embedded engine, by rotate-master (to the same key) on MongoDB.
			logs := testkit.NewLogSink()
			n, err := start(t, cfg, slog.New(slog.NewJSONHandler(logs, nil)))
			if err != nil {
				t.Fatal(err)
			}
			cursor := n.pull(oldCursor)
			if engineName == "mongodb" {
				if recs := logs.Records("secrets stored in plaintext by an earlier version: once every node runs this version, encrypt them with `api keys rotate-master`"); len(recs) != 1 || recs[0]["count"] != float64(1) {
					t.Fatalf("no warning counting the plaintext cursor secret:\n%s", logs)
				}
				n.Close()
				sameKey := filepath.Join(keyDir, "same.key")
				if err := tideline.WriteMasterKeyFile(sameKey, oldKey); err != nil {
					t.Fatal(err)
				}
				if res, _, err := app.RotateMasterKey(t.Context(), &cfg, sameKey, slog.New(slog.DiscardHandler)); err != nil || res.Plaintext != 1 {
					t.Fatalf("rotate-master to the current key: %+v, %v; want the cursor secret encrypted", res, err)
				}
				if n, err = start(t, cfg, slog.New(slog.DiscardHandler)); err != nil {
					t.Fatal(err)
				}
			}
			stored := storedCursorSecret(t, n.Store)
			if tideline.SealedKeyID(stored) != oldKey.ID() || bytes.Contains(stored, plain) {
				t.Fatalf("the cursor secret is stored as %x: not encrypted with master key %s", stored, oldKey.ID())
			}
			n.pull(oldCursor)
			n.Close()

			// A restart with the same key accepts the cursors issued before.
			if n, err = start(t, cfg, slog.New(slog.DiscardHandler)); err != nil {
				t.Fatal(err)
			}
			n.pull(oldCursor)
			cursor = n.pull(cursor)
			n.Close()

			// Rotation to a new key keeps the secret, so the cursors.
			newKeyFile := filepath.Join(keyDir, "new.key")
			if err := tideline.WriteMasterKeyFile(newKeyFile, newKey); err != nil {
				t.Fatal(err)
			}
			if res, _, err := app.RotateMasterKey(t.Context(), &cfg, newKeyFile, slog.New(slog.DiscardHandler)); err != nil || res != (tideline.ResealResult{Rekeyed: 4}) {
				// the cursor secret, the signing key, the refresh rotation and the console's secret
				t.Fatalf("rotate-master: %+v, %v; want the four secrets re-encrypted", res, err)
			}
			cfg.MasterKey = newKey.String()
			if n, err = start(t, cfg, slog.New(slog.DiscardHandler)); err != nil {
				t.Fatal(err)
			}
			if stored := storedCursorSecret(t, n.Store); tideline.SealedKeyID(stored) != newKey.ID() {
				t.Fatalf("after rotation the cursor secret is encrypted with %q, want %s", tideline.SealedKeyID(stored), newKey.ID())
			}
			n.pull(oldCursor)
			n.pull(cursor)
			n.Close()

			// The old key after the rotation: the start fails, naming the secret and both keys.
			cfg.MasterKey = oldKey.String()
			_, err = start(t, cfg, slog.New(slog.DiscardHandler))
			if !errors.Is(err, tideline.ErrWrongMasterKey) {
				t.Fatalf("start with the old key after rotation: %v; want ErrWrongMasterKey", err)
			}
			for _, want := range []string{"is encrypted with master key " + newKey.ID(), oldKey.ID(), "wrong master key"} {
				if !strings.Contains(err.Error(), want) {
					t.Fatalf("start with the old key: %q does not say %q", err, want)
				}
			}
		})
	}
}
