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
func signingKeyLabel(id string) string { return "signing-key:" + id }
func secretLabel(name string) string   { return "secret:" + name }

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
	stored, err := s.Store.Secret(ctx, name, s.sealer.Seal(secretLabel(name), candidate))
	if err != nil {
		return nil, err
	}
	return s.sealer.Open(secretLabel(name), stored)
}

func (s sealedStore) ListSecrets(ctx context.Context) (map[string][]byte, error) {
	all, err := s.Store.ListSecrets(ctx)
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

// ResealResult counts what Reseal rewrote.
type ResealResult struct {
	// Plaintext values were stored before encryption existed; Rekeyed ones were sealed with
	// an older master key. Current ones were sealed with the current key already.
	Plaintext, Rekeyed, Current int
}

// Reseal encrypts with sealer's current master key every private signing key and server
// secret of store (the engine's own store, not a Sealed one) that is not sealed with it:
// plaintext values and values sealed with an older key that sealer holds. Each rewrite is
// conditional on the stored value being the one read, so a concurrent writer is never
// overwritten. It is idempotent: after a crash, run it again.
func Reseal(ctx context.Context, store KeyStore, sealer *tideline.Sealer) (ResealResult, error) {
	var res ResealResult
	reseal := func(label string, stored []byte, replace func(sealed []byte) error) error {
		if tideline.SealedKeyID(stored) == sealer.KeyID() {
			res.Current++
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
			res.Rekeyed++
		} else {
			res.Plaintext++
		}
		return nil
	}
	keys, err := store.ListSigningKeys(ctx)
	if err != nil {
		return res, err
	}
	for _, k := range keys {
		if err := reseal(signingKeyLabel(k.ID), k.PrivateKey, func(sealed []byte) error {
			return store.ReplaceSigningKey(ctx, k.ID, k.PrivateKey, sealed)
		}); err != nil {
			return res, err
		}
	}
	secrets, err := store.ListSecrets(ctx)
	if err != nil {
		return res, err
	}
	for name, v := range secrets {
		if err := reseal(secretLabel(name), v, func(sealed []byte) error {
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
	secrets, err := store.ListSecrets(ctx)
	if err != nil {
		return 0, err
	}
	n := 0
	for _, k := range keys {
		if !tideline.IsSealed(k.PrivateKey) {
			n++
		}
	}
	for _, v := range secrets {
		if !tideline.IsSealed(v) {
			n++
		}
	}
	return n, nil
}
