package cgroup

import (
	"bufio"
	"context"
	"crypto/rand"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/skiffrt/skiff/internal/testutil"
)

// The test binary doubles as the helper program that runs inside cgroups: with
// helperEnv set, TestMain runs the helper mode instead of the tests. Every helper first
// blocks reading one byte from stdin, so the test can put it in its cgroup before it does
// anything (as the engine does with a container's init).
const helperEnv = "SKIFF_CGROUP_TEST_HELPER"

func TestMain(m *testing.M) {
	if mode := os.Getenv(helperEnv); mode != "" {
		runHelper(mode)
		os.Exit(0)
	}
	code := m.Run()
	if leaks := leakedCgroups(); len(leaks) > 0 {
		fmt.Fprintf(os.Stderr, "FAIL: tests left cgroups behind: %v\n", leaks)
		for _, d := range leaks {
			_ = rmdirAll(d, time.Now().Add(time.Second))
		}
		if code == 0 {
			code = 1
		}
	}
	os.Exit(code)
}

// leakedCgroups lists skiff-cgtest-* cgroup directories in any hierarchy.
func leakedCgroups() []string {
	var out []string
	for _, pattern := range []string{"/sys/fs/cgroup/*/skiff-cgtest-*", "/sys/fs/cgroup/skiff-cgtest-*"} {
		m, _ := filepath.Glob(pattern)
		out = append(out, m...)
	}
	return out
}

func runHelper(mode string) {
	var b [1]byte
	if _, err := os.Stdin.Read(b[:]); err != nil {
		fmt.Fprintln(os.Stderr, "helper: read go byte:", err)
		os.Exit(2)
	}
	switch mode {
	case "alloc": // allocate and touch SKIFF_HELPER_MB MiB, then report survival
		mb, _ := strconv.Atoi(os.Getenv("SKIFF_HELPER_MB"))
		buf := make([]byte, mb<<20)
		for i := 0; i < len(buf); i += 4096 {
			buf[i] = 1
		}
		fmt.Println("survived", len(buf))
	case "count": // write an ever-growing counter into the file SKIFF_HELPER_FILE
		f, err := os.OpenFile(os.Getenv("SKIFF_HELPER_FILE"), os.O_WRONLY, 0)
		if err != nil {
			fmt.Fprintln(os.Stderr, "helper:", err)
			os.Exit(2)
		}
		var n uint64
		var out [8]byte
		for {
			n++
			binary.LittleEndian.PutUint64(out[:], n)
			if _, err := f.WriteAt(out[:], 0); err != nil {
				os.Exit(3)
			}
			time.Sleep(time.Millisecond)
		}
	case "spin": // burn CPU until killed
		for {
		}
	case "forkloop": // raw fork() up to 64 children that pause; report count and errno
		// No Go runtime work may need a new OS thread once we are limited: lock the thread,
		// stop the GC and fork with raw syscalls only.
		runtime.LockOSThread()
		debug.SetGCPercent(-1)
		forked, errno := 0, syscall.Errno(0)
		for forked < 64 {
			pid, _, e := syscall.RawSyscall6(syscall.SYS_CLONE, uintptr(syscall.SIGCHLD), 0, 0, 0, 0, 0)
			if e != 0 {
				errno = e
				break
			}
			if pid == 0 {
				for {
					syscall.RawSyscall6(syscall.SYS_PPOLL, 0, 0, 0, 0, 0, 0) // pause(2), which arm64 lacks
				}
			}
			forked++
		}
		fmt.Printf("forked %d errno %d\n", forked, int(errno))
		_, _ = os.Stdin.Read(b[:]) // stay until killed
	default:
		fmt.Fprintln(os.Stderr, "helper: unknown mode", mode)
		os.Exit(2)
	}
}

// requireRoot skips the test without root, but fails it when CI=true (a skip in CI hides a
// broken setup).
func requireRoot(t testing.TB) {
	t.Helper()
	require(t, "root (cgroup writes need it)", os.Geteuid() == 0)
}

func require(t testing.TB, what string, ok bool) {
	t.Helper()
	testutil.Require(t, what, ok)
}

// testPath returns a unique cgroup path for one test.
func testPath(t testing.TB) string {
	var b [6]byte
	if _, err := rand.Read(b[:]); err != nil {
		t.Fatal(err)
	}
	return "/skiff-cgtest-" + hex.EncodeToString(b[:])
}

// child is a helper or binary started by a test, cleaned up (killed, reaped) at the end.
type child struct {
	cmd    *exec.Cmd
	stdin  io.WriteCloser
	stdout *bufio.Reader
	done   chan struct{}
	err    error // Wait's result, valid once done is closed
}

func (c *child) pid() int { return c.cmd.Process.Pid }

// release writes the go byte the helper waits for.
func (c *child) release(t testing.TB) {
	t.Helper()
	if _, err := c.stdin.Write([]byte{'g'}); err != nil {
		t.Fatalf("release helper %d: %v", c.pid(), err)
	}
}

// wait waits for the child to exit, at most d.
func (c *child) wait(t testing.TB, d time.Duration) error {
	t.Helper()
	select {
	case <-c.done:
		return c.err
	case <-time.After(d):
		t.Fatalf("child %d still running after %v", c.pid(), d)
		return nil
	}
}

func (c *child) exited() bool {
	select {
	case <-c.done:
		return true
	default:
		return false
	}
}

// startHelper starts the test binary in a helper mode (see runHelper), blocked until
// release.
func startHelper(t testing.TB, mode string, env ...string) *child {
	t.Helper()
	cmd := exec.Command("/proc/self/exe", "-test.run=^$")
	cmd.Env = append(os.Environ(), append([]string{helperEnv + "=" + mode, "GOMAXPROCS=1"}, env...)...)
	return startCmd(t, cmd)
}

func startCmd(t testing.TB, cmd *exec.Cmd) *child {
	t.Helper()
	in, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	// Our own pipe, not StdoutPipe: Wait (in the goroutine below) would close that one
	// under a reader that has not finished.
	out, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stdout = w
	cmd.Stderr = os.Stderr
	err = cmd.Start()
	w.Close()
	if err != nil {
		out.Close()
		t.Fatalf("start %v: %v", cmd.Args, err)
	}
	c := &child{cmd: cmd, stdin: in, stdout: bufio.NewReader(out), done: make(chan struct{})}
	go func() {
		c.err = cmd.Wait()
		close(c.done)
	}()
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		<-c.done
		out.Close()
	})
	return c
}

// newTestCgroup creates a cgroup with b and registers a cleanup that kills and deletes it.
func newTestCgroup(t testing.TB, b backend, r Resources) Manager {
	t.Helper()
	path := testPath(t)
	m, err := b.new(path, r)
	if err != nil {
		t.Fatalf("%s: new %s: %v", b.name, path, err)
	}
	t.Cleanup(func() {
		if err := m.Kill(); err != nil {
			t.Errorf("cleanup kill %s: %v", path, err)
		}
		if err := m.Delete(); err != nil {
			t.Errorf("cleanup delete %s: %v", path, err)
		}
		for _, d := range b.dirs(path) {
			if _, err := os.Stat(d); err == nil {
				t.Errorf("cleanup: %s still exists", d)
			}
		}
	})
	return m
}

// backend is one Manager implementation under test.
type backend struct {
	name string
	// root of a hierarchy holding memory, pids and cpu controllers, or "" if none do.
	limits bool
	new    func(path string, r Resources) (Manager, error)
	load   func(path string) (Manager, error)
	// dirs returns the host directories of a cgroup path (all must go on Delete).
	dirs func(path string) []string
	// frozen reads the kernel's own freezer state of a cgroup path.
	frozen func(t testing.TB, path string) bool
	// file returns the host path of a control file.
	file func(controller, path, name string) string
}

// backends returns the implementations this host can run: v1 when v1 hierarchies are
// mounted, v2 on the cgroup2 hierarchy (/sys/fs/cgroup, /sys/fs/cgroup/unified, or a
// fresh cgroup2 mount in a temp dir on a legacy host).
func backends(t *testing.T) []backend {
	requireRoot(t)
	var out []backend
	mode := DetectMode()
	if mode == Legacy || mode == Hybrid {
		out = append(out, backend{
			name:   "v1",
			limits: true,
			new:    NewV1,
			load:   LoadV1,
			dirs: func(path string) []string {
				subs, err := v1Hierarchies()
				if err != nil {
					t.Fatal(err)
				}
				var ds []string
				for _, s := range subs {
					ds = append(ds, s.(v1Pather).Path(path))
				}
				return ds
			},
			frozen: func(t testing.TB, path string) bool {
				s, err := readFile(filepath.Join("/sys/fs/cgroup/freezer", path, "freezer.state"))
				if err != nil {
					t.Fatal(err)
				}
				return s == "FROZEN"
			},
			file: func(controller, path, name string) string {
				return filepath.Join("/sys/fs/cgroup", controller, path, name)
			},
		})
	}
	var mount string
	switch mode {
	case Unified:
		mount = UnifiedMountpoint
	case Hybrid:
		mount = HybridUnifiedMountpoint
	default:
		mount = t.TempDir()
		if err := unix.Mount("none", mount, "cgroup2", 0, ""); err != nil {
			t.Fatalf("mount cgroup2 on %s: %v", mount, err)
		}
		t.Cleanup(func() { _ = unix.Unmount(mount, unix.MNT_DETACH) })
	}
	out = append(out, v2Backend("v2", mount))
	if mode == Hybrid && os.Getenv("SKIFF_CGROUP_TEST_FRESH_MOUNT") != "0" {
		// The same hierarchy through a fresh cgroup2 mount, as a legacy host would test it.
		fresh := t.TempDir()
		if err := unix.Mount("none", fresh, "cgroup2", 0, ""); err != nil {
			t.Fatalf("mount cgroup2 on %s: %v", fresh, err)
		}
		t.Cleanup(func() { _ = unix.Unmount(fresh, unix.MNT_DETACH) })
		out = append(out, v2Backend("v2-fresh-mount", fresh))
	}
	return out
}

func v2Backend(name, mount string) backend {
	ctrls, _ := readFile(filepath.Join(mount, "cgroup.controllers"))
	have := strings.Fields(ctrls)
	limits := contains(have, "memory") && contains(have, "pids") && contains(have, "cpu")
	return backend{
		name:   name,
		limits: limits,
		new:    func(path string, r Resources) (Manager, error) { return NewV2(mount, path, r) },
		load:   func(path string) (Manager, error) { return LoadV2(mount, path) },
		dirs:   func(path string) []string { return []string{filepath.Join(mount, path)} },
		frozen: func(t testing.TB, path string) bool {
			v, _, err := readKV(filepath.Join(mount, path, "cgroup.events"), "frozen")
			if err != nil {
				t.Fatal(err)
			}
			return v == 1
		},
		file: func(_, path, name string) string { return filepath.Join(mount, path, name) },
	}
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

func ctxT(t testing.TB, d time.Duration) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), d)
	t.Cleanup(cancel)
	return ctx
}
