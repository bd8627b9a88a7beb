package tideline_test

import (
	"os/exec"
	"slices"
	"strings"
	"testing"
)

const module = "github.com/tideline-dev/tideline"

// layout is the import rule of every package (DESIGN.md section 2): the module's packages
// it may import, and the third-party modules it must not. cmd/api may import anything.
var layout = map[string]struct {
	mayImport []string // module packages (relative; "" is the root)
	forbidden []string // third-party import path prefixes
}{
	"":                 {forbidden: []string{"*"}}, // the standard library only
	"auth":             {mayImport: []string{""}, forbidden: driversAndFrameworks},
	"auth/authtest":    {mayImport: []string{""}, forbidden: driversAndFrameworks},
	"auth/firebase":    {mayImport: []string{"", "auth"}, forbidden: without(driversAndFrameworks, firebase)},
	"sync":             {mayImport: []string{""}, forbidden: driversAndFrameworks},
	"push":             {mayImport: []string{""}, forbidden: driversAndFrameworks},
	"push/fcm":         {mayImport: []string{"", "push"}, forbidden: without(driversAndFrameworks, firebase)},
	"push/fcm/fcmtest": {mayImport: []string{"", "push"}, forbidden: driversAndFrameworks},
	"store/sqlite":     {mayImport: []string{"", "auth", "sync", "push"}, forbidden: without(driversAndFrameworks, sqliteDriver)},
	"store/mongo":      {mayImport: []string{"", "auth", "sync", "push"}, forbidden: without(driversAndFrameworks, mongoDriver)},
	"store/storetest":  {mayImport: []string{"", "auth", "sync", "push"}, forbidden: driversAndFrameworks},
	"store/enginetest": {mayImport: []string{"", "auth", "sync", "push", "store/sqlite", "store/mongo", "store/storetest"}, forbidden: driversAndFrameworks},
	"httpapi":          {mayImport: []string{"", "auth", "sync", "push", "httpapi/oapi"}, forbidden: without(driversAndFrameworks, gin, ginContrib)},
	"httpapi/oapi":     {forbidden: without(driversAndFrameworks, gin)},
	"console":          {mayImport: []string{"", "auth", "push", "sync"}, forbidden: driversAndFrameworks},
	"app":              {mayImport: []string{"", "auth", "auth/firebase", "sync", "push", "push/fcm", "store/sqlite", "store/mongo", "httpapi", "console"}},
	"app/apptest":      {mayImport: []string{"", "app", "auth", "console", "internal/testkit", "store/enginetest", "store/storetest"}},
	"cmd/api":          {mayImport: []string{"*"}},
	"internal/testkit": {forbidden: []string{"*"}}, // test helpers: the standard library only
	"cmd/loadgen":      {},                         // a protocol-level client: it imports no module package
}

const (
	gin          = "github.com/gin-gonic/gin"
	ginContrib   = "github.com/gin-contrib/"
	sqliteDriver = "modernc.org/sqlite"
	mongoDriver  = "go.mongodb.org/mongo-driver"
	firebase     = "firebase.google.com/go"
)

var driversAndFrameworks = []string{gin, ginContrib, sqliteDriver, mongoDriver, firebase}

func without(list []string, drop ...string) []string {
	return slices.DeleteFunc(slices.Clone(list), func(s string) bool { return slices.Contains(drop, s) })
}

// TestImportRules fails when a package imports what DESIGN.md section 2 does not allow,
// or when a package exists that the rules above do not cover.
func TestImportRules(t *testing.T) {
	out, err := exec.Command("go", "list", "-f", `{{.ImportPath}}{{range .Imports}} {{.}}{{end}}`, module+"/...").CombinedOutput()
	if err != nil {
		t.Fatalf("go list: %v\n%s", err, out)
	}
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		fields := strings.Fields(line)
		pkg := strings.TrimPrefix(strings.TrimPrefix(fields[0], module), "/")
		if strings.HasPrefix(pkg, "sdk/") {
			for _, imp := range fields[1:] {
				if strings.HasPrefix(imp, module) && !strings.HasPrefix(imp, module+"/sdk/") {
					t.Errorf("%s imports %s: SDKs import no server package", pkg, imp)
				}
			}
			continue
		}
		rule, ok := layout[pkg]
		if !ok {
			t.Errorf("package %q is not in the layout of DESIGN.md section 2; add it to layout_test.go with its rule", pkg)
			continue
		}
		for _, imp := range fields[1:] {
			if rel, internal := strings.CutPrefix(imp, module); internal {
				rel = strings.TrimPrefix(rel, "/")
				if !slices.Contains(rule.mayImport, "*") && !slices.Contains(rule.mayImport, rel) {
					t.Errorf("%s imports %s, which DESIGN.md section 2 does not allow", displayName(pkg), displayName(rel))
				}
				continue
			}
			if !strings.Contains(strings.Split(imp, "/")[0], ".") {
				continue // the standard library
			}
			for _, f := range rule.forbidden {
				if f == "*" || strings.HasPrefix(imp, f) {
					t.Errorf("%s imports %s, which DESIGN.md section 2 keeps out of it", displayName(pkg), imp)
				}
			}
		}
	}
}

func displayName(rel string) string {
	if rel == "" {
		return "the root package"
	}
	return rel
}
