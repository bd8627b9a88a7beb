// Command sdkgen writes the generated parts of the mobile SDKs: the HTTP transport of the
// Flutter (Dart) and Swift SDKs from openapi.yaml, and the client core's SQL and settings
// (sdk/core) as constants of each language. Its output is committed; a test fails when
// it is stale.
//
//	go generate ./cmd/sdkgen    (runs: go run . -root ../..)
package main

//go:generate go run . -root ../..

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"
)

// outputs are the files sdkgen writes, relative to the repository's root.
var outputs = struct{ dartAPI, dartSQL, swiftAPI, swiftSQL string }{
	dartAPI:  "sdk/flutter/lib/src/generated/api.dart",
	dartSQL:  "sdk/flutter/lib/src/generated/core_sql.dart",
	swiftAPI: "sdk/swift/Sources/Tideline/Generated/API.swift",
	swiftSQL: "sdk/swift/Sources/Tideline/Generated/CoreSQL.swift",
}

func main() {
	root := flag.String("root", ".", "the repository's root: openapi.yaml is read there and the files are written under it")
	flag.Parse()
	if err := writeAll(*root, *root); err != nil {
		fmt.Fprintln(os.Stderr, "sdkgen:", err)
		os.Exit(1)
	}
}

// generate makes every output file from the OpenAPI document spec and the client core.
func generate(spec []byte, c coreFiles) (map[string]string, error) {
	a, err := load(spec)
	if err != nil {
		return nil, err
	}
	dSQL, err := dartSQL(c)
	if err != nil {
		return nil, err
	}
	sSQL, err := swiftSQL(c)
	if err != nil {
		return nil, err
	}
	return map[string]string{
		outputs.dartAPI:  dart(a, "openapi.yaml"),
		outputs.dartSQL:  dSQL,
		outputs.swiftAPI: swift(a, "openapi.yaml"),
		outputs.swiftSQL: sSQL,
	}, nil
}

// writeAll generates from root's openapi.yaml and writes the files under out.
func writeAll(root, out string) error {
	spec, err := os.ReadFile(filepath.Join(root, "openapi.yaml"))
	if err != nil {
		return err
	}
	files, err := generate(spec, sdkCore())
	if err != nil {
		return err
	}
	for name, text := range files {
		path := filepath.Join(out, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			return err
		}
		if err := os.WriteFile(path, []byte(text), 0o644); err != nil {
			return err
		}
	}
	return nil
}
