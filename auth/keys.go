package auth

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/x509"
	"encoding/base64"
	"fmt"
	"sync"
	"time"

	"github.com/tideline-dev/tideline"
)

// keyring holds the access-token signing keys of the store in memory. The newest
// unretired key signs; every key that may still have unexpired tokens verifies. Nodes
// sharing a store converge: each reloads the keys every reloadEvery, and at once (at most
// every minReload) when a token names a kid it does not know.
type keyring struct {
	store     KeyStore
	clock     tideline.Clock
	accessTTL time.Duration

	mu       sync.RWMutex
	signer   *signingKey
	verify   map[string]ed25519.PublicKey
	all      []SigningKey
	loadedAt time.Time
	forcedAt time.Time // last reload for an unknown kid, successful or not
}

type signingKey struct {
	id  string
	key ed25519.PrivateKey
}

const (
	reloadEvery = time.Minute
	minReload   = 5 * time.Second
)

// load reads the keys, creating the first one when the store has none that signs.
func (k *keyring) load(ctx context.Context) error {
	keys, err := k.store.ListSigningKeys(ctx)
	if err != nil {
		return err
	}
	if activeKey(keys) == nil {
		if _, err := k.create(ctx); err != nil {
			return err
		}
		if keys, err = k.store.ListSigningKeys(ctx); err != nil {
			return err
		}
	}
	return k.install(keys)
}

// activeKey is the newest unretired key (keys are oldest first), or nil.
func activeKey(keys []SigningKey) *SigningKey {
	for i := len(keys) - 1; i >= 0; i-- {
		if keys[i].RetiredAt.IsZero() {
			return &keys[i]
		}
	}
	return nil
}

// create makes a new Ed25519 key and stores it. Nodes creating keys at the same moment
// make several active keys; the newest signs everywhere once they reload.
func (k *keyring) create(ctx context.Context) (SigningKey, error) {
	pub, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		return SigningKey{}, err
	}
	privDER, err := x509.MarshalPKCS8PrivateKey(priv)
	if err != nil {
		return SigningKey{}, err
	}
	pubDER, err := x509.MarshalPKIXPublicKey(pub)
	if err != nil {
		return SigningKey{}, err
	}
	key := SigningKey{ID: tideline.NewID(), Algorithm: "EdDSA", PrivateKey: privDER, PublicKey: pubDER, CreatedAt: k.clock.Now()}
	return key, k.store.CreateSigningKey(ctx, key)
}

// install makes keys the keyring's keys.
func (k *keyring) install(keys []SigningKey) error {
	now := k.clock.Now()
	verify := map[string]ed25519.PublicKey{}
	for _, key := range keys {
		if !key.RetiredAt.IsZero() && now.After(key.RetiredAt.Add(k.accessTTL+time.Minute)) {
			continue // every token it signed has expired
		}
		pub, err := x509.ParsePKIXPublicKey(key.PublicKey)
		if err != nil {
			return fmt.Errorf("signing key %s: %w", key.ID, err)
		}
		ed, ok := pub.(ed25519.PublicKey)
		if !ok {
			return fmt.Errorf("signing key %s is not Ed25519", key.ID)
		}
		verify[key.ID] = ed
	}
	active := activeKey(keys)
	if active == nil {
		return fmt.Errorf("no active signing key")
	}
	priv, err := x509.ParsePKCS8PrivateKey(active.PrivateKey)
	if err != nil {
		return fmt.Errorf("signing key %s: %w", active.ID, err)
	}
	ed, ok := priv.(ed25519.PrivateKey)
	if !ok {
		return fmt.Errorf("signing key %s is not Ed25519", active.ID)
	}
	k.mu.Lock()
	defer k.mu.Unlock()
	k.signer, k.verify, k.all, k.loadedAt = &signingKey{id: active.ID, key: ed}, verify, keys, now
	return nil
}

// refresh reloads the keys when they are older than reloadEvery, or when force is set (a
// token names an unknown kid) and the last forced reload is older than minReload: forged
// kids cannot make every request read the store, yet a node that loaded its keys a moment
// before a rotation learns the new key from the first token signed with it.
func (k *keyring) refresh(ctx context.Context, force bool) error {
	now := k.clock.Now()
	k.mu.Lock()
	due := now.Sub(k.loadedAt) >= reloadEvery
	if force && now.Sub(k.forcedAt) >= minReload {
		due, k.forcedAt = true, now
	}
	k.mu.Unlock()
	if !due {
		return nil
	}
	return k.load(ctx)
}

// signingKey returns the key that signs now.
func (k *keyring) current(ctx context.Context) (*signingKey, error) {
	if err := k.refresh(ctx, false); err != nil {
		return nil, err
	}
	k.mu.RLock()
	defer k.mu.RUnlock()
	return k.signer, nil
}

// publicKey returns the verifying key called kid, reloading once when it is unknown.
func (k *keyring) publicKey(ctx context.Context, kid string) (ed25519.PublicKey, bool) {
	lookup := func() (ed25519.PublicKey, bool) {
		k.mu.RLock()
		defer k.mu.RUnlock()
		pub, ok := k.verify[kid]
		return pub, ok
	}
	_ = k.refresh(ctx, false)
	if pub, ok := lookup(); ok {
		return pub, true
	}
	if err := k.refresh(ctx, true); err != nil {
		return nil, false
	}
	return lookup()
}

// rotate makes a new key active and retires the others; their tokens keep verifying until
// they expire. It returns the new key's id.
func (k *keyring) rotate(ctx context.Context) (string, error) {
	key, err := k.create(ctx)
	if err != nil {
		return "", err
	}
	if err := k.store.RetireSigningKeys(ctx, key.ID, k.clock.Now()); err != nil {
		return "", err
	}
	return key.ID, k.load(ctx)
}

// JWK is one public key in a JSON Web Key Set (RFC 7517; Ed25519 keys per RFC 8037).
type JWK struct {
	Kty string `json:"kty"`
	Crv string `json:"crv"`
	X   string `json:"x"`
	Kid string `json:"kid"`
	Use string `json:"use"`
	Alg string `json:"alg"`
}

// jwks returns the keys that verify access tokens now, oldest first.
func (k *keyring) jwks(ctx context.Context) ([]JWK, error) {
	if err := k.refresh(ctx, false); err != nil {
		return nil, err
	}
	k.mu.RLock()
	defer k.mu.RUnlock()
	var out []JWK
	for _, key := range k.all {
		if pub, ok := k.verify[key.ID]; ok {
			out = append(out, JWK{Kty: "OKP", Crv: "Ed25519", X: base64.RawURLEncoding.EncodeToString(pub), Kid: key.ID, Use: "sig", Alg: "EdDSA"})
		}
	}
	return out, nil
}
