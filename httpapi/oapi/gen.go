// Package oapi holds the Gin server interface, the strict handler layer and the wire types
// generated from the root openapi.yaml by oapi-codegen. Do not edit oapi.gen.go by hand.
package oapi

//go:generate go tool oapi-codegen -config oapi-codegen.yaml ../../openapi.yaml
