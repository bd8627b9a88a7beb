package httpapi_test

import (
	"maps"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/tideline-dev/tideline"
	"github.com/tideline-dev/tideline/console"
)

// TestRoutesMatchSpec fails when the server serves a route that openapi.yaml lacks, or the
// spec has an operation that the server does not serve.
func TestRoutesMatchSpec(t *testing.T) {
	t.Parallel()
	doc, err := openapi3.NewLoader().LoadFromData(tideline.OpenAPI)
	if err != nil {
		t.Fatal(err)
	}
	param := regexp.MustCompile(`\{([^}]+)\}`)
	spec := map[string]bool{}
	for path, item := range doc.Paths.Map() {
		for method := range item.Operations() {
			spec[method+" "+param.ReplaceAllString(path, ":$1")] = true
		}
	}
	served := map[string]bool{}
	for _, r := range newAPI(t, nil).srv.Routes() {
		if r.Path == console.Prefix || strings.HasPrefix(r.Path, console.Prefix+"/") {
			continue // the admin console: pages for browsers, not API routes
		}
		served[r.Method+" "+r.Path] = true
	}
	var missing, extra []string
	for r := range spec {
		if !served[r] {
			missing = append(missing, r)
		}
	}
	for r := range served {
		if !spec[r] {
			extra = append(extra, r)
		}
	}
	if len(missing)+len(extra) > 0 {
		t.Fatalf("routes and openapi.yaml disagree:\n in the spec, not served: %s\n served, not in the spec: %s",
			strings.Join(slices.Sorted(slices.Values(missing)), ", "), strings.Join(slices.Sorted(slices.Values(extra)), ", "))
	}
	if len(served) != len(spec) || len(served) == 0 {
		t.Fatalf("served %v", slices.Sorted(maps.Keys(served)))
	}
}
