package netbridge

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/skiffrt/skiff/errdefs"
)

// TestSubnetsClaimedAcrossStateDirs: two state dirs (two engine roots) on one host
// create networks while no container is on any, so no bridge has a route yet: the
// automatic choice of the second avoids the first's subnet, an explicit subnet
// overlapping another state dir's network is a conflict naming that network's
// subnet, removing a network frees its subnet for the other state dir, and the claim
// of a state dir that is gone is dropped.
func TestSubnetsClaimedAcrossStateDirs(t *testing.T) {
	ctx := context.Background()
	claims := t.TempDir()
	first := newTestManager(t, WithClaimDir(claims))
	second := newTestManager(t, WithClaimDir(claims))

	// Both at once, three networks each: neither may read the host's routes before
	// the other's bridge exists and then pick the same subnet.
	var wg sync.WaitGroup
	made := make([]*Network, 6)
	errs := make([]error, 6)
	for i := range made {
		m := first
		if i%2 == 1 {
			m = second
		}
		wg.Go(func() { made[i], errs[i] = m.CreateNetwork(ctx, NetworkConfig{Name: fmt.Sprintf("auto%d", i)}) })
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		t.Fatal(err)
	}
	for i, a := range made {
		for _, b := range made[i+1:] {
			if a.Subnet.Overlaps(b.Subnet) {
				t.Errorf("networks %s and %s of two state dirs have overlapping subnets %s and %s", a.Name, b.Name, a.Subnet, b.Subnet)
			}
		}
	}

	s := testSubnet(t)
	if _, err := first.CreateNetwork(ctx, NetworkConfig{Name: "fixed", Subnet: s}); err != nil {
		t.Fatal(err)
	}
	inner := netip.PrefixFrom(s.Addr(), 28) // inside s
	_, err := second.CreateNetwork(ctx, NetworkConfig{Name: "fixed", Subnet: inner})
	if !errors.Is(err, ErrSubnetOverlap) || !errors.Is(err, errdefs.ErrConflict) ||
		!strings.Contains(err.Error(), s.String()) || !strings.Contains(err.Error(), first.stateAbs()) {
		t.Errorf("explicit subnet inside another state dir's %s: %v, want a conflict naming %s and %s", s, err, s, first.stateAbs())
	}
	if err := first.RemoveNetwork(ctx, "fixed"); err != nil {
		t.Fatal(err)
	}
	if _, err := second.CreateNetwork(ctx, NetworkConfig{Name: "fixed", Subnet: s}); err != nil {
		t.Errorf("subnet %s after the other state dir removed its network: %v", s, err)
	}

	// A state dir removed with its network still recorded: its claim is dropped by
	// the next reader, and its subnet is free.
	ghostDir := filepath.Join(t.TempDir(), "ghost")
	ghost, err := New(ghostDir, WithClaimDir(claims), WithTable("skifftest"+randHex(6)),
		WithDefaultBridge("skt"+randHex(6)), WithLogger(first.log))
	if err != nil {
		t.Fatal(err)
	}
	s2 := testSubnet(t)
	g, err := ghost.CreateNetwork(ctx, NetworkConfig{Name: "ghostnet", Subnet: s2})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { deleteLink(g.Bridge) })
	if !claimed(t, claims, s2) {
		t.Fatalf("subnet %s of the ghost's network is not claimed", s2)
	}
	if err := deleteLink(g.Bridge); err != nil {
		t.Fatal(err)
	}
	if err := os.RemoveAll(ghostDir); err != nil {
		t.Fatal(err)
	}
	if _, err := first.CreateNetwork(ctx, NetworkConfig{Name: "healed", Subnet: s2}); err != nil {
		t.Errorf("subnet %s of a removed state dir: %v", s2, err)
	}
	if err := first.RemoveNetwork(ctx, "healed"); err != nil {
		t.Fatal(err)
	}
	if claimed(t, claims, s2) {
		t.Errorf("subnet %s still claimed after its network was removed and the ghost's claim healed", s2)
	}
}

// claimed reports whether the claim dir records a claim of subnet p.
func claimed(t *testing.T, dir string, p netip.Prefix) bool {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(dir, subnetClaimsFile))
	if err != nil {
		t.Fatal(err)
	}
	var list []subnetClaim
	if err := json.Unmarshal(b, &list); err != nil {
		t.Fatal(err)
	}
	for _, c := range list {
		if c.Subnet == p {
			return true
		}
	}
	return false
}
