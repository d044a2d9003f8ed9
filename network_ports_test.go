package skiff_test

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/netip"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/skiffrt/skiff"
	"github.com/skiffrt/skiff/errdefs"
	"github.com/skiffrt/skiff/internal/testutil"
	"github.com/skiffrt/skiff/netbridge"
)

// TestPublishedPortsReachable: a port published on 127.0.0.1 and one on every address
// (0.0.0.0) answer from the host, from a container on the host's network, from another
// container through the gateway, from a container of another network through its own
// gateway, and from the publishing container itself (hairpin).
func TestPublishedPortsReachable(t *testing.T) {
	e := newEngine(t)
	img := busybox(t, e)
	lo, all := uint16(testutil.FreePort(t)), uint16(testutil.FreePort(t))
	web := startBackground(t, e, skiff.ContainerConfig{
		Image: img, Name: "web", Cmd: []string{"sh", "-c", webCmd},
		Ports: []netbridge.PortMapping{
			{HostIP: netip.MustParseAddr("127.0.0.1"), HostPort: lo, ContainerPort: 80},
			{HostPort: all, ContainerPort: 80},
		},
	})
	bridge, err := e.Networks().Network(context.Background(), skiff.NetworkBridge)
	if err != nil {
		t.Fatal(err)
	}
	gw := bridge.Gateway.String()
	for _, url := range []string{
		fmt.Sprintf("http://127.0.0.1:%d/index.html", lo),
		fmt.Sprintf("http://127.0.0.1:%d/index.html", all),
		fmt.Sprintf("http://%s:%d/index.html", gw, all),
	} {
		if got := httpGet(t, url); got != "hi-from-web\n" {
			t.Errorf("host → %s: %q", url, got)
		}
		if out, code := fetch(t, e, img, skiff.NetworkHost, url); code != 0 || out != "hi-from-web\n" {
			t.Errorf("container on the host network → %s: exit %d, %q", url, code, out)
		}
	}
	viaGateway := fmt.Sprintf("http://%s:%d/index.html", gw, all)
	if out, code := fetch(t, e, img, "", viaGateway); code != 0 || out != "hi-from-web\n" {
		t.Errorf("container on the bridge → %s: exit %d, %q", viaGateway, code, out)
	}
	other := createNetwork(t, e, "elsewhere")
	viaOwn := fmt.Sprintf("http://%s:%d/index.html", other.Gateway, all)
	if out, code := fetch(t, e, img, "elsewhere", viaOwn); code != 0 || out != "hi-from-web\n" {
		t.Errorf("container on another network → %s: exit %d, %q", viaOwn, code, out)
	}
	var out strings.Builder
	execIn(t, web, &out, "wget", "-q", "-O", "-", viaGateway)
	if out.String() != "hi-from-web\n" {
		t.Errorf("publishing container → its own port %s: %q", viaGateway, out.String())
	}
}

// TestPortsHeldWhileRunning: as Docker, a container holds its published ports from
// start to exit. A second container of the same port is created, fails to start with
// "port is already allocated" (a conflict) and stays created; once the first stops it
// starts and takes the port; the first then cannot start again until the second is
// killed.
func TestPortsHeldWhileRunning(t *testing.T) {
	e := newEngine(t)
	img := busybox(t, e)
	ctx := context.Background()
	port := uint16(testutil.FreePort(t))
	web := func(name string) skiff.ContainerConfig {
		return skiff.ContainerConfig{Image: img, Name: name, Detach: true,
			Cmd:   []string{"sh", "-c", "mkdir -p /www && echo " + name + " > /www/index.html && exec httpd -f -p 80 -h /www"},
			Ports: []netbridge.PortMapping{{HostPort: port, ContainerPort: 80}}}
	}
	url := fmt.Sprintf("http://127.0.0.1:%d/index.html", port)
	first := startBackground(t, e, web("first"))
	if got := httpGet(t, url); got != "first\n" {
		t.Fatalf("GET %s: %q", url, got)
	}

	second, err := e.Create(ctx, web("second"))
	if err != nil {
		t.Fatalf("create a second container of port %d: %v (ports are taken at start)", port, err)
	}
	t.Cleanup(func() { second.Delete(ctx, skiff.WithForce()) })
	wantConflict := func(what string, err error) {
		t.Helper()
		want := fmt.Sprintf("Bind for 0.0.0.0:%d failed: port is already allocated", port)
		if !errors.Is(err, netbridge.ErrPortInUse) || !errors.Is(err, errdefs.ErrConflict) || !strings.Contains(err.Error(), want) {
			t.Errorf("%s: %v, want a conflict saying %q", what, err, want)
		}
	}
	wantConflict("start of a second container of the port", second.Start(ctx))
	if st := second.State(); st.Status != skiff.StatusCreated {
		t.Errorf("after the failed start the container is %s, want created", st.Status)
	}

	if err := first.Stop(ctx, 500*time.Millisecond); err != nil { // httpd as pid 1 ignores SIGTERM
		t.Fatal(err)
	}
	if eps, _ := first.Endpoints(ctx); len(eps) != 1 || len(eps[0].Ports) != 0 {
		t.Errorf("stopped container still holds %+v", eps)
	}
	if err := second.Start(ctx); err != nil {
		t.Fatalf("start once the port was released by stop: %v", err)
	}
	if got := httpGet(t, url); got != "second\n" {
		t.Errorf("GET %s after the port moved: %q", url, got)
	}
	wantConflict("start again of the stopped first container", first.Start(ctx))

	if err := second.Kill(ctx, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	if _, err := second.Wait(ctx); err != nil {
		t.Fatal(err)
	}
	if err := first.Start(ctx); err != nil {
		t.Fatalf("start again once the port was released by kill: %v", err)
	}
	if got := httpGet(t, url); got != "first\n" {
		t.Errorf("GET %s after restart of the first: %q", url, got)
	}
}

// TestConnectByIDCreatedAndRestarted: a created container is connected to a network
// named by its ID, with an alias and an address of its choice, runs attached to it,
// and keeps all three across a stop and start; stopped, it is connected to another
// network, which it joins when it starts; an unknown network is not found.
func TestConnectByIDCreatedAndRestarted(t *testing.T) {
	e := newEngine(t)
	img := busybox(t, e)
	ctx := context.Background()
	back := createNetwork(t, e, "back2")
	c, err := e.Create(ctx, skiff.ContainerConfig{Image: img, Name: "api2", Detach: true, Cmd: []string{"sh", "-c", webCmd}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := c.Delete(ctx, skiff.WithForce()); err != nil {
			t.Errorf("delete: %v", err)
		}
	})
	if _, err := c.Connect(ctx, "no-such-network"); !errors.Is(err, netbridge.ErrNetworkNotFound) || !errors.Is(err, errdefs.ErrNotFound) {
		t.Errorf("connect to an unknown network: %v, want not found", err)
	}
	static := back.Subnet.Addr().Next().Next().Next().Next() // .4
	ep, err := c.ConnectWith(ctx, back.ID[:12], skiff.ConnectOptions{Aliases: []string{"svc"}, IP: static})
	if err != nil {
		t.Fatalf("connect a created container by network ID: %v", err)
	}
	if ep.Network != "back2" || ep.IfName != "eth1" || ep.IP() != static {
		t.Errorf("endpoint %+v, want eth1 on back2 with %s", ep, static)
	}
	if err := c.Start(ctx); err != nil {
		t.Fatal(err)
	}
	for round := range 2 {
		for _, name := range []string{"api2", "svc"} {
			out, code := fetch(t, e, img, back.ID, "http://"+name+"/index.html")
			if code != 0 || out != "hi-from-web\n" {
				t.Errorf("round %d: wget http://%s/ on the connected network: exit %d, %q", round, name, code, out)
			}
		}
		if round == 0 {
			if err := c.Stop(ctx, 500*time.Millisecond); err != nil { // httpd as pid 1 ignores SIGTERM
				t.Fatal(err)
			}
			// A stopped container is connected too: it joins at its next start.
			late := createNetwork(t, e, "late2")
			if _, err := c.Connect(ctx, "late2", "later"); err != nil {
				t.Fatalf("connect a stopped container: %v", err)
			}
			if err := c.Start(ctx); err != nil {
				t.Fatalf("start again: %v", err)
			}
			eps, _ := c.Endpoints(ctx)
			at := func(n string) int {
				return slices.IndexFunc(eps, func(ep netbridge.Endpoint) bool { return ep.Network == n })
			}
			if i, j := at("back2"), at("late2"); len(eps) != 3 || i < 0 || eps[i].IP() != static || j < 0 || !late.Subnet.Contains(eps[j].IP()) {
				t.Errorf("endpoints after a new start: %+v, want %s on back2 again and one on late2", eps, static)
			}
			if out, code := fetch(t, e, img, "late2", "http://later/index.html"); code != 0 || out != "hi-from-web\n" {
				t.Errorf("wget http://later/ on the network joined while stopped: exit %d, %q", code, out)
			}
		}
	}
	if err := c.Disconnect(ctx, back.ID); err != nil {
		t.Errorf("disconnect by network ID: %v", err)
	}
}

// TestTwoRootsSameNetworkNames: two engines on different roots asking for the same
// nftables table and default bridge (two roots with the default names, such as the
// CLI's and a program's). Running a container on the second used to rewrite the
// first's table and erase its published port ("connection refused"); now the second
// takes names of its own.
func TestTwoRootsSameNetworkNames(t *testing.T) {
	first := newEngine(t)
	img := busybox(t, first)
	ctx := context.Background()
	port := uint16(testutil.FreePort(t))
	startBackground(t, first, skiff.ContainerConfig{Image: img, Name: "web", Cmd: []string{"sh", "-c", webCmd},
		Ports: []netbridge.PortMapping{{HostIP: netip.MustParseAddr("127.0.0.1"), HostPort: port, ContainerPort: 80}}})
	url := fmt.Sprintf("http://127.0.0.1:%d/index.html", port)
	if got := httpGet(t, url); got != "hi-from-web\n" {
		t.Fatalf("GET %s: %q", url, got)
	}

	table, bridge, _ := strings.Cut(netNameOf(t, first), ",")
	second, err := skiff.New(skiff.WithRoot(t.TempDir()), skiff.WithCgroupParent(cgroupParentOf(t, first)),
		skiff.WithNetworkNames(table, bridge), skiff.WithLogger(slog.New(slog.DiscardHandler)))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		nets, _ := second.Networks().Networks(ctx)
		for _, n := range nets {
			if err := second.Networks().RemoveNetwork(ctx, n.Name); err != nil {
				t.Errorf("remove network %s of the second root: %v", n.Name, err)
			}
		}
	})
	busybox(t, second)
	if out, _, st := run(t, second, skiff.ContainerConfig{Image: img, Cmd: []string{"echo", "second"}}); st.Code != 0 || out != "second\n" {
		t.Fatalf("run on the second root: exit %d, %q", st.Code, out)
	}
	if second.Networks().Table() == table || second.Networks().DefaultBridgeName() == bridge {
		t.Errorf("the second root shares table %s / bridge %s with the first", table, bridge)
	}
	if got := httpGet(t, url); got != "hi-from-web\n" {
		t.Errorf("GET %s after a container ran on the second root: %q", url, got)
	}
}

// TestSetIP: a created container takes an address of its choice on the network it was
// created on (docker run --ip), answers there, and keeps it across a stop and start;
// an address another container holds is refused and leaves it as it was.
func TestSetIP(t *testing.T) {
	e := newEngine(t)
	img := busybox(t, e)
	ctx := context.Background()
	n := createNetwork(t, e, "pinned")
	want := n.Subnet.Addr().Next().Next().Next().Next().Next() // .5
	c, err := e.Create(ctx, skiff.ContainerConfig{Image: img, Name: "pin", Network: "pinned", Detach: true, Cmd: []string{"sh", "-c", webCmd}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Delete(ctx, skiff.WithForce()) })
	if err := c.SetIP(ctx, want); err != nil {
		t.Fatal(err)
	}
	other, err := e.Create(ctx, skiff.ContainerConfig{Image: img, Network: "pinned", Detach: true, Cmd: []string{"true"}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { other.Delete(ctx, skiff.WithForce()) })
	before, _ := other.Endpoints(ctx)
	if err := other.SetIP(ctx, want); !errors.Is(err, netbridge.ErrAddressInUse) {
		t.Errorf("a second container asking for %s: %v, want ErrAddressInUse", want, err)
	}
	if after, _ := other.Endpoints(ctx); len(after) != 1 || len(before) != 1 || after[0].IP() != before[0].IP() {
		t.Errorf("after a refused SetIP: %+v, want %+v", after, before)
	}
	if err := c.Start(ctx); err != nil {
		t.Fatal(err)
	}
	for round := range 2 {
		url := "http://" + want.String() + "/index.html"
		if out, code := fetch(t, e, img, "pinned", url); code != 0 || out != "hi-from-web\n" {
			t.Errorf("round %d: wget %s: exit %d, %q", round, url, code, out)
		}
		if out, code := fetch(t, e, img, "pinned", "http://pin/index.html"); code != 0 || out != "hi-from-web\n" {
			t.Errorf("round %d: wget http://pin/ by name: exit %d, %q", round, code, out)
		}
		if round == 0 {
			if err := c.Stop(ctx, 500*time.Millisecond); err != nil {
				t.Fatal(err)
			}
			if err := c.Start(ctx); err != nil {
				t.Fatal(err)
			}
		}
	}
	if err := c.SetIP(ctx, want); err == nil {
		t.Errorf("SetIP of a running container succeeded")
	}
}
