package auth

import (
	"context"
	"fmt"

	"github.com/tideline-dev/tideline"
)

// Sealed returns store with the secrets it keeps encrypted at rest by sealer: the private
// key of every signing key it creates, and every server secret that Secret stores. What it
// reads it decrypts, so its callers (the Service, the console) see plaintext; a value stored
// in plaintext before encryption existed is read as it is (Reseal encrypts it). A value
// sealed with a master key sealer does not hold fails with tideline.ErrWrongMasterKey.
//
// The engines store bytes and know nothing of this: encryption happens here only. The
// ReplaceSecret and ReplaceSigningKey methods are the store's own and take stored (sealed)
// values; Reseal uses them on the store beneath.
func Sealed(store Store, sealer *tideline.Sealer) Store {
	return sealedStore{Store: store, sealer: sealer}
}

type sealedStore struct {
	Store
	sealer *tideline.Sealer
}

// The labels are the additional data of the encryption: a value only decrypts in its slot.
func signingKeyLabel(id string) string      { return "signing-key:" + id }
func secretLabel(place, name string) string { return place + ":" + name }

func (s sealedStore) ListSigningKeys(ctx context.Context) ([]SigningKey, error) {
	keys, err := s.Store.ListSigningKeys(ctx)
	if err != nil {
		return nil, err
	}
	for i := range keys {
		if keys[i].PrivateKey, err = s.sealer.Open(signingKeyLabel(keys[i].ID), keys[i].PrivateKey); err != nil {
			return nil, err
		}
	}
	return keys, nil
}

func (s sealedStore) CreateSigningKey(ctx context.Context, k SigningKey) error {
	k.PrivateKey = s.sealer.Seal(signingKeyLabel(k.ID), k.PrivateKey)
	return s.Store.CreateSigningKey(ctx, k)
}

func (s sealedStore) Secret(ctx context.Context, name string, candidate []byte) ([]byte, error) {
	return s.secrets().Secret(ctx, name, candidate)
}

func (s sealedStore) ListSecrets(ctx context.Context) (map[string][]byte, error) {
	return s.secrets().ListSecrets(ctx)
}

func (s sealedStore) secrets() SecretStore {
	return sealedSecrets{SecretStore: s.Store, sealer: s.sealer, place: secretPlace}
}

// SecretStore keeps named server secrets. Auth's KeyStore is one; sync's store is another,
// whose secrets (the cursor key) cmd/api encrypts with SealedSecrets and ResealSecrets, so
// that every secret at rest is sealed here, in one way.
type SecretStore interface {
	// Secret returns the secret called name, storing candidate first when there is none.
	Secret(ctx context.Context, name string, candidate []byte) ([]byte, error)
	// ListSecrets returns every secret by name.
	ListSecrets(ctx context.Context) (map[string][]byte, error)
	// ReplaceSecret sets the secret called name to value if it is still old: not found
	// when absent, conflict when it is not old.
	ReplaceSecret(ctx context.Context, name string, old, value []byte) error
}

// secretPlace is where auth's own secrets are sealed: "secret:<name>".
const secretPlace = "secret"

// SealedSecrets returns store with the secrets it keeps encrypted at rest by sealer, as
// Sealed does for auth's own: the secret called name is sealed in the place
// "<place>:<name>" (so that a value does not decrypt in another store or under another
// name). Secret and ListSecrets see plaintext, and read a value stored in plaintext before
// encryption existed as it is (ResealSecrets encrypts it); a value sealed with a master key
// sealer does not hold fails with tideline.ErrWrongMasterKey. ReplaceSecret is the store's
// own and takes stored (sealed) values.
func SealedSecrets(store SecretStore, sealer *tideline.Sealer, place string) SecretStore {
	return sealedSecrets{SecretStore: store, sealer: sealer, place: place}
}

type sealedSecrets struct {
	SecretStore
	sealer *tideline.Sealer
	place  string
}

func (s sealedSecrets) Secret(ctx context.Context, name string, candidate []byte) ([]byte, error) {
	stored, err := s.SecretStore.Secret(ctx, name, s.sealer.Seal(secretLabel(s.place, name), candidate))
	if err != nil {
		return nil, err
	}
	return s.sealer.Open(secretLabel(s.place, name), stored)
}

func (s sealedSecrets) ListSecrets(ctx context.Context) (map[string][]byte, error) {
	all, err := s.SecretStore.ListSecrets(ctx)
	if err != nil {
		return nil, err
	}
	for name, v := range all {
		if all[name], err = s.sealer.Open(secretLabel(s.place, name), v); err != nil {
			return nil, err
		}
	}
	return all, nil
}

// ResealResult counts what Reseal rewrote.
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

// reseal rewrites stored, sealed under label, with sealer's current key through replace
// unless it is sealed with that key already, and counts it.
func (r *ResealResult) reseal(sealer *tideline.Sealer, label string, stored []byte, replace func(sealed []byte) error) error {
	if tideline.SealedKeyID(stored) == sealer.KeyID() {
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
	if tideline.IsSealed(stored) {
		r.Rekeyed++
	} else {
		r.Plaintext++
	}
	return nil
}

// Reseal encrypts with sealer's current master key every private signing key and server
// secret of store (the engine's own store, not a Sealed one) that is not sealed with it:
// plaintext values and values sealed with an older key that sealer holds. Each rewrite is
// conditional on the stored value being the one read, so a concurrent writer is never
// overwritten. It is idempotent: after a crash, run it again.
func Reseal(ctx context.Context, store KeyStore, sealer *tideline.Sealer) (ResealResult, error) {
	var res ResealResult
	keys, err := store.ListSigningKeys(ctx)
	if err != nil {
		return res, err
	}
	for _, k := range keys {
		if err := res.reseal(sealer, signingKeyLabel(k.ID), k.PrivateKey, func(sealed []byte) error {
			return store.ReplaceSigningKey(ctx, k.ID, k.PrivateKey, sealed)
		}); err != nil {
			return res, err
		}
	}
	more, err := ResealSecrets(ctx, store, secretPlace, sealer)
	res.Add(more)
	return res, err
}

// ResealSecrets is Reseal for the secrets of store (the engine's own store, not a sealed
// one) that SealedSecrets seals under place.
func ResealSecrets(ctx context.Context, store SecretStore, place string, sealer *tideline.Sealer) (ResealResult, error) {
	var res ResealResult
	secrets, err := store.ListSecrets(ctx)
	if err != nil {
		return res, err
	}
	for name, v := range secrets {
		if err := res.reseal(sealer, secretLabel(place, name), v, func(sealed []byte) error {
			return store.ReplaceSecret(ctx, name, v, sealed)
		}); err != nil {
			return res, err
		}
	}
	return res, nil
}

// Unsealed counts the private signing keys and server secrets of store (the engine's own)
// that are stored in plaintext.
func Unsealed(ctx context.Context, store KeyStore) (int, error) {
	keys, err := store.ListSigningKeys(ctx)
	if err != nil {
		return 0, err
	}
	n, err := UnsealedSecrets(ctx, store)
	if err != nil {
		return 0, err
	}
	for _, k := range keys {
		if !tideline.IsSealed(k.PrivateKey) {
			n++
		}
	}
	return n, nil
}

// UnsealedSecrets counts the secrets of store (the engine's own) stored in plaintext.
func UnsealedSecrets(ctx context.Context, store SecretStore) (int, error) {
	secrets, err := store.ListSecrets(ctx)
	if err != nil {
		return 0, err
	}
	n := 0
	for _, v := range secrets {
		if !tideline.IsSealed(v) {
			n++
		}
	}
	return n, nil
}
