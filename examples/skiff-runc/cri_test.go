package main

import (
	"crypto/rand"
	"encoding/json"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/vishvananda/netlink"
	"golang.org/x/sys/unix"

	"github.com/skiffrt/skiff/internal/testutil"
)

// criToolsVersion is the cri-tools release whose crictl the CRI test builds from the
// Go module proxy (in a temp module, so its dependencies stay out of Skiff's go.mod).
const criToolsVersion = "v1.37.0"

var crictlBuild struct {
	once sync.Once
	bin  string
	err  error
}

// crictlBin builds crictl once per test binary, next to skiff-runc (TestMain removes
// both): about 3 s with a warm Go build cache, a few minutes cold.
func crictlBin(t *testing.T) string {
	t.Helper()
	gobin := testutil.RequireBinary(t, "go")
	runtimeBin(t) // makes buildDir
	crictlBuild.once.Do(func() {
		dir := filepath.Join(buildDir, "crictl-build")
		if crictlBuild.err = os.Mkdir(dir, 0o755); crictlBuild.err != nil {
			return
		}
		steps := [][]string{
			{"mod", "init", "crictlbuild"},
			{"get", "sigs.k8s.io/cri-tools@" + criToolsVersion},
			{"build", "-o", filepath.Join(dir, "crictl"), "sigs.k8s.io/cri-tools/cmd/crictl"},
		}
		for _, args := range steps {
			cmd := exec.Command(gobin, args...)
			cmd.Dir = dir
			cmd.Env = append(os.Environ(), "GOFLAGS=-mod=mod", "CGO_ENABLED=0")
			if out, err := cmd.CombinedOutput(); err != nil {
				crictlBuild.err = fmt.Errorf("go %s: %w\n%s", strings.Join(args, " "), err, out)
				return
			}
		}
		crictlBuild.bin = filepath.Join(dir, "crictl")
	})
	if crictlBuild.err != nil {
		t.Fatalf("build crictl %s: %v", criToolsVersion, crictlBuild.err)
	}
	return crictlBuild.bin
}

// criEnv is containerd with its CRI plugin, started by a test on its own socket, root,
// state and runtime roots, with a CNI bridge network of its own and images served by a
// docker-registry on 127.0.0.1.
type criEnv struct {
	t        *testing.T
	dir      string
	sock     string
	crictl   string
	registry string // host:port of the registry
	bridge   string // the CNI bridge's name
	subnet   *net.IPNet
	cgroup   string // the pods' cgroup parent, relative to each hierarchy's root
	skiff    string // skiff-runc
	ctrd     *exec.Cmd
}

// criHandlers are the runtime handlers of the test's containerd: both run containerd's
// runc v2 shim, "skiff" with skiff-runc as the runtime binary, "runc" with runc.
var criHandlers = []string{"skiff", "runc"}

// startCRI starts a registry holding a busybox image and a pause image made of it, and
// containerd with the CRI plugin configured for them; everything goes in cleanup.
func startCRI(t *testing.T) *criEnv {
	t.Helper()
	testutil.RequireRoot(t)
	containerd := testutil.RequireBinary(t, "containerd")
	testutil.RequireBinary(t, "containerd-shim-runc-v2")
	runc := testutil.RequireBinary(t, "runc")
	for _, p := range []string{"bridge", "host-local", "loopback"} {
		_, err := os.Stat(filepath.Join(cniBinDir, p))
		testutil.Require(t, "the CNI plugin "+filepath.Join(cniBinDir, p)+" (apt-get install containernetworking-plugins)", err == nil)
	}
	e := &criEnv{t: t, crictl: crictlBin(t), skiff: runtimeBin(t)}

	// Images: busybox, and a pause image (busybox sleeping forever) for the sandboxes.
	e.registry = testutil.StartRegistry(t)
	img := testutil.Busybox(t)
	testutil.PushImage(t, e.registry+"/busybox:latest", img)
	cf, err := img.ConfigFile()
	if err != nil {
		t.Fatal(err)
	}
	pc := cf.Config
	pc.Entrypoint, pc.Cmd = []string{"/bin/sleep", "infinity"}, nil
	pause, err := mutate.Config(img, pc)
	if err != nil {
		t.Fatal(err)
	}
	testutil.PushImage(t, e.registry+"/pause:1", pause)

	e.bridge = testutil.RandomName("skc")
	e.cgroup = testutil.RandomName("skiffcri")
	dir, err := os.MkdirTemp("", "cri") // short: the socket path has a length limit
	if err != nil {
		t.Fatal(err)
	}
	e.dir = dir
	t.Cleanup(e.cleanupHost)
	e.sock = filepath.Join(dir, "c.sock")
	e.subnet = freeSubnet(t)

	cni := fmt.Sprintf(`{"cniVersion": "1.0.0", "name": %q, "plugins": [{"type": "bridge", "bridge": %q,
  "isGateway": false, "ipMasq": false, "ipam": {"type": "host-local", "ranges": [[{"subnet": %q}]], "dataDir": %q}}]}`,
		e.bridge, e.bridge, e.subnet.String(), filepath.Join(dir, "ipam"))
	writeFile(t, filepath.Join(dir, "cni", "10-skiff.conflist"), cni)
	runtimes := ""
	for _, h := range criHandlers {
		bin := runc
		if h == "skiff" {
			bin = e.skiff
		}
		runtimes += fmt.Sprintf(`    [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.%s]
      runtime_type = "io.containerd.runc.v2"
      [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.%s.options]
        BinaryName = %q
        Root = %q
`, h, h, bin, filepath.Join(dir, "rt-"+h))
	}
	writeFile(t, filepath.Join(dir, "config.toml"), fmt.Sprintf(`version = 2
root = %q
state = %q
[grpc]
  address = %q
[plugins."io.containerd.grpc.v1.cri"]
  sandbox_image = %q
  stream_server_address = "127.0.0.1"
  stream_server_port = "0"
  # This host's capability bounding set lacks CAP_SYS_RESOURCE: no runtime can lower
  # oom_score_adj (runc fails too), so containerd clamps the pods' -998 to its own.
  restrict_oom_score_adj = true
  [plugins."io.containerd.grpc.v1.cri".containerd]
    snapshotter = "overlayfs"
    default_runtime_name = "runc"
%s  [plugins."io.containerd.grpc.v1.cri".cni]
    bin_dir = %q
    conf_dir = %q
    max_conf_num = 1
  [plugins."io.containerd.grpc.v1.cri".registry.mirrors.%q]
    endpoint = ["http://%s"]
`, filepath.Join(dir, "root"), filepath.Join(dir, "state"), e.sock, e.registry+"/pause:1",
		runtimes, cniBinDir, filepath.Join(dir, "cni"), e.registry, e.registry))
	writeFile(t, filepath.Join(dir, "crictl.yaml"), fmt.Sprintf(
		"runtime-endpoint: unix://%s\nimage-endpoint: unix://%s\ntimeout: 60\n", e.sock, e.sock))

	logf, err := os.Create(filepath.Join(dir, "containerd.log"))
	if err != nil {
		t.Fatal(err)
	}
	e.ctrd = exec.Command(containerd, "--config", filepath.Join(dir, "config.toml"))
	e.ctrd.Stdout, e.ctrd.Stderr = logf, logf
	if err := e.ctrd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { e.removePods(); e.stopContainerd(); logf.Close() })
	deadline := time.Now().Add(30 * time.Second)
	for {
		if out, _, code := e.run("info"); code == 0 && strings.Contains(out, `"NetworkReady"`) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("containerd's CRI did not come up on %s", e.sock)
		}
		time.Sleep(100 * time.Millisecond)
	}
	return e
}

// cniBinDir is where Debian's containernetworking-plugins installs the CNI plugins.
const cniBinDir = "/usr/lib/cni"

func writeFile(t *testing.T, path, data string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(data), 0o644); err != nil {
		t.Fatal(err)
	}
}

// freeSubnet picks a random 10.x.y.0/24 that no address or route of the host overlaps.
func freeSubnet(t *testing.T) *net.IPNet {
	t.Helper()
	routes, err := netlink.RouteList(nil, netlink.FAMILY_V4)
	if err != nil {
		t.Fatal(err)
	}
	addrs, err := netlink.AddrList(nil, netlink.FAMILY_V4)
	if err != nil {
		t.Fatal(err)
	}
	var taken []*net.IPNet
	for _, r := range routes {
		if ones, _ := r.Dst.Mask.Size(); r.Dst != nil && ones > 0 { // not a default route
			taken = append(taken, r.Dst)
		}
	}
	for _, a := range addrs {
		taken = append(taken, a.IPNet)
	}
	for i := 0; i < 100; i++ {
		var b [2]byte
		_, _ = rand.Read(b[:])
		n := &net.IPNet{IP: net.IPv4(10, 200+b[0]%50, b[1], 0).To4(), Mask: net.CIDRMask(24, 32)}
		free := true
		for _, o := range taken {
			if o.Contains(n.IP) || n.Contains(o.IP) {
				free = false
				break
			}
		}
		if free {
			return n
		}
	}
	t.Fatal("no free 10.x.y.0/24 subnet")
	return nil
}

// run runs crictl against the test's containerd.
func (e *criEnv) run(args ...string) (string, string, int) {
	e.t.Helper()
	cmd := exec.Command(e.crictl, append([]string{"--config", filepath.Join(e.dir, "crictl.yaml")}, args...)...)
	return output(e.t, cmd)
}

// ok runs crictl and fails the test unless it exits 0; it returns stdout.
func (e *criEnv) ok(args ...string) string {
	e.t.Helper()
	out, errOut, code := e.run(args...)
	if code != 0 {
		e.t.Fatalf("crictl %q: exit %d\nstdout: %s\nstderr: %s", args, code, out, errOut)
	}
	return out
}

// jsonOut runs crictl and decodes its JSON output into v.
func (e *criEnv) jsonOut(v any, args ...string) {
	e.t.Helper()
	out := e.ok(args...)
	if err := json.Unmarshal([]byte(out), v); err != nil {
		e.t.Fatalf("crictl %q: %v\n%s", args, err, out)
	}
}

// removePods stops and removes every pod sandbox left (a test that failed half-way),
// so that containerd tears down their network namespaces and cgroups.
func (e *criEnv) removePods() {
	e.t.Helper()
	if out, _, code := e.run("pods", "-q"); code == 0 && strings.TrimSpace(out) != "" {
		e.run("rmp", "--force", "--all")
	}
}

// stopContainerd stops containerd and every shim it started.
func (e *criEnv) stopContainerd() {
	_ = e.ctrd.Process.Signal(syscall.SIGTERM)
	done := make(chan struct{})
	go func() { _ = e.ctrd.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(20 * time.Second):
		_ = e.ctrd.Process.Kill()
		<-done
	}
	if e.t.Failed() {
		b, _ := os.ReadFile(filepath.Join(e.dir, "containerd.log"))
		e.t.Logf("containerd log:\n%s", b)
	}
}

// cleanupHost removes what the test's pods may have left on the host: the bridge,
// the pods' cgroups, mounts below the test's dir and the dir itself.
func (e *criEnv) cleanupHost() {
	if l, err := netlink.LinkByName(e.bridge); err == nil {
		_ = netlink.LinkDel(l)
	}
	for _, base := range []string{"/sys/fs/cgroup", "/sys/fs/cgroup/*", "/sys/fs/cgroup/*/*"} {
		parents, _ := filepath.Glob(filepath.Join(base, e.cgroup))
		for _, p := range parents {
			kids, _ := filepath.Glob(filepath.Join(p, "*", "cgroup.procs"))
			for _, k := range kids {
				_ = os.Remove(filepath.Dir(k))
			}
			_ = os.Remove(p)
		}
	}
	unmountUnder(e.t, e.dir)
	_ = os.RemoveAll(e.dir)
}

// podSpec writes a pod sandbox config for crictl runp and returns its path.
func (e *criEnv) podSpec(name, hostname string) string {
	e.t.Helper()
	pod := map[string]any{
		"metadata":      map[string]any{"name": name, "namespace": "skiff-test", "uid": testutil.RandomName("uid-"), "attempt": 0},
		"hostname":      hostname,
		"log_directory": filepath.Join(e.dir, "logs", name),
		"linux":         map[string]any{"cgroup_parent": "/" + e.cgroup},
	}
	b, _ := json.Marshal(pod)
	path := filepath.Join(e.dir, name+"-pod.json")
	writeFile(e.t, path, string(b))
	return path
}

// containerSpec writes a container config for crictl create and returns its path.
func (e *criEnv) containerSpec(name, image string, command ...string) string {
	e.t.Helper()
	c := map[string]any{
		"metadata": map[string]any{"name": name},
		"image":    map[string]any{"image": image},
		"command":  command,
		"log_path": name + ".log",
	}
	b, _ := json.Marshal(c)
	path := filepath.Join(e.dir, name+"-ctr.json")
	writeFile(e.t, path, string(b))
	return path
}

// containerState returns the container's state and exit code from crictl inspect.
func (e *criEnv) containerState(id string) (string, int) {
	e.t.Helper()
	var st struct {
		Status struct {
			State    string `json:"state"`
			ExitCode int    `json:"exitCode"`
		} `json:"status"`
	}
	e.jsonOut(&st, "inspect", "-o", "json", id)
	return st.Status.State, st.Status.ExitCode
}

// TestCRI drives containerd's CRI plugin with crictl through a pod's whole life on
// skiff-runc (runtime handler "skiff"): run a sandbox on a CNI bridge, create and start
// a container in it, list and inspect, exec synchronously (output and exit status) and
// through the streaming server, read its logs, stop it with a signal it handles, and
// remove container and sandbox.
func TestCRI(t *testing.T) {
	e := startCRI(t)
	image := e.registry + "/busybox:latest"
	e.ok("pull", image)

	podName := testutil.RandomName("pod-")
	pod := strings.TrimSpace(e.ok("runp", "--runtime", "skiff", e.podSpec(podName, "skiffpod")))
	var ps struct {
		Status struct {
			State   string `json:"state"`
			Network struct {
				IP string `json:"ip"`
			} `json:"network"`
		} `json:"status"`
		Info struct {
			RuntimeHandler string `json:"runtimeHandler"`
			RuntimeOptions struct {
				BinaryName string `json:"binary_name"`
			} `json:"runtimeOptions"`
			Pid int `json:"pid"`
		} `json:"info"`
	}
	e.jsonOut(&ps, "inspectp", "-o", "json", pod)
	if ps.Status.State != "SANDBOX_READY" || ps.Info.RuntimeHandler != "skiff" || ps.Info.RuntimeOptions.BinaryName != e.skiff {
		t.Fatalf("sandbox %s: state %q, handler %q, binary %q; want SANDBOX_READY, skiff, %s",
			pod, ps.Status.State, ps.Info.RuntimeHandler, ps.Info.RuntimeOptions.BinaryName, e.skiff)
	}
	podIP := net.ParseIP(ps.Status.Network.IP)
	if podIP == nil || !e.subnet.Contains(podIP) {
		t.Fatalf("sandbox IP %q, want one in %s", ps.Status.Network.IP, e.subnet)
	}
	// skiff-runc, not runc, holds the sandbox's state: its state.json records the spec.
	b, err := os.ReadFile(filepath.Join(e.dir, "rt-skiff", "k8s.io", pod, stateFile))
	var st map[string]json.RawMessage
	if err != nil || json.Unmarshal(b, &st) != nil || st["spec"] == nil {
		t.Fatalf("skiff-runc state of sandbox %s: %v %s", pod, err, b)
	}

	// A container that logs to stdout and stderr, then waits for SIGTERM and exits 7.
	ctrSpec := e.containerSpec("c1", image, "sh", "-c",
		`trap 'echo got TERM; exit 7' TERM; echo started; echo to-stderr >&2; sleep 600 & wait`)
	id := strings.TrimSpace(e.ok("create", pod, ctrSpec, e.podSpec(podName, "skiffpod")))
	if s, _ := e.containerState(id); s != "CONTAINER_CREATED" {
		t.Fatalf("after create: state %q", s)
	}
	e.ok("start", id)
	// The container's init runs in the cgroup containerd asked for, <parent>/<id>.
	var ci struct {
		Info struct {
			Pid int `json:"pid"`
		} `json:"info"`
	}
	e.jsonOut(&ci, "inspect", "-o", "json", id)
	cg, err := os.ReadFile(fmt.Sprintf("/proc/%d/cgroup", ci.Info.Pid))
	if ci.Info.Pid <= 0 || err != nil || !strings.Contains(string(cg), ":/"+e.cgroup+"/"+id+"\n") {
		t.Fatalf("container pid %d: cgroups %q (%v), want /%s/%s", ci.Info.Pid, cg, err, e.cgroup, id)
	}
	var list struct {
		Containers []struct {
			ID    string `json:"id"`
			State string `json:"state"`
		} `json:"containers"`
	}
	e.jsonOut(&list, "ps", "-o", "json", "--pod", pod)
	if len(list.Containers) != 1 || list.Containers[0].ID != id || list.Containers[0].State != "CONTAINER_RUNNING" {
		t.Fatalf("crictl ps: %+v, want %s running", list.Containers, id)
	}

	// exec: output, and the exit status (crictl prints stdout then stderr, each with a
	// newline added, or only the error naming the status).
	if out := e.ok("exec", "--sync", id, "sh", "-c", "echo $((6*7)); hostname; cat /etc/motd >&2"); out != "42\nskiffpod\n\nwelcome\n\n" {
		t.Fatalf("exec --sync: %q, want 42, the pod's hostname, then stderr", out)
	}
	if _, errOut, code := e.run("exec", "--sync", id, "sh", "-c", "exit 3"); code == 0 || !strings.Contains(errOut, "exited with 3") {
		t.Fatalf("exec --sync of exit 3: crictl exit %d, stderr %q", code, errOut)
	}
	if out := e.ok("exec", "--sync", id, "ip", "-4", "-o", "addr", "show", "eth0"); !strings.Contains(out, " "+podIP.String()+"/") {
		t.Fatalf("exec ip addr: %q, want the pod IP %s", out, podIP)
	}
	// Through containerd's streaming server (on 127.0.0.1).
	if out := e.ok("exec", id, "sh", "-c", "hostname; cat /etc/motd"); out != "skiffpod\nwelcome\n" {
		t.Fatalf("exec (streaming): %q", out)
	}
	if _, errOut, code := e.run("exec", id, "sh", "-c", "exit 4"); code == 0 || !strings.Contains(errOut, "4") {
		t.Fatalf("exec (streaming) of exit 4: crictl exit %d, stderr %q", code, errOut)
	}

	// logs: both streams, as the container wrote them.
	deadline := time.Now().Add(30 * time.Second)
	for {
		out, errOut, _ := e.run("logs", id)
		if out == "started\n" && errOut == "to-stderr\n" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("crictl logs: stdout %q stderr %q", out, errOut)
		}
		time.Sleep(50 * time.Millisecond)
	}

	// stop: SIGTERM reaches the shell, which exits 7.
	e.ok("stop", "--timeout", "30", id)
	if s, code := e.containerState(id); s != "CONTAINER_EXITED" || code != 7 {
		t.Fatalf("after stop: state %q exit %d, want CONTAINER_EXITED 7", s, code)
	}
	if out, _, _ := e.run("logs", id); out != "started\ngot TERM\n" {
		t.Fatalf("logs after stop: %q", out)
	}
	e.ok("rm", id)
	left, _ := filepath.Glob(filepath.Join("/sys/fs/cgroup/*", e.cgroup, id))         // v1 and hybrid
	if _, err := os.Stat(filepath.Join("/sys/fs/cgroup", e.cgroup, id)); err == nil { // v2
		left = append(left, filepath.Join("/sys/fs/cgroup", e.cgroup, id))
	}
	if len(left) > 0 {
		t.Fatalf("container cgroups after rm: %q", left)
	}
	if out := e.ok("ps", "-a", "-q", "--pod", pod); strings.TrimSpace(out) != "" {
		t.Fatalf("crictl ps -a after rm: %q", out)
	}
	if _, err := os.Stat(filepath.Join(e.dir, "rt-skiff", "k8s.io", id)); !os.IsNotExist(err) {
		t.Fatalf("skiff-runc state of %s after rm: %v", id, err)
	}

	e.ok("stopp", pod)
	e.jsonOut(&ps, "inspectp", "-o", "json", pod)
	if ps.Status.State != "SANDBOX_NOTREADY" {
		t.Fatalf("sandbox after stopp: %q", ps.Status.State)
	}
	if ps.Info.Pid > 0 && unix.Kill(ps.Info.Pid, 0) == nil {
		t.Fatalf("sandbox pid %d still alive after stopp", ps.Info.Pid)
	}
	e.ok("rmp", pod)
	if out := e.ok("pods", "-q"); strings.TrimSpace(out) != "" {
		t.Fatalf("crictl pods after rmp: %q", out)
	}
	if _, err := os.Stat(filepath.Join(e.dir, "rt-skiff", "k8s.io", pod)); !os.IsNotExist(err) {
		t.Fatalf("skiff-runc state of sandbox %s after rmp: %v", pod, err)
	}
}
