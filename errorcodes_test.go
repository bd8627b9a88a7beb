package tideline_test

import (
	"go/ast"
	"go/parser"
	"go/token"
	"io/fs"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/tideline-dev/tideline"
)

// TestErrorCodesInSpec: every error code the server can answer with is in openapi.yaml's
// error tables, with the status HTTPStatus gives it. The codes it can answer with are
// tideline.Codes: a test below checks that no code is made up anywhere else.
func TestErrorCodesInSpec(t *testing.T) {
	t.Parallel()
	row := regexp.MustCompile("(?m)^\\s*\\| `([a-z_]+)` \\| (\\d{3}) \\|")
	documented := map[string]int{}
	for _, m := range row.FindAllStringSubmatch(string(tideline.OpenAPI), -1) {
		documented[m[1]], _ = strconv.Atoi(m[2])
	}
	for _, code := range tideline.Codes {
		status, _ := tideline.HTTPStatus(tideline.Errorf(code, ""))
		got, ok := documented[string(code)]
		switch {
		case !ok:
			t.Errorf("code %q (status %d) is missing from openapi.yaml's error tables", code, status)
		case got != status:
			t.Errorf("openapi.yaml gives code %q status %d; the server answers %d", code, got, status)
		}
		delete(documented, string(code))
	}
	for code := range documented {
		t.Errorf("openapi.yaml documents code %q, which the server never answers with", code)
	}
}

// TestErrorCodesAreDeclared: codes are the constants of the root package, each listed in
// Codes; no package makes one up (a string where a tideline.Code goes in Errorf, Wrap or an
// Error literal), so Codes is every code the server can answer with.
func TestErrorCodesAreDeclared(t *testing.T) {
	t.Parallel()
	fset := token.NewFileSet()
	declared := map[string]bool{}
	listed := map[string]bool{}
	for _, c := range tideline.Codes {
		listed[string(c)] = true
	}
	err := filepath.WalkDir(".", func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && path != "." && (strings.HasPrefix(d.Name(), ".") || d.Name() == "sdk" || d.Name() == "testdata" || d.Name() == "node_modules") {
			return filepath.SkipDir
		}
		if d.IsDir() || !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go") {
			return nil
		}
		f, err := parser.ParseFile(fset, path, nil, 0)
		if err != nil {
			return err
		}
		root := f.Name.Name == "tideline" && filepath.Dir(path) == "."
		ast.Inspect(f, func(n ast.Node) bool {
			switch n := n.(type) {
			case *ast.ValueSpec:
				if id, ok := n.Type.(*ast.Ident); ok && id.Name == "Code" && root {
					for _, v := range n.Values {
						if lit, ok := v.(*ast.BasicLit); ok {
							code, _ := strconv.Unquote(lit.Value)
							declared[code] = true
						}
					}
				}
			case *ast.CallExpr:
				sel, ok := n.Fun.(*ast.SelectorExpr)
				if !ok || len(n.Args) < 2 {
					return true
				}
				arg := -1
				switch sel.Sel.Name {
				case "Errorf":
					if x, ok := sel.X.(*ast.Ident); ok && x.Name == "tideline" {
						arg = 0
					}
				case "Wrap":
					if x, ok := sel.X.(*ast.Ident); ok && x.Name == "tideline" {
						arg = 1
					}
				}
				if arg >= 0 {
					if _, isLit := n.Args[arg].(*ast.BasicLit); isLit {
						t.Errorf("%s: a code made up in place (%s); declare it in the root package and list it in Codes", fset.Position(n.Pos()), sel.Sel.Name)
					}
				}
			case *ast.CompositeLit:
				sel, ok := n.Type.(*ast.SelectorExpr)
				if !ok || sel.Sel.Name != "Error" {
					return true
				}
				if x, ok := sel.X.(*ast.Ident); !ok || x.Name != "tideline" {
					return true
				}
				for _, e := range n.Elts {
					if kv, ok := e.(*ast.KeyValueExpr); ok {
						if k, ok := kv.Key.(*ast.Ident); ok && k.Name == "Code" {
							if _, isLit := kv.Value.(*ast.BasicLit); isLit {
								t.Errorf("%s: a code made up in place in a tideline.Error; declare it in the root package", fset.Position(kv.Pos()))
							}
						}
					}
				}
			}
			return true
		})
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(declared) < 10 {
		t.Fatalf("found only %d declared codes: the scan is broken", len(declared))
	}
	for code := range declared {
		if !listed[code] {
			t.Errorf("code %q is declared but not in tideline.Codes", code)
		}
	}
}
