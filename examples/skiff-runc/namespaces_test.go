package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"

	"github.com/skiffrt/skiff/internal/testutil"
)

// TestJoinPidNamespaceByPath: a second container joins the first one's PID namespace
// by path and sees its process as pid 1.
func TestJoinPidNamespaceByPath(t *testing.T) {
	r, prefix := newRuntime(t)
	a, b := prefix+"-a", prefix+"-b"
	r.ok("create", "--bundle", makeBundle(t, "/"+a, nil, "sleep", "60"), a)
	t.Cleanup(func() { r.run("", "delete", "--force", a) })
	r.ok("start", a)
	pidA := r.state(a).Pid
	pidns := "/proc/" + strconv.Itoa(pidA) + "/ns/pid"
	want, err := os.Readlink(pidns)
	if err != nil {
		t.Fatal(err)
	}
	bundle := makeBundle(t, "/"+b, func(s *specs.Spec) {
		for i, ns := range s.Linux.Namespaces {
			if ns.Type == specs.PIDNamespace {
				s.Linux.Namespaces[i].Path = pidns
			}
		}
	}, "sh", "-c", "{ readlink /proc/self/ns/pid; ps -o pid,args; } > /tmp/out")
	r.ok("create", "--bundle", bundle, b)
	// Before a's: a's pid 1 is not reaped while b's init is an unreaped zombie.
	t.Cleanup(func() { r.run("", "delete", "--force", b) })
	pidB := r.state(b).Pid
	r.ok("start", b)
	if ws := reap(t, pidB); ws.ExitStatus() != 0 {
		t.Fatalf("exit status %v", ws)
	}
	out, err := os.ReadFile(filepath.Join(bundle, "rootfs/tmp/out"))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(string(out), want+"\n") || !strings.Contains(string(out), "    1 sleep 60") {
		t.Fatalf("in the joined pid namespace %s: %q", want, out)
	}
	r.ok("delete", b)
	r.ok("delete", "--force", a)
	if ws := reap(t, pidA); !ws.Signaled() {
		t.Fatalf("owner after delete --force: %v, want killed", ws)
	}
}

// TestNoMountNamespace runs a bundle without namespaces in a private mount namespace
// of its own (as validate.sh does: the runtime's mounts go into its caller's): the
// init shares the caller's mount namespace, chrooted into the rootfs, and delete
// removes the mounts it left there.
func TestNoMountNamespace(t *testing.T) {
	r, prefix := newRuntime(t)
	_, err := exec.LookPath("unshare")
	if err != nil {
		t.Fatal("needs unshare from util-linux")
	}
	id := prefix + "-n"
	bundle := makeBundle(t, "", func(s *specs.Spec) {
		s.Linux.Namespaces = []specs.LinuxNamespace{}
		s.Hostname = ""
	}, "sh", "-c", "ls /bin/busybox; test -e /proc/self/ns/mnt && echo proc")
	rootfs := filepath.Join(bundle, "rootfs")
	script := `set -e
rt() { "$RT" --root "$ROOT" "$@"; }
rt create --bundle "$BUNDLE" "$ID"
pid=$(rt state "$ID" | sed -n 's/.*"pid": *\([0-9]*\).*/\1/p')
echo $pid
[ "$(readlink /proc/$pid/ns/mnt)" = "$(readlink /proc/self/ns/mnt)" ] && echo same-mntns
grep -c " $ROOTFS/proc " /proc/self/mountinfo
rt delete --force "$ID"
grep -c " $ROOTFS" /proc/self/mountinfo || true
`
	cmd := exec.Command("unshare", "--mount", "--propagation", "private", "sh", "-c", script)
	cmd.Env = append(os.Environ(), "RT="+runtimeBin(t), "ROOT="+r.root, "BUNDLE="+bundle, "ID="+id, "ROOTFS="+rootfs)
	out, err := cmd.CombinedOutput()
	t.Cleanup(func() { r.run("", "delete", "--force", id) })
	pid, rest, _ := strings.Cut(string(out), "\n")
	if n, perr := strconv.Atoi(pid); perr == nil {
		reap(t, n) // killed by delete --force; we are its subreaper
	}
	if err != nil || rest != "same-mntns\n1\n0\n" {
		t.Fatalf("%v: %q; want the caller's mount namespace, /proc mounted below the rootfs, nothing left after delete", err, out)
	}
}

// TestDevicesCgroup: with linux.resources.devices (deny all), the cgroup allows
// runc's default devices and the spec's linux.devices only.
func TestDevicesCgroup(t *testing.T) {
	dir := "/sys/fs/cgroup/devices"
	_, err := os.Stat(dir)
	testutil.Require(t, "a cgroup v1 devices controller", err == nil)
	r, prefix := newRuntime(t)
	id := prefix + "-d"
	fuseMajor, fuseMinor := int64(10), int64(229)
	bundle := makeBundle(t, "/"+id, func(s *specs.Spec) {
		s.Linux.Resources = &specs.LinuxResources{Devices: []specs.LinuxDeviceCgroup{{Allow: false, Access: "rwm"}}}
		s.Linux.Devices = []specs.LinuxDevice{{Path: "/dev/fuse", Type: "c", Major: fuseMajor, Minor: fuseMinor}}
	}, "sh", "-c", "{ echo x > /dev/null && echo null-ok; mknod /tmp/loop b 7 0 && head -c 1 /tmp/loop; } > /tmp/out 2>&1")
	r.ok("create", "--bundle", bundle, id)
	t.Cleanup(func() { r.run("", "delete", "--force", id) })
	list, err := os.ReadFile(filepath.Join(dir, id, "devices.list"))
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"c 1:3 rwm", "c 136:* rwm", "c 10:229 rwm", "b *:* m"} {
		if !strings.Contains("\n"+string(list), "\n"+want+"\n") {
			t.Errorf("devices.list lacks %q:\n%s", want, list)
		}
	}
	if strings.Contains(string(list), "a *:* rwm") {
		t.Errorf("devices.list still allows everything:\n%s", list)
	}
	pid := r.state(id).Pid
	r.ok("start", id)
	reap(t, pid)
	out, err := os.ReadFile(filepath.Join(bundle, "rootfs/tmp/out"))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(string(out), "null-ok\n") || !strings.Contains(string(out), "Operation not permitted") {
		t.Fatalf("/dev/null allowed, a loop device denied: %q", out)
	}
	r.ok("delete", id)
}
