package oapi

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
)

// TestGeneratedCodeIsCurrent fails when oapi.gen.go is not what oapi-codegen makes of the
// current openapi.yaml: the spec changed and `go generate ./httpapi/oapi` was not run (or
// the generated file was edited by hand).
func TestGeneratedCodeIsCurrent(t *testing.T) {
	if testing.Short() {
		t.Skip("-short: regenerating takes a few seconds")
	}
	dir := t.TempDir()
	out := filepath.Join(dir, "oapi.gen.go")
	cfg, err := os.ReadFile("oapi-codegen.yaml")
	if err != nil {
		t.Fatal(err)
	}
	const line = "\noutput: oapi.gen.go\n"
	if !bytes.Contains(cfg, []byte(line)) {
		t.Fatalf("oapi-codegen.yaml lacks %q", line)
	}
	cfg = bytes.Replace(cfg, []byte(line), []byte("\noutput: "+out+"\n"), 1)
	if err := os.WriteFile(filepath.Join(dir, "config.yaml"), cfg, 0o600); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command("go", "tool", "oapi-codegen", "-config", filepath.Join(dir, "config.yaml"), "../../openapi.yaml")
	if msg, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("oapi-codegen: %v\n%s", err, msg)
	}
	want, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	got, err := os.ReadFile("oapi.gen.go")
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Fatal("httpapi/oapi/oapi.gen.go is stale: run `go generate ./httpapi/oapi` and commit the result")
	}
}
