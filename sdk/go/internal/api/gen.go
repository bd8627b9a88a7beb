// Package api is the Go SDK's HTTP client, generated from the root openapi.yaml by
// oapi-codegen. Do not edit api.gen.go by hand.
package api

//go:generate go tool oapi-codegen -config oapi-codegen.yaml ../../../../openapi.yaml
