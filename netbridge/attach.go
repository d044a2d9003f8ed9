package netbridge

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"slices"

	"github.com/vishvananda/netlink"
	"github.com/vishvananda/netns"
	"golang.org/x/sys/unix"
)

// AttachOptions describes a container's interface on one network.
type AttachOptions struct {
	// IfName is the interface name inside the container. Empty picks the first free
	// "ethN" (eth0 for the first network, eth1 for the next, ...).
	IfName string
	// Name is the container's name; on user networks other containers resolve it.
	Name string
	// Aliases are extra names (docker --network-alias) on this network.
	Aliases []string
	// Hostname is the container's hostname, listed with its address in /etc/hosts.
	Hostname string
	// Ports are published ports (docker -p). HostPort 0 picks a free port; the chosen one
	// is in the returned Endpoint.
	Ports []PortMapping
	// IP is the address the container asks for on this network (docker --ip); the zero
	// value takes the lowest free one.
	IP netip.Addr
	// Links are legacy links (docker run --link) to containers on the same network:
	// HostsFor lists each linked container under its alias.
	Links []Link
	// ExtraHosts are entries HostsFor adds to the container's /etc/hosts (docker
	// --add-host); an entry without IP gets the network's gateway (host-gateway).
	ExtraHosts []HostsEntry
}

// Link is a legacy link of one container to another on the same network (docker run
// --link CONTAINER:ALIAS): the linking container's /etc/hosts lists the linked one's
// address under Alias, its hostname and its name.
type Link struct {
	// Container is the linked container's ID, as given to Attach.
	Container string `json:"container"`
	// Alias is the name the linking container knows it by.
	Alias string `json:"alias"`
}

// Endpoint is a container's attachment to one network, as persisted in the state dir.
type Endpoint struct {
	// Network is the network name.
	Network string `json:"network"`
	// NetworkID is the network's ID.
	NetworkID string `json:"network_id,omitempty"`
	// ContainerID is the container's id as given to Attach.
	ContainerID string `json:"container_id"`
	// Name, Aliases and Hostname are from AttachOptions.
	Name     string   `json:"name,omitempty"`
	Aliases  []string `json:"aliases,omitempty"`
	Hostname string   `json:"hostname,omitempty"`
	// IfName is the interface inside the container (eth0, ...).
	IfName string `json:"ifname"`
	// HostVeth is the host end of the veth pair, enslaved to the bridge.
	HostVeth string `json:"host_veth"`
	// Address is the container's address with the subnet's prefix length.
	Address netip.Prefix `json:"address"`
	// Gateway is the bridge's address.
	Gateway netip.Addr `json:"gateway"`
	// MAC is the container interface's hardware address (02:42 + the IPv4 address).
	MAC string `json:"mac"`
	// DefaultRoute is true when this interface carries the container's default route.
	DefaultRoute bool `json:"default_route,omitempty"`
	// Netns is the network namespace path given to Attach.
	Netns string `json:"netns"`
	// Ports are the published ports, host ports resolved.
	Ports []PortMapping `json:"ports,omitempty"`
	// RequestedIP is AttachOptions.IP: the address was asked for, not picked.
	RequestedIP netip.Addr `json:"requested_ip,omitzero"`
	// Links are AttachOptions.Links, less those RemoveLink removed.
	Links []Link `json:"links,omitempty"`
	// ExtraHosts are AttachOptions.ExtraHosts, host-gateway resolved.
	ExtraHosts []HostsEntry `json:"extra_hosts,omitempty"`
}

// IP returns the endpoint's address without prefix length.
func (e Endpoint) IP() netip.Addr { return e.Address.Addr() }

// ID returns the endpoint's ID, 64 hex digits derived from the container's and the
// network's IDs: stable for the container on that network (Docker's EndpointID).
func (e Endpoint) ID() string {
	h := sha256.Sum256([]byte("endpoint\x00" + e.ContainerID + "\x00" + e.NetworkID))
	return hex.EncodeToString(h[:])
}

// hostVethName derives the host end's name (15 bytes max) from the container id and
// the network id: "sk" + 13 hex digits of their hash. Every byte of both ids counts, so
// ids that share a prefix ("container1", "container2") get different names.
func hostVethName(containerID, networkID string) string {
	h := sha256.Sum256([]byte(containerID + "\x00" + networkID))
	return "sk" + hex.EncodeToString(h[:])[:13]
}

func macFor(ip netip.Addr) net.HardwareAddr {
	a := ip.As4()
	return net.HardwareAddr{0x02, 0x42, a[0], a[1], a[2], a[3]}
}

// Attach connects the container whose network namespace is at netnsPath (for example
// /proc/<pid>/ns/net) to network, creating DefaultNetwork on first use. In `ip` terms:
//
//	ip link add HOSTVETH mtu MTU master BRIDGE up type veth peer name IFNAME netns NETNS
//	bridge link set dev HOSTVETH hairpin on
//	ip -n NETNS link set lo up
//	ip -n NETNS addr add IP/LEN dev IFNAME; ip -n NETNS link set IFNAME up
//	ip -n NETNS route add default via GATEWAY    # only if the netns has no default route
//
// then rewrites Skiff's nftables table (masquerade, published ports, isolation). The
// address is recorded before any kernel change, so a crash leaves a record that Check
// can clean. A failed Attach removes what it made. An empty netnsPath only records the
// endpoint (its address, names and ports taken, no kernel change): a stopped container
// joins the network so, and is plumbed when it runs again (Detach, then Attach).
func (m *Manager) Attach(ctx context.Context, network, containerID, netnsPath string, opts AttachOptions) (*Endpoint, error) {
	if network == "" {
		network = DefaultNetwork
	}
	if containerID == "" {
		return nil, fmt.Errorf("attach to %q: empty container id: %w", network, ErrInvalidName)
	}
	if opts.IfName != "" {
		if err := validIfName(opts.IfName); err != nil {
			return nil, fmt.Errorf("attach %s to %q: %w", containerID, network, err)
		}
	}
	nets, unlock, err := m.lockAll(ctx)
	if err != nil {
		return nil, err
	}
	defer unlock()
	nf, err := resolveNetwork(nets, network)
	if err != nil {
		if network != DefaultNetwork {
			return nil, fmt.Errorf("attach %s: %w", containerID, err)
		}
		if nf, err = m.createLocked(ctx, NetworkConfig{Name: DefaultNetwork}); err != nil {
			return nil, err
		}
		nets[network] = nf
	}
	network = nf.Network.Name
	if _, ok := nf.Endpoints[containerID]; ok {
		return nil, fmt.Errorf("attach %s to %q: %w", containerID, network, ErrEndpointExists)
	}
	var others []portOwner
	if len(opts.Ports) > 0 {
		others = m.foreignPorts()
	}
	ports, err := resolvePorts(nets, others, opts.Ports)
	if err != nil {
		return nil, fmt.Errorf("attach %s to %q: %w", containerID, network, err)
	}
	ip := opts.IP
	if ip.IsValid() {
		err = nf.IPAM.AllocateAddr(ip, containerID)
	} else {
		ip, err = nf.IPAM.Allocate(containerID)
	}
	if err != nil {
		return nil, fmt.Errorf("attach %s to %q: %w", containerID, network, err)
	}
	ep := &Endpoint{
		Network: network, NetworkID: nf.Network.ID, ContainerID: containerID, Name: opts.Name, Aliases: opts.Aliases,
		Hostname: opts.Hostname, IfName: opts.IfName,
		HostVeth: hostVethName(containerID, nf.Network.ID),
		Address:  netip.PrefixFrom(ip, nf.Network.Subnet.Bits()),
		Gateway:  nf.Network.Gateway, MAC: macFor(ip).String(), Netns: netnsPath, Ports: ports,
		RequestedIP: opts.IP, Links: slices.Clone(opts.Links),
	}
	for _, h := range opts.ExtraHosts {
		if !h.IP.IsValid() {
			h.IP = nf.Network.Gateway
		}
		ep.ExtraHosts = append(ep.ExtraHosts, HostsEntry{IP: h.IP, Names: slices.Clone(h.Names)})
	}
	nf.Endpoints[containerID] = ep
	if err := m.save(nf); err != nil {
		return nil, err
	}
	if netnsPath == "" {
		m.log.Info("endpoint recorded", "network", network, "container", containerID, "ip", ip)
		out := *ep
		return &out, nil
	}

	// A link of that name that is not ours (a hash collision, a leftover): refuse
	// without touching it — the rollback below deletes only what Attach made.
	if _, lerr := netlink.LinkByName(ep.HostVeth); lerr == nil {
		nf.IPAM.Release(ip)
		delete(nf.Endpoints, containerID)
		return nil, errors.Join(fmt.Errorf("attach %s to %q: host interface %s already exists: %w",
			containerID, network, ep.HostVeth, ErrEndpointExists), m.save(nf))
	}
	err = m.plumb(ctx, &nf.Network, ep)
	if err == nil {
		if err = m.save(nf); err == nil {
			err = m.applyRulesLocked(ctx)
		}
	}
	if err != nil {
		deleteLink(ep.HostVeth)
		nf.IPAM.Release(ip)
		delete(nf.Endpoints, containerID)
		if serr := m.save(nf); serr != nil {
			err = errors.Join(err, serr)
		}
		m.applyRulesLocked(context.WithoutCancel(ctx))
		return nil, err
	}
	m.log.Info("endpoint attached", "network", network, "container", containerID,
		"ip", ip, "ifname", ep.IfName, "veth", ep.HostVeth)
	out := *ep
	return &out, nil
}

// plumb makes the kernel side of ep: bridge, veth pair, addresses and routes. It fills
// in ep.IfName (if empty) and ep.DefaultRoute. On error the caller deletes ep.HostVeth.
func (m *Manager) plumb(ctx context.Context, n *Network, ep *Endpoint) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if err := m.ensureBridge(n); err != nil {
		return err
	}
	br, err := netlink.LinkByName(n.Bridge)
	if err != nil {
		return fmt.Errorf("bridge %s: %w", n.Bridge, err)
	}
	ns, err := netns.GetFromPath(ep.Netns)
	if err != nil {
		return fmt.Errorf("open netns %s: %w", ep.Netns, err)
	}
	defer ns.Close()
	h, err := netlink.NewHandleAt(ns, unix.NETLINK_ROUTE)
	if err != nil {
		return fmt.Errorf("netlink handle in netns %s: %w", ep.Netns, err)
	}
	defer h.Close()

	if ep.IfName == "" {
		if ep.IfName, err = freeEthName(h); err != nil {
			return fmt.Errorf("netns %s: %w", ep.Netns, err)
		}
	}
	mtu := m.hostMTU()
	veth := &netlink.Veth{
		LinkAttrs: netlink.LinkAttrs{Name: ep.HostVeth, MTU: mtu, MasterIndex: br.Attrs().Index,
			Flags: net.FlagUp},
		PeerName:         ep.IfName,
		PeerMTU:          uint32(mtu),
		PeerHardwareAddr: macFor(ep.IP()),
		PeerNamespace:    netlink.NsFd(int(ns)),
	}
	if err := netlink.LinkAdd(veth); err != nil {
		return fmt.Errorf("ip link add %s master %s type veth peer name %s netns %s: %w",
			ep.HostVeth, n.Bridge, ep.IfName, ep.Netns, err)
	}
	// Some kernels ignore IFLA_MASTER/IFF_UP on veth creation: make sure.
	if hv, err := netlink.LinkByName(ep.HostVeth); err != nil {
		return fmt.Errorf("veth %s: %w", ep.HostVeth, err)
	} else {
		if hv.Attrs().MasterIndex != br.Attrs().Index {
			if err := netlink.LinkSetMasterByIndex(hv, br.Attrs().Index); err != nil {
				return fmt.Errorf("ip link set %s master %s: %w", ep.HostVeth, n.Bridge, err)
			}
		}
		// Hairpin: a container reaching its own published port through the gateway
		// gets the DNAT'd packet back out of the bridge port it came in on.
		if err := netlink.LinkSetHairpin(hv, true); err != nil {
			return fmt.Errorf("bridge link set dev %s hairpin on: %w", ep.HostVeth, err)
		}
		if err := netlink.LinkSetUp(hv); err != nil {
			return fmt.Errorf("ip link set %s up: %w", ep.HostVeth, err)
		}
	}

	in := func(op string, err error) error {
		return fmt.Errorf("%s in netns %s: %w", op, ep.Netns, err)
	}
	lo, err := h.LinkByName("lo")
	if err != nil {
		return in("lo", err)
	}
	if err := h.LinkSetUp(lo); err != nil {
		return in("ip link set lo up", err)
	}
	peer, err := h.LinkByName(ep.IfName)
	if err != nil {
		return in("veth peer "+ep.IfName, err)
	}
	if err := h.AddrAdd(peer, &netlink.Addr{IPNet: prefixIPNet(ep.Address)}); err != nil {
		return in(fmt.Sprintf("ip addr add %s dev %s", ep.Address, ep.IfName), err)
	}
	if err := h.LinkSetUp(peer); err != nil {
		return in("ip link set "+ep.IfName+" up", err)
	}
	hasDefault, err := hasDefaultRoute(h)
	if err != nil {
		return in("ip route show default", err)
	}
	if !hasDefault {
		r := &netlink.Route{LinkIndex: peer.Attrs().Index, Gw: ep.Gateway.AsSlice()}
		if err := h.RouteAdd(r); err != nil {
			return in(fmt.Sprintf("ip route add default via %s dev %s", ep.Gateway, ep.IfName), err)
		}
		ep.DefaultRoute = true
	}
	return nil
}

// freeEthName returns the first ethN not present in the handle's netns.
func freeEthName(h *netlink.Handle) (string, error) {
	links, err := retryDump(h.LinkList)
	if err != nil {
		return "", fmt.Errorf("ip link show: %w", err)
	}
	have := map[string]bool{}
	for _, l := range links {
		have[l.Attrs().Name] = true
	}
	for i := 0; ; i++ {
		if name := fmt.Sprintf("eth%d", i); !have[name] {
			return name, nil
		}
	}
}

func hasDefaultRoute(h *netlink.Handle) (bool, error) {
	routes, err := retryDump(func() ([]netlink.Route, error) { return h.RouteList(nil, netlink.FAMILY_V4) })
	if err != nil {
		return false, err
	}
	for _, r := range routes {
		if r.Dst == nil {
			return true, nil
		}
		if ones, _ := r.Dst.Mask.Size(); ones == 0 {
			return true, nil
		}
	}
	return false, nil
}

// Detach disconnects the container from network: it deletes the veth pair (ip link del
// HOSTVETH; the peer inside the container goes with it), releases the address and drops
// the container's port rules. A veth already gone (the netns died) is not an error.
func (m *Manager) Detach(ctx context.Context, network, containerID string) error {
	if network == "" {
		network = DefaultNetwork
	}
	nets, unlock, err := m.lockAll(ctx)
	if err != nil {
		return err
	}
	defer unlock()
	nf, err := resolveNetwork(nets, network)
	if err != nil {
		return fmt.Errorf("detach %s: %w", containerID, err)
	}
	if err := m.detachLocked(nf, containerID); err != nil {
		return err
	}
	return m.applyRulesLocked(ctx)
}

func (m *Manager) detachLocked(nf *netFile, containerID string) error {
	ep, ok := nf.Endpoints[containerID]
	if !ok {
		return fmt.Errorf("detach %s from %q: %w", containerID, nf.Network.Name, ErrEndpointNotFound)
	}
	if err := deleteLink(ep.HostVeth); err != nil {
		return fmt.Errorf("detach %s from %q: %w", containerID, nf.Network.Name, err)
	}
	if nf.IPAM.Owner(ep.IP()) == containerID {
		nf.IPAM.Release(ep.IP())
	}
	delete(nf.Endpoints, containerID)
	if err := m.save(nf); err != nil {
		return err
	}
	m.log.Info("endpoint detached", "network", nf.Network.Name, "container", containerID,
		"ip", ep.IP(), "veth", ep.HostVeth)
	return nil
}

// DetachAll detaches the container from every network it is on (engine Delete, failed
// Create) and returns the endpoints removed; a container on no network is not an error.
func (m *Manager) DetachAll(ctx context.Context, containerID string) ([]Endpoint, error) {
	nets, unlock, err := m.lockAll(ctx)
	if err != nil {
		return nil, err
	}
	defer unlock()
	var removed []Endpoint
	var errs []error
	for _, name := range sortedNames(nets) {
		nf := nets[name]
		ep, ok := nf.Endpoints[containerID]
		if !ok {
			continue
		}
		if err := m.detachLocked(nf, containerID); err != nil {
			errs = append(errs, err)
			continue
		}
		removed = append(removed, *ep)
	}
	if len(removed) > 0 {
		if err := m.applyRulesLocked(context.WithoutCancel(ctx)); err != nil {
			errs = append(errs, err)
		}
	}
	return removed, errors.Join(errs...)
}

// ContainerEndpoints returns the container's endpoints on every network, by network name.
func (m *Manager) ContainerEndpoints(ctx context.Context, containerID string) ([]Endpoint, error) {
	nets, unlock, err := m.lockAll(ctx)
	if err != nil {
		return nil, err
	}
	defer unlock()
	var out []Endpoint
	for _, name := range sortedNames(nets) {
		if ep, ok := nets[name].Endpoints[containerID]; ok {
			e := *ep
			e.NetworkID = nets[name].Network.ID
			out = append(out, e)
		}
	}
	return out, nil
}

// LoopbackUp brings lo up in the netns at netnsPath (ip -n NETNS link set lo up): all
// that --network none needs. Attach does it too.
func LoopbackUp(netnsPath string) error {
	ns, err := netns.GetFromPath(netnsPath)
	if err != nil {
		return fmt.Errorf("open netns %s: %w", netnsPath, err)
	}
	defer ns.Close()
	h, err := netlink.NewHandleAt(ns, unix.NETLINK_ROUTE)
	if err != nil {
		return fmt.Errorf("netlink handle in netns %s: %w", netnsPath, err)
	}
	defer h.Close()
	lo, err := h.LinkByName("lo")
	if err != nil {
		return fmt.Errorf("lo in netns %s: %w", netnsPath, err)
	}
	if err := h.LinkSetUp(lo); err != nil {
		return fmt.Errorf("ip link set lo up in netns %s: %w", netnsPath, err)
	}
	return nil
}

// Publish replaces the published ports of the container's endpoint on network with ports
// (HostPort 0 picks a free port) and rewrites the nftables table. The engine calls it when
// a container starts: a port is held only while its container runs, as Docker does. A
// host port published by another endpoint, or bound by a host socket, fails with
// ErrPortInUse ("Bind for 0.0.0.0:8080 failed: port is already allocated") and leaves
// the endpoint without ports. It returns the ports with host ports resolved.
func (m *Manager) Publish(ctx context.Context, network, containerID string, ports []PortMapping) ([]PortMapping, error) {
	if network == "" {
		network = DefaultNetwork
	}
	nets, unlock, err := m.lockAll(ctx)
	if err != nil {
		return nil, err
	}
	defer unlock()
	nf, err := resolveNetwork(nets, network)
	if err != nil {
		return nil, fmt.Errorf("publish ports of %s: %w", containerID, err)
	}
	ep, ok := nf.Endpoints[containerID]
	if !ok {
		return nil, fmt.Errorf("publish ports of %s on %q: %w", containerID, nf.Network.Name, ErrEndpointNotFound)
	}
	old := ep.Ports
	ep.Ports = nil // its own previous ports are no conflict
	var others []portOwner
	if len(ports) > 0 {
		others = m.foreignPorts()
	}
	resolved, err := resolvePorts(nets, others, ports)
	if err != nil {
		if old != nil {
			if serr := m.save(nf); serr != nil {
				err = errors.Join(err, serr)
			}
			err = errors.Join(err, m.applyRulesLocked(context.WithoutCancel(ctx)))
		}
		return nil, fmt.Errorf("publish ports of %s on %q: %w", containerID, nf.Network.Name, err)
	}
	if len(resolved) == 0 && old == nil {
		return nil, nil
	}
	ep.Ports = resolved
	if len(resolved) == 0 {
		ep.Ports = nil
	}
	if err := m.save(nf); err != nil {
		return nil, err
	}
	if err := m.applyRulesLocked(ctx); err != nil {
		return nil, err
	}
	return resolved, nil
}

// ReleasePorts drops the published ports of every endpoint of the container and
// rewrites the nftables table: its process ended, so its host ports are free for
// others until it starts again (Publish). A container without ports is not an error.
func (m *Manager) ReleasePorts(ctx context.Context, containerID string) error {
	nets, unlock, err := m.lockAll(ctx)
	if err != nil {
		return err
	}
	defer unlock()
	changed := false
	for _, name := range sortedNames(nets) {
		nf := nets[name]
		if ep, ok := nf.Endpoints[containerID]; ok && len(ep.Ports) > 0 {
			ep.Ports = nil
			if err := m.save(nf); err != nil {
				return err
			}
			changed = true
		}
	}
	if !changed {
		return nil
	}
	m.log.Info("ports released", "container", containerID)
	return m.applyRulesLocked(context.WithoutCancel(ctx))
}
