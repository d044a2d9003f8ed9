package main

import (
	"archive/tar"
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/skiffrt/skiff/internal/testutil"
)

// addIDLine appends line to /etc/subuid or /etc/subgid and removes it on cleanup.
func addIDLine(t *testing.T, file, line string) {
	t.Helper()
	old, err := os.ReadFile(file)
	if err != nil && !os.IsNotExist(err) {
		t.Fatal(err)
	}
	if err := os.WriteFile(file, append(old, []byte(line+"\n")...), 0o644); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if cur, err := os.ReadFile(file); err == nil {
			_ = os.WriteFile(file, []byte(strings.Replace(string(cur), line+"\n", "", 1)), 0o644)
		}
	})
}

// busyboxRootfsTar writes a tar of a root filesystem holding /bin/busybox and
// the applets the test uses.
func busyboxRootfsTar(t *testing.T, path string) {
	t.Helper()
	bb, err := os.ReadFile("/bin/busybox")
	testutil.Require(t, "/bin/busybox (apt: busybox-static)", err == nil)
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	now := time.Now()
	tw.WriteHeader(&tar.Header{Name: "bin/", Typeflag: tar.TypeDir, Mode: 0o755, ModTime: now})
	tw.WriteHeader(&tar.Header{Name: "bin/busybox", Typeflag: tar.TypeReg, Mode: 0o755, Size: int64(len(bb)), ModTime: now})
	tw.Write(bb)
	for _, a := range []string{"sh", "id", "echo", "ls", "mkdir", "chown", "cat", "true"} {
		tw.WriteHeader(&tar.Header{Name: "bin/" + a, Typeflag: tar.TypeSymlink, Linkname: "busybox", Mode: 0o777, ModTime: now})
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
}

// TestCLIRootless runs the CLI as an unprivileged user with a /etc/subuid range:
// it re-executes itself in a user namespace, root inside is the user, uids 1.. are
// the range; no cgroup limits, no bridge network, nothing left mounted.
func TestCLIRootless(t *testing.T) {
	testutil.RequireRoot(t)
	testutil.RequireBinary(t, "newuidmap")
	testutil.RequireBinary(t, "newgidmap")
	testutil.RequireBinary(t, "useradd")

	suffix := make([]byte, 4)
	rand.Read(suffix)
	name := "skiffrl" + hex.EncodeToString(suffix)
	if out, err := exec.Command("useradd", "--system", "--no-create-home", "--shell", "/usr/sbin/nologin", name).CombinedOutput(); err != nil {
		t.Fatalf("useradd %s: %v %s", name, err, out)
	}
	t.Cleanup(func() {
		if out, err := exec.Command("userdel", name).CombinedOutput(); err != nil {
			t.Errorf("userdel %s: %v %s", name, err, out)
		}
	})
	u, err := user.Lookup(name)
	if err != nil {
		t.Fatal(err)
	}
	uid, _ := strconv.Atoi(u.Uid)
	gid, _ := strconv.Atoi(u.Gid)
	// A range of its own, well above the namespace package's test range.
	base := 1_000_000 + 65536*(int(suffix[0])<<8|int(suffix[1]))
	addIDLine(t, "/etc/subuid", fmt.Sprintf("%s:%d:65536", name, base))
	addIDLine(t, "/etc/subgid", fmt.Sprintf("%s:%d:65536", name, base))

	// Everything the user needs sits in one dir it can reach.
	dir, err := os.MkdirTemp("", "skiff-rootless-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	bin := filepath.Join(dir, "skiff")
	self, err := os.ReadFile(skiffBin(t))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(bin, self, 0o755); err != nil {
		t.Fatal(err)
	}
	busyboxRootfsTar(t, filepath.Join(dir, "bb.tar"))
	home := filepath.Join(dir, "home")
	if err := os.Mkdir(home, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Chown(home, uid, gid); err != nil {
		t.Fatal(err)
	}
	root := filepath.Join(home, "root")

	run := func(args ...string) (string, string, int) {
		t.Helper()
		cmd := exec.Command(bin, args...)
		cmd.Env = []string{"PATH=/usr/sbin:/usr/bin:/sbin:/bin", "HOME=" + home, "XDG_DATA_HOME=" + filepath.Join(home, "xdg")}
		cmd.Dir = "/"
		cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid)}}
		var stdout, stderr bytes.Buffer
		cmd.Stdout, cmd.Stderr = &stdout, &stderr
		err := cmd.Run()
		code := 0
		if ee, ok := err.(*exec.ExitError); ok {
			code = ee.ExitCode()
		} else if err != nil {
			t.Fatalf("skiff %q: %v", args, err)
		}
		return stdout.String(), stderr.String(), code
	}
	ok := func(args ...string) string {
		t.Helper()
		out, errOut, code := run(append([]string{"--root", root}, args...)...)
		if code != 0 {
			t.Fatalf("skiff %s: exit %d\nstdout: %s\nstderr: %s", strings.Join(args, " "), code, out, errOut)
		}
		return out
	}
	t.Cleanup(func() {
		// Nothing of the user's may be left running or mounted.
		if m, _ := os.ReadFile("/proc/self/mountinfo"); bytes.Contains(m, []byte(dir)) {
			t.Errorf("mounts left under %s:\n%s", dir, m)
		}
		if pids := userProcs(uid); len(pids) > 0 {
			t.Errorf("processes of %s left: %v", name, pids)
			for _, p := range pids {
				syscall.Kill(p, syscall.SIGKILL)
			}
		}
	})

	ok("import", filepath.Join(dir, "bb.tar"), "bb:rootless")

	out := ok("run", "--rm", "--network", "none", "bb:rootless", "sh", "-c", "id -u; echo hi > /f; ls -ln /f")
	if !regexp.MustCompile(`^0\n-rw-r--r-- +1 0 +0 +3 .* /f\n$`).MatchString(out) {
		t.Errorf("root inside a rootless container: %q, want uid 0 and /f owned by 0:0", out)
	}
	out = ok("run", "--rm", "--network", "host", "bb:rootless", "sh", "-c", "cat /proc/self/uid_map; ls /sys/kernel >/dev/null && echo sys")
	if !regexp.MustCompile(`^ +0 +` + u.Uid + ` +1\n +1 +` + strconv.Itoa(base) + ` +65536\nsys\n$`).MatchString(out) {
		t.Errorf("--network host: %q, want the user's uid map and /sys", out)
	}

	// A kept container: its files on the host belong to the user (root inside)
	// and to the subuid range (uid 1 inside is base).
	ok("run", "--name", "kept", "--network", "none", "bb:rootless", "sh", "-c", "echo hi > /f; mkdir /d; echo x > /d/y; chown 1:1 /d/y")
	ids, err := filepath.Glob(filepath.Join(root, "containers", "[0-9a-f]*"))
	if err != nil || len(ids) != 1 {
		t.Fatalf("containers on disk: %v %v", ids, err)
	}
	for file, want := range map[string][2]int{"upper/f": {uid, gid}, "upper/d": {uid, gid}, "upper/d/y": {base, base}} {
		var st syscall.Stat_t
		if err := syscall.Lstat(filepath.Join(ids[0], file), &st); err != nil {
			t.Errorf("host view of the container's %s: %v", file, err)
		} else if got := [2]int{int(st.Uid), int(st.Gid)}; got != want {
			t.Errorf("host owner of the container's %s: %d:%d, want %d:%d", file, got[0], got[1], want[0], want[1])
		}
	}

	// What needs root fails clearly.
	_, errOut, code := run("--root", root, "run", "--rm", "--memory", "64m", "--network", "none", "bb:rootless", "true")
	if code != 125 || !strings.Contains(errOut, "rootless: Resources.MemoryLimit") {
		t.Errorf("--memory rootless: exit %d, stderr %q", code, errOut)
	}
	_, errOut, code = run("--root", root, "run", "--rm", "bb:rootless", "true")
	if code != 125 || !strings.Contains(errOut, `rootless: Network "bridge" needs root`) {
		t.Errorf("bridge network rootless: exit %d, stderr %q", code, errOut)
	}

	ok("rm", "kept")
	if left, _ := filepath.Glob(filepath.Join(root, "containers", "*")); len(left) != 0 {
		t.Errorf("left after rm: %v", left)
	}

	// Without --root the state goes under $XDG_DATA_HOME/skiff.
	if out, errOut, code := run("images", "-q"); code != 0 || out != "" {
		t.Errorf("skiff images (default root): exit %d %q %q", code, out, errOut)
	}
	if _, err := os.Stat(filepath.Join(home, "xdg", "skiff", "containers")); err != nil {
		t.Errorf("default rootless root: %v", err)
	}
}

// userProcs lists the pids whose real uid is uid.
func userProcs(uid int) []int {
	var pids []int
	ents, _ := os.ReadDir("/proc")
	for _, e := range ents {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		b, err := os.ReadFile("/proc/" + e.Name() + "/status")
		if err != nil {
			continue
		}
		for _, l := range strings.Split(string(b), "\n") {
			if f := strings.Fields(l); len(f) > 1 && f[0] == "Uid:" && f[1] == strconv.Itoa(uid) {
				pids = append(pids, pid)
			}
		}
	}
	return pids
}
