package netbridge

import (
	"context"
	"errors"
	"net/netip"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// TestNamesClaimedPerStateDir: two state dirs asking for the same table and default
// bridge (two engine roots with default names) do not share them: the second uses
// names derived from its state dir, so its rule rewrites leave the first's published
// port answering, and its containers get their own bridge. A claim whose state dir is
// gone is taken over.
func TestNamesClaimedPerStateDir(t *testing.T) {
	ctx := context.Background()
	claims := t.TempDir()
	table, bridge := "skifftest"+randHex(6), "skc"+randHex(6)
	opts := []Option{WithTable(table), WithDefaultBridge(bridge), WithClaimDir(claims)}
	first := newTestManager(t, opts...)
	second := newTestManager(t, opts...)

	ns1, ns2 := newNetns(t), newNetns(t)
	listenIn(t, ns1, "0.0.0.0:8080", "first")
	ep1, err := first.Attach(ctx, DefaultNetwork, "a"+randHex(12), ns1, AttachOptions{
		Ports: []PortMapping{{HostIP: netip.MustParseAddr("127.0.0.1"), ContainerPort: 8080}}})
	if err != nil {
		t.Fatal(err)
	}
	if first.Table() != table || first.DefaultBridgeName() != bridge {
		t.Errorf("first state dir uses %s, %s; want the names asked for", first.Table(), first.DefaultBridgeName())
	}
	ep2, err := second.Attach(ctx, DefaultNetwork, "b"+randHex(12), ns2, AttachOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if second.Table() == table || second.DefaultBridgeName() == bridge {
		t.Errorf("second state dir shares table %s / bridge %s with the first", second.Table(), second.DefaultBridgeName())
	}
	// A port the first state dir publishes is taken for the second too.
	_, err = second.Publish(ctx, DefaultNetwork, ep2.ContainerID, []PortMapping{
		{HostIP: netip.MustParseAddr("127.0.0.1"), HostPort: ep1.Ports[0].HostPort, ContainerPort: 80}})
	if !errors.Is(err, ErrPortInUse) || !strings.Contains(err.Error(), "engine state") {
		t.Errorf("second state dir publishing the first's port %d: %v, want ErrPortInUse naming the other state", ep1.Ports[0].HostPort, err)
	}
	n1, _ := first.Network(ctx, DefaultNetwork)
	n2, _ := second.Network(ctx, DefaultNetwork)
	if n1.Bridge == n2.Bridge || n1.Subnet.Overlaps(n2.Subnet) {
		t.Errorf("default networks share bridge or subnet: %s %s, %s %s", n1.Bridge, n1.Subnet, n2.Bridge, n2.Subnet)
	}
	// The second's detach rewrites (and removes) its own table only.
	if err := second.Detach(ctx, DefaultNetwork, ep2.ContainerID); err != nil {
		t.Fatal(err)
	}
	addr := "127.0.0.1:" + strconv.Itoa(int(ep1.Ports[0].HostPort))
	if got, err := dialHost(addr); err != nil || got != "hello from first" {
		t.Errorf("first's published port %s after the second rewrote its rules: %q, %v", addr, got, err)
	}
	// Another Manager of the second state dir settles on the same names.
	again, err := New(second.dir, append(opts, WithLogger(second.log))...)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := again.Networks(ctx); err != nil || again.Table() != second.Table() {
		t.Errorf("second state dir again: table %s, want %s (%v)", again.Table(), second.Table(), err)
	}

	// A state dir that goes away leaves stale claims, which a new state dir takes.
	table2, bridge2 := "skifftest"+randHex(6), "skc"+randHex(6)
	opts2 := []Option{WithTable(table2), WithDefaultBridge(bridge2), WithClaimDir(claims)}
	gone := filepath.Join(t.TempDir(), "gone")
	ghost, err := New(gone, opts2...)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := ghost.Networks(ctx); err != nil || ghost.Table() != table2 {
		t.Fatalf("ghost state dir: table %s, %v", ghost.Table(), err)
	}
	if err := os.RemoveAll(gone); err != nil {
		t.Fatal(err)
	}
	third := newTestManager(t, opts2...)
	if _, err := third.Networks(ctx); err != nil {
		t.Fatal(err)
	}
	if third.Table() != table2 || third.DefaultBridgeName() != bridge2 {
		t.Errorf("names of a removed state dir: a new one uses %s, %s; want %s, %s",
			third.Table(), third.DefaultBridgeName(), table2, bridge2)
	}
}
