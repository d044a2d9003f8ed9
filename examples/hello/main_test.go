package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/skiffrt/skiff/internal/testutil"
)

// TestHello runs the README's quick start: the example builds, makes its image from
// the host's busybox, and prints the container's output and exit code.
func TestHello(t *testing.T) {
	testutil.RequireRoot(t)
	testutil.Require(t, "/bin/busybox (apt-get install busybox-static)", fileExists("/bin/busybox"))
	bin := filepath.Join(t.TempDir(), "hello")
	if out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	cmd := exec.Command(bin)
	cmd.Env = append(os.Environ(), "TMPDIR="+t.TempDir()) // its engine root goes under TMPDIR
	out, err := cmd.CombinedOutput()
	if err != nil || !strings.Contains(string(out), "hello from a skiff container\n") || !strings.Contains(string(out), "exit code: 0 <nil>") {
		t.Fatalf("hello: %v\n%s", err, out)
	}
}

func fileExists(p string) bool { _, err := os.Stat(p); return err == nil }
