package registry

import (
	"os/exec"
	"strings"
	"testing"
)

// The registry package sits low in the engine: it must not import any other Skiff package
// (only its tests use internal/testutil).
func TestNoSkiffImports(t *testing.T) {
	goBin := requireBinary(t, "go")
	out, err := exec.Command(goBin, "list", "-deps", ".").Output()
	if err != nil {
		t.Fatalf("go list -deps: %v", err)
	}
	for _, p := range strings.Fields(string(out)) {
		if strings.HasPrefix(p, "github.com/skiffrt/skiff") && p != "github.com/skiffrt/skiff/registry" && !sharedHelper(p) {
			t.Errorf("registry imports %s", p)
		}
	}
}

// sharedHelper reports the tree's shared leaf helpers every package may use: the
// error classes (and the marking of exhausted-host errors), the atomic write and the
// lock helper.
func sharedHelper(p string) bool {
	switch strings.TrimPrefix(p, "github.com/skiffrt/skiff/") {
	case "errdefs", "internal/exhausted", "internal/atomicfile", "internal/lockfile":
		return true
	}
	return false
}
