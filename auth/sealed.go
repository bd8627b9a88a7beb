package auth

import (
	"context"

	"github.com/tideline-dev/tideline"
)

// Sealed returns store with the private key of every signing key it creates encrypted at
// rest by sealer. What it reads it decrypts, so the Service sees plaintext; a key stored in
// plaintext before encryption existed is read as it is (Reseal encrypts it). A key sealed
// with a master key sealer does not hold fails with tideline.ErrWrongMasterKey. (The server
// secrets are sealed by tideline.SealSecrets.)
//
// The engines store bytes and know nothing of this. ReplaceSigningKey is the store's own
// and takes stored (sealed) values; Reseal uses it on the store beneath.
func Sealed(store Store, sealer *tideline.Sealer) Store {
	return sealedStore{Store: store, sealer: sealer}
}

type sealedStore struct {
	Store
	sealer *tideline.Sealer
}

// signingKeyLabel is the additional data of a private key's encryption: a value only
// decrypts in its slot.
func signingKeyLabel(id string) string { return "signing-key:" + id }

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

// Reseal encrypts with sealer's current master key every private signing key of store (the
// engine's own store, not a Sealed one) that is not sealed with it: plaintext values and
// values sealed with an older key that sealer holds. Each rewrite is conditional on the
// stored value being the one read, so a concurrent writer is never overwritten. It is
// idempotent: after a crash, run it again.
func Reseal(ctx context.Context, store KeyStore, sealer *tideline.Sealer) (tideline.ResealResult, error) {
	var res tideline.ResealResult
	keys, err := store.ListSigningKeys(ctx)
	if err != nil {
		return res, err
	}
	for _, k := range keys {
		if err := res.Reseal(sealer, signingKeyLabel(k.ID), k.PrivateKey, func(sealed []byte) error {
			return store.ReplaceSigningKey(ctx, k.ID, k.PrivateKey, sealed)
		}); err != nil {
			return res, err
		}
	}
	return res, nil
}

// Unsealed counts the private signing keys of store (the engine's own) stored in plaintext.
func Unsealed(ctx context.Context, store KeyStore) (int, error) {
	keys, err := store.ListSigningKeys(ctx)
	if err != nil {
		return 0, err
	}
	n := 0
	for _, k := range keys {
		if !tideline.IsSealed(k.PrivateKey) {
			n++
		}
	}
	return n, nil
}
