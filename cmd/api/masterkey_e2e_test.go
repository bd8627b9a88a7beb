package main

import (
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/tideline-dev/tideline"
	"github.com/tideline-dev/tideline/auth"
	"github.com/tideline-dev/tideline/store/sqlite"
	datasync "github.com/tideline-dev/tideline/sync"
)

// testMasterKeyEnv is the master key of the tests on MongoDB, which needs one. It is fixed
// so that a real MongoDB kept between runs (TIDELINE_TEST_MONGODB_URI) still opens.
const testMasterKeyEnv = "TIDELINE_MASTER_KEY=AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8="

// storedSecrets returns the private signing keys and server secrets of the embedded engine
// in dataDir as they are stored (the bytes of the rows).
func storedSecrets(t *testing.T, dataDir string) map[string][]byte {
	t.Helper()
	db, err := sqlite.Open(t.Context(), dataDir, sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	out := map[string][]byte{}
	keys, err := db.Auth().ListSigningKeys(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	for _, k := range keys {
		out["signing-key:"+k.ID] = k.PrivateKey
	}
	secrets, err := db.Secrets().ListSecrets(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	for name, v := range secrets {
		out["secret:"+name] = v
	}
	return out
}

// TestServeMasterKey: on a data directory written before secrets were encrypted, the server
// generates a key file (0600), says so, and encrypts the plaintext values; it refuses a wrong
// key and a missing key file with clear messages; `keys rotate-master` moves every secret to
// a new key, after which the server starts with the new key and not with the old one.
func TestServeMasterKey(t *testing.T) {
	dataDir := filepath.Join(t.TempDir(), "data")
	env := []string{"TIDELINE_AUTH_ARGON2_MEMORY=64KiB", "TIDELINE_DATA_DIR=" + dataDir}

	// An earlier version's data: a signing key and two secrets (auth's and sync's) in
	// plaintext.
	db, err := sqlite.Open(t.Context(), dataDir, sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	svc, err := auth.New(t.Context(), db.Auth(), auth.Config{Secrets: db.Secrets()})
	if err != nil {
		t.Fatal(err)
	}
	svc.Close()
	if _, err := datasync.New(t.Context(), db.Sync(), datasync.Config{Secrets: db.Secrets()}); err != nil {
		t.Fatal(err)
	}
	db.Close()

	p := startAPI(t, env, "--addr", "127.0.0.1:0")
	gen := p.waitFor("generated a master key to encrypt secrets at rest: back up this file apart from the data, since without it the stored secrets cannot be read")
	keyFile := filepath.Join(dataDir, "master.key")
	if gen["file"] != keyFile {
		t.Fatalf("generated key file %v, want %s", gen["file"], keyFile)
	}
	if n := p.waitFor("encrypted the secrets an earlier version stored in plaintext")["count"]; n != float64(3) {
		t.Fatalf("encrypted %v plaintext values at start, want 3", n)
	}
	p.waitFor("tideline listening")
	if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	if code := p.wait(); code != 0 {
		t.Fatalf("exit %d", code)
	}
	if st, err := os.Stat(keyFile); err != nil || st.Mode().Perm() != 0o600 {
		t.Fatalf("key file: %v %v, want mode 0600", st, err)
	}
	oldKeys, err := tideline.ReadMasterKeyFile(keyFile)
	if err != nil {
		t.Fatal(err)
	}
	oldKey := oldKeys[0]
	stored := storedSecrets(t, dataDir)
	if len(stored) != 4 { // the signing key, the refresh rotation, console CSRF and sync cursor secrets
		t.Fatalf("%d stored secrets, want 4: %v", len(stored), stored)
	}
	for label, v := range stored {
		if tideline.SealedKeyID(v) != oldKey.ID() {
			t.Fatalf("%s is stored as %x: not encrypted with the key file's key %s", label, v, oldKey.ID())
		}
	}

	// A wrong key, then a missing key file, stop the start with a message saying so.
	wrong := "TIDELINE_MASTER_KEY=" + tideline.NewMasterKey().String()
	if code, out := runBinary(t, append(env, wrong), "--addr", "127.0.0.1:0"); code != exitFailed || !strings.Contains(out, "wrong master key") || !strings.Contains(out, oldKey.ID()) {
		t.Fatalf("start with a wrong master key: exit %d\n%s", code, out)
	}
	kept := filepath.Join(t.TempDir(), "old.key")
	if err := os.Rename(keyFile, kept); err != nil {
		t.Fatal(err)
	}
	if code, out := runBinary(t, env, "--addr", "127.0.0.1:0"); code != exitFailed || !strings.Contains(out, "master.key is missing") {
		t.Fatalf("start without the key file: exit %d\n%s", code, out)
	}
	if _, err := os.Stat(keyFile); err == nil {
		t.Fatal("a new key file was generated for encrypted data")
	}

	// Rotation to a new key file, which the command creates.
	newKeyFile := filepath.Join(t.TempDir(), "new.key")
	if code, out := runBinary(t, env, "keys", "rotate-master", "--new-key-file", newKeyFile); code != exitFailed || !strings.Contains(out, "is missing") {
		t.Fatalf("rotate-master without the current key: exit %d\n%s", code, out)
	}
	code, out := runBinary(t, env, "keys", "rotate-master", "--master-key-file", kept, "--new-key-file", newKeyFile)
	if code != 0 || !strings.Contains(out, "re-encrypted 4 secrets") {
		t.Fatalf("rotate-master: exit %d\n%s", code, out)
	}
	newKeys, err := tideline.ReadMasterKeyFile(newKeyFile)
	if err != nil {
		t.Fatal(err)
	}
	newKey := newKeys[0]
	for label, v := range storedSecrets(t, dataDir) {
		if tideline.SealedKeyID(v) != newKey.ID() {
			t.Fatalf("after rotation %s is encrypted with %q, want %s", label, tideline.SealedKeyID(v), newKey.ID())
		}
	}
	if code, out := runBinary(t, env, "--addr", "127.0.0.1:0", "--master-key-file", kept); code != exitFailed || !strings.Contains(out, "wrong master key") {
		t.Fatalf("start with the old key after rotation: exit %d\n%s", code, out)
	}
	p = startAPI(t, env, "--addr", "127.0.0.1:0", "--master-key-file", newKeyFile)
	base := p.waitFor("tideline listening")["addr"].(string)
	if code, body := getJSON(t, base+"/readyz"); code != 200 {
		t.Fatalf("/readyz with the new key: %d %v", code, body)
	}
	if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	if code := p.wait(); code != 0 {
		t.Fatalf("exit %d", code)
	}

	// Several keys (a rotation on several nodes): the first encrypts, all decrypt; the
	// embedded engine moves what it reads with the others to the first at start.
	third := tideline.NewMasterKey()
	p = startAPI(t, append(env, "TIDELINE_MASTER_KEY="+third.String()+","+newKey.String()), "--addr", "127.0.0.1:0")
	if n := p.waitFor("re-encrypted with the first master key the secrets encrypted with the others")["count"]; n != float64(4) {
		t.Fatalf("re-encrypted %v at start, want 4", n)
	}
	p.waitFor("tideline listening")
	if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	if code := p.wait(); code != 0 {
		t.Fatalf("exit %d", code)
	}
	for label, v := range storedSecrets(t, dataDir) {
		if tideline.SealedKeyID(v) != third.ID() {
			t.Fatalf("%s is encrypted with %q, want the first key %s", label, tideline.SealedKeyID(v), third.ID())
		}
	}
}
