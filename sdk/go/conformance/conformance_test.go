package conformance

import (
	"bytes"
	"io/fs"
	"slices"
	"strings"
	"testing"

	"github.com/santhosh-tekuri/jsonschema/v6"
	"github.com/tideline-dev/tideline/sdk/core"
)

// TestScenarios runs every scenario on the SDK's own SQLite (modernc.org/sqlite, the
// newest version of the matrix; sdk/core/matrix runs the older ones).
func TestScenarios(t *testing.T) { Run(t, nil) }

// TestScenariosMatchSchema validates every scenario file against scenario.schema.json.
func TestScenariosMatchSchema(t *testing.T) {
	raw, err := core.Scenarios.ReadFile("conformance/scenario.schema.json")
	if err != nil {
		t.Fatal(err)
	}
	doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(raw))
	if err != nil {
		t.Fatal(err)
	}
	c := jsonschema.NewCompiler()
	if err := c.AddResource("scenario.schema.json", doc); err != nil {
		t.Fatal(err)
	}
	schema, err := c.Compile("scenario.schema.json")
	if err != nil {
		t.Fatal(err)
	}
	files, _ := fs.Glob(core.Scenarios, "conformance/[0-9]*.json")
	for _, f := range files {
		b, _ := core.Scenarios.ReadFile(f)
		inst, err := jsonschema.UnmarshalJSON(bytes.NewReader(b))
		if err != nil {
			t.Errorf("%s: %v", f, err)
			continue
		}
		if err := schema.Validate(inst); err != nil {
			t.Errorf("%s: %v", f, err)
		}
	}
	// The schema must refuse what the runner would not understand.
	bad := `{"name":"x","description":"x","covers":["push"],"config":{"clientId":"c","session":null,"clock":{"startMs":0,"stepMs":0},"pullLimit":1,"push":{"maxMutations":1,"maxBytes":1},"collections":null},"steps":[{"do":"expectView","collection":"t","docs":{},"pending":{},"subset":true}]}`
	inst, _ := jsonschema.UnmarshalJSON(strings.NewReader(bad))
	if schema.Validate(inst) == nil {
		t.Error("a step with an unknown key validates")
	}
}

// TestScenariosCover: every receipt status and every error reaction of docs/sdk-core.md
// has a scenario, and there are at least 30.
func TestScenariosCover(t *testing.T) {
	all, err := Load()
	if err != nil {
		t.Fatal(err)
	}
	if len(all) < 30 {
		t.Errorf("%d scenarios, want at least 30", len(all))
	}
	covered := map[string]bool{}
	for _, sc := range all {
		for _, c := range sc.Covers {
			covered[c] = true
		}
	}
	for _, want := range []string{"receipt:applied", "receipt:merged", "receipt:conflict", "receipt:rejected", "receipt:duplicate",
		"receipt:hlcClamped", "receipt:local-too-large", "error:network", "error:400", "error:401", "error:403", "error:409",
		"error:410", "error:invalid_cursor", "error:413", "error:429", "error:5xx", "error:retry-after", "realtime",
		"two-processes", "user-binding", "sign-out", "clear", "migration", "batching", "hlc", "numbers", "queries", "watch",
		"attachment:upload", "attachment:resume", "attachment:cache", "attachment:pin", "attachment:cancel", "attachment:access-lost",
		"attachment:refused", "attachment:download-resume"} {
		if !covered[want] {
			t.Errorf("no scenario covers %s", want)
		}
	}
	names := slices.Sorted(func(yield func(string) bool) {
		for n := range all {
			if !yield(n) {
				return
			}
		}
	})
	t.Logf("%d scenarios: %v", len(names), names)
}
