package main

import (
	"archive/tar"
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	securejoin "github.com/cyphar/filepath-securejoin"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"

	"github.com/skiffrt/skiff/internal/testutil"
	"github.com/skiffrt/skiff/namespace"
)

var (
	buildOnce sync.Once
	binPath   string
	buildErr  error
	buildDir  string
)

// runtimeBin builds skiff-runc once per test binary.
func runtimeBin(t *testing.T) string {
	t.Helper()
	buildOnce.Do(func() {
		buildDir, buildErr = os.MkdirTemp("", "skiff-runc-")
		if buildErr != nil {
			return
		}
		binPath = filepath.Join(buildDir, "skiff-runc")
		out, err := exec.Command("go", "build", "-o", binPath, ".").CombinedOutput()
		if err != nil {
			buildErr = err
			binPath = string(out)
		}
	})
	if buildErr != nil {
		t.Fatalf("go build: %v\n%s", buildErr, binPath)
	}
	return binPath
}

func TestMain(m *testing.M) {
	// As containerd's shim: the inits that create leaves behind become our children,
	// so the tests reap them and see their exit status.
	if err := unix.Prctl(unix.PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0); err != nil {
		panic(err)
	}
	code := m.Run()
	if buildDir != "" {
		os.RemoveAll(buildDir)
	}
	os.Exit(code)
}

// runtime runs the CLI on one state root.
type runtime struct {
	t    *testing.T
	root string
}

// run runs skiff-runc --root R args... with stdin and returns stdout, stderr and
// the exit code.
func (r *runtime) run(stdin string, args ...string) (string, string, int) {
	r.t.Helper()
	cmd := exec.Command(runtimeBin(r.t), append([]string{"--root", r.root}, args...)...)
	cmd.Stdin = strings.NewReader(stdin)
	// Files, not pipes: a container's init inherits them, and would keep a pipe open
	// (containerd's shim passes fifos or files too).
	stdout, stderr := r.tempFile("stdout"), r.tempFile("stderr")
	defer stdout.Close()
	defer stderr.Close()
	cmd.Stdout, cmd.Stderr = stdout, stderr
	code := exitCode(r.t, cmd)
	return readAll(r.t, stdout), readAll(r.t, stderr), code
}

// exitCode runs cmd and returns its exit status; failing to run it at all fails the
// test.
func exitCode(t testing.TB, cmd *exec.Cmd) int {
	t.Helper()
	err := cmd.Run()
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		return ee.ExitCode()
	} else if err != nil {
		t.Fatalf("%q: %v", cmd.Args, err)
	}
	return 0
}

// output runs cmd and returns its stdout, stderr and exit status (see exitCode).
func output(t testing.TB, cmd *exec.Cmd) (string, string, int) {
	t.Helper()
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	code := exitCode(t, cmd)
	return stdout.String(), stderr.String(), code
}

// tempFile returns an unlinked temp file.
func (r *runtime) tempFile(name string) *os.File {
	r.t.Helper()
	f, err := os.CreateTemp("", "skiff-runc-"+name+"-")
	if err != nil {
		r.t.Fatal(err)
	}
	_ = os.Remove(f.Name())
	return f
}

func readAll(t *testing.T, f *os.File) string {
	t.Helper()
	b, err := os.ReadFile("/proc/self/fd/" + strconv.Itoa(int(f.Fd())))
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// ok runs args and fails the test unless it exits 0.
func (r *runtime) ok(args ...string) string {
	r.t.Helper()
	out, errOut, code := r.run("", args...)
	if code != 0 {
		r.t.Fatalf("skiff-runc %q: exit %d\nstdout: %s\nstderr: %s", args, code, out, errOut)
	}
	return out
}

func (r *runtime) state(id string) runcState {
	r.t.Helper()
	var s runcState
	if err := json.Unmarshal([]byte(r.ok("state", id)), &s); err != nil {
		r.t.Fatalf("state %s: %v", id, err)
	}
	return s
}

// newRuntime returns a runtime on a fresh root that checks, at the end, that no
// mount, child or cgroup named by prefix is left.
func newRuntime(t *testing.T) (*runtime, string) {
	t.Helper()
	testutil.RequireRoot(t)
	prefix := testutil.RandomName("srt")
	r := &runtime{t: t, root: t.TempDir()}
	testutil.CheckLeaks(t, r.root, testutil.WithCgroupPrefix(prefix))
	return r, prefix
}

var rootfsOnce struct {
	sync.Once
	tar []byte
	err error
}

// makeBundle writes a bundle (config.json and rootfs/ unpacked from the busybox test
// image) to a temp dir and returns it with its spec, which edit may change first.
func makeBundle(t *testing.T, cgroupPath string, edit func(*specs.Spec), args ...string) string {
	t.Helper()
	img := testutil.Busybox(t)
	rootfsOnce.Do(func() {
		rc := mutate.Extract(img)
		defer rc.Close()
		rootfsOnce.tar, rootfsOnce.err = io.ReadAll(rc)
	})
	if rootfsOnce.err != nil {
		t.Fatalf("flatten busybox: %v", rootfsOnce.err)
	}
	bundle := t.TempDir()
	rootfs := filepath.Join(bundle, "rootfs")
	if err := untar(rootfs, bytes.NewReader(rootfsOnce.tar)); err != nil {
		t.Fatalf("unpack rootfs: %v", err)
	}
	s := namespace.DefaultSpec("rootfs", args...)
	s.Linux.CgroupsPath = cgroupPath
	s.Hostname = "box"
	s.Linux.Namespaces = append(s.Linux.Namespaces, specs.LinuxNamespace{Type: specs.CgroupNamespace})
	if edit != nil {
		edit(s)
	}
	b, err := json.MarshalIndent(s, "", "\t")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(bundle, "config.json"), b, 0o644); err != nil {
		t.Fatal(err)
	}
	return bundle
}

// untar extracts a flattened image tar into dir, every path resolved inside dir.
func untar(dir string, r io.Reader) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	tr := tar.NewReader(r)
	for {
		h, err := tr.Next()
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return err
		}
		p, err := securejoin.SecureJoin(dir, h.Name)
		if err != nil {
			return err
		}
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			return err
		}
		switch h.Typeflag {
		case tar.TypeDir:
			if err := os.MkdirAll(p, 0o755); err != nil {
				return err
			}
			if err := os.Chmod(p, h.FileInfo().Mode().Perm()|h.FileInfo().Mode()&os.ModeSticky); err != nil {
				return err
			}
		case tar.TypeSymlink:
			if err := os.Symlink(h.Linkname, p); err != nil {
				return err
			}
		case tar.TypeReg:
			f, err := os.OpenFile(p, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, h.FileInfo().Mode().Perm())
			if err != nil {
				return err
			}
			_, err = io.Copy(f, tr)
			f.Close()
			if err != nil {
				return err
			}
		default:
			continue
		}
		if err := os.Lchown(p, h.Uid, h.Gid); err != nil {
			return err
		}
	}
}

// reap waits for the container init pid (our child: we are the subreaper) and
// returns its wait status.
func reap(t *testing.T, pid int) unix.WaitStatus {
	t.Helper()
	var ws unix.WaitStatus
	for {
		_, err := unix.Wait4(pid, &ws, 0, nil)
		if err == unix.EINTR {
			continue
		}
		if err != nil {
			t.Fatalf("wait4 %d: %v", pid, err)
		}
		return ws
	}
}

// cgroupDir is the container's directory in the pids hierarchy (v1) or the unified one.
func cgroupDir(path string) string {
	if _, err := os.Stat("/sys/fs/cgroup/pids"); err == nil {
		return filepath.Join("/sys/fs/cgroup/pids", path)
	}
	return filepath.Join("/sys/fs/cgroup", path)
}

func TestLifecycle(t *testing.T) {
	r, prefix := newRuntime(t)
	id := prefix + "-c"
	cg := "/" + prefix + "-c"
	hookOut := filepath.Join(t.TempDir(), "hook.json")
	bundle := makeBundle(t, cg, func(s *specs.Spec) {
		s.Hooks = &specs.Hooks{CreateRuntime: []specs.Hook{{Path: "/bin/sh", Args: []string{"sh", "-c", "cat > " + hookOut}}}}
		s.Annotations = map[string]string{"org.example.k": "v"}
		s.Linux.Sysctl = map[string]string{"net.ipv4.ip_forward": "1", "kernel.shmmni": "1234"}
		adj := 321
		s.Process.OOMScoreAdj = &adj
		s.Linux.Resources = &specs.LinuxResources{CPU: &specs.LinuxCPU{Cpus: "0"}}
	}, "sh", "-c", "echo started > /tmp/started; exec sleep 60")
	pidFile := filepath.Join(t.TempDir(), "init.pid")

	r.ok("create", "--bundle", bundle, "--pid-file", pidFile, id)
	t.Cleanup(func() { r.run("", "delete", "--force", id) })
	b, err := os.ReadFile(pidFile)
	if err != nil {
		t.Fatal(err)
	}
	pid, _ := strconv.Atoi(string(b))
	st := r.state(id)
	if st.Status != "created" || st.Pid != pid || st.Bundle != bundle || st.Annotations["org.example.k"] != "v" || st.OCIVersion == "" {
		t.Fatalf("state after create = %+v, want created with pid %d and bundle %s", st, pid, bundle)
	}
	var hs specs.State
	if hb, err := os.ReadFile(hookOut); err != nil || json.Unmarshal(hb, &hs) != nil || hs.ID != id || hs.Pid != pid {
		t.Fatalf("createRuntime hook got %q (%v), want the state of %s with pid %d", hb, err, id, pid)
	}
	if _, err := os.Stat(filepath.Join(bundle, "rootfs/tmp/started")); err == nil {
		t.Fatal("the user process ran before start")
	}
	r.ok("start", id)
	if st := r.state(id); st.Status != "running" {
		t.Fatalf("status after start = %s, want running", st.Status)
	}
	if _, errOut, code := r.run("", "start", id); code != 1 || !strings.Contains(errOut, "already running") {
		t.Fatalf("second start: exit %d, %q; want 1 and 'already running'", code, errOut)
	}

	var pids []int
	if err := json.Unmarshal([]byte(r.ok("ps", "--format", "json", id)), &pids); err != nil || len(pids) != 1 || pids[0] != pid {
		t.Fatalf("ps --format json = %v (%v), want [%d]", pids, err, pid)
	}
	// exec: output, exit status, and that it runs in the container's namespaces.
	out, _, code := r.run("", "exec", id, "--", "sh", "-c", "hostname; cat /tmp/started; echo $$; exit 3")
	if code != 3 || out != "box\nstarted\n" && !strings.HasPrefix(out, "box\nstarted\n") {
		t.Fatalf("exec: exit %d, %q; want 3 and box, started", code, out)
	}
	if f := strings.Fields(out); len(f) != 3 || f[2] == "1" || f[2] == strconv.Itoa(pid) {
		t.Fatalf("exec pid in the container = %v, want a pid of the container's namespace other than 1", f)
	}
	// Sysctls were written in the container's namespaces, not the host's.
	out = r.ok("exec", id, "--", "sh", "-c", "cat /proc/sys/net/ipv4/ip_forward /proc/sys/kernel/shmmni /proc/1/oom_score_adj")
	if out != "1\n1234\n321\n" {
		t.Fatalf("sysctls and oom_score_adj in the container: %q, want 1, 1234, 321", out)
	}
	if out := r.ok("exec", id, "--", "grep", "Cpus_allowed_list", "/proc/self/status"); out != "Cpus_allowed_list:\t0\n" {
		t.Fatalf("cpuset in the container: %q, want cpu 0 only", out)
	}
	if _, errOut, code := r.run(`{"cpu":{"cpus":"0-1"}}`, "update", "--resources", "-", id); code != 0 {
		t.Fatalf("update cpus: exit %d: %s", code, errOut)
	}
	if out := r.ok("exec", id, "--", "grep", "Cpus_allowed_list", "/proc/self/status"); out != "Cpus_allowed_list:\t0-1\n" {
		t.Fatalf("cpuset in the container after update: %q, want 0-1", out)
	}
	if b, _ := os.ReadFile("/proc/sys/kernel/shmmni"); string(b) == "1234\n" {
		t.Fatal("kernel.shmmni changed on the host")
	}
	// exec --detach with a process file: the process survives the CLI.
	proc := specs.Process{Args: []string{"sh", "-c", "echo $$ > /tmp/detached; exec sleep 60"}, Cwd: "/", Env: []string{"PATH=/bin"}}
	pb, _ := json.Marshal(proc)
	procFile := filepath.Join(t.TempDir(), "process.json")
	if err := os.WriteFile(procFile, pb, 0o644); err != nil {
		t.Fatal(err)
	}
	execPidFile := filepath.Join(t.TempDir(), "exec.pid")
	r.ok("exec", "--detach", "--process", procFile, "--pid-file", execPidFile, id)
	eb, _ := os.ReadFile(execPidFile)
	execPid, _ := strconv.Atoi(string(eb))
	if err := unix.Kill(execPid, 0); err != nil {
		t.Fatalf("detached exec pid %d: %v", execPid, err)
	}
	if err := json.Unmarshal([]byte(r.ok("ps", "--format", "json", id)), &pids); err != nil || len(pids) != 2 {
		t.Fatalf("ps after exec --detach = %v (%v), want the init and the exec'd process", pids, err)
	}

	// update: the kernel enforces the new pids limit.
	if _, errOut, code := r.run(`{"pids":{"limit":2}}`, "update", "--resources", "-", id); code != 0 {
		t.Fatalf("update: exit %d: %s", code, errOut)
	}
	if out, _, code := r.run("", "exec", id, "--", "sh", "-c", "sleep 1 & wait"); code == 0 {
		t.Fatalf("fork beyond pids.max 2 worked: %q", out)
	}
	if _, errOut, code := r.run(`{"pids":{"limit":64}}`, "update", "--resources", "-", id); code != 0 {
		t.Fatalf("update: exit %d: %s", code, errOut)
	}
	var ev event
	if err := json.Unmarshal([]byte(r.ok("events", "--stats", id)), &ev); err != nil || ev.Type != "stats" || ev.ID != id {
		t.Fatalf("events --stats = %+v (%v)", ev, err)
	}
	if d, _ := json.Marshal(ev.Data); !strings.Contains(string(d), `"pids":{"current":2,"limit":64}`) {
		t.Fatalf("events --stats data = %s, want pids current 2 limit 64", d)
	}

	// pause/resume: the freezer stops the processes, exec is refused.
	r.ok("pause", id)
	if st := r.state(id); st.Status != "paused" {
		t.Fatalf("status after pause = %s", st.Status)
	}
	if _, s, _ := procStat(pid); s != "D" && s != "S" {
		t.Logf("frozen init state %s", s)
	}
	if _, errOut, code := r.run("", "exec", id, "true"); code != 1 || !strings.Contains(errOut, "paused") {
		t.Fatalf("exec in a paused container: exit %d, %q", code, errOut)
	}
	if _, errOut, code := r.run("", "delete", id); code != 1 || !strings.Contains(errOut, "not stopped") {
		t.Fatalf("delete of a paused container: exit %d, %q", code, errOut)
	}
	r.ok("resume", id)
	if st := r.state(id); st.Status != "running" {
		t.Fatalf("status after resume = %s", st.Status)
	}

	// kill --all: every process dies of the signal. The exec'd one first: a dying
	// pid namespace init waits until the namespace's other processes are reaped.
	r.ok("kill", "--all", id, "KILL")
	if ws := reap(t, execPid); !ws.Signaled() || ws.Signal() != unix.SIGKILL {
		t.Fatalf("exec'd process wait status %v, want killed by SIGKILL", ws)
	}
	if ws := reap(t, pid); !ws.Signaled() || ws.Signal() != unix.SIGKILL {
		t.Fatalf("init wait status %v, want killed by SIGKILL", ws)
	}
	if st := r.state(id); st.Status != "stopped" || st.Pid != 0 {
		t.Fatalf("state after kill = %+v, want stopped", st)
	}
	if _, errOut, code := r.run("", "kill", id, "TERM"); code != 1 || !strings.Contains(errOut, "container not running") {
		t.Fatalf("kill of a stopped container: exit %d, %q", code, errOut)
	}
	r.ok("delete", id)
	if _, err := os.Stat(cgroupDir(cg)); !os.IsNotExist(err) {
		t.Fatalf("cgroup %s after delete: %v", cgroupDir(cg), err)
	}
	if _, errOut, code := r.run("", "state", id); code != 1 || !strings.Contains(errOut, "does not exist") {
		t.Fatalf("state after delete: exit %d, %q", code, errOut)
	}
	r.ok("delete", "--force", id) // as runc: a forced delete of nothing succeeds
}

func TestExitStatusAndDeleteForce(t *testing.T) {
	r, prefix := newRuntime(t)
	bundle := makeBundle(t, "/"+prefix+"-a", nil, "sh", "-c", "exit 7")
	r.ok("create", "--bundle", bundle, prefix+"-a")
	t.Cleanup(func() { r.run("", "delete", "--force", prefix+"-a") })
	pid := r.state(prefix + "-a").Pid
	r.ok("start", prefix+"-a")
	if ws := reap(t, pid); ws.ExitStatus() != 7 {
		t.Fatalf("exit status %d, want 7", ws.ExitStatus())
	}
	if st := r.state(prefix + "-a"); st.Status != "stopped" {
		t.Fatalf("status %s, want stopped", st.Status)
	}
	r.ok("delete", prefix+"-a")

	// A created container is deleted without --force; a running one needs it.
	bundle = makeBundle(t, "/"+prefix+"-b", nil, "sleep", "60")
	r.ok("create", "--bundle", bundle, prefix+"-b")
	t.Cleanup(func() { r.run("", "delete", "--force", prefix+"-b") })
	pid = r.state(prefix + "-b").Pid
	if _, errOut, code := r.run("", "create", "--bundle", bundle, prefix+"-b"); code != 1 || !strings.Contains(errOut, "exists") {
		t.Fatalf("create of an existing id: exit %d, %q", code, errOut)
	}
	r.ok("start", prefix+"-b")
	if _, errOut, code := r.run("", "delete", prefix+"-b"); code != 1 || !strings.Contains(errOut, "not stopped: running") {
		t.Fatalf("delete of a running container: exit %d, %q", code, errOut)
	}
	r.ok("delete", "--force", prefix+"-b")
	if ws := reap(t, pid); !ws.Signaled() {
		t.Fatalf("init after delete --force: %v, want killed", ws)
	}

	// A command that does not exist fails create, and nothing is left.
	bundle = makeBundle(t, "/"+prefix+"-n", nil, "nosuchcmd")
	if _, errOut, code := r.run("", "create", "--bundle", bundle, prefix+"-n"); code != 1 || !strings.Contains(errOut, "not found") {
		t.Fatalf("create with a missing command: exit %d, %q", code, errOut)
	}
	if _, err := os.Stat(filepath.Join(r.root, prefix+"-n")); !os.IsNotExist(err) {
		t.Fatalf("state dir after a failed create: %v", err)
	}
}

func TestLogJSON(t *testing.T) {
	r, _ := newRuntime(t)
	logFile := filepath.Join(t.TempDir(), "log.json")
	if _, _, code := r.run("", "--log", logFile, "--log-format", "json", "state", "nope"); code != 1 {
		t.Fatalf("state of a missing container: exit %d, want 1", code)
	}
	b, err := os.ReadFile(logFile)
	if err != nil {
		t.Fatal(err)
	}
	var line struct{ Level, Msg, Time string }
	if err := json.Unmarshal(b, &line); err != nil || line.Level != "error" || line.Msg != "container does not exist" {
		t.Fatalf("log = %q (%v), want an error line 'container does not exist'", b, err)
	}
	if _, err := time.Parse(time.RFC3339Nano, line.Time); err != nil {
		t.Fatalf("log time %q: %v", line.Time, err)
	}
	if _, errOut, code := r.run("", "--systemd-cgroup", "list"); code != 1 || !strings.Contains(errOut, "systemd") {
		t.Fatalf("--systemd-cgroup: exit %d, %q", code, errOut)
	}
}

// recvConsole accepts one connection on l and receives the pty master from it.
func recvConsole(t *testing.T, l *net.UnixListener) *os.File {
	t.Helper()
	conn, err := l.AcceptUnix()
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	buf, oob := make([]byte, 64), make([]byte, unix.CmsgSpace(4))
	_, oobn, _, _, err := conn.ReadMsgUnix(buf, oob)
	if err != nil {
		t.Fatal(err)
	}
	msgs, err := unix.ParseSocketControlMessage(oob[:oobn])
	if err != nil || len(msgs) != 1 {
		t.Fatalf("console message: %v, %d control messages", err, len(msgs))
	}
	fds, err := unix.ParseUnixRights(&msgs[0])
	if err != nil || len(fds) != 1 {
		t.Fatalf("console rights: %v %v", fds, err)
	}
	return os.NewFile(uintptr(fds[0]), "pty-master")
}

func TestConsoleSocket(t *testing.T) {
	r, prefix := newRuntime(t)
	id := prefix + "-t"
	bundle := makeBundle(t, "/"+id, func(s *specs.Spec) {
		s.Process.Terminal = true
		s.Process.ConsoleSize = &specs.Box{Height: 30, Width: 100}
	}, "sh", "-c", "tty; stty size; read line; echo got $line")
	sock := filepath.Join(t.TempDir(), "console.sock")
	l, err := net.ListenUnix("unix", &net.UnixAddr{Name: sock, Net: "unix"})
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	got := make(chan *os.File, 1)
	go func() { got <- recvConsole(t, l) }()
	if _, errOut, code := r.run("", "create", "--bundle", bundle, id); code != 1 || !strings.Contains(errOut, "console socket") {
		t.Fatalf("terminal without --console-socket: exit %d, %q", code, errOut)
	}
	r.ok("create", "--bundle", bundle, "--console-socket", sock, id)
	t.Cleanup(func() { r.run("", "delete", "--force", id) })
	master := <-got
	defer master.Close()
	pid := r.state(id).Pid
	r.ok("start", id)
	if _, err := master.Write([]byte("hello\n")); err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	_ = master.SetReadDeadline(time.Now().Add(10 * time.Second))
	buf := make([]byte, 512)
	for !strings.Contains(out.String(), "got hello") {
		n, err := master.Read(buf)
		out.Write(buf[:n])
		if err != nil {
			break
		}
	}
	if s := out.String(); !strings.Contains(s, "/dev/pts/0") || !strings.Contains(s, "30 100") || !strings.Contains(s, "got hello") {
		t.Fatalf("terminal output %q, want the tty name, its size 30 100 and the echoed line", s)
	}
	if ws := reap(t, pid); ws.ExitStatus() != 0 {
		t.Fatalf("exit status %v", ws)
	}
	r.ok("delete", id)
}

// TestRunSeccompWithoutCloseRange runs a spec whose seccomp filter refuses
// close_range (profiles older than the syscall do): init falls back to marking its
// fds close-on-exec one by one. It also covers run (create, start, wait, delete).
func TestRunSeccompWithoutCloseRange(t *testing.T) {
	r, prefix := newRuntime(t)
	errno := uint(1)
	bundle := makeBundle(t, "/"+prefix+"-s", func(s *specs.Spec) {
		s.Linux.Seccomp = &specs.LinuxSeccomp{
			DefaultAction: specs.ActAllow,
			Architectures: []specs.Arch{specs.ArchX86_64},
			Syscalls:      []specs.LinuxSyscall{{Names: []string{"close_range"}, Action: specs.ActErrno, ErrnoRet: &errno}},
		}
	}, "sh", "-c", "ls /proc/self/fd; exit 5")
	out, errOut, code := r.run("", "run", "--bundle", bundle, prefix+"-s")
	if code != 5 || out != "0\n1\n2\n3\n" { // 3: the directory ls reads
		t.Fatalf("run: exit %d, stdout %q, stderr %q; want 5 and only fds 0-3", code, out, errOut)
	}
	if _, err := os.Stat(filepath.Join(r.root, prefix+"-s")); !os.IsNotExist(err) {
		t.Fatalf("state after run: %v", err)
	}
}
