package namespace_test

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	specs "github.com/opencontainers/runtime-spec/specs-go"

	"github.com/skiffrt/skiff/internal/testutil"
	"github.com/skiffrt/skiff/namespace"
)

// buildNsinit builds examples/skiff-nsinit into a temp dir and returns its path.
func buildNsinit(t *testing.T) string {
	t.Helper()
	_, err := exec.LookPath("go")
	testutil.Require(t, "needs the go tool to build examples/skiff-nsinit", err == nil)
	bin := filepath.Join(t.TempDir(), "skiff-nsinit")
	cmd := exec.Command("go", "build", "-o", bin, "../examples/skiff-nsinit")
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build skiff-nsinit: %v\n%s", err, out)
	}
	return bin
}

// exeOf returns the base name of what pid runs (through the sealed view: "/" + base
// name for the read-only overlay, "memfd:..." for a copy).
func exeOf(t *testing.T, pid int) string {
	t.Helper()
	target, err := os.Readlink("/proc/" + strconv.Itoa(pid) + "/exe")
	if err != nil {
		t.Fatal(err)
	}
	return filepath.Base(target)
}

// TestInitBinary: with SetInitBinary, a container's init, a warm init and an exec
// helper run from that program (sealed as this one is), and behave as before.
func TestInitBinary(t *testing.T) {
	requireRoot(t)
	bin := buildNsinit(t)
	if err := namespace.SetInitBinary(bin); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := namespace.SetInitBinary(""); err != nil {
			t.Error(err)
		}
	})
	if got := namespace.InitBinary(); got != bin {
		t.Fatalf("InitBinary() = %q, want %q", got, bin)
	}
	if got := os.Getenv(namespace.InitBinaryEnv); got != bin {
		t.Errorf("%s = %q, want %q (for re-executed programs)", namespace.InitBinaryEnv, got, bin)
	}

	// Cold Create: init runs from skiff-nsinit while created, then the command runs.
	cfg, stdout, stderr := newConfig(t, busyboxRootfs(t), "sh", "-c", "echo hello from $(hostname)")
	cfg.Spec.Hostname = "nsinit-box"
	p, err := namespace.Create(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	if exe := exeOf(t, p.Pid); exe != "skiff-nsinit" && !strings.HasPrefix(exe, "memfd:skiff-init") {
		t.Errorf("created init runs %q, want skiff-nsinit", exe)
	}
	if err := p.Start(); err != nil {
		t.Fatal(err)
	}
	if st, err := p.Wait(); err != nil || st.Code != 0 || stdout.String() != "hello from nsinit-box\n" {
		t.Fatalf("wait: %+v %v, stdout %q stderr %q", st, err, stdout, stderr)
	}

	// Exec into a running container: the helper runs from skiff-nsinit too.
	run, _ := runningContainer(t, "nsinit-exec", "sleep", "100")
	st, out, errOut := execIn(t, run.Pid, &specs.Process{Args: []string{"sh", "-c", "hostname; readlink /proc/self/exe"},
		Env: []string{"PATH=/bin"}, Cwd: "/"})
	if st.Code != 0 || out != "nsinit-exec\n/bin/busybox\n" {
		t.Errorf("exec through skiff-nsinit: %+v stdout %q stderr %q", st, out, errOut)
	}

	// A warm init started after SetInitBinary runs from it.
	root := busyboxRootfs(t)
	w, err := namespace.NewWarm(namespace.DefaultSpec(root, "true").Linux.Namespaces)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = w.Close() })
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	pid, err := w.Ready(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if exe := exeOf(t, pid); exe != "skiff-nsinit" && !strings.HasPrefix(exe, "memfd:skiff-init") {
		t.Errorf("warm init runs %q, want skiff-nsinit", exe)
	}
	wcfg, wout, werr := newConfig(t, root, "echo", "warm")
	wp, err := w.Create(ctx, wcfg)
	if err != nil {
		t.Fatal(err)
	}
	if err := wp.Start(); err != nil {
		t.Fatal(err)
	}
	if st, err := wp.Wait(); err != nil || st.Code != 0 || wout.String() != "warm\n" {
		t.Fatalf("warm wait: %+v %v, stdout %q stderr %q", st, err, wout, werr)
	}

	// Run by hand, it says what it is for and exits 2.
	out2, err := exec.Command(bin).CombinedOutput()
	var ee *exec.ExitError
	if !errors.As(err, &ee) || ee.ExitCode() != 2 || !strings.Contains(string(out2), "container init") {
		t.Errorf("skiff-nsinit by hand: %v %q", err, out2)
	}
}

// TestSetInitBinaryErrors: a path that cannot be an init binary is refused at once,
// named, and leaves the choice as it was.
func TestSetInitBinaryErrors(t *testing.T) {
	dir := t.TempDir()
	plain := filepath.Join(dir, "not-executable")
	if err := os.WriteFile(plain, []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, path := range []string{"relative/skiff-nsinit", filepath.Join(dir, "missing"), plain, dir} {
		err := namespace.SetInitBinary(path)
		if !errors.Is(err, namespace.ErrInvalidSpec) || !strings.Contains(err.Error(), path) {
			t.Errorf("SetInitBinary(%q) = %v, want ErrInvalidSpec naming the path", path, err)
		}
		if got := namespace.InitBinary(); got != "" {
			t.Errorf("after a refused SetInitBinary(%q), InitBinary() = %q", path, got)
		}
	}
	// Nothing named skiff-nsinit beside the test binary: nothing is chosen.
	if p, err := namespace.UseInitBinaryBeside("no-such-skiff-nsinit"); p != "" || err != nil {
		t.Errorf("UseInitBinaryBeside of a missing program = %q, %v", p, err)
	}
}
