package auth_test

import (
	"bytes"
	"errors"
	"testing"

	"github.com/tideline-dev/tideline"
	"github.com/tideline-dev/tideline/auth"
)

// TestSealedSecrets: the secrets of another store (sync's, in cmd/api) are sealed in their
// own place: they read back as they were, do not decrypt in another place, move to a new
// master key with ResealSecrets, and a plaintext one keeps its value when it is sealed.
func TestSealedSecrets(t *testing.T) {
	t.Parallel()
	raw := openStore(t, "sqlite") // any SecretStore
	ctx := t.Context()
	oldKey, newKey := tideline.NewMasterKey(), tideline.NewMasterKey()

	if _, err := raw.Secret(ctx, "legacy", []byte("plain value")); err != nil {
		t.Fatal(err)
	}
	sealed := auth.SealedSecrets(raw, tideline.NewSealer(oldKey), "other")
	got, err := sealed.Secret(ctx, "cursor", []byte("candidate"))
	if err != nil || string(got) != "candidate" {
		t.Fatalf("Secret: %q, %v", got, err)
	}
	if legacy, err := sealed.Secret(ctx, "legacy", []byte("x")); err != nil || string(legacy) != "plain value" {
		t.Fatalf("a plaintext secret reads %q, %v; want it as it is", legacy, err)
	}
	if n, err := auth.UnsealedSecrets(ctx, raw); err != nil || n != 1 {
		t.Fatalf("UnsealedSecrets: %d, %v; want 1", n, err)
	}
	stored, _ := raw.ListSecrets(ctx)
	if v := stored["cursor"]; tideline.SealedKeyID(v) != oldKey.ID() || bytes.Contains(v, []byte("candidate")) {
		t.Fatalf("stored as %x", v)
	}
	if _, err := auth.Sealed(raw, tideline.NewSealer(oldKey)).ListSecrets(ctx); !errors.Is(err, tideline.ErrWrongMasterKey) {
		t.Fatalf("a value of place other read in auth's place: %v; want ErrWrongMasterKey", err)
	}

	res, err := auth.ResealSecrets(ctx, raw, "other", tideline.NewSealer(newKey, oldKey))
	if err != nil || res != (auth.ResealResult{Plaintext: 1, Rekeyed: 1}) {
		t.Fatalf("ResealSecrets: %+v, %v", res, err)
	}
	all, err := auth.SealedSecrets(raw, tideline.NewSealer(newKey), "other").ListSecrets(ctx)
	if err != nil || string(all["cursor"]) != "candidate" || string(all["legacy"]) != "plain value" {
		t.Fatalf("after ResealSecrets: %q, %v", all, err)
	}
	if n, err := auth.UnsealedSecrets(ctx, raw); err != nil || n != 0 {
		t.Fatalf("UnsealedSecrets after: %d, %v; want 0", n, err)
	}
}
