package main

import (
	"errors"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
)

// The Dart and Swift SDKs cannot be compiled on this project's machines (no toolchain
// installs here), so their syntax is checked by parsing: tree-sitter's Dart and Swift
// grammars (npm: web-tree-sitter with tree-sitter-wasms, pinned in treesitter/package.json
// and its lock file), run by Node. A parse is not a compile: it catches what a compiler's
// parser would refuse (a missing bracket, a stray token), not type errors.

// TestDartAndSwiftSyntax parses every .dart and .swift file under sdk/ and the golden files
// of the generator, and fails on any ERROR or MISSING node, naming its file and line.
func TestDartAndSwiftSyntax(t *testing.T) {
	check := syntaxChecker(t)
	var files []string
	for _, root := range []string{"../../sdk", "testdata/golden"} {
		err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
			if err != nil {
				return err
			}
			if d.IsDir() && (d.Name() == ".dart_tool" || d.Name() == ".build" || d.Name() == "build" || d.Name() == "node_modules") {
				return filepath.SkipDir
			}
			if ext := filepath.Ext(path); !d.IsDir() && (ext == ".dart" || ext == ".swift") {
				files = append(files, path)
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	// The generated files at least: an empty walk must not pass.
	for _, want := range []string{outputs.dartAPI, outputs.dartSQL, outputs.swiftAPI, outputs.swiftSQL} {
		if !slices.Contains(files, filepath.Join("../..", want)) {
			t.Fatalf("the walk did not find %s", want)
		}
	}
	out, err := check(files)
	if err != nil {
		t.Fatalf("syntax errors:\n%s", problems(out))
	}
	// Every file was parsed and passed: one "ok" line each.
	for _, f := range files {
		if !strings.Contains(out, "ok "+f+"\n") {
			t.Errorf("%s: not reported as parsed\n%s", f, out)
		}
	}
	t.Logf("%d Dart and Swift files parse", len(files))
}

// TestSyntaxCheckCatchesBrokenFiles proves the check: a Dart file and a Swift file each
// with one syntax error on line 4 must fail it, each reported with its file and line.
func TestSyntaxCheckCatchesBrokenFiles(t *testing.T) {
	check := syntaxChecker(t)
	out, err := check([]string{"testdata/broken/broken.dart", "testdata/broken/broken.swift", "testdata/golden/api.dart"})
	if err == nil {
		t.Fatalf("the check passed files with syntax errors:\n%s", out)
	}
	for _, want := range []string{"testdata/broken/broken.dart:4:", "testdata/broken/broken.swift:4:", "ok testdata/golden/api.dart"} {
		if !strings.Contains(out, want) {
			t.Errorf("the check's output lacks %q:\n%s", want, out)
		}
	}
}

// problems is the check's output without its "ok" lines.
func problems(out string) string {
	var lines []string
	for _, l := range strings.Split(out, "\n") {
		if l != "" && !strings.HasPrefix(l, "ok ") {
			lines = append(lines, l)
		}
	}
	return strings.Join(lines, "\n")
}

var npmInstall struct {
	once sync.Once
	err  error
	out  []byte
}

// syntaxChecker returns a function that runs treesitter/check.mjs over files, installing
// its npm packages (npm ci, from the lock file) the first time. It skips the test where
// Node is not installed.
func syntaxChecker(t *testing.T) func(files []string) (string, error) {
	t.Helper()
	node, err := exec.LookPath("node")
	if err != nil {
		t.Skip("node is not installed: the Dart and Swift syntax check needs Node.js 20 or later with npm")
	}
	dir, err := filepath.Abs("treesitter")
	if err != nil {
		t.Fatal(err)
	}
	npmInstall.once.Do(func() {
		if installed(dir) {
			return
		}
		cmd := exec.Command("npm", "ci", "--no-audit", "--no-fund", "--loglevel=error")
		cmd.Dir = dir
		npmInstall.out, npmInstall.err = cmd.CombinedOutput()
		if npmInstall.err == nil && !installed(dir) {
			npmInstall.err = errors.New("npm ci left the grammars missing")
		}
	})
	if npmInstall.err != nil {
		t.Fatalf("npm ci in %s: %v\n%s", dir, npmInstall.err, npmInstall.out)
	}
	return func(files []string) (string, error) {
		// --liftoff-only: V8's optimizing tier takes tens of seconds of CPU over the Swift
		// grammar's large parse functions and gains nothing for a few thousand lines.
		cmd := exec.Command(node, append([]string{"--liftoff-only", filepath.Join(dir, "check.mjs")}, files...)...)
		out, err := cmd.Output()
		var exit *exec.ExitError
		if errors.As(err, &exit) && exit.ExitCode() != 1 {
			t.Fatalf("check.mjs: %v\n%s%s", err, out, exit.Stderr)
		}
		return string(out), err
	}
}

// installed reports whether the pinned packages are in treesitter/node_modules.
func installed(dir string) bool {
	for _, f := range []string{"web-tree-sitter/tree-sitter.js", "tree-sitter-wasms/out/tree-sitter-dart.wasm", "tree-sitter-wasms/out/tree-sitter-swift.wasm"} {
		if _, err := os.Stat(filepath.Join(dir, "node_modules", f)); err != nil {
			return false
		}
	}
	return true
}
