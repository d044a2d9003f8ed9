package netbridge

import (
	"context"
	"testing"

	"github.com/vishvananda/netlink"
	"github.com/vishvananda/netns"
)

func TestCheck(t *testing.T) {
	ctx := context.Background()
	m := newTestManager(t)
	n := createTestNetwork(t, m)
	nsLive, nsDead, nsGone := newNetns(t), newNetns(t), newNetns(t)
	live, err := m.Attach(ctx, n.Name, "live"+randHex(8), nsLive, AttachOptions{})
	if err != nil {
		t.Fatal(err)
	}
	dead, err := m.Attach(ctx, n.Name, "dead"+randHex(8), nsDead, AttachOptions{Ports: []PortMapping{{ContainerPort: 80}}})
	if err != nil {
		t.Fatal(err)
	}
	gone, err := m.Attach(ctx, n.Name, "gone"+randHex(8), nsGone, AttachOptions{})
	if err != nil {
		t.Fatal(err)
	}
	// "gone"'s namespace disappears as if its container died: the kernel destroys the veth.
	if err := netns.DeleteNamed(nsGone[len("/var/run/netns/"):]); err != nil {
		t.Fatal(err)
	}

	removed, err := m.Check(ctx, func(id string) bool { return id == live.ContainerID })
	if err != nil {
		t.Fatal(err)
	}
	if len(removed) != 2 {
		t.Fatalf("Check removed %d endpoints, want 2 (%+v)", len(removed), removed)
	}
	if _, err := netlink.LinkByName(dead.HostVeth); err == nil {
		t.Errorf("veth %s of dead container remains", dead.HostVeth)
	}
	if _, err := netlink.LinkByName(live.HostVeth); err != nil {
		t.Errorf("veth %s of live container removed: %v", live.HostVeth, err)
	}
	eps, _ := m.Endpoints(ctx, n.Name)
	if len(eps) != 1 || eps[0].ContainerID != live.ContainerID {
		t.Errorf("endpoints after Check: %+v", eps)
	}
	unlock, _ := m.lock(ctx)
	nf, _ := m.load(n.Name)
	unlock()
	if len(nf.IPAM.Allocated) != 1 || nf.IPAM.Owner(live.IP()) != live.ContainerID {
		t.Errorf("allocations after Check: %v", nf.IPAM.Allocated)
	}
	if rs, _ := m.Rules(ctx); rs.Chains == nil || len(rs.Chains) != 2 {
		t.Errorf("rules after Check (want masquerade + forward only):\n%s", rs)
	}
	_ = gone
}
