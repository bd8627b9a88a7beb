package main

import (
	"flag"
	"os"
	"path/filepath"
	"testing"

	"github.com/google/go-cmp/cmp"
)

var update = flag.Bool("update", false, "rewrite testdata/golden from testdata/fixture.yaml")

// TestGeneratedSDKFilesAreCurrent fails when the committed Dart and Swift transports or
// SQL constants are not what openapi.yaml and sdk/core make now: the spec or the core
// changed and `go generate ./cmd/sdkgen` was not run, or a generated file was edited.
func TestGeneratedSDKFilesAreCurrent(t *testing.T) {
	dir := t.TempDir()
	if err := writeAll("../..", dir); err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{outputs.dartAPI, outputs.dartSQL, outputs.swiftAPI, outputs.swiftSQL} {
		want, err := os.ReadFile(filepath.Join(dir, name))
		if err != nil {
			t.Fatal(err)
		}
		got, err := os.ReadFile(filepath.Join("../..", name))
		if err != nil {
			t.Fatalf("%s: %v (run `go generate ./cmd/sdkgen`)", name, err)
		}
		if string(got) != string(want) {
			t.Errorf("%s is stale: run `go generate ./cmd/sdkgen` and commit the result", name)
		}
	}
}

// TestGolden generates the transports of testdata/fixture.yaml, a small spec with every
// shape the generator handles, and compares them with testdata/golden (go test -update
// rewrites them; review the diff).
func TestGolden(t *testing.T) {
	a := loadFixture(t)
	for name, got := range map[string]string{"api.dart": dart(a, "testdata/fixture.yaml"), "api.swift": swift(a, "testdata/fixture.yaml")} {
		path := filepath.Join("testdata/golden", name)
		if *update {
			if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
				t.Fatal(err)
			}
			continue
		}
		want, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(string(want), got); diff != "" {
			t.Errorf("%s differs from the golden file (-want +got; go test -update rewrites it):\n%s", name, diff)
		}
	}
}
