package testutil

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
)

// InCI reports whether the tests run in CI (environment variable CI=true),
// where a missing prerequisite is a failure instead of a skip.
func InCI() bool { return os.Getenv("CI") == "true" }

// Require skips t with the reason "requires <what>" when ok is false, or fails
// it when running in CI (CI=true). It returns only when ok is true.
func Require(t testing.TB, what string, ok bool) {
	t.Helper()
	if ok {
		return
	}
	if InCI() {
		t.Fatalf("requires %s (CI=true: a missing prerequisite is a failure)", what)
	}
	t.Skipf("skipping: requires %s (set CI=true to make this a failure)", what)
}

// RequireRoot requires that the test runs with effective uid 0.
func RequireRoot(t testing.TB) {
	t.Helper()
	Require(t, fmt.Sprintf("root (euid is %d)", os.Geteuid()), os.Geteuid() == 0)
}

// RequireBinary requires the executable name, looked up in PATH (or taken as
// is when it contains a slash), and returns its path.
func RequireBinary(t testing.TB, name string) string {
	t.Helper()
	p, err := exec.LookPath(name)
	if err == nil && !filepath.IsAbs(p) {
		p, err = filepath.Abs(p)
	}
	Require(t, fmt.Sprintf("the binary %q (%v)", name, err), err == nil)
	return p
}
