package netbridge

import (
	"os/exec"
	"strings"
	"testing"
)

// TestImports pins the import direction: netbridge is a leaf of Skiff and imports no other
// Skiff package (the engine composes it, not the other way round).
func TestImports(t *testing.T) {
	goBin, err := exec.LookPath("go")
	need(t, "the go tool", err == nil)
	out, err := exec.Command(goBin, "list", "-deps", ".").CombinedOutput()
	if err != nil {
		t.Fatalf("go list -deps: %v\n%s", err, out)
	}
	for _, p := range strings.Fields(string(out)) {
		if strings.HasPrefix(p, "github.com/skiffrt/skiff") && p != "github.com/skiffrt/skiff/netbridge" && !sharedHelper(p) {
			t.Errorf("netbridge imports %s", p)
		}
	}
}

// sharedHelper reports the tree's shared leaf helpers every package may use: the
// error classes, the atomic write and the lock helper.
func sharedHelper(p string) bool {
	switch strings.TrimPrefix(p, "github.com/skiffrt/skiff/") {
	case "errdefs", "internal/atomicfile", "internal/lockfile":
		return true
	}
	return false
}
