package tideline

import (
	"context"
	"fmt"
)

// SecretStore keeps the server's named secrets: random keys that every node of a deployment
// must share and keep across restarts (the refresh-token rotation key, the cursor key, the
// console's CSRF key). Each engine keeps them in one place; the features get them through
// the composition root, sealed with the master key (SealSecrets).
type SecretStore interface {
	// Secret returns the secret called name, storing candidate first when there is none:
	// every caller, on every node, gets the same bytes.
	Secret(ctx context.Context, name string, candidate []byte) ([]byte, error)
	// ListSecrets returns every secret by name.
	ListSecrets(ctx context.Context) (map[string][]byte, error)
	// ReplaceSecret sets the secret called name to value if its stored value is still old
	// (encryption with the master key, and its rotation). CodeNotFound when absent;
	// CodeConflict when the stored value is not old.
	ReplaceSecret(ctx context.Context, name string, old, value []byte) error
}

// The server secrets, by name.
const (
	// SecretRefreshRotation keys the successor of a spent refresh token (auth).
	SecretRefreshRotation = "refresh-rotation"
	// SecretCursor authenticates sync cursors: if it changed, every client's cursor would
	// be refused.
	SecretCursor = "sync-cursor"
	// SecretConsoleCSRF keys the admin console's CSRF tokens.
	SecretConsoleCSRF = "console-csrf"
	// SecretFileURL signs short-lived download URLs of files (files.Service.SignURL).
	SecretFileURL = "file-url"
)

// secretLabel is the additional data a secret is sealed under, so that a value copied to
// another name does not decrypt. Sync's secrets lived in a store of their own before the
// engines kept one, and were sealed under "sync-secret:<name>"; they keep that label, so
// that what was sealed then still opens (a label is only ever compared, never shown).
func secretLabel(name string) string {
	if name == SecretCursor {
		return "sync-secret:" + name
	}
	return "secret:" + name
}

// SealSecrets returns store with its values encrypted at rest by sealer: Secret and
// ListSecrets see plaintext, and read a value stored in plaintext before encryption existed
// as it is (ResealSecrets encrypts it); a value sealed with a master key sealer does not
// hold fails with ErrWrongMasterKey. ReplaceSecret is the store's own and takes stored
// (sealed) values. The engines store bytes and know nothing of this.
func SealSecrets(store SecretStore, sealer *Sealer) SecretStore {
	return sealedSecrets{SecretStore: store, sealer: sealer}
}

type sealedSecrets struct {
	SecretStore
	sealer *Sealer
}

func (s sealedSecrets) Secret(ctx context.Context, name string, candidate []byte) ([]byte, error) {
	stored, err := s.SecretStore.Secret(ctx, name, s.sealer.Seal(secretLabel(name), candidate))
	if err != nil {
		return nil, err
	}
	return s.sealer.Open(secretLabel(name), stored)
}

func (s sealedSecrets) ListSecrets(ctx context.Context) (map[string][]byte, error) {
	all, err := s.SecretStore.ListSecrets(ctx)
	if err != nil {
		return nil, err
	}
	for name, v := range all {
		if all[name], err = s.sealer.Open(secretLabel(name), v); err != nil {
			return nil, err
		}
	}
	return all, nil
}

// ResealResult counts what a re-encryption rewrote.
type ResealResult struct {
	// Plaintext values were stored before encryption existed; Rekeyed ones were sealed with
	// an older master key. Current ones were sealed with the current key already.
	Plaintext, Rekeyed, Current int
}

// Add adds the counts of o to r.
func (r *ResealResult) Add(o ResealResult) {
	r.Plaintext += o.Plaintext
	r.Rekeyed += o.Rekeyed
	r.Current += o.Current
}

// Reseal rewrites stored, sealed under label, with sealer's current key through replace
// unless it is sealed with that key already, and counts it.
func (r *ResealResult) Reseal(sealer *Sealer, label string, stored []byte, replace func(sealed []byte) error) error {
	if SealedKeyID(stored) == sealer.KeyID() {
		r.Current++
		return nil
	}
	plain, err := sealer.Open(label, stored)
	if err != nil {
		return err
	}
	if err := replace(sealer.Seal(label, plain)); err != nil {
		return fmt.Errorf("re-encrypt %s: %w", label, err)
	}
	if IsSealed(stored) {
		r.Rekeyed++
	} else {
		r.Plaintext++
	}
	return nil
}

// ResealSecrets encrypts with sealer's current key every secret of store (the engine's
// own, not a sealed one) that is in plaintext or sealed with another key.
func ResealSecrets(ctx context.Context, store SecretStore, sealer *Sealer) (ResealResult, error) {
	var res ResealResult
	secrets, err := store.ListSecrets(ctx)
	if err != nil {
		return res, err
	}
	for name, v := range secrets {
		if err := res.Reseal(sealer, secretLabel(name), v, func(sealed []byte) error {
			return store.ReplaceSecret(ctx, name, v, sealed)
		}); err != nil {
			return res, err
		}
	}
	return res, nil
}

// UnsealedSecrets counts the secrets of store (the engine's own) stored in plaintext.
func UnsealedSecrets(ctx context.Context, store SecretStore) (int, error) {
	secrets, err := store.ListSecrets(ctx)
	if err != nil {
		return 0, err
	}
	n := 0
	for _, v := range secrets {
		if !IsSealed(v) {
			n++
		}
	}
	return n, nil
}
