package tideline_test

import (
	"bytes"
	"errors"
	"testing"

	"github.com/tideline-dev/tideline"
	"github.com/tideline-dev/tideline/store/enginetest"
)

// TestSealSecrets: through SealSecrets the secrets read back as they were and are stored
// sealed; a plaintext value (from before encryption) reads as it is; a value moved to
// another name does not decrypt; ResealSecrets moves everything to a new master key; and the
// cursor secret, which sync sealed under a label of its own before the engines kept one
// store, still opens.
func TestSealSecrets(t *testing.T) {
	t.Parallel()
	raw := enginetest.Open(t, enginetest.SQLite, nil).Secrets()
	ctx := t.Context()
	oldKey, newKey := tideline.NewMasterKey(), tideline.NewMasterKey()

	if _, err := raw.Secret(ctx, "legacy", []byte("plain value")); err != nil {
		t.Fatal(err)
	}
	// What sync stored before migration 6: sealed under "sync-secret:<name>".
	if _, err := raw.Secret(ctx, tideline.SecretCursor, tideline.NewSealer(oldKey).Seal("sync-secret:"+tideline.SecretCursor, []byte("cursor key"))); err != nil {
		t.Fatal(err)
	}
	sealed := tideline.SealSecrets(raw, tideline.NewSealer(oldKey))
	got, err := sealed.Secret(ctx, "console-csrf", []byte("candidate"))
	if err != nil || string(got) != "candidate" {
		t.Fatalf("Secret: %q, %v", got, err)
	}
	if legacy, err := sealed.Secret(ctx, "legacy", []byte("x")); err != nil || string(legacy) != "plain value" {
		t.Fatalf("a plaintext secret reads %q, %v; want it as it is", legacy, err)
	}
	if cursor, err := sealed.Secret(ctx, tideline.SecretCursor, []byte("x")); err != nil || string(cursor) != "cursor key" {
		t.Fatalf("the cursor secret sealed before the stores merged reads %q, %v", cursor, err)
	}
	if n, err := tideline.UnsealedSecrets(ctx, raw); err != nil || n != 1 {
		t.Fatalf("UnsealedSecrets: %d, %v; want 1", n, err)
	}
	stored, _ := raw.ListSecrets(ctx)
	if v := stored["console-csrf"]; tideline.SealedKeyID(v) != oldKey.ID() || bytes.Contains(v, []byte("candidate")) {
		t.Fatalf("stored as %x", v)
	}
	if _, err := raw.Secret(ctx, "copied", stored["console-csrf"]); err != nil {
		t.Fatal(err)
	}
	if _, err := sealed.ListSecrets(ctx); !errors.Is(err, tideline.ErrWrongMasterKey) {
		t.Fatalf("a sealed value copied to another name: %v; want ErrWrongMasterKey", err)
	}
	if err := raw.ReplaceSecret(ctx, "copied", stored["console-csrf"], []byte("plain copy")); err != nil {
		t.Fatal(err)
	}

	res, err := tideline.ResealSecrets(ctx, raw, tideline.NewSealer(newKey, oldKey))
	if err != nil || res != (tideline.ResealResult{Plaintext: 2, Rekeyed: 2}) {
		t.Fatalf("ResealSecrets: %+v, %v", res, err)
	}
	all, err := tideline.SealSecrets(raw, tideline.NewSealer(newKey)).ListSecrets(ctx)
	if err != nil || string(all["console-csrf"]) != "candidate" || string(all["legacy"]) != "plain value" || string(all[tideline.SecretCursor]) != "cursor key" {
		t.Fatalf("after ResealSecrets: %q, %v", all, err)
	}
	if n, err := tideline.UnsealedSecrets(ctx, raw); err != nil || n != 0 {
		t.Fatalf("UnsealedSecrets after: %d, %v; want 0", n, err)
	}
}
