package auth_test

import (
	"bytes"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/tideline-dev/tideline"
	"github.com/tideline-dev/tideline/auth"
	"github.com/tideline-dev/tideline/store/enginetest"
)

// storedValues are the private signing keys and server secrets as the engine stores them
// (the engine's own stores: the bytes of the rows or documents).
func storedValues(t *testing.T, raw enginetest.Engine) map[string][]byte {
	t.Helper()
	out := map[string][]byte{}
	keys, err := raw.Auth().ListSigningKeys(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	for _, k := range keys {
		out["signing-key:"+k.ID] = k.PrivateKey
	}
	secrets, err := raw.Secrets().ListSecrets(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	for name, v := range secrets {
		out["secret:"+name] = v
	}
	return out
}

// sealedNode starts a service on raw's stores sealed with keys, as the composition root
// does: the signing keys by auth.Sealed, the secrets by tideline.SealSecrets.
func sealedNode(t *testing.T, raw enginetest.Engine, cfg auth.Config, keys ...tideline.MasterKey) (*auth.Service, error) {
	t.Helper()
	sealer := tideline.NewSealer(keys[0], keys[1:]...)
	cfg.Secrets = tideline.SealSecrets(raw.Secrets(), sealer)
	svc, err := auth.New(t.Context(), auth.Sealed(raw.Auth(), sealer), cfg)
	if err == nil {
		t.Cleanup(svc.Close)
	}
	return svc, err
}

// reseal re-encrypts raw's signing keys and secrets with keys[0], as `api keys
// rotate-master` does.
func reseal(t *testing.T, raw enginetest.Engine, keys ...tideline.MasterKey) (tideline.ResealResult, error) {
	t.Helper()
	sealer := tideline.NewSealer(keys[0], keys[1:]...)
	res, err := auth.Reseal(t.Context(), raw.Auth(), sealer)
	if err != nil {
		return res, err
	}
	more, err := tideline.ResealSecrets(t.Context(), raw.Secrets(), sealer)
	res.Add(more)
	return res, err
}

// TestSealedAtRest: through auth.Sealed, the engine stores no private key or secret in
// plaintext, yet the service works; a wrong master key fails at start with a message naming
// both keys; Reseal moves everything to a new key (rotation) without logging anyone out.
func TestSealedAtRest(t *testing.T) {
	t.Parallel()
	eachEngine(t, func(t *testing.T, engine string) {
		e := newEnv(t, engine, nil) // a plaintext service first: only to get the config
		raw := enginetest.Open(t, engine, nil)
		oldKey, newKey := tideline.NewMasterKey(), tideline.NewMasterKey()
		svc, err := sealedNode(t, raw, e.cfg, oldKey)
		if err != nil {
			t.Fatal(err)
		}
		res, err := svc.SignUp(t.Context(), "ada@example.com", goodPassword, client)
		if err != nil {
			t.Fatal(err)
		}

		plain, err := tideline.SealSecrets(raw.Secrets(), tideline.NewSealer(oldKey)).ListSecrets(t.Context())
		if err != nil {
			t.Fatal(err)
		}
		stored := storedValues(t, raw)
		if len(stored) != 2 { // the signing key and the refresh rotation secret
			t.Fatalf("stored values: %d, want 2", len(stored))
		}
		for label, v := range stored {
			if !tideline.IsSealed(v) || tideline.SealedKeyID(v) != oldKey.ID() {
				t.Fatalf("%s is stored as %x: not sealed with key %s", label, v, oldKey.ID())
			}
		}
		if bytes.Contains(stored["secret:refresh-rotation"], plain["refresh-rotation"]) {
			t.Fatal("the stored secret contains its plaintext")
		}

		_, err = sealedNode(t, raw, e.cfg, newKey)
		if !errors.Is(err, tideline.ErrWrongMasterKey) || !strings.Contains(err.Error(), oldKey.ID()) || !strings.Contains(err.Error(), newKey.ID()) {
			t.Fatalf("start with another master key: %v; want ErrWrongMasterKey naming %s and %s", err, oldKey.ID(), newKey.ID())
		}

		// Rotation: with both keys, everything is re-encrypted with the new one.
		r, err := reseal(t, raw, newKey, oldKey)
		if err != nil || r != (tideline.ResealResult{Rekeyed: 2}) {
			t.Fatalf("Reseal to the new key: %+v, %v", r, err)
		}
		for label, v := range storedValues(t, raw) {
			if tideline.SealedKeyID(v) != newKey.ID() {
				t.Fatalf("after rotation, %s is sealed with %q, want %s", label, tideline.SealedKeyID(v), newKey.ID())
			}
		}
		if r, err := reseal(t, raw, newKey, oldKey); err != nil || r != (tideline.ResealResult{Current: 2}) {
			t.Fatalf("Reseal again: %+v, %v; want nothing to do", r, err)
		}
		rotated, err := sealedNode(t, raw, e.cfg, newKey)
		if err != nil {
			t.Fatalf("start with the new key only: %v", err)
		}
		if _, err := rotated.Authenticate(t.Context(), res.Tokens.AccessToken); err != nil {
			t.Fatalf("an access token from before the rotation: %v", err)
		}
		if _, err := rotated.Refresh(t.Context(), res.Tokens.RefreshToken, client); err != nil {
			t.Fatalf("a refresh token from before the rotation: %v", err)
		}
		if _, err := sealedNode(t, raw, e.cfg, oldKey); !errors.Is(err, tideline.ErrWrongMasterKey) {
			t.Fatalf("start with the old key after rotation: %v, want ErrWrongMasterKey", err)
		}
	})
}

// TestSealedLegacyPlaintext: values stored in plaintext before encryption existed still
// read through auth.Sealed, and Reseal encrypts them.
func TestSealedLegacyPlaintext(t *testing.T) {
	t.Parallel()
	eachEngine(t, func(t *testing.T, engine string) {
		raw := enginetest.Open(t, engine, nil)
		e := newEnv(t, engine, nil)
		e.cfg.Secrets = raw.Secrets()
		old, err := auth.New(t.Context(), raw.Auth(), e.cfg) // the old way: no encryption
		if err != nil {
			t.Fatal(err)
		}
		defer old.Close()
		res, err := old.SignUp(t.Context(), "ada@example.com", goodPassword, client)
		if err != nil {
			t.Fatal(err)
		}
		unsealed := func() int {
			t.Helper()
			n, err := auth.Unsealed(t.Context(), raw.Auth())
			m, err2 := tideline.UnsealedSecrets(t.Context(), raw.Secrets())
			if err != nil || err2 != nil {
				t.Fatal(err, err2)
			}
			return n + m
		}
		if n := unsealed(); n != 2 {
			t.Fatalf("plaintext values before: %d; want 2", n)
		}
		key := tideline.NewMasterKey()
		svc, err := sealedNode(t, raw, e.cfg, key)
		if err != nil {
			t.Fatalf("start on plaintext values: %v", err)
		}
		if _, err := svc.Authenticate(t.Context(), res.Tokens.AccessToken); err != nil {
			t.Fatalf("a token signed with the plaintext key: %v", err)
		}
		if r, err := reseal(t, raw, key); err != nil || r != (tideline.ResealResult{Plaintext: 2}) {
			t.Fatalf("Reseal: %+v, %v; want 2 plaintext values sealed", r, err)
		}
		if n := unsealed(); n != 0 {
			t.Fatalf("plaintext values after: %d; want 0", n)
		}
		again, err := sealedNode(t, raw, e.cfg, key)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := again.Refresh(t.Context(), res.Tokens.RefreshToken, client); err != nil {
			t.Fatalf("a refresh token from before sealing: %v", err)
		}
	})
}

// TestSealedRollingRotation follows the rotation of the master key on several nodes with
// no downtime (docs/operations.md): every node reads with both keys and encrypts with the
// old one, the values are re-encrypted with the new one, then the nodes encrypt with the
// new one; at no step does a node fail to read or sign.
func TestSealedRollingRotation(t *testing.T) {
	t.Parallel()
	eachEngine(t, func(t *testing.T, engine string) {
		e := newEnv(t, engine, nil)
		raw := enginetest.Open(t, engine, nil)
		oldKey, newKey := tideline.NewMasterKey(), tideline.NewMasterKey()
		node := func(keys ...tideline.MasterKey) *auth.Service {
			t.Helper()
			svc, err := sealedNode(t, raw, e.cfg, keys...)
			if err != nil {
				t.Fatal(err)
			}
			return svc
		}
		a := node(oldKey)
		res, err := a.SignUp(t.Context(), "ada@example.com", goodPassword, client)
		if err != nil {
			t.Fatal(err)
		}
		// Step 1: the nodes restart one by one, reading both keys, still encrypting with the
		// old one.
		b := node(oldKey, newKey)
		// Step 2: `api keys rotate-master`.
		if _, err := reseal(t, raw, newKey, oldKey); err != nil {
			t.Fatal(err)
		}
		e.clock.Advance(2 * time.Minute) // every node reloads its signing keys
		if _, err := b.Refresh(t.Context(), res.Tokens.RefreshToken, client); err != nil {
			t.Fatalf("a node with both keys after the re-encryption: %v", err)
		}
		// A node still on step 1 makes a signing key (encrypted with the old key) ...
		kid, err := b.RotateSigningKey(t.Context(), "test", client)
		if err != nil {
			t.Fatal(err)
		}
		// Step 3: the nodes restart one by one encrypting with the new key, still reading
		// the old; they read that key too, and a second rotate-master moves it.
		c := node(newKey, oldKey)
		signed, err := c.SignUp(t.Context(), "grace@example.com", goodPassword, client)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := b.Authenticate(t.Context(), signed.Tokens.AccessToken); err != nil {
			t.Fatalf("a token signed by a step-3 node, checked by a step-1 node: %v", err)
		}
		if r, err := reseal(t, raw, newKey, oldKey); err != nil || r.Rekeyed != 1 {
			t.Fatalf("second Reseal: %+v, %v; want the signing key %s re-encrypted", r, err, kid)
		}
		// Step 4: the old key can go.
		d := node(newKey)
		if _, err := d.Authenticate(t.Context(), signed.Tokens.AccessToken); err != nil {
			t.Fatalf("a node with the new key only: %v", err)
		}
	})
}
