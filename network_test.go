package skiff_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/skiffrt/skiff"
	"github.com/skiffrt/skiff/internal/testutil"
	"github.com/skiffrt/skiff/netbridge"
)

const webCmd = "mkdir -p /www && echo hi-from-web > /www/index.html && exec httpd -f -p 80 -h /www"

// startBackground creates and starts a container that keeps running, removed at cleanup.
func startBackground(t *testing.T, e *skiff.Engine, cfg skiff.ContainerConfig) *skiff.Container {
	t.Helper()
	ctx := context.Background()
	c, err := e.Create(ctx, cfg)
	if err != nil {
		t.Fatalf("create %s: %v", cfg.Name, err)
	}
	t.Cleanup(func() {
		if err := c.Delete(ctx, skiff.WithForce()); err != nil {
			t.Errorf("delete %s: %v", cfg.Name, err)
		}
	})
	if err := c.Start(ctx); err != nil {
		t.Fatalf("start %s: %v", cfg.Name, err)
	}
	return c
}

// fetch runs wget in a container until url answers (or 5 s pass) and returns the body.
func fetch(t *testing.T, e *skiff.Engine, img, network, url string) (string, int) {
	t.Helper()
	out, _, st := run(t, e, skiff.ContainerConfig{Image: img, Network: network, Cmd: []string{"sh", "-c",
		"for i in $(seq 50); do wget -q -O - " + url + " && exit 0; sleep 0.1; done; exit 1"}})
	return out, st.Code
}

func httpGet(t *testing.T, url string) string {
	t.Helper()
	var last error
	for range 50 {
		resp, err := http.Get(url)
		if err == nil {
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			return string(b)
		}
		last = err
		time.Sleep(100 * time.Millisecond)
	}
	t.Fatalf("GET %s: %v", url, last)
	return ""
}

func createNetwork(t *testing.T, e *skiff.Engine, name string) *netbridge.Network {
	t.Helper()
	n, err := e.Networks().CreateNetwork(context.Background(), netbridge.NetworkConfig{Name: name})
	if err != nil {
		t.Fatal(err)
	}
	return n
}

func TestUserNetworkNamesAndPorts(t *testing.T) {
	e := newEngine(t)
	img := busybox(t, e)
	n := createNetwork(t, e, "appnet")
	port := uint16(testutil.FreePort(t))
	startBackground(t, e, skiff.ContainerConfig{
		Image: img, Name: "web", Network: "appnet", Aliases: []string{"www"},
		Ports: []netbridge.PortMapping{{ContainerPort: 80, HostPort: port, Proto: "tcp"}},
		Cmd:   []string{"sh", "-c", webCmd},
	})

	for _, name := range []string{"web", "www"} {
		out, code := fetch(t, e, img, "appnet", "http://"+name+"/index.html")
		if code != 0 || out != "hi-from-web\n" {
			t.Errorf("wget http://%s/ from a container on the same network: exit %d, %q", name, code, out)
		}
	}
	// Published port: from the host on 127.0.0.1 and on the bridge's gateway address.
	for _, host := range []string{"127.0.0.1", n.Gateway.String()} {
		if got := httpGet(t, fmt.Sprintf("http://%s:%d/index.html", host, port)); got != "hi-from-web\n" {
			t.Errorf("published port on %s: %q", host, got)
		}
	}
	// An overlapping subnet is refused.
	_, err := e.Networks().CreateNetwork(context.Background(), netbridge.NetworkConfig{Name: "clash", Subnet: n.Subnet})
	if !errors.Is(err, netbridge.ErrSubnetOverlap) {
		t.Errorf("network on subnet %s again: %v, want ErrSubnetOverlap", n.Subnet, err)
	}
}

func TestNetworkModes(t *testing.T) {
	e := newEngine(t)
	img := busybox(t, e)
	out, _, _ := run(t, e, skiff.ContainerConfig{Image: img, Network: skiff.NetworkNone, Cmd: []string{"ls", "/sys/class/net"}})
	if strings.Fields(out) == nil || strings.Join(strings.Fields(out), " ") != "lo" {
		t.Errorf("--network none interfaces: %q, want only lo", out)
	}
	out, _, _ = run(t, e, skiff.ContainerConfig{Image: img, Network: skiff.NetworkNone, Cmd: []string{"cat", "/sys/class/net/lo/operstate", "/etc/hostname"}, Hostname: "solo"})
	if !strings.Contains(out, "solo") {
		t.Errorf("/etc/hostname under --network none: %q", out)
	}
	// The host's interfaces, as listed before and after the container's own listing:
	// other tests' veths may come and go meanwhile.
	before, _ := readDirNames("/sys/class/net")
	out, _, _ = run(t, e, skiff.ContainerConfig{Image: img, Network: skiff.NetworkHost, Cmd: []string{"ls", "/sys/class/net"}})
	after, _ := readDirNames("/sys/class/net")
	seen := strings.Fields(out)
	for _, n := range before {
		if slices.Contains(after, n) && !slices.Contains(seen, n) {
			t.Errorf("--network host interfaces %q lack the host's %s", seen, n)
		}
	}
	for _, n := range seen {
		if !slices.Contains(before, n) && !slices.Contains(after, n) {
			t.Errorf("--network host interfaces %q have %s, which the host has not", seen, n)
		}
	}
	out, _, _ = run(t, e, skiff.ContainerConfig{Image: img, Cmd: []string{"sh", "-c", "ls /sys/class/net; ip route 2>/dev/null || route -n"}})
	if !strings.Contains(out, "eth0") {
		t.Errorf("default bridge network: no eth0 in %q", out)
	}
}

func TestConnectDisconnect(t *testing.T) {
	e := newEngine(t)
	img := busybox(t, e)
	createNetwork(t, e, "front")
	back := createNetwork(t, e, "back")
	startBackground(t, e, skiff.ContainerConfig{Image: img, Name: "api", Network: "back", Cmd: []string{"sh", "-c", webCmd}})
	c := startBackground(t, e, skiff.ContainerConfig{Image: img, Name: "client", Network: "front", Cmd: []string{"sleep", "60"}})
	ctx := context.Background()

	ep, err := c.Connect(ctx, "back")
	if err != nil {
		t.Fatal(err)
	}
	if ep.IfName != "eth1" || !back.Subnet.Contains(ep.IP()) {
		t.Errorf("connect: endpoint %s %s, want eth1 in %s", ep.IfName, ep.IP(), back.Subnet)
	}
	// The new interface is visible live, and the other network's container answers by name.
	var out bytes.Buffer
	execIn(t, c, &out, "sh", "-c", "ls /sys/class/net; for i in $(seq 50); do wget -q -O - http://api/index.html && exit 0; sleep 0.1; done")
	if !strings.Contains(out.String(), "eth1") || !strings.Contains(out.String(), "hi-from-web") {
		t.Errorf("after connect the container sees:\n%s", out.String())
	}
	if err := c.Disconnect(ctx, "back"); err != nil {
		t.Fatal(err)
	}
	out.Reset()
	execIn(t, c, &out, "ls", "/sys/class/net")
	if strings.Contains(out.String(), "eth1") {
		t.Errorf("after disconnect eth1 is still there: %q", out.String())
	}
	_ = netip.Addr{}
}

func TestBuildRunNetwork(t *testing.T) {
	e := newEngine(t)
	img := busybox(t, e)
	ctx := context.Background()
	for _, tc := range []struct{ network, want string }{{"", "eth0 lo"}, {"none", "lo"}} {
		built, err := e.Build(ctx, skiff.BuildOptions{
			ContextDir:        t.TempDir(),
			DockerfileContent: []byte("FROM " + img + "\nRUN ls /sys/class/net > /nets\n"),
			Tags:              []string{"nets:" + tc.network + "x"},
			Network:           tc.network,
			NoCache:           true,
		})
		if err != nil {
			t.Fatalf("build with network %q: %v", tc.network, err)
		}
		out, _, _ := run(t, e, skiff.ContainerConfig{Image: built.ID.String(), Network: skiff.NetworkNone, Cmd: []string{"cat", "/nets"}})
		if got := strings.Join(strings.Fields(out), " "); got != tc.want {
			t.Errorf("RUN with network %q sees interfaces %q, want %q", tc.network, got, tc.want)
		}
	}
}

// TestCheckReleasesNetworkOfLostContainer: the process that ran a bridged container
// dies with it (SIGKILL, no cleanup); Check reports the container lost and its repair
// releases the address and rules, so the network can be removed.
func TestCheckReleasesNetworkOfLostContainer(t *testing.T) {
	e := newEngine(t)
	img := busybox(t, e)
	ctx := context.Background()
	createNetwork(t, e, "crashnet")
	helper := exec.Command(os.Args[0], "-test.run=^TestHelperCrashWithContainer$")
	helper.Env = append(os.Environ(), "SKIFF_HELPER_ROOT="+e.Root(), "SKIFF_HELPER_IMAGE="+img,
		"SKIFF_HELPER_CGROUP="+cgroupParentOf(t, e), "SKIFF_HELPER_NET="+netNameOf(t, e))
	out, _ := helper.CombinedOutput() // it kills itself
	c, err := e.Container(ctx, "crashed")
	if err != nil {
		t.Fatalf("container of the crashed process: %v\n%s", err, out)
	}
	if eps, _ := c.Endpoints(ctx); len(eps) != 1 {
		t.Fatalf("before repair the crashed container holds %d endpoints, want 1", len(eps))
	}
	// The init dies of its parent's death asynchronously (pdeathsig): wait until the
	// container shows as lost, exited, before the check.
	wctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	c.Wait(wctx)
	cancel()
	rep, err := e.Check(ctx, skiff.CheckOptions{Repair: true})
	if err != nil {
		t.Fatal(err)
	}
	if len(rep.Lost) != 1 || len(rep.Endpoints) != 1 {
		t.Errorf("check: lost %q, endpoints %q; want the crashed container and its endpoint", rep.Lost, rep.Endpoints)
	}
	if eps, _ := c.Endpoints(ctx); len(eps) != 0 {
		t.Errorf("after repair the crashed container still holds %d endpoints", len(eps))
	}
	if err := c.Delete(ctx); err != nil {
		t.Fatal(err)
	}
	if err := e.Networks().RemoveNetwork(ctx, "crashnet"); err != nil {
		t.Errorf("remove network after repair: %v", err)
	}
}

// TestHelperCrashWithContainer runs only as a helper process: it starts a bridged
// container, kills it and itself without any cleanup.
func TestHelperCrashWithContainer(t *testing.T) {
	root := os.Getenv("SKIFF_HELPER_ROOT")
	if root == "" {
		t.Skip("helper process of TestCheckReleasesNetworkOfLostContainer")
	}
	names := strings.SplitN(os.Getenv("SKIFF_HELPER_NET"), ",", 2)
	e, err := skiff.New(skiff.WithRoot(root), skiff.WithCgroupParent(os.Getenv("SKIFF_HELPER_CGROUP")),
		skiff.WithNetworkNames(names[0], names[1]))
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	c, err := e.Create(ctx, skiff.ContainerConfig{Image: os.Getenv("SKIFF_HELPER_IMAGE"), Name: "crashed",
		Network: "crashnet", Cmd: []string{"sleep", "60"}})
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Start(ctx); err != nil {
		t.Fatal(err)
	}
	syscall.Kill(c.State().Pid, syscall.SIGKILL)
	syscall.Kill(os.Getpid(), syscall.SIGKILL)
}

// TestCheckLeavesRunningBuildStepAlone: a repair during a RUN step neither detaches
// the step's network nor removes its dir; an abandoned step's dir is scrapped.
func TestCheckLeavesRunningBuildStepAlone(t *testing.T) {
	e := newEngine(t)
	img := busybox(t, e)
	ctx := context.Background()
	stale := filepath.Join(e.Root(), "containers", ".run-"+strings.Repeat("ab", 32))
	checked := make(chan *skiff.CheckReport, 1)
	go func() {
		time.Sleep(400 * time.Millisecond) // inside the RUN's sleep
		// Made after the build began (a build first heals the root, which would
		// remove it before Check sees it).
		if err := os.MkdirAll(stale, 0o700); err != nil {
			t.Error(err)
		}
		rep, err := e.Check(ctx, skiff.CheckOptions{Repair: true})
		if err != nil {
			t.Error(err)
		}
		checked <- rep
	}()
	built, err := e.Build(ctx, skiff.BuildOptions{
		ContextDir:        t.TempDir(),
		DockerfileContent: []byte("FROM " + img + "\nRUN sleep 1; ls /sys/class/net > /nets\n"),
		NoCache:           true,
	})
	if err != nil {
		t.Fatal(err)
	}
	rep := <-checked
	if len(rep.Endpoints) != 0 || len(rep.HalfCreated) != 1 || rep.HalfCreated[0] != stale {
		t.Errorf("check during a RUN: endpoints %v, half-created %v; want none and only %s", rep.Endpoints, rep.HalfCreated, stale)
	}
	if _, err := os.Stat(stale); !os.IsNotExist(err) {
		t.Errorf("abandoned step dir still there: %v", err)
	}
	out, _, _ := run(t, e, skiff.ContainerConfig{Image: built.ID.String(), Network: skiff.NetworkNone, Cmd: []string{"cat", "/nets"}})
	if !strings.Contains(out, "eth0") {
		t.Errorf("the RUN step saw interfaces %q", out)
	}
}
