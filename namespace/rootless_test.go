package namespace_test

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"

	"github.com/skiffrt/skiff/namespace"
)

const (
	rootlessUser  = "skiffrootless"
	rootlessRange = 200000
)

// addLine appends line to file and removes it again on cleanup.
func addLine(t *testing.T, file, line string) {
	t.Helper()
	old, err := os.ReadFile(file)
	if err != nil && !os.IsNotExist(err) {
		t.Fatal(err)
	}
	if strings.Contains(string(old), line+"\n") {
		return
	}
	if err := os.WriteFile(file, append(old, []byte(line+"\n")...), 0o644); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cur, err := os.ReadFile(file)
		if err == nil {
			_ = os.WriteFile(file, []byte(strings.Replace(string(cur), line+"\n", "", 1)), 0o644)
		}
	})
}

// TestRootless runs a container from an unprivileged user: root inside maps to the
// user's /etc/subuid range through newuidmap/newgidmap. The test (as root) creates
// the user and its ranges, then re-runs this test binary as that user
// (TestRootlessChild).
func TestRootless(t *testing.T) {
	requireRoot(t)
	_, err := exec.LookPath("newuidmap")
	require(t, "needs newuidmap and newgidmap (apt: uidmap)", err == nil)
	u, err := user.Lookup(rootlessUser)
	if err != nil {
		out, err := exec.Command("useradd", "--system", "--no-create-home", "--shell", "/usr/sbin/nologin", rootlessUser).CombinedOutput()
		require(t, fmt.Sprintf("useradd %s: %v %s", rootlessUser, err, out), err == nil)
		t.Cleanup(func() { _ = exec.Command("userdel", rootlessUser).Run() })
		if u, err = user.Lookup(rootlessUser); err != nil {
			t.Fatal(err)
		}
	}
	uid, _ := strconv.Atoi(u.Uid)
	gid, _ := strconv.Atoi(u.Gid)
	addLine(t, "/etc/subuid", fmt.Sprintf("%s:%d:65536", rootlessUser, rootlessRange))
	addLine(t, "/etc/subgid", fmt.Sprintf("%s:%d:65536", rootlessUser, rootlessRange))

	root := busyboxRootfs(t)
	chownTree(t, root, rootlessRange)
	state := t.TempDir()
	vol := t.TempDir()
	chownTree(t, state, uid)
	chownTree(t, vol, rootlessRange)
	// The go test binary sits in a private build dir: copy it where the user can run it.
	bin := filepath.Join(t.TempDir(), "namespace.test")
	self, err := os.ReadFile(os.Args[0])
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(bin, self, 0o755); err != nil {
		t.Fatal(err)
	}
	chownTree(t, filepath.Dir(bin), 0)
	cmd := exec.Command(bin, "-test.run=^TestRootlessChild$", "-test.v")
	cmd.Env = append(os.Environ(), "SKIFF_ROOTLESS_ROOTFS="+root, "SKIFF_ROOTLESS_STATE="+state, "SKIFF_ROOTLESS_VOL="+vol)
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid)}}
	cmd.Dir = "/"
	out, err := cmd.CombinedOutput()
	if err != nil || !strings.Contains(string(out), "--- PASS: TestRootlessChild") {
		t.Fatalf("rootless child: %v\n%s", err, out)
	}
	fi, err := os.Stat(filepath.Join(vol, "f"))
	if err != nil {
		t.Fatal(err)
	}
	if st := fi.Sys().(*syscall.Stat_t); st.Uid != rootlessRange {
		t.Fatalf("file made by root inside a rootless container is owned by %d, want %d", st.Uid, rootlessRange)
	}
}

// TestRootlessChild is the unprivileged half of TestRootless.
func TestRootlessChild(t *testing.T) {
	root := os.Getenv("SKIFF_ROOTLESS_ROOTFS")
	if root == "" {
		t.Skip("run by TestRootless")
	}
	if os.Geteuid() == 0 {
		t.Fatal("not unprivileged")
	}
	var out strings.Builder
	spec := namespace.DefaultSpec(root, "sh", "-c", "id -u; cat /proc/self/uid_map; touch /data/f && echo ok")
	l := spec.Linux
	l.Namespaces = append(l.Namespaces, specs.LinuxNamespace{Type: specs.UserNamespace})
	l.UIDMappings = []specs.LinuxIDMapping{{ContainerID: 0, HostID: rootlessRange, Size: 65536}}
	l.GIDMappings = []specs.LinuxIDMapping{{ContainerID: 0, HostID: rootlessRange, Size: 65536}}
	spec.Mounts = append(spec.Mounts, specs.Mount{Destination: "/data", Type: "bind", Source: os.Getenv("SKIFF_ROOTLESS_VOL"), Options: []string{"rbind"}})
	p, err := namespace.Create(context.Background(), &namespace.Config{Spec: spec, StateDir: os.Getenv("SKIFF_ROOTLESS_STATE"), Stdout: &out, Stderr: &out})
	if err != nil {
		t.Fatal(err)
	}
	if err := p.Start(); err != nil {
		t.Fatal(err)
	}
	st, err := p.Wait()
	if err != nil || st.Code != 0 || !re(`^0\n +0 +200000 +65536\nok\n$`).MatchString(out.String()) {
		t.Fatalf("rootless container: %+v %v %q", st, err, out.String())
	}
}
