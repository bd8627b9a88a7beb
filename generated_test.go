package tideline_test

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
)

// TestGeneratedCodeIsCurrent fails when code generated from openapi.yaml by oapi-codegen
// (the server's httpapi/oapi, the Go SDK's HTTP client) is not what the current spec makes:
// the spec changed and `go generate` was not run, or the generated file was edited by hand.
func TestGeneratedCodeIsCurrent(t *testing.T) {
	t.Parallel()
	if testing.Short() {
		t.Skip("-short: regenerating takes a few seconds")
	}
	for _, g := range []struct{ dir, file string }{
		{"httpapi/oapi", "oapi.gen.go"},
		{"sdk/go/internal/api", "api.gen.go"},
	} {
		t.Run(g.dir, func(t *testing.T) {
			dir := t.TempDir()
			out := filepath.Join(dir, g.file)
			cfg, err := os.ReadFile(filepath.Join(g.dir, "oapi-codegen.yaml"))
			if err != nil {
				t.Fatal(err)
			}
			line := "\noutput: " + g.file + "\n"
			if !bytes.Contains(cfg, []byte(line)) {
				t.Fatalf("%s/oapi-codegen.yaml lacks %q", g.dir, line)
			}
			cfg = bytes.Replace(cfg, []byte(line), []byte("\noutput: "+out+"\n"), 1)
			if err := os.WriteFile(filepath.Join(dir, "config.yaml"), cfg, 0o600); err != nil {
				t.Fatal(err)
			}
			spec, err := filepath.Abs("openapi.yaml")
			if err != nil {
				t.Fatal(err)
			}
			// In the package's directory, as `go generate` runs it: the config's paths (user
			// templates) are relative to it.
			cmd := exec.Command("go", "tool", "oapi-codegen", "-config", filepath.Join(dir, "config.yaml"), spec)
			cmd.Dir = g.dir
			if msg, err := cmd.CombinedOutput(); err != nil {
				t.Fatalf("oapi-codegen: %v\n%s", err, msg)
			}
			want, err := os.ReadFile(out)
			if err != nil {
				t.Fatal(err)
			}
			got, err := os.ReadFile(filepath.Join(g.dir, g.file))
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(got, want) {
				t.Fatalf("%s/%s is stale: run `go generate ./%s` and commit the result", g.dir, g.file, g.dir)
			}
		})
	}
}
