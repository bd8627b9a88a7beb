// Package tideline holds what every part of Tideline shares: the Error type and its stable
// codes, ID generation, the injectable Clock, the build version and the OpenAPI document.
//
// It imports only the standard library. Features (auth, sync, push) build on it, the storage
// engines (store/sqlite, store/mongo) implement the features' store interfaces, httpapi
// exposes the features over HTTP, and cmd/api wires them together. See docs/architecture.md.
package tideline

import _ "embed"

// OpenAPI is the OpenAPI document (openapi.yaml at the repository root) the HTTP API is
// generated from and served with, byte for byte.
//
//go:embed openapi.yaml
var OpenAPI []byte

// Version is the server's version, set at build time with
// -ldflags "-X github.com/tideline-dev/tideline.Version=v1.2.3". Builds without it report
// "dev".
var Version = "dev"
