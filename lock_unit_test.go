package skiff

import (
	"go/ast"
	"go/parser"
	"go/token"
	"io/fs"
	"path/filepath"
	"strings"
	"testing"
)

// TestOneLockHelper pins that internal/lockfile is the tree's one flock helper: no other
// package of the module calls flock(2) itself (unix.Flock or syscall.Flock), so every
// lock is taken, waited for and released the same way.
func TestOneLockHelper(t *testing.T) {
	fset := token.NewFileSet()
	var calls []string
	err := filepath.WalkDir(".", func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			switch {
			case path == filepath.Join("internal", "lockfile"), d.Name() == "testdata",
				path != "." && strings.HasPrefix(d.Name(), "."):
				return filepath.SkipDir
			}
			return nil
		}
		if !strings.HasSuffix(path, ".go") {
			return nil
		}
		f, err := parser.ParseFile(fset, path, nil, parser.SkipObjectResolution)
		if err != nil {
			return err
		}
		ast.Inspect(f, func(n ast.Node) bool {
			sel, ok := n.(*ast.SelectorExpr)
			if !ok || sel.Sel.Name != "Flock" {
				return true
			}
			if id, ok := sel.X.(*ast.Ident); ok && (id.Name == "unix" || id.Name == "syscall") {
				calls = append(calls, fset.Position(sel.Pos()).String())
			}
			return true
		})
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range calls {
		t.Errorf("%s: flock(2) outside internal/lockfile; use lockfile.Acquire, TryLock, Hold or Abandoned", c)
	}
}
