package skiff_test

import (
	"context"
	"errors"
	"math/rand/v2"
	"net/netip"
	"strings"
	"sync"
	"testing"

	"github.com/skiffrt/skiff/errdefs"
	"github.com/skiffrt/skiff/netbridge"
)

// TestSubnetsAcrossEngineRoots: two engine roots on one host create networks at the
// same moment, before any container is on them: their subnets do not overlap. A
// network of one root asking for the other's subnet is a conflict naming it, until
// the other removes its network.
func TestSubnetsAcrossEngineRoots(t *testing.T) {
	ctx := context.Background()
	one, two := newEngine(t), newEngine(t)
	var wg sync.WaitGroup
	var a, b *netbridge.Network
	var errA, errB error
	wg.Go(func() { a, errA = one.Networks().CreateNetwork(ctx, netbridge.NetworkConfig{Name: "rootnet"}) })
	wg.Go(func() { b, errB = two.Networks().CreateNetwork(ctx, netbridge.NetworkConfig{Name: "rootnet"}) })
	wg.Wait()
	if err := errors.Join(errA, errB); err != nil {
		t.Fatal(err)
	}
	if a.Subnet.Overlaps(b.Subnet) {
		t.Fatalf("two engine roots chose overlapping subnets %s and %s", a.Subnet, b.Subnet)
	}
	// An explicit subnet outside the default pool, so no other engine picks it meanwhile.
	var fixed *netbridge.Network
	for i := 0; fixed == nil; i++ {
		var err error
		s := netip.PrefixFrom(netip.AddrFrom4([4]byte{10, 214, byte(rand.IntN(256)), 0}), 24)
		fixed, err = one.Networks().CreateNetwork(ctx, netbridge.NetworkConfig{Name: "fixed", Subnet: s})
		if err != nil && (i == 20 || !errors.Is(err, netbridge.ErrSubnetOverlap)) {
			t.Fatal(err)
		}
	}
	_, err := two.Networks().CreateNetwork(ctx, netbridge.NetworkConfig{Name: "taken", Subnet: fixed.Subnet})
	if !errors.Is(err, netbridge.ErrSubnetOverlap) || !errors.Is(err, errdefs.ErrConflict) || !strings.Contains(err.Error(), fixed.Subnet.String()) {
		t.Errorf("subnet %s of the other root's network: %v, want a conflict naming it", fixed.Subnet, err)
	}
	if err := one.Networks().RemoveNetwork(ctx, "fixed"); err != nil {
		t.Fatal(err)
	}
	if _, err := two.Networks().CreateNetwork(ctx, netbridge.NetworkConfig{Name: "taken", Subnet: fixed.Subnet}); err != nil {
		t.Errorf("subnet %s once the other root removed its network: %v", fixed.Subnet, err)
	}
}
