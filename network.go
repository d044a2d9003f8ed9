package skiff

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	securejoin "github.com/cyphar/filepath-securejoin"
	specs "github.com/opencontainers/runtime-spec/specs-go"

	"github.com/skiffrt/skiff/netbridge"
)

// Network modes of ContainerConfig.Network besides user-defined network names.
const (
	NetworkBridge = netbridge.DefaultNetwork // the default bridge network (bridge skiff0)
	NetworkNone   = "none"                   // a network namespace with only loopback
	NetworkHost   = "host"                   // the host's network namespace
)

// Networks returns the engine's network manager: bridge networks, their IPAM and NAT
// rules (`skiff network create|ls|inspect|rm|prune`).
func (e *Engine) Networks() *netbridge.Manager { return e.net }

// CreateNetwork creates a bridge network (netbridge.Manager.CreateNetwork) and records
// a network create event (docker network create).
func (e *Engine) CreateNetwork(ctx context.Context, cfg netbridge.NetworkConfig) (*netbridge.Network, error) {
	n, err := e.net.CreateNetwork(ctx, cfg)
	if err != nil {
		return nil, err
	}
	e.emit(EventNetwork, "create", n.ID, networkEventAttrs(n.Name, ""))
	return n, nil
}

// RemoveNetwork removes the network ref names (its name, ID or a unique ID prefix) and
// records a network destroy event (docker network rm).
func (e *Engine) RemoveNetwork(ctx context.Context, ref string) error {
	n, err := e.net.Network(ctx, ref)
	if err != nil {
		return err
	}
	if err := e.net.RemoveNetwork(ctx, n.ID); err != nil {
		return err
	}
	e.emit(EventNetwork, "destroy", n.ID, networkEventAttrs(n.Name, ""))
	return nil
}

// PruneNetworks removes every network no container uses except the default one
// (docker network prune), records a destroy event for each and returns their names.
func (e *Engine) PruneNetworks(ctx context.Context) ([]string, error) {
	before, err := e.net.Networks(ctx)
	if err != nil {
		return nil, err
	}
	removed, err := e.net.Prune(ctx)
	for _, n := range before {
		if slices.Contains(removed, n.Name) {
			e.emit(EventNetwork, "destroy", n.ID, networkEventAttrs(n.Name, ""))
		}
	}
	return removed, err
}

// networkEventAttrs are the attributes of a network event, as Docker's: the network's
// name and type, and the container for connect and disconnect.
func networkEventAttrs(name, container string) map[string]string {
	attrs := map[string]string{"name": name, "type": "bridge"}
	if container != "" {
		attrs["container"] = container
	}
	return attrs
}

// emitEndpoints records a network connect or disconnect event for each endpoint.
func emitEndpoints(root string, log *slog.Logger, action string, eps []netbridge.Endpoint) {
	for _, ep := range eps {
		if err := recordEvent(root, EventNetwork, action, ep.NetworkID, networkEventAttrs(ep.Network, ep.ContainerID)); err != nil {
			log.Debug("event not recorded", "type", EventNetwork, "action", action, "err", err)
		}
	}
}

// netPlan is what Create decided about a container's network.
type netPlan struct {
	mode    string // NetworkNone, NetworkHost or a bridge network's name
	dir     string // the container's dir, where hosts, hostname and resolv.conf live
	id      string
	name    string
	host    string // hostname
	aliases []string
	ports   []netbridge.PortMapping
	links   []netbridge.Link // legacy links of its first network (eth0)
	// publish has attach take the ports (a new run of a stopped container: a conflict
	// fails it before its state changes); else Start takes them (publishPorts).
	publish bool
	// extra are the endpoints of the container's last run: it joins the same networks
	// again (those Connect added too), with their aliases and requested addresses.
	extra []netbridge.Endpoint
	// onlyExisting mounts /etc/hosts, /etc/hostname and /etc/resolv.conf only over
	// files the root filesystem has (build steps: nothing new lands in the layer).
	onlyExisting string
	// extraHosts are ContainerConfig.ExtraHosts (a zero IP: host-gateway); dns,
	// dnsSearch and dnsOptions its DNS settings (see setNames).
	extraHosts                 []netbridge.HostsEntry
	dns, dnsSearch, dnsOptions []string
}

// setNames records cfg's ExtraHosts and DNS settings in the plan, checked: errors
// name the field and entry.
func (p *netPlan) setNames(cfg ContainerConfig) error {
	for i, h := range cfg.ExtraHosts {
		sep := strings.IndexAny(h, ":=") // name:ip or name=ip; an IPv6 address has colons
		if sep <= 0 || sep == len(h)-1 {
			return fmt.Errorf("%w: ExtraHosts[%d] %q: want name:ip", ErrInvalidConfig, i, h)
		}
		name, addr := h[:sep], h[sep+1:]
		e := netbridge.HostsEntry{Names: []string{name}}
		if addr != "host-gateway" {
			ip, err := netip.ParseAddr(strings.Trim(addr, "[]"))
			if err != nil {
				return fmt.Errorf("%w: ExtraHosts[%d] %q: %w", ErrInvalidConfig, i, h, err)
			}
			e.IP = ip
		} else if p.mode == NetworkNone {
			return fmt.Errorf("%w: ExtraHosts[%d] %q: host-gateway needs a network, not Network \"none\"", ErrInvalidConfig, i, h)
		}
		p.extraHosts = append(p.extraHosts, e)
	}
	for i, s := range cfg.DNS {
		if _, err := netip.ParseAddr(s); err != nil {
			return fmt.Errorf("%w: DNS[%d] %q: %w", ErrInvalidConfig, i, s, err)
		}
	}
	p.dns, p.dnsSearch, p.dnsOptions = cfg.DNS, cfg.DNSSearch, cfg.DNSOptions
	return nil
}

// resolvWith returns resolv with the plan's DNS settings: each of nameserver, search
// and options replaced where the plan sets it.
func (p *netPlan) resolvWith(resolv []byte) []byte {
	if len(p.dns) == 0 && len(p.dnsSearch) == 0 && len(p.dnsOptions) == 0 {
		return resolv
	}
	var b strings.Builder
	for _, line := range strings.Split(string(resolv), "\n") {
		f := strings.Fields(line)
		if len(f) > 0 && (f[0] == "nameserver" && len(p.dns) > 0 || f[0] == "search" && len(p.dnsSearch) > 0 ||
			f[0] == "options" && len(p.dnsOptions) > 0) || line == "" {
			continue
		}
		b.WriteString(line + "\n")
	}
	for _, ns := range p.dns {
		b.WriteString("nameserver " + ns + "\n")
	}
	if len(p.dnsSearch) > 0 {
		b.WriteString("search " + strings.Join(p.dnsSearch, " ") + "\n")
	}
	if len(p.dnsOptions) > 0 {
		b.WriteString("options " + strings.Join(p.dnsOptions, " ") + "\n")
	}
	return []byte(b.String())
}

// networkMode normalises ContainerConfig.Network.
func networkMode(n string) string {
	switch n {
	case "", "default":
		return NetworkBridge
	}
	return n
}

// prepareNetwork adjusts spec for the plan's mode and writes the container's
// /etc/hostname, /etc/hosts and /etc/resolv.conf (bind-mounted into it). For bridge
// networks the hosts file is completed by attach once the address is known.
func (e *Engine) prepareNetwork(ctx context.Context, p *netPlan, spec *specs.Spec) error {
	if p.mode == NetworkHost {
		ns := spec.Linux.Namespaces[:0]
		for _, n := range spec.Linux.Namespaces {
			if n.Type != specs.NetworkNamespace {
				ns = append(ns, n)
			}
		}
		spec.Linux.Namespaces = ns
		if len(p.ports) > 0 {
			return fmt.Errorf("%w: Ports: published ports need a bridge network, not Network \"host\"", ErrInvalidConfig)
		}
	} else if p.mode != NetworkNone {
		if _, err := e.net.Network(ctx, p.mode); err != nil && !(p.mode == NetworkBridge && errors.Is(err, netbridge.ErrNetworkNotFound)) {
			return err
		}
	} else if len(p.ports) > 0 {
		return fmt.Errorf("%w: Ports: published ports need a bridge network, not Network \"none\"", ErrInvalidConfig)
	}

	hosts := netbridge.HostsFile(netbridge.HostsEntry{IP: netip.MustParseAddr("127.0.0.1"), Names: []string{p.host}})
	resolv, err := netbridge.HostResolvConf()
	if err != nil {
		resolv = nil // a host without resolv.conf gives containers an empty one
	}
	if p.mode == NetworkHost {
		if h, err := os.ReadFile("/etc/hosts"); err == nil {
			hosts = h
		}
	} else {
		resolv = netbridge.ResolvConf(resolv)
	}
	resolv = p.resolvWith(resolv)
	if p.mode == NetworkHost || p.mode == NetworkNone {
		// No endpoint carries them (bridge networks: attach writes them). On the
		// host's network, the host is the loopback.
		var extra []netbridge.HostsEntry
		for _, h := range p.extraHosts {
			if !h.IP.IsValid() {
				h.IP = netip.MustParseAddr("127.0.0.1")
			}
			extra = append(extra, h)
		}
		hosts = append(hosts, netbridge.HostsFile(extra...)[len(netbridge.HostsFile()):]...)
	}
	files := []struct {
		name string
		data []byte
	}{{"hostname", []byte(p.host + "\n")}, {"hosts", hosts}, {"resolv.conf", resolv}}
	for _, f := range files {
		if p.onlyExisting != "" {
			target, err := securejoin.SecureJoin(p.onlyExisting, "/etc/"+f.name)
			if fi, serr := os.Lstat(target); err != nil || serr != nil || !fi.Mode().IsRegular() {
				continue
			}
		}
		path := filepath.Join(p.dir, f.name)
		if err := os.WriteFile(path, f.data, 0o644); err != nil {
			return fmt.Errorf("container %s: %w", shortID(p.id), err)
		}
		spec.Mounts = append(spec.Mounts, specs.Mount{
			Destination: "/etc/" + f.name, Type: "bind", Source: path,
			Options: []string{"rbind", "rprivate"},
		})
	}
	return nil
}

// attachNetwork connects the container's network namespace (its init is pid) once
// the init exists and before it runs anything: loopback for none, a veth on the
// bridge network otherwise (and one on each network of p.extra), then the hosts file
// with the container's own address. Published ports are taken here only when
// p.publish is set, else at start (publishPorts).
func (e *Engine) attachNetwork(ctx context.Context, p *netPlan, pid int) error {
	netns := "/proc/" + strconv.Itoa(pid) + "/ns/net"
	switch p.mode {
	case NetworkHost:
		return nil
	case NetworkNone:
		return netbridge.LoopbackUp(netns)
	}
	var ports []netbridge.PortMapping
	if p.publish {
		ports = p.ports
	}
	var ip netip.Addr // the address its eth0 asked for last time (SetIP)
	links := p.links
	for _, x := range p.extra {
		if x.IfName == "eth0" {
			ip, links = x.RequestedIP, x.Links // links as RemoveLink left them
		}
	}
	_, err := e.net.Attach(ctx, p.mode, p.id, netns, netbridge.AttachOptions{
		IfName: "eth0", Name: p.name, Aliases: p.aliases, Hostname: p.host, Ports: ports, IP: ip, Links: links,
		ExtraHosts: p.extraHosts,
	})
	if err != nil {
		return err
	}
	for _, x := range p.extra {
		if x.IfName == "eth0" { // on p.mode, named by name or ID
			continue
		}
		if _, err := e.net.Attach(ctx, x.Network, p.id, netns, netbridge.AttachOptions{
			Name: p.name, Aliases: x.Aliases, Hostname: p.host, IP: x.RequestedIP,
		}); err != nil {
			return err
		}
	}
	hosts, err := e.net.HostsFor(ctx, p.id)
	if err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(p.dir, "hosts"), hosts, 0o644); err != nil {
		return fmt.Errorf("container %s: %w", shortID(p.id), err)
	}
	e.refreshNeighbors(ctx, p.id)
	return nil
}

// refreshNeighbors rewrites the hosts file of every container that shares a user
// network with id, so they resolve it by name (or stop resolving it).
func (e *Engine) refreshNeighbors(ctx context.Context, id string) {
	ns, err := e.net.Neighbors(ctx, id)
	if err != nil {
		return
	}
	e.refreshHosts(ctx, ns...)
}

func (e *Engine) refreshHosts(ctx context.Context, ids ...string) {
	refreshHosts(ctx, e.net, e.ctrs, e.log, ids...)
}

// detachNetwork removes every endpoint of container id and updates its neighbours.
func (e *Engine) detachNetwork(ctx context.Context, id string) error {
	return detachNetwork(ctx, e.net, e.ctrs, e.log, id)
}

// extraNetworks returns the endpoints of container st's last run (netPlan.extra): its
// eth0 on st.Network, whose requested address a new run keeps, and those Connect
// added, which a new run joins again.
func (e *Engine) extraNetworks(ctx context.Context, st *State) []netbridge.Endpoint {
	eps, err := e.net.ContainerEndpoints(ctx, st.ID)
	if err != nil {
		return nil
	}
	return eps
}

// SetIP gives a created container the address ip on the network it was created on
// (docker run --ip), in place of the one Create picked; it keeps it when it starts
// again. An address another container holds is netbridge.ErrAddressInUse; one outside
// the subnet netbridge.ErrInvalidAddress.
func (c *Container) SetIP(ctx context.Context, ip netip.Addr) error {
	unlock, err := c.e.lockOp(c.id)
	if err != nil {
		return fmt.Errorf("set address of container %s: %w", shortID(c.id), err)
	}
	defer unlock()
	st := c.State()
	if st.Status != StatusCreated {
		return &StateError{ID: st.ID, Op: "set address", From: st.Status, Want: string(StatusCreated)}
	}
	eps, err := c.e.net.ContainerEndpoints(ctx, st.ID)
	if err != nil {
		return err
	}
	i := slices.IndexFunc(eps, func(ep netbridge.Endpoint) bool { return ep.IfName == "eth0" })
	if i < 0 {
		return fmt.Errorf("set address of container %s: %w: its Network is %q", shortID(st.ID), ErrInvalidConfig, st.Network)
	}
	old := eps[i]
	if old.IP() == ip {
		return nil
	}
	netns := "/proc/" + strconv.Itoa(st.Pid) + "/ns/net"
	if err := c.e.net.Detach(ctx, old.NetworkID, st.ID); err != nil {
		return fmt.Errorf("set address of container %s: %w", shortID(st.ID), err)
	}
	opts := netbridge.AttachOptions{IfName: "eth0", Name: old.Name, Aliases: old.Aliases, Hostname: old.Hostname, IP: ip}
	_, err = c.e.net.Attach(ctx, old.NetworkID, st.ID, netns, opts)
	if err != nil {
		opts.IP = old.RequestedIP // back as it was
		if _, rerr := c.e.net.Attach(ctx, old.NetworkID, st.ID, netns, opts); rerr != nil {
			err = errors.Join(err, rerr)
		}
		return fmt.Errorf("set address of container %s: %w", shortID(st.ID), err)
	}
	hosts, err := c.e.net.HostsFor(ctx, st.ID)
	if err != nil {
		return err
	}
	if err := netbridge.WriteInPlace(filepath.Join(c.e.ctrs.path(st.ID), "hosts"), hosts); err != nil {
		return fmt.Errorf("container %s: %w", shortID(st.ID), err)
	}
	c.e.refreshNeighbors(ctx, st.ID)
	return nil
}

// publishPorts takes container st's published host ports (ContainerConfig.Ports) as
// it starts, and records its network connect events: Docker holds the ports only while
// a container runs. A port another container holds, or a host socket, fails with
// netbridge.ErrPortInUse, worded as Docker's "Bind for 0.0.0.0:8080 failed: port is
// already allocated" (a conflict).
func (e *Engine) publishPorts(ctx context.Context, st *State) error {
	if st.Network == NetworkHost || st.Network == NetworkNone {
		return nil
	}
	if len(st.Ports) > 0 {
		if _, err := e.net.Publish(ctx, st.Network, st.ID, st.Ports); err != nil {
			return fmt.Errorf("container %s: %w", shortID(st.ID), err)
		}
	}
	e.emitConnected(ctx, st.ID)
	return nil
}

// emitConnected records a network connect event for each network of container id as
// it starts (Docker's words for a container joining its networks).
func (e *Engine) emitConnected(ctx context.Context, id string) {
	if eps, err := e.net.ContainerEndpoints(ctx, id); err == nil {
		emitEndpoints(e.root, e.log, "connect", eps)
	}
}

// releasePorts frees the published host ports of container id once its process has
// ended (the monitor and the reaper of a foreground container call it before they
// record the exit, so a client that saw the exit finds the ports free).
func releasePorts(ctx context.Context, net *netbridge.Manager, log *slog.Logger, id string) {
	if net == nil {
		return
	}
	if err := net.ReleasePorts(context.WithoutCancel(ctx), id); err != nil {
		log.Warn("release published ports", "container", shortID(id), "err", err)
	}
	if eps, err := net.ContainerEndpoints(context.WithoutCancel(ctx), id); err == nil {
		// Its interfaces went with its process. The state dir is <root>/network.
		emitEndpoints(filepath.Dir(net.StateDir()), log, "disconnect", eps)
	}
}

// releasePortsAfterExit is releasePorts in a container's monitor (which has no
// Engine), for the run it watched: not when another monitor owns the container now.
func releasePortsAfterExit(req monitorRequest, st *State) {
	if st.Owner != os.Getpid() || st.Network == NetworkHost || st.Network == NetworkNone {
		return
	}
	log := slog.New(slog.DiscardHandler)
	net, err := netbridge.New(filepath.Join(req.Root, "network"), netbridge.WithLogger(log),
		netbridge.WithTable(req.Table), netbridge.WithDefaultBridge(req.Bridge))
	if err != nil {
		return
	}
	releasePorts(context.Background(), net, log, st.ID)
}

// ConnectOptions describe a container's endpoint on a network it is connected to.
type ConnectOptions struct {
	// Aliases are extra names it has on that network (docker network connect --alias).
	Aliases []string
	// IP is the address it asks for there (docker network connect --ip); the zero value
	// takes the lowest free one. Kept when the container starts again.
	IP netip.Addr
}

// Connect attaches a container to another bridge network (docker network connect),
// named by its name, ID or a unique ID prefix, with aliases: ConnectWith with only
// ConnectOptions.Aliases.
func (c *Container) Connect(ctx context.Context, network string, aliases ...string) (*netbridge.Endpoint, error) {
	return c.ConnectWith(ctx, network, ConnectOptions{Aliases: aliases})
}

// ConnectWith attaches a container to another bridge network: a new interface (eth1,
// ...) appears in a created, running or paused one, live; a stopped one has its address
// taken and gets the interface when it starts. It joins the network again whenever it
// starts again. Unknown networks: netbridge.ErrNetworkNotFound; an address another
// container holds: netbridge.ErrAddressInUse.
func (c *Container) ConnectWith(ctx context.Context, network string, opts ConnectOptions) (*netbridge.Endpoint, error) {
	if _, err := c.e.ctrs.load(c.id); err != nil { // removed meanwhile
		return nil, fmt.Errorf("connect container %s: %w", shortID(c.id), err)
	}
	st := c.State()
	netns := "/proc/" + strconv.Itoa(st.Pid) + "/ns/net"
	if st.Status == StatusExited {
		netns = "" // recorded now, plumbed at the next start
	}
	if st.Network == NetworkHost || st.Network == NetworkNone {
		return nil, fmt.Errorf("connect container %s: %w: its Network is %q", shortID(st.ID), ErrInvalidConfig, st.Network)
	}
	ep, err := c.e.net.Attach(ctx, network, st.ID, netns, netbridge.AttachOptions{
		Name: st.Name, Aliases: opts.Aliases, Hostname: st.Hostname, IP: opts.IP,
	})
	if err != nil {
		return nil, fmt.Errorf("connect container %s to %s: %w", shortID(st.ID), network, err)
	}
	c.e.refreshHosts(ctx, st.ID)
	c.e.refreshNeighbors(ctx, st.ID)
	if netns != "" {
		emitEndpoints(c.e.root, c.e.log, "connect", []netbridge.Endpoint{*ep})
	}
	return ep, nil
}

// Disconnect detaches the container from a network, live (docker network disconnect).
func (c *Container) Disconnect(ctx context.Context, network string) error {
	st := c.State()
	neighbors, _ := c.e.net.Neighbors(ctx, st.ID)
	n, err := c.e.net.Network(ctx, network)
	if err == nil {
		err = c.e.net.Detach(ctx, n.ID, st.ID)
	}
	if err != nil {
		return fmt.Errorf("disconnect container %s from %s: %w", shortID(st.ID), network, err)
	}
	c.e.refreshHosts(ctx, append(neighbors, st.ID)...)
	c.e.emit(EventNetwork, "disconnect", n.ID, networkEventAttrs(n.Name, st.ID))
	return nil
}

// Endpoints returns the container's network endpoints (address, interface, ports).
func (c *Container) Endpoints(ctx context.Context) ([]netbridge.Endpoint, error) {
	return c.e.net.ContainerEndpoints(ctx, c.id)
}
