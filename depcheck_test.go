package skiff_test

import (
	"go/build"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/skiffrt/skiff/internal/testutil"
)

// TestImportDirection pins the layering of DESIGN.md: packages depend downward only,
// nothing imports examples/ or the test helpers, and the leaf packages stand alone.
func TestImportDirection(t *testing.T) {
	const mod = "github.com/skiffrt/skiff"
	allowed := map[string][]string{ // package → the Skiff packages it may import
		".":          {"cgroup", "namespace", "overlay", "registry", "netbridge", "builder", "dockerfile", "internal/journal"},
		"builder":    {"dockerfile", "registry", "overlay"},
		"dockerfile": nil,
		"registry":   nil,
		"overlay":    nil,
		"namespace":  nil,
		"cgroup":     nil,
		"netbridge":  nil,
		"errdefs":    nil,
		// The engine's event journal: a leaf over the lock helper.
		"internal/journal": {"internal/lockfile", "internal/dirwatch"},
		// Compose apps over the engine: compose-go stays out of the root package.
		"compose": {"netbridge"}, // and the root package
	}
	// The tree's shared helpers: one error-class package (and the marking of
	// exhausted-host errors), one atomic write, one lock, one container-log writer.
	shared := []string{"errdefs", "internal/exhausted", "internal/atomicfile", "internal/lockfile", "internal/dirwatch", "internal/jsonlog"}
	for dir, may := range allowed {
		if dir != "errdefs" && dir != "dockerfile" {
			may = append(slices.Clone(may), shared...)
		} else if dir == "dockerfile" {
			may = []string{"errdefs"} // the parser stays standalone
		}
		pkg, err := build.ImportDir(filepath.Join(".", dir), 0)
		if err != nil {
			t.Fatalf("%s: %v", dir, err)
		}
		for _, imp := range pkg.Imports {
			if strings.HasPrefix(imp, "github.com/compose-spec/") && dir != "compose" {
				t.Errorf("package %s imports %s: the Compose loader belongs to package compose", dir, imp)
			}
			rel, ok := strings.CutPrefix(imp, mod+"/")
			if !ok {
				continue
			}
			if !slices.Contains(may, rel) {
				t.Errorf("package %s imports %s: not allowed by the layering", dir, imp)
			}
		}
	}
}

// TestInitBinaryDeps keeps examples/skiff-nsinit, the program containers' inits and
// exec helpers can run from, free of the heavy packages whose inits it exists to
// avoid: no HTTP or TLS stack, no registry client, no protobuf, no cgroup statistics.
func TestInitBinaryDeps(t *testing.T) {
	if _, err := exec.LookPath("go"); err != nil {
		testutil.Require(t, "needs the go tool", false)
	}
	out, err := exec.Command("go", "list", "-deps", "./examples/skiff-nsinit").CombinedOutput()
	if err != nil {
		t.Fatalf("go list: %v\n%s", err, out)
	}
	deps := strings.Fields(string(out))
	for _, d := range deps {
		for _, heavy := range []string{"net/http", "crypto/tls", "google.golang.org/protobuf", "github.com/google/go-containerregistry",
			"github.com/containerd/cgroups", "github.com/vishvananda/netlink", "github.com/skiffrt/skiff/registry"} {
			if d == heavy || strings.HasPrefix(d, heavy+"/") {
				t.Errorf("skiff-nsinit links %s", d)
			}
		}
	}
	if len(deps) > 120 {
		t.Errorf("skiff-nsinit links %d packages; it should stay near 90", len(deps))
	}
}
