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
	"files":            {mayImport: []string{""}, forbidden: driversAndFrameworks},
	"store/sqlite":     {mayImport: []string{"", "auth", "sync", "push", "files"}, forbidden: without(driversAndFrameworks, sqliteDriver)},
	"store/mongo":      {mayImport: []string{"", "auth", "sync", "push", "files"}, forbidden: without(driversAndFrameworks, mongoDriver)},
	"store/storetest":  {mayImport: []string{"", "auth", "sync", "push", "files"}, forbidden: driversAndFrameworks},
	"store/enginetest": {mayImport: []string{"", "auth", "sync", "push", "files", "store/sqlite", "store/mongo", "store/storetest"}, forbidden: []string{gin, ginContrib, firebase}},
	"httpapi":          {mayImport: []string{"", "auth", "sync", "push", "files", "httpapi/oapi"}, forbidden: without(driversAndFrameworks, gin, ginContrib)},
	"httpapi/oapi":     {forbidden: without(driversAndFrameworks, gin)},
	"console":          {mayImport: []string{"", "auth", "push", "sync"}, forbidden: driversAndFrameworks},
	"app":              {mayImport: []string{"", "auth", "auth/firebase", "sync", "push", "push/fcm", "files", "store/sqlite", "store/mongo", "httpapi", "console"}},
	"app/apptest":      {mayImport: []string{"", "app", "auth", "console", "internal/testkit", "store/enginetest", "store/storetest"}},
	"cmd/api":          {mayImport: []string{"*"}},
	"internal/testkit": {forbidden: []string{"*"}},        // test helpers: the standard library only
	"cmd/loadgen":      {},                                // a protocol-level client: it imports no module package
	"cmd/sdkgen":       {mayImport: []string{"sdk/core"}}, // the SDKs' generator: openapi.yaml and the client core
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
// directly or through what it imports (as tailscale's deptest does), or when a package
// exists that the rules above do not cover. A module package may reach, transitively, only
// what the packages it may import may reach; and a third-party module kept out of a
// package is kept out of every module package it reaches. (What an allowed third-party
// module brings along, such as the BSON renderer gin ships, is that module's business. Go
// refuses import cycles by itself.)
func TestImportRules(t *testing.T) {
	t.Parallel()
	out, err := exec.Command("go", "list", "-f", `{{.ImportPath}}{{range .Imports}} {{.}}{{end}}|{{range .Deps}} {{.}}{{end}}`, module+"/...").CombinedOutput()
	if err != nil {
		t.Fatalf("go list: %v\n%s", err, out)
	}
	imports, deps := map[string][]string{}, map[string][]string{} // by package relative to the module
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		direct, all, _ := strings.Cut(line, "|")
		fields := strings.Fields(direct)
		pkg := relative(fields[0])
		imports[pkg], deps[pkg] = fields[1:], strings.Fields(all)
	}
	for pkg := range imports {
		if strings.HasPrefix(pkg, "sdk/") {
			for _, imp := range deps[pkg] {
				if strings.HasPrefix(imp, module) && !strings.HasPrefix(relative(imp), "sdk/") {
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
		for _, imp := range imports[pkg] {
			if strings.HasPrefix(imp, module) && !slices.Contains(rule.mayImport, "*") && !slices.Contains(rule.mayImport, relative(imp)) {
				t.Errorf("%s imports %s, which DESIGN.md section 2 does not allow", displayName(pkg), displayName(relative(imp)))
			}
		}
		reach := reachable(pkg)
		through := []string{pkg} // the module packages pkg reaches, itself included
		for _, imp := range deps[pkg] {
			if !strings.HasPrefix(imp, module) {
				continue
			}
			if rel := relative(imp); reach == nil || reach[rel] {
				through = append(through, rel)
			} else {
				t.Errorf("%s reaches %s through its imports, which DESIGN.md section 2 does not allow", displayName(pkg), displayName(rel))
			}
		}
		for _, q := range through {
			for _, imp := range imports[q] {
				if strings.HasPrefix(imp, module) || !strings.Contains(strings.Split(imp, "/")[0], ".") {
					continue // a module package, or the standard library
				}
				for _, f := range rule.forbidden {
					if f == "*" || strings.HasPrefix(imp, f) {
						t.Errorf("%s imports %s (through %s), which DESIGN.md section 2 keeps out of it", displayName(pkg), imp, displayName(q))
					}
				}
			}
		}
	}
}

// relative is a module package's path relative to the module ("" for the root package).
func relative(importPath string) string {
	return strings.TrimPrefix(strings.TrimPrefix(importPath, module), "/")
}

// reachable is the set of module packages pkg may reach through its imports: those it may
// import, and what they may reach; nil when it may import anything.
func reachable(pkg string) map[string]bool {
	out := map[string]bool{}
	var walk func(p string) bool
	walk = func(p string) bool {
		for _, q := range layout[p].mayImport {
			if q == "*" {
				return false
			}
			if !out[q] {
				out[q] = true
				if !walk(q) {
					return false
				}
			}
		}
		return true
	}
	if !walk(pkg) {
		return nil
	}
	return out
}

func displayName(rel string) string {
	if rel == "" {
		return "the root package"
	}
	return rel
}
