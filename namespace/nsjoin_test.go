package namespace_test

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	specs "github.com/opencontainers/runtime-spec/specs-go"

	"github.com/skiffrt/skiff/namespace"
)

// setNamespace sets the path of the spec's namespace of type typ, adding it if absent.
func setNamespace(s *specs.Spec, typ specs.LinuxNamespaceType, path string) {
	for i, ns := range s.Linux.Namespaces {
		if ns.Type == typ {
			s.Linux.Namespaces[i].Path = path
			return
		}
	}
	s.Linux.Namespaces = append(s.Linux.Namespaces, specs.LinuxNamespace{Type: typ, Path: path})
}

// dropNamespace removes the spec's namespace of type typ.
func dropNamespace(s *specs.Spec, typ specs.LinuxNamespaceType) {
	ns := s.Linux.Namespaces[:0]
	for _, n := range s.Linux.Namespaces {
		if n.Type != typ {
			ns = append(ns, n)
		}
	}
	s.Linux.Namespaces = ns
}

func readlink(t *testing.T, path string) string {
	t.Helper()
	l, err := os.Readlink(path)
	if err != nil {
		t.Fatal(err)
	}
	return l
}

// awaitFile waits up to 10 s for path to exist.
func awaitFile(t *testing.T, path string) {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(10 * time.Millisecond) {
		if _, err := os.Stat(path); err == nil {
			return
		} else if time.Now().After(deadline) {
			t.Fatalf("%s did not appear within 10 s: %v", path, err)
		}
	}
}

func TestJoinPidNamespace(t *testing.T) {
	// A first container owns a PID namespace; the second is born inside it, so it
	// sees the first one's processes and is not pid 1 there.
	owner, _ := runningContainer(t, "owner", "sleep", "100")
	pidns := "/proc/" + strconv.Itoa(owner.Pid) + "/ns/pid"
	want := readlink(t, pidns)
	hostPidns := readlink(t, "/proc/thread-self/ns/pid_for_children")
	cfg, o, e := newConfig(t, busyboxRootfs(t), "sh", "-c", "readlink /proc/self/ns/pid; echo pid=$$; ps -o pid,args")
	setNamespace(cfg.Spec, specs.PIDNamespace, pidns)
	p, err := namespace.Create(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	// Registered after the owner's: runs first. The owner's pid 1 cannot be reaped
	// while a process of its namespace is an unreaped zombie of ours.
	t.Cleanup(func() { _ = p.Signal(syscall.SIGKILL); _, _ = p.Wait() })
	if err := p.Start(); err != nil {
		t.Fatal(err)
	}
	st, err := p.Wait()
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(o.String(), "\n")
	if st.Code != 0 || lines[0] != want || len(lines) < 2 || lines[1] == "pid=1" ||
		!strings.Contains(o.String(), "    1 sleep 100") {
		t.Fatalf("status %+v stdout %q stderr %q; want pid ns %s with the owner's sleep as pid 1", st, o, e, want)
	}
	// The creating thread went back to its own namespace for children.
	for i := 0; i < 5; i++ {
		cfg, o, e := newConfig(t, busyboxRootfs(t), "readlink", "/proc/self/ns/pid")
		if r := run(t, cfg, o, e); strings.TrimSpace(r.stdout) == want {
			t.Fatalf("a later container was born in the joined pid namespace %s", want)
		}
	}
	if got := readlink(t, "/proc/thread-self/ns/pid_for_children"); got != hostPidns {
		t.Errorf("pid_for_children of the test's thread is %s, was %s", got, hostPidns)
	}
}

func TestJoinPidNamespaceMissing(t *testing.T) {
	cfg, _, _ := newConfig(t, busyboxRootfs(t), "true")
	setNamespace(cfg.Spec, specs.PIDNamespace, "/proc/self/ns/nonexistent-skiff")
	_, err := namespace.Create(context.Background(), cfg)
	if !errors.Is(err, namespace.ErrInit) || !strings.Contains(err.Error(), "linux.namespaces[1]") ||
		!strings.Contains(err.Error(), "nonexistent-skiff") {
		t.Fatalf("Create: %v, want ErrInit naming linux.namespaces[1] and the path", err)
	}
}

func TestJoinMountNamespace(t *testing.T) {
	// A process holds a private mount namespace with a tmpfs on the rootfs's /mnt,
	// which the host does not see; a container joining it by path sets up its rootfs
	// there and sees the tmpfs.
	require(t, "needs unshare from util-linux", func() bool { _, err := exec.LookPath("unshare"); return err == nil }())
	rootfs := busyboxRootfs(t)
	mnt := filepath.Join(rootfs, "mnt")
	if err := os.Mkdir(mnt, 0o755); err != nil {
		t.Fatal(err)
	}
	holder := exec.Command("unshare", "--mount", "--propagation", "private", "sh", "-c",
		`mount -t tmpfs tmpfs "$1" && echo joined > "$1/marker" && exec sleep 100`, "sh", mnt)
	holder.Stderr = os.Stderr
	if err := holder.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = holder.Process.Kill(); _ = holder.Wait() })
	proc := "/proc/" + strconv.Itoa(holder.Process.Pid)
	awaitFile(t, proc+"/root"+mnt+"/marker")
	if _, err := os.Stat(filepath.Join(mnt, "marker")); err == nil {
		t.Fatal("the holder's tmpfs is visible on the host")
	}
	mntns := proc + "/ns/mnt"
	want := readlink(t, mntns)
	cfg, o, e := newConfig(t, rootfs, "sh", "-c", "readlink /proc/self/ns/mnt; cat /mnt/marker")
	setNamespace(cfg.Spec, specs.MountNamespace, mntns)
	r := run(t, cfg, o, e)
	if r.status.Code != 0 || r.stdout != want+"\njoined\n" {
		t.Fatalf("status %+v stdout %q stderr %q; want mount ns %s and the holder's tmpfs", r.status, r.stdout, r.stderr, want)
	}
	if got := hostMnt(t); got == want {
		t.Fatal("the test process is in the joined mount namespace")
	}
}

// mountsUnder returns the lines of the test process's mountinfo naming dir.
func mountsUnder(t *testing.T, dir string) []string {
	t.Helper()
	mi, err := os.ReadFile("/proc/self/mountinfo")
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, l := range strings.Split(string(mi), "\n") {
		if strings.Contains(l, dir) {
			out = append(out, l)
		}
	}
	return out
}

func TestNoMountNamespace(t *testing.T) {
	// Without a mount namespace in the list, init stays in its creator's and chroots
	// into the rootfs, with the spec's mounts below it; Exec chroots there too, and
	// Wait removes the mounts from the creator's namespace.
	p, cfg := func() (*namespace.Process, *namespace.Config) {
		cfg, _, _ := newConfig(t, busyboxRootfs(t), "sh", "-c", "echo up > /tmp/up; exec sleep 100")
		dropNamespace(cfg.Spec, specs.MountNamespace)
		p, err := namespace.Create(context.Background(), cfg)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = p.Signal(syscall.SIGKILL); _, _ = p.Wait() })
		if err := p.Start(); err != nil {
			t.Fatal(err)
		}
		return p, cfg
	}()
	rootfs := cfg.Spec.Root.Path
	host := hostMnt(t)
	if got := readlink(t, "/proc/"+strconv.Itoa(p.Pid)+"/ns/mnt"); got != host {
		t.Fatalf("init's mount namespace %s, want the creator's %s", got, host)
	}
	if p.RootfsMount == 0 {
		t.Error("RootfsMount is 0 for a container without a mount namespace")
	}
	awaitFile(t, filepath.Join(rootfs, "tmp/up"))
	if len(mountsUnder(t, rootfs+"/proc")) == 0 {
		t.Errorf("no /proc mounted under %s in the creator's namespace", rootfs)
	}
	st, out, errOut := execIn(t, p.Pid, &specs.Process{
		Args: []string{"sh", "-c", "readlink /proc/self/ns/mnt; cat /tmp/up; ls /proc/1/cmdline; test -e " + rootfs + " || echo chrooted"},
		Env:  []string{"PATH=/bin"},
	})
	if st.Code != 0 || out != host+"\nup\n/proc/1/cmdline\nchrooted\n" {
		t.Fatalf("exec: %+v stdout %q stderr %q", st, out, errOut)
	}
	_ = p.Signal(syscall.SIGKILL)
	if _, err := p.Wait(); err != nil {
		t.Fatal(err)
	}
	if m := mountsUnder(t, rootfs); len(m) > 0 {
		t.Fatalf("mounts left under %s after Wait:\n%s", rootfs, strings.Join(m, "\n"))
	}
}

func TestNoMountNamespaceFailedSetupUnmounts(t *testing.T) {
	// A mount that fails after others were made in the creator's namespace: Create
	// reports it and leaves nothing mounted.
	cfg, _, _ := newConfig(t, busyboxRootfs(t), "true")
	dropNamespace(cfg.Spec, specs.MountNamespace)
	cfg.Spec.Mounts = append(cfg.Spec.Mounts, specs.Mount{Destination: "/mnt", Type: "bind", Source: "/nonexistent-skiff-src"})
	_, err := namespace.Create(context.Background(), cfg)
	if !errors.Is(err, namespace.ErrInit) || !strings.Contains(err.Error(), "(/mnt)") {
		t.Fatalf("Create: %v", err)
	}
	if m := mountsUnder(t, cfg.Spec.Root.Path); len(m) > 0 {
		t.Fatalf("mounts left under %s after a failed Create:\n%s", cfg.Spec.Root.Path, strings.Join(m, "\n"))
	}
}

func TestUnmountRootfsOnlyItsOwnMount(t *testing.T) {
	// An id that is not the mount on the rootfs (already unmounted, or another one)
	// leaves it alone.
	requireRoot(t)
	dir := t.TempDir()
	if err := syscall.Mount("tmpfs", dir, "tmpfs", 0, ""); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = syscall.Unmount(dir, syscall.MNT_DETACH) })
	if err := namespace.UnmountRootfs(dir, 1); err != nil {
		t.Fatal(err)
	}
	if len(mountsUnder(t, dir)) != 1 {
		t.Fatalf("UnmountRootfs with a foreign id unmounted %s", dir)
	}
}
