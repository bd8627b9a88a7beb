package tideline

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"testing"
)

func TestSealer(t *testing.T) {
	t.Parallel()
	k1, k2 := NewMasterKey(), NewMasterKey()
	s := NewSealer(k1)
	v := s.Seal("secret:a", []byte("hello"))
	if !IsSealed(v) || SealedKeyID(v) != k1.ID() || bytes.Contains(v, []byte("hello")) {
		t.Fatalf("sealed value %x", v)
	}
	if w := s.Seal("secret:a", []byte("hello")); bytes.Equal(v, w) {
		t.Fatal("two seals of the same value are equal: the nonce is not random")
	}
	if got, err := s.Open("secret:a", v); err != nil || string(got) != "hello" {
		t.Fatalf("Open = %q, %v", got, err)
	}
	if _, err := s.Open("secret:b", v); !errors.Is(err, ErrWrongMasterKey) {
		t.Fatalf("Open under another label: %v", err)
	}
	tampered := bytes.Clone(v)
	tampered[len(tampered)-1] ^= 1
	if _, err := s.Open("secret:a", tampered); !errors.Is(err, ErrWrongMasterKey) {
		t.Fatalf("Open of an altered value: %v", err)
	}
	if _, err := NewSealer(k2).Open("secret:a", v); !errors.Is(err, ErrWrongMasterKey) {
		t.Fatalf("Open with another key: %v", err)
	}
	if got, err := NewSealer(k2, k1).Open("secret:a", v); err != nil || string(got) != "hello" {
		t.Fatalf("Open with the old key held: %q, %v", got, err)
	}
	if got, err := s.Open("secret:a", []byte("legacy plaintext")); err != nil || string(got) != "legacy plaintext" {
		t.Fatalf("Open of a plaintext value: %q, %v", got, err)
	}
}

func TestMasterKeyFile(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "master.key")
	k := NewMasterKey()
	if err := WriteMasterKeyFile(path, k); err != nil {
		t.Fatal(err)
	}
	if st, _ := os.Stat(path); st.Mode().Perm() != 0o600 {
		t.Fatalf("mode %v, want 0600", st.Mode().Perm())
	}
	if err := WriteMasterKeyFile(path, NewMasterKey()); err == nil {
		t.Fatal("an existing key file was replaced")
	}
	got, err := ReadMasterKeyFile(path)
	if err != nil || len(got) != 1 || got[0] != k {
		t.Fatalf("read back: %v", err)
	}
	k2 := NewMasterKey()
	if keys, err := ParseMasterKeys(k2.String() + ", " + k.String() + "\n"); err != nil || len(keys) != 2 || keys[0] != k2 || keys[1] != k {
		t.Fatalf("ParseMasterKeys of two keys: %v", err)
	}
	if _, err := ParseMasterKeys(k.String() + ",c2hvcnQ="); err == nil {
		t.Fatal("a list with a 5-byte key was accepted")
	}
	if _, err := ParseMasterKey("c2hvcnQ="); err == nil {
		t.Fatal("a 5-byte key was accepted")
	}
	if _, err := ParseMasterKey("not base64!"); err == nil {
		t.Fatal("a malformed key was accepted")
	}
}
