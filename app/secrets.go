package app

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
)

// masterKeyFileName is the embedded engine's generated key file, in the data directory.
const masterKeyFileName = "master.key"

// sealed are the engine's stores that keep secrets, encrypted with the master key: auth's
// (its private signing keys) and the server secrets. The features and the console see
// plaintext; the engine stores only sealed bytes.
type sealed struct {
	auth    auth.Store
	secrets tideline.SecretStore
}

// sealEngine finds the master key and returns the engine's stores that keep secrets,
// sealed with it. On the embedded engine it also encrypts the values an earlier version
// stored in plaintext; on MongoDB it only counts them, because a node of the earlier
// version may still be serving and could not read them (`api keys rotate-master` encrypts
// them).
func sealEngine(ctx context.Context, cfg *Config, store Engine, log *slog.Logger) (sealed, error) {
	keys, err := loadMasterKey(ctx, cfg, store, log)
	if err != nil {
		return sealed{}, err
	}
	sealer := tideline.NewSealer(keys[0], keys[1:]...)
	if cfg.MongoDBURI == "" {
		res, err := reseal(ctx, store, sealer)
		if err != nil {
			return sealed{}, fmt.Errorf("encrypt the stored secrets: %w", err)
		}
		if res.Plaintext > 0 {
			log.Info("encrypted the secrets an earlier version stored in plaintext", "count", res.Plaintext, "master_key", keys[0].ID())
		}
		if res.Rekeyed > 0 {
			log.Info("re-encrypted with the first master key the secrets encrypted with the others", "count", res.Rekeyed, "master_key", keys[0].ID())
		}
	} else if n, err := unsealed(ctx, store); err != nil {
		return sealed{}, err
	} else if n > 0 {
		log.Warn("secrets stored in plaintext by an earlier version: once every node runs this version, encrypt them with `api keys rotate-master`", "count", n)
	}
	return sealed{auth: auth.Sealed(store.Auth(), sealer), secrets: tideline.SealSecrets(store.Secrets(), sealer)}, nil
}

// reseal encrypts with sealer's current key every secret of store that is not: auth's
// private signing keys and the server secrets.
func reseal(ctx context.Context, store Engine, sealer *tideline.Sealer) (tideline.ResealResult, error) {
	res, err := auth.Reseal(ctx, store.Auth(), sealer)
	if err != nil {
		return res, err
	}
	more, err := tideline.ResealSecrets(ctx, store.Secrets(), sealer)
	res.Add(more)
	return res, err
}

// unsealed counts the secrets of store in plaintext.
func unsealed(ctx context.Context, store Engine) (int, error) {
	n, err := auth.Unsealed(ctx, store.Auth())
	if err != nil {
		return 0, err
	}
	m, err := tideline.UnsealedSecrets(ctx, store.Secrets())
	return n + m, err
}

// loadMasterKey returns the master keys: masterKey, else masterKeyFile, else (embedded
// engine only) master.key in the data directory, which it creates at the first start. The
// first key encrypts; the others (during a rotation) only decrypt.
func loadMasterKey(ctx context.Context, cfg *Config, store Engine, log *slog.Logger) ([]tideline.MasterKey, error) {
	switch {
	case cfg.MasterKey != "":
		keys, err := tideline.ParseMasterKeys(cfg.MasterKey)
		if err == nil {
			log.Info("secrets at rest are encrypted with the master key from masterKey", keyAttrs(keys)...)
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
	log.Info("secrets at rest are encrypted with the master key file", append([]any{"file", path}, keyAttrs(keys)...)...)
	return keys, nil
}

// keyAttrs name keys in the log: the first, which encrypts, and the others, which only
// decrypt (during a rotation), when there are any.
func keyAttrs(keys []tideline.MasterKey) []any {
	attrs := []any{"master_key", keys[0].ID()}
	if len(keys) > 1 {
		ids := []string{}
		for _, k := range keys[1:] {
			ids = append(ids, k.ID())
		}
		attrs = append(attrs, "also_reads", ids)
	}
	return attrs
}

// sealedWith returns the ids of the master keys that sealed the secrets of store (none
// when every value is in plaintext, or there is none).
func sealedWith(ctx context.Context, store Engine) (map[string]bool, error) {
	keys, err := store.Auth().ListSigningKeys(ctx)
	if err != nil {
		return nil, err
	}
	values := [][]byte{}
	for _, k := range keys {
		values = append(values, k.PrivateKey)
	}
	all, err := store.Secrets().ListSecrets(ctx)
	if err != nil {
		return nil, err
	}
	values = slices.AppendSeq(values, maps.Values(all))
	ids := map[string]bool{}
	for _, v := range values {
		if id := tideline.SealedKeyID(v); id != "" {
			ids[id] = true
		}
	}
	return ids, nil
}

// RotateMasterKey re-encrypts every stored secret with the (first) key in newKeyFile
// (created, mode 0600, when it does not exist), reading them with the current master keys
// (`api keys rotate-master`).
func RotateMasterKey(ctx context.Context, cfg *Config, newKeyFile string, log *slog.Logger) (tideline.ResealResult, tideline.MasterKey, error) {
	var res tideline.ResealResult
	store, err := Open(ctx, cfg, log)
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
