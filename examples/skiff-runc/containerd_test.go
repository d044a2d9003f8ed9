package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/creack/pty"
	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
	"github.com/moby/sys/mountinfo"
	"golang.org/x/sys/unix"

	"github.com/skiffrt/skiff/internal/testutil"
)

// ctrEnv is a containerd started by a test on its own socket, root and state, and a
// containerd namespace of its own.
type ctrEnv struct {
	t    *testing.T
	sock string
	ns   string
	bin  string // skiff-runc, given to the runc shim as --runc-binary
}

// startContainerd starts containerd (no CRI) in a temp dir and stops it in cleanup.
func startContainerd(t *testing.T) *ctrEnv {
	t.Helper()
	testutil.RequireRoot(t)
	containerd := testutil.RequireBinary(t, "containerd")
	testutil.RequireBinary(t, "ctr")
	testutil.RequireBinary(t, "containerd-shim-runc-v2")
	dir, err := os.MkdirTemp("", "ctd") // short: the socket path has a length limit
	if err != nil {
		t.Fatal(err)
	}
	e := &ctrEnv{t: t, sock: filepath.Join(dir, "c.sock"), ns: testutil.RandomName("srtns"), bin: runtimeBin(t)}
	cfg := fmt.Sprintf(`version = 2
root = %q
state = %q
disabled_plugins = ["io.containerd.grpc.v1.cri"]
[grpc]
  address = %q
`, filepath.Join(dir, "root"), filepath.Join(dir, "state"), e.sock)
	if err := os.WriteFile(filepath.Join(dir, "config.toml"), []byte(cfg), 0o644); err != nil {
		t.Fatal(err)
	}
	logf, err := os.Create(filepath.Join(dir, "containerd.log"))
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(containerd, "--config", filepath.Join(dir, "config.toml"))
	cmd.Stdout, cmd.Stderr = logf, logf
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = cmd.Process.Signal(syscall.SIGTERM)
		_ = cmd.Wait()
		logf.Close()
		if t.Failed() {
			b, _ := os.ReadFile(filepath.Join(dir, "containerd.log"))
			t.Logf("containerd log:\n%s", b)
		}
		unmountUnder(t, dir)
		_ = os.RemoveAll(dir)
		// The runc shim keeps its runtime's state in /run/containerd/runc/<namespace>,
		// and ctr puts containers in the cgroup /<namespace>/<id>.
		_ = os.RemoveAll(filepath.Join("/run/containerd/runc", e.ns))
		hier, _ := filepath.Glob("/sys/fs/cgroup/*/" + e.ns)
		for _, h := range hier {
			_ = os.Remove(h)
		}
		_ = os.Remove(filepath.Join("/sys/fs/cgroup", e.ns))
	})
	// Ready once the socket answers.
	deadline := time.Now().Add(20 * time.Second)
	for {
		if _, _, code := e.ctr("version"); code == 0 {
			return e
		}
		if time.Now().After(deadline) {
			t.Fatalf("containerd did not come up on %s", e.sock)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func unmountUnder(t *testing.T, dir string) {
	mounts, err := mountinfo.GetMounts(mountinfo.PrefixFilter(dir))
	if err != nil {
		t.Logf("mountinfo: %v", err)
		return
	}
	for i := len(mounts) - 1; i >= 0; i-- {
		_ = unix.Unmount(mounts[i].Mountpoint, unix.MNT_DETACH)
	}
}

// ctr runs ctr on the test's socket and namespace.
func (e *ctrEnv) ctr(args ...string) (string, string, int) {
	e.t.Helper()
	cmd := exec.Command("ctr", append([]string{"--address", e.sock, "--namespace", e.ns}, args...)...)
	return output(e.t, cmd)
}

func (e *ctrEnv) ok(args ...string) string {
	e.t.Helper()
	out, errOut, code := e.ctr(args...)
	if code != 0 {
		e.t.Fatalf("ctr %q: exit %d\nstdout: %s\nstderr: %s", args, code, out, errOut)
	}
	return out
}

// taskStatus returns the STATUS column of ctr task ls for id.
func (e *ctrEnv) taskStatus(id string) string {
	e.t.Helper()
	for _, line := range strings.Split(e.ok("task", "ls"), "\n") {
		if f := strings.Fields(line); len(f) == 3 && f[0] == id {
			return f[2]
		}
	}
	return ""
}

// importBusybox imports the busybox test image from a docker-archive tar.
func (e *ctrEnv) importBusybox() string {
	e.t.Helper()
	const ref = "skiff.test/busybox:latest"
	tag, err := name.NewTag(ref)
	if err != nil {
		e.t.Fatal(err)
	}
	file := filepath.Join(e.t.TempDir(), "busybox.tar")
	if err := tarball.WriteToFile(file, tag, testutil.Busybox(e.t)); err != nil {
		e.t.Fatal(err)
	}
	e.ok("images", "import", file)
	return ref
}

func TestContainerdShim(t *testing.T) {
	e := startContainerd(t)
	image := e.importBusybox()

	// run --rm: output and exit status come back through the shim.
	out := e.ok("run", "--rm", "--runc-binary", e.bin, image, e.ns+"-once", "sh", "-c", "echo hello; echo $$")
	if out != "hello\n1\n" { // in a pid namespace of its own
		t.Fatalf("ctr run output %q", out)
	}
	if _, _, code := e.ctr("run", "--rm", "--runc-binary", e.bin, image, e.ns+"-exit", "sh", "-c", "exit 3"); code != 3 {
		t.Fatalf("ctr run exit status %d, want 3", code)
	}

	// With a terminal: ctr itself runs on a pty here, the shim gets the container's
	// pty master over skiff-runc's --console-socket. ctr sizes the console only after
	// the task started (with any runtime), so the container waits for a size.
	cmd := exec.Command("ctr", "--address", e.sock, "--namespace", e.ns, "run", "--rm", "-t",
		"--runc-binary", e.bin, image, e.ns+"-tty", "sh", "-c",
		`tty; for i in $(seq 100); do s=$(stty size 2>/dev/null); [ -n "$s" ] && [ "$s" != "0 0" ] && break; sleep 0.05; done; echo "$s"`)
	ptmx, err := pty.StartWithSize(cmd, &pty.Winsize{Rows: 33, Cols: 101})
	if err != nil {
		t.Fatal(err)
	}
	var tout bytes.Buffer
	_, _ = io.Copy(&tout, ptmx) // ends with EIO once ctr exits
	ptmx.Close()
	if err := cmd.Wait(); err != nil || !strings.Contains(tout.String(), "/dev/pts/0") || !strings.Contains(tout.String(), "33 101") {
		t.Fatalf("ctr run -t: %v, output %q; want the tty /dev/pts/0 sized 33 101", err, tout.String())
	}

	// A detached task: exec, ps, pause/resume, metrics, kill, delete.
	id := e.ns + "-d"
	e.ok("run", "-d", "--runc-binary", e.bin, image, id, "sleep", "600")
	t.Cleanup(func() {
		e.ctr("task", "kill", "-s", "SIGKILL", id)
		e.ctr("task", "delete", "-f", id)
		e.ctr("container", "rm", id)
	})
	// Our runtime, not runc, holds the state: skiff-runc's state.json has a "spec".
	b, err := os.ReadFile(filepath.Join("/run/containerd/runc", e.ns, id, stateFile))
	var st map[string]json.RawMessage
	if err != nil || json.Unmarshal(b, &st) != nil || st["spec"] == nil {
		t.Fatalf("skiff-runc state of %s: %v %s", id, err, b)
	}
	if out := e.ok("task", "exec", "--exec-id", "e1", id, "sh", "-c", "echo $((6*7))"); out != "42\n" {
		t.Fatalf("task exec output %q", out)
	}
	if out := e.ok("task", "ps", id); len(strings.Split(strings.TrimSpace(out), "\n")) < 2 {
		t.Fatalf("task ps: %q", out)
	}
	e.ok("task", "pause", id)
	if s := e.taskStatus(id); s != "PAUSED" {
		t.Fatalf("status after pause %q", s)
	}
	e.ok("task", "resume", id)
	if s := e.taskStatus(id); s != "RUNNING" {
		t.Fatalf("status after resume %q", s)
	}
	if out := e.ok("task", "metrics", id); !strings.Contains(out, "memory") {
		t.Fatalf("task metrics: %q", out)
	}
	e.ok("task", "kill", "-s", "SIGKILL", id)
	deadline := time.Now().Add(10 * time.Second)
	for e.taskStatus(id) != "STOPPED" {
		if time.Now().After(deadline) {
			t.Fatalf("task %s not stopped after SIGKILL: %q", id, e.taskStatus(id))
		}
		time.Sleep(20 * time.Millisecond)
	}
	e.ok("task", "delete", id)
	e.ok("container", "rm", id)
	if _, err := os.Stat(filepath.Join("/run/containerd/runc", e.ns, id)); !os.IsNotExist(err) {
		t.Fatalf("runtime state after delete: %v", err)
	}
}
