// Package netbridge gives containers bridge networking: Linux bridges, veth pairs,
// persistent IP address management (IPAM), NAT and published ports with nftables, and
// the /etc/hosts and /etc/resolv.conf files that let containers of one network find each
// other by name.
//
// # Vocabulary
//
//   - A network is a Linux bridge (the "switch"), an IPv4 subnet and a gateway address
//     (the bridge's own address, the first host of the subnet). The default network is
//     called "bridge" and uses the bridge device "skiff0"; user networks use
//     "skiff-<8 hex digits of the network id>".
//   - An endpoint is one container on one network: a veth pair whose host end
//     ("sk" + container id + network id, 15 bytes) is enslaved to the bridge and whose
//     other end lives in the container's network namespace as eth0, eth1, ...
//   - IPAM hands out addresses of the subnet: lowest free first, never the network,
//     gateway or broadcast address.
//
// # State and locking
//
// A Manager works on a state dir, <engine root>/network, holding one JSON file per network
// (config, IPAM, endpoints). Every operation takes an exclusive flock on <dir>/lock, reads
// the files, changes them, writes them back (temp, fsync, rename, fsync dir) and applies
// the kernel changes before unlocking. So any number of Managers, in any number of
// processes, may share a state dir: two engines never hand out the same address.
//
// # Lifecycle
//
// In `ip` terms, what the methods do:
//
//	CreateNetwork  ip link add skiff-1a2b3c4d type bridge; ip addr add 10.5.0.1/24 dev ...; up
//	Attach         ip link add sk0123abcd1a2b3 master skiff-1a2b3c4d type veth peer eth0 netns NS
//	               ip -n NS addr add 10.5.0.2/24 dev eth0; ip -n NS route add default via 10.5.0.1
//	               then the nftables table is rewritten (see below)
//	Publish        the endpoint's published ports are set (conflicts checked); table rewritten
//	ReleasePorts   the container's published ports are dropped; table rewritten
//	Detach         ip link del sk0123abcd1a2b3; the address is released; table rewritten
//	RemoveNetwork  ip link del skiff-1a2b3c4d (refused while endpoints remain)
//	Check          Detach for every endpoint whose container is no longer alive
//
// The engine calls Attach for each network of a container once its init process exists
// but before it runs user code (namespace.Config.BeforeInit, netns /proc/<pid>/ns/net),
// Publish when the container starts and ReleasePorts when its process ends (host ports
// are held only while a container runs, as Docker holds them), Detach on Delete (or on a
// failed Create), and Check from Engine.Check.
//
// # NAT and published ports
//
// Rules live in Skiff's own nftables table (family ip, default name "skiff"), talked to
// over netlink with github.com/google/nftables: no nft or iptables binary is needed. The
// whole table is a function of the state: after every change it is described as a
// Ruleset value (Manager.Rules; its String method renders nft syntax, which tests compare
// with golden files) and then replaced in one atomic netlink batch. It holds rules only
// for networks that have endpoints, so it disappears with the last container.
//
// Each Manager owns its table outright and rewrites it whole, so engines on different
// roots sharing one host need different tables and default bridges. Names are claimed
// per state dir under /run/skiff/netbridge (WithClaimDir): a second root asking for
// names another root holds gets its own, derived from its state dir, instead of
// silently erasing the first's published ports.
//
// Publishing on 127.0.0.1 works without a userland proxy: DNAT also runs in the output
// hook, the bridge gets net.ipv4.conf.<bridge>.route_localnet=1, and traffic from
// 127.0.0.0/8 into the bridge is masqueraded to the gateway address.
//
// # Names
//
// Containers of one user network find each other through /etc/hosts (no DNS server):
// HostsFor renders a container's file from the endpoint registry (its own names and
// every named peer on its user networks), and Neighbors says whose files to rewrite when a
// container joins or leaves. ResolvConf derives resolv.conf from the host's, dropping
// loopback nameservers as Docker does.
package netbridge
