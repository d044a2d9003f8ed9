package netbridge

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"net/netip"
	"os"
	"slices"
	"sort"
	"strings"
)

// HostsEntry is one line of /etc/hosts: an address and its names.
type HostsEntry struct {
	IP    netip.Addr `json:"ip"`
	Names []string   `json:"names"`
}

// hostsHeader is what Docker writes at the top of every container's /etc/hosts.
const hostsHeader = `127.0.0.1	localhost
::1	localhost ip6-localhost ip6-loopback
fe00::0	ip6-localnet
ff00::0	ip6-mcastprefix
ff02::1	ip6-allnodes
ff02::2	ip6-allrouters
`

// HostsFile renders an /etc/hosts: Docker's localhost and IPv6 lines, then one line per
// entry (entries without names are skipped, duplicate names on one line dropped). For
// --network none the engine can call HostsFile() (plus, if it likes, the hostname on
// 127.0.0.1); for bridge networks use Manager.HostsFor.
func HostsFile(entries ...HostsEntry) []byte {
	var b bytes.Buffer
	b.WriteString(hostsHeader)
	for _, e := range entries {
		var names []string
		for _, n := range e.Names {
			if n != "" && !slices.Contains(names, n) {
				names = append(names, n)
			}
		}
		if len(names) > 0 && e.IP.IsValid() {
			fmt.Fprintf(&b, "%s\t%s\n", e.IP, strings.Join(names, " "))
		}
	}
	return b.Bytes()
}

// HostsFor renders the /etc/hosts of a container from the endpoint registry: the
// container's own address on each of its networks with its hostname, name and aliases,
// then every other named container on the same user networks (by name and aliases), so
// containers resolve each other by name. DefaultNetwork gives no peer names, as with
// Docker's default bridge. ErrEndpointNotFound if the container is on no network.
//
// Containers come and go: after Attach or Detach of a container, rewrite the hosts file of
// every container Neighbors returned (before Detach, for a leaving one). The file is
// bind-mounted into the container, so write it in place with WriteInPlace, not by rename.
func (m *Manager) HostsFor(ctx context.Context, containerID string) ([]byte, error) {
	nets, unlock, err := m.lockAll(ctx)
	if err != nil {
		return nil, err
	}
	defer unlock()
	var own, peers, extra []HostsEntry
	for _, name := range sortedNames(nets) {
		nf := nets[name]
		self, ok := nf.Endpoints[containerID]
		if !ok {
			continue
		}
		own = append(own, HostsEntry{self.IP(), append([]string{self.Hostname, self.Name}, self.Aliases...)})
		for _, h := range self.ExtraHosts { // each once, whichever network brought it
			if !slices.ContainsFunc(extra, func(x HostsEntry) bool { return slices.Equal(x.Names, h.Names) }) {
				extra = append(extra, h)
			}
		}
		for _, l := range self.Links { // as Docker: the alias, the hostname, the name
			if linked, ok := nf.Endpoints[l.Container]; ok {
				peers = append(peers, HostsEntry{linked.IP(), []string{l.Alias, linked.Hostname, linked.Name}})
			}
		}
		if name == DefaultNetwork {
			continue
		}
		for _, ep := range sortedEndpoints(nf) {
			if ep.ContainerID != containerID {
				peers = append(peers, HostsEntry{ep.IP(), append([]string{ep.Name}, ep.Aliases...)})
			}
		}
	}
	if len(own) == 0 {
		return nil, fmt.Errorf("hosts for %s: %w on any network", containerID, ErrEndpointNotFound)
	}
	return HostsFile(append(append(own, peers...), extra...)...), nil
}

// Neighbors returns the ids of the other containers sharing a user network (not
// DefaultNetwork) with containerID, and of those linked to it (Link): the ones whose
// hosts file lists it.
func (m *Manager) Neighbors(ctx context.Context, containerID string) ([]string, error) {
	nets, unlock, err := m.lockAll(ctx)
	if err != nil {
		return nil, err
	}
	defer unlock()
	var out []string
	for name, nf := range nets {
		for id, ep := range nf.Endpoints { // containers linked to it list it too
			if slices.ContainsFunc(ep.Links, func(l Link) bool { return l.Container == containerID }) && !slices.Contains(out, id) {
				out = append(out, id)
			}
		}
		if _, ok := nf.Endpoints[containerID]; !ok || name == DefaultNetwork {
			continue
		}
		for id := range nf.Endpoints {
			if id != containerID && !slices.Contains(out, id) {
				out = append(out, id)
			}
		}
	}
	sort.Strings(out)
	return out, nil
}

// RemoveLink removes the legacy link of containerID named alias (docker rm --link
// CONTAINER/ALIAS) from its endpoints; rewrite its hosts file after. ErrLinkNotFound if
// it has none of that alias.
func (m *Manager) RemoveLink(ctx context.Context, containerID, alias string) error {
	nets, unlock, err := m.lockAll(ctx)
	if err != nil {
		return err
	}
	defer unlock()
	found := false
	for _, name := range sortedNames(nets) {
		nf := nets[name]
		ep, ok := nf.Endpoints[containerID]
		if !ok {
			continue
		}
		kept := slices.DeleteFunc(slices.Clone(ep.Links), func(l Link) bool { return l.Alias == alias })
		if len(kept) == len(ep.Links) {
			continue
		}
		found = true
		ep.Links = kept
		if len(kept) == 0 {
			ep.Links = nil
		}
		if err := m.save(nf); err != nil {
			return err
		}
	}
	if !found {
		return fmt.Errorf("container %s: link %q: %w", containerID, alias, ErrLinkNotFound)
	}
	return nil
}

// WriteInPlace replaces the content of an existing file without changing its inode (open
// with O_TRUNC, write, fsync), as a file bind-mounted into a running container needs.
func WriteInPlace(path string, data []byte) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_TRUNC|os.O_CREATE, 0o644)
	if err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	if _, err := f.Write(data); err != nil {
		f.Close()
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return fmt.Errorf("fsync %s: %w", path, err)
	}
	return f.Close()
}

// DockerFallbackNameservers are the servers Docker puts in a container's resolv.conf when
// none of the host's is usable. ResolvConf adds them only when asked to.
var DockerFallbackNameservers = []netip.Addr{netip.MustParseAddr("8.8.8.8"), netip.MustParseAddr("8.8.4.4")}

// ResolvConf derives a bridge-networked container's /etc/resolv.conf from the host's, as
// Docker does: nameservers on loopback (127.0.0.0/8, ::1; unreachable from the container's
// netns) and IPv6 nameservers (Skiff networks are IPv4 only) are dropped, every other line
// (search, options, comments) is kept. If no nameserver remains, fallback ones are added.
//
// Without fallback (the default here, unlike Docker, which adds 8.8.8.8 and 8.8.4.4), such a
// file has no nameserver line: the resolver then tries 127.0.0.1 inside the container, where
// nothing listens, and lookups fail at once instead of sending queries to a public server
// the host may not be allowed to reach. Pass DockerFallbackNameservers for Docker's
// behaviour. Containers with --network host should get the host's file unchanged.
func ResolvConf(host []byte, fallback ...netip.Addr) []byte {
	var b bytes.Buffer
	kept := 0
	sc := bufio.NewScanner(bytes.NewReader(host))
	for sc.Scan() {
		line := sc.Text()
		if f := strings.Fields(line); len(f) >= 2 && f[0] == "nameserver" {
			ip, err := netip.ParseAddr(f[1])
			if err != nil || ip.IsLoopback() || !ip.Unmap().Is4() {
				continue
			}
			kept++
		}
		b.WriteString(line)
		b.WriteByte('\n')
	}
	if kept == 0 {
		for _, ip := range fallback {
			fmt.Fprintf(&b, "nameserver %s\n", ip)
		}
	}
	return b.Bytes()
}

// HostResolvConf reads the host's resolver configuration: /etc/resolv.conf, or, when that
// lists only systemd-resolved's stub (127.0.0.53), /run/systemd/resolve/resolv.conf with
// the real upstream servers, as Docker does.
func HostResolvConf() ([]byte, error) {
	b, err := os.ReadFile("/etc/resolv.conf")
	if err != nil {
		return nil, fmt.Errorf("read host resolv.conf: %w", err)
	}
	if bytes.Contains(b, []byte("nameserver 127.0.0.53")) && !bytes.Contains(ResolvConf(b), []byte("nameserver")) {
		if up, err := os.ReadFile("/run/systemd/resolve/resolv.conf"); err == nil {
			return up, nil
		}
	}
	return b, nil
}
