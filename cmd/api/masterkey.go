package main

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/tideline-dev/tideline"
	"github.com/tideline-dev/tideline/auth"
	datasync "github.com/tideline-dev/tideline/sync"
)

// masterKeyFileName is the embedded engine's generated key file, in the data directory.
const masterKeyFileName = "master.key"

// syncSecretPlace is where sync's server secrets are sealed: "sync-secret:<name>".
const syncSecretPlace = "sync-secret"

// sealedEngine is an engine whose auth and sync stores encrypt their secrets with the
// master key.
type sealedEngine struct {
	engine
	auth auth.Store
	sync datasync.Store
}

func (e sealedEngine) Auth() auth.Store     { return e.auth }
func (e sealedEngine) Sync() datasync.Store { return e.sync }

// sealedSync is sync's store with its server secrets (the cursor key) encrypted.
type sealedSync struct {
	datasync.Store
	secrets auth.SecretStore // auth.SealedSecrets of Store
}

func (s sealedSync) Secret(ctx context.Context, name string, candidate []byte) ([]byte, error) {
	return s.secrets.Secret(ctx, name, candidate)
}

func (s sealedSync) ListSecrets(ctx context.Context) (map[string][]byte, error) {
	return s.secrets.ListSecrets(ctx)
}

// sealEngine finds the master key and returns store with its secrets encrypted by it. On
// the embedded engine it also encrypts the values an earlier version stored in plaintext;
// on MongoDB it only counts them, because a node of the earlier version may still be
// serving and could not read them (`api keys rotate-master` encrypts them).
func sealEngine(ctx context.Context, cfg *Config, store engine, log *slog.Logger) (engine, error) {
	keys, err := loadMasterKey(ctx, cfg, store, log)
	if err != nil {
		return nil, err
	}
	sealer := tideline.NewSealer(keys[0], keys[1:]...)
	if cfg.MongoDBURI == "" {
		res, err := reseal(ctx, store, sealer)
		if err != nil {
			return nil, fmt.Errorf("encrypt the stored secrets: %w", err)
		}
		if res.Plaintext > 0 {
			log.Info("encrypted the secrets an earlier version stored in plaintext", "count", res.Plaintext, "master_key", keys[0].ID())
		}
		if res.Rekeyed > 0 {
			log.Info("re-encrypted with the first master key the secrets encrypted with the others", "count", res.Rekeyed, "master_key", keys[0].ID())
		}
	} else if n, err := unsealed(ctx, store); err != nil {
		return nil, err
	} else if n > 0 {
		log.Warn("secrets stored in plaintext by an earlier version: once every node runs this version, encrypt them with `api keys rotate-master`", "count", n)
	}
	return sealedEngine{engine: store, auth: auth.Sealed(store.Auth(), sealer),
		sync: sealedSync{Store: store.Sync(), secrets: auth.SealedSecrets(store.Sync(), sealer, syncSecretPlace)}}, nil
}

// reseal encrypts with sealer's current key every secret of store that is not: auth's
// signing keys and secrets, and sync's secrets (see auth.Reseal).
func reseal(ctx context.Context, store engine, sealer *tideline.Sealer) (auth.ResealResult, error) {
	res, err := auth.Reseal(ctx, store.Auth(), sealer)
	if err != nil {
		return res, err
	}
	more, err := auth.ResealSecrets(ctx, store.Sync(), syncSecretPlace, sealer)
	res.Add(more)
	return res, err
}

// unsealed counts the secrets of store in plaintext.
func unsealed(ctx context.Context, store engine) (int, error) {
	n, err := auth.Unsealed(ctx, store.Auth())
	if err != nil {
		return 0, err
	}
	m, err := auth.UnsealedSecrets(ctx, store.Sync())
	return n + m, err
}

// loadMasterKey returns the master keys: masterKey, else masterKeyFile, else (embedded
// engine only) master.key in the data directory, which it creates at the first start. The
// first key encrypts; the others (during a rotation) only decrypt.
func loadMasterKey(ctx context.Context, cfg *Config, store engine, log *slog.Logger) ([]tideline.MasterKey, error) {
	switch {
	case cfg.MasterKey != "":
		keys, err := tideline.ParseMasterKeys(cfg.MasterKey)
		if err == nil {
			log.Info("secrets at rest are encrypted with the master key from masterKey", "master_key", keys[0].ID(), "also_reads", keyIDs(keys[1:]))
		}
		return keys, err
	case cfg.MasterKeyFile != "":
		return readKeyFile(cfg.MasterKeyFile, log)
	case cfg.MongoDBURI != "":
		return nil, errors.New("the MongoDB engine needs a master key to encrypt its secrets at rest: set TIDELINE_MASTER_KEY " +
			"(base64 of 32 random bytes, such as the output of `openssl rand -base64 32`) or masterKeyFile, the same on every node, and keep a copy apart from the database backups")
	}
	path := filepath.Join(cfg.DataDir, masterKeyFileName)
	if _, err := os.Stat(path); err == nil {
		return readKeyFile(path, log)
	} else if !errors.Is(err, fs.ErrNotExist) {
		return nil, err
	}
	// No key file: a new data directory, or one whose key was lost or not restored. Only
	// the first may get a new key; for the other, a new key could never read the data.
	if ids, err := sealedWith(ctx, store); err != nil {
		return nil, err
	} else if len(ids) > 0 {
		return nil, fmt.Errorf("the data in %s is encrypted with master key %s, and %s is missing: copy the key file back (it is not part of backups) or set masterKeyFile or masterKey", cfg.DataDir, strings.Join(slices.Sorted(maps.Keys(ids)), ", "), path)
	}
	k := tideline.NewMasterKey()
	if err := tideline.WriteMasterKeyFile(path, k); err != nil {
		return nil, fmt.Errorf("create the master key file: %w", err)
	}
	log.Warn("generated a master key to encrypt secrets at rest: back up this file apart from the data, since without it the stored secrets cannot be read", "file", path, "master_key", k.ID())
	return []tideline.MasterKey{k}, nil
}

// readKeyFile reads a key file, warning when others than its owner may read it.
func readKeyFile(path string, log *slog.Logger) ([]tideline.MasterKey, error) {
	keys, err := tideline.ReadMasterKeyFile(path)
	if err != nil {
		return nil, fmt.Errorf("read the master key: %w", err)
	}
	if st, err := os.Stat(path); err == nil && st.Mode().Perm()&0o077 != 0 {
		log.Warn("the master key file can be read by others than its owner: chmod 600 it", "file", path, "mode", st.Mode().Perm().String())
	}
	log.Info("secrets at rest are encrypted with the master key file", "file", path, "master_key", keys[0].ID(), "also_reads", keyIDs(keys[1:]))
	return keys, nil
}

// keyIDs are the ids of keys, for the log.
func keyIDs(keys []tideline.MasterKey) []string {
	ids := []string{}
	for _, k := range keys {
		ids = append(ids, k.ID())
	}
	return ids
}

// sealedWith returns the ids of the master keys that sealed the secrets of store (none
// when every value is in plaintext, or there is none).
func sealedWith(ctx context.Context, store engine) (map[string]bool, error) {
	keys, err := store.Auth().ListSigningKeys(ctx)
	if err != nil {
		return nil, err
	}
	values := [][]byte{}
	for _, k := range keys {
		values = append(values, k.PrivateKey)
	}
	for _, secrets := range []auth.SecretStore{store.Auth(), store.Sync()} {
		all, err := secrets.ListSecrets(ctx)
		if err != nil {
			return nil, err
		}
		values = slices.AppendSeq(values, maps.Values(all))
	}
	ids := map[string]bool{}
	for _, v := range values {
		if id := tideline.SealedKeyID(v); id != "" {
			ids[id] = true
		}
	}
	return ids, nil
}

// rotateMasterKey re-encrypts every stored secret with the (first) key in newKeyFile
// (created, mode 0600, when it does not exist), reading them with the current master keys.
func rotateMasterKey(ctx context.Context, cfg *Config, newKeyFile string, log *slog.Logger) (auth.ResealResult, tideline.MasterKey, error) {
	var res auth.ResealResult
	store, err := openEngine(ctx, cfg, log)
	if err != nil {
		return res, tideline.MasterKey{}, err
	}
	defer store.Close()
	newKeys, err := tideline.ReadMasterKeyFile(newKeyFile)
	if errors.Is(err, fs.ErrNotExist) {
		newKeys = []tideline.MasterKey{tideline.NewMasterKey()}
		if err = tideline.WriteMasterKeyFile(newKeyFile, newKeys[0]); err == nil {
			log.Info("generated the new master key", "file", newKeyFile, "master_key", newKeys[0].ID())
		}
	}
	if err != nil {
		return res, tideline.MasterKey{}, err
	}
	newKey, old := newKeys[0], newKeys[1:]
	ids, err := sealedWith(ctx, store)
	if err != nil {
		return res, newKey, err
	}
	delete(ids, newKey.ID())
	if len(ids) > 0 {
		// Values sealed with another key: the current one must be configured.
		keys, err := loadMasterKey(ctx, cfg, store, log)
		if err != nil {
			return res, newKey, err
		}
		old = append(old, keys...)
	}
	res, err = reseal(ctx, store, tideline.NewSealer(newKey, old...))
	return res, newKey, err
}
