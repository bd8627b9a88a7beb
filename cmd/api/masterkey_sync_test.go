package main

import (
	"bytes"
	"errors"
	"log/slog"
	"path/filepath"
	"strings"
	"testing"

	"github.com/tideline-dev/tideline"
	"github.com/tideline-dev/tideline/store/storetest"
	datasync "github.com/tideline-dev/tideline/sync"
)

// syncNode is the sync service of a server started as serve starts it (the engine sealed
// with the master key), on the engine it opened.
type syncNode struct {
	t   *testing.T
	raw engine
	svc *datasync.Service
}

// startSync starts the sync service as serve does; a failure is returned.
func startSync(t *testing.T, cfg *Config, log *slog.Logger) (syncNode, error) {
	t.Helper()
	raw, err := openEngine(t.Context(), cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	sealed, err := sealEngine(t.Context(), cfg, raw, log)
	if err == nil {
		var svc *datasync.Service
		if svc, err = datasync.New(t.Context(), sealed.Sync(), datasync.Config{}); err == nil {
			return syncNode{t: t, raw: raw, svc: svc}, nil
		}
	}
	raw.Close()
	return syncNode{}, err
}

// pull pulls for user u1 from cursor, failing the test on an error (an invalid cursor),
// and returns the new cursor.
func (n syncNode) pull(cursor string) string {
	n.t.Helper()
	p, err := n.svc.Pull(n.t.Context(), datasync.Caller{UserID: "u1"}, datasync.PullRequest{Cursor: cursor})
	if err != nil {
		n.t.Fatalf("pull: %v", err)
	}
	return p.Cursor
}

// storedCursorSecret is the cursor secret as the engine stores it.
func (n syncNode) storedCursorSecret() []byte {
	n.t.Helper()
	all, err := n.raw.Sync().ListSecrets(n.t.Context())
	if err != nil {
		n.t.Fatal(err)
	}
	return all[datasync.CursorSecret]
}

// TestSyncCursorSecretSealed: on both engines, sync's cursor secret is stored encrypted
// with the master key. A secret an earlier version stored in plaintext keeps its value when
// it is encrypted (at start on the embedded engine; by `keys rotate-master` on MongoDB,
// where nodes of the earlier version may still serve), so the cursors clients hold stay
// valid, as they do across restarts and a master key rotation; a wrong master key stops the
// start with a message naming the secret and both keys.
func TestSyncCursorSecretSealed(t *testing.T) {
	for _, engineName := range []string{"sqlite", "mongodb"} {
		t.Run(engineName, func(t *testing.T) {
			cfg := &Config{DataDir: filepath.Join(t.TempDir(), "data")}
			if engineName == "mongodb" {
				cfg.MongoDBURI, cfg.MongoDBDatabase = storetest.MongoURI(t), "sealed_"+strings.ReplaceAll(tideline.NewID(), "-", "")[:20]
			}
			keyDir := t.TempDir()
			oldKey, newKey := tideline.NewMasterKey(), tideline.NewMasterKey()
			cfg.MasterKey = oldKey.String()

			// An earlier version: the secret in plaintext, and a client's cursor.
			raw, err := openEngine(t.Context(), cfg, nil)
			if err != nil {
				t.Fatal(err)
			}
			earlier, err := datasync.New(t.Context(), raw.Sync(), datasync.Config{})
			if err != nil {
				t.Fatal(err)
			}
			p, err := earlier.Pull(t.Context(), datasync.Caller{UserID: "u1"}, datasync.PullRequest{})
			if err != nil {
				t.Fatal(err)
			}
			oldCursor := p.Cursor
			plain := syncNode{t: t, raw: raw}.storedCursorSecret()
			if len(plain) != 32 || tideline.IsSealed(plain) {
				t.Fatalf("the earlier version stored %x", plain)
			}
			raw.Close()

			// This version starts and accepts the earlier cursor; the secret is encrypted at
			// start on the embedded engine, by rotate-master (to the same key) on MongoDB.
			logs := newLogSink()
			n, err := startSync(t, cfg, slog.New(slog.NewJSONHandler(logs, nil)))
			if err != nil {
				t.Fatal(err)
			}
			cursor := n.pull(oldCursor)
			if engineName == "mongodb" {
				if rec := logs.find("secrets stored in plaintext by an earlier version: once every node runs this version, encrypt them with `api keys rotate-master`"); rec == nil || rec["count"] != float64(1) {
					t.Fatalf("no warning counting the plaintext cursor secret:\n%s", logs)
				}
				n.raw.Close()
				sameKey := filepath.Join(keyDir, "same.key")
				if err := tideline.WriteMasterKeyFile(sameKey, oldKey); err != nil {
					t.Fatal(err)
				}
				if res, _, err := rotateMasterKey(t.Context(), cfg, sameKey, slog.New(slog.DiscardHandler)); err != nil || res.Plaintext != 1 {
					t.Fatalf("rotate-master to the current key: %+v, %v; want the cursor secret encrypted", res, err)
				}
				if n, err = startSync(t, cfg, slog.New(slog.DiscardHandler)); err != nil {
					t.Fatal(err)
				}
			}
			stored := n.storedCursorSecret()
			if tideline.SealedKeyID(stored) != oldKey.ID() || bytes.Contains(stored, plain) {
				t.Fatalf("the cursor secret is stored as %x: not encrypted with master key %s", stored, oldKey.ID())
			}
			n.pull(oldCursor)
			n.raw.Close()

			// A restart with the same key accepts the cursors issued before.
			if n, err = startSync(t, cfg, slog.New(slog.DiscardHandler)); err != nil {
				t.Fatal(err)
			}
			n.pull(oldCursor)
			cursor = n.pull(cursor)
			n.raw.Close()

			// Rotation to a new key keeps the secret, so the cursors.
			newKeyFile := filepath.Join(keyDir, "new.key")
			if err := tideline.WriteMasterKeyFile(newKeyFile, newKey); err != nil {
				t.Fatal(err)
			}
			if res, _, err := rotateMasterKey(t.Context(), cfg, newKeyFile, slog.New(slog.DiscardHandler)); err != nil || res.Rekeyed != 1 {
				t.Fatalf("rotate-master: %+v, %v; want the cursor secret re-encrypted", res, err)
			}
			cfg.MasterKey = newKey.String()
			if n, err = startSync(t, cfg, slog.New(slog.DiscardHandler)); err != nil {
				t.Fatal(err)
			}
			if stored := n.storedCursorSecret(); tideline.SealedKeyID(stored) != newKey.ID() {
				t.Fatalf("after rotation the cursor secret is encrypted with %q, want %s", tideline.SealedKeyID(stored), newKey.ID())
			}
			n.pull(oldCursor)
			n.pull(cursor)
			n.raw.Close()

			// The old key after the rotation: the start fails, naming the secret and both keys.
			cfg.MasterKey = oldKey.String()
			_, err = startSync(t, cfg, slog.New(slog.DiscardHandler))
			if !errors.Is(err, tideline.ErrWrongMasterKey) {
				t.Fatalf("start with the old key after rotation: %v; want ErrWrongMasterKey", err)
			}
			for _, want := range []string{"sync-secret:" + datasync.CursorSecret, oldKey.ID(), newKey.ID(), "wrong master key"} {
				if !strings.Contains(err.Error(), want) {
					t.Fatalf("start with the old key: %q does not say %q", err, want)
				}
			}
		})
	}
}
