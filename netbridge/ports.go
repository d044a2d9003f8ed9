package netbridge

import (
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// PortMapping publishes a container port on the host (docker -p).
type PortMapping struct {
	// HostIP restricts the mapping to one host address (docker -p 127.0.0.1:8080:80). The
	// zero Addr means every local address, 127.0.0.1 included.
	HostIP netip.Addr `json:"host_ip,omitzero"`
	// HostPort is the port on the host; 0 asks Attach to pick a free one.
	HostPort uint16 `json:"host_port"`
	// ContainerPort is the port inside the container (required).
	ContainerPort uint16 `json:"container_port"`
	// Proto is "tcp" (the default when empty) or "udp".
	Proto string `json:"proto"`
}

// String renders the mapping in docker -p syntax: [hostip:]hostport:containerport/proto.
func (p PortMapping) String() string {
	s := fmt.Sprintf("%d:%d/%s", p.HostPort, p.ContainerPort, p.proto())
	if p.HostIP.IsValid() {
		s = p.HostIP.String() + ":" + s
	}
	return s
}

func (p PortMapping) proto() string {
	if p.Proto == "" {
		return "tcp"
	}
	return p.Proto
}

// ParsePortMapping parses docker -p syntax: [[hostip:]hostport:]containerport[/tcp|udp].
// A missing or empty host port is 0 (pick a free one).
func ParsePortMapping(s string) (PortMapping, error) {
	bad := func(why string) (PortMapping, error) {
		return PortMapping{}, fmt.Errorf("%w: %q: %s", ErrInvalidPort, s, why)
	}
	var pm PortMapping
	rest, proto, ok := strings.Cut(s, "/")
	pm.Proto = "tcp"
	if ok {
		if proto != "tcp" && proto != "udp" {
			return bad("protocol must be tcp or udp")
		}
		pm.Proto = proto
	}
	parts := strings.Split(rest, ":")
	if len(parts) > 3 {
		return bad("too many ':'")
	}
	port := func(s string, zeroOK bool) (uint16, error) {
		if s == "" && zeroOK {
			return 0, nil
		}
		n, err := strconv.ParseUint(s, 10, 16)
		if err != nil || (n == 0 && !zeroOK) {
			return 0, errors.New("bad port " + strconv.Quote(s))
		}
		return uint16(n), nil
	}
	var err error
	if pm.ContainerPort, err = port(parts[len(parts)-1], false); err != nil {
		return bad(err.Error())
	}
	if len(parts) >= 2 {
		if pm.HostPort, err = port(parts[len(parts)-2], true); err != nil {
			return bad(err.Error())
		}
	}
	if len(parts) == 3 && parts[0] != "" {
		if pm.HostIP, err = netip.ParseAddr(parts[0]); err != nil || !pm.HostIP.Is4() {
			return bad("host ip must be an IPv4 address")
		}
		if pm.HostIP.IsUnspecified() {
			pm.HostIP = netip.Addr{}
		}
	}
	return pm, nil
}

// conflicts reports whether two mappings claim the same host socket.
func (p PortMapping) conflicts(q PortMapping) bool {
	return p.proto() == q.proto() && p.HostPort == q.HostPort &&
		(!p.HostIP.IsValid() || !q.HostIP.IsValid() || p.HostIP == q.HostIP)
}

func (p PortMapping) hostAddr(port uint16) string {
	ip := "0.0.0.0"
	if p.HostIP.IsValid() {
		ip = p.HostIP.String()
	}
	return net.JoinHostPort(ip, strconv.Itoa(int(port)))
}

// bindCheck binds the host socket the mapping claims and closes it at once, returning the
// port bound (useful when port is 0). A failure means something on the host owns it.
func (p PortMapping) bindCheck(port uint16) (uint16, error) {
	addr := p.hostAddr(port)
	if p.proto() == "udp" {
		c, err := net.ListenPacket("udp4", addr)
		if err != nil {
			return 0, err
		}
		defer c.Close()
		return uint16(c.LocalAddr().(*net.UDPAddr).Port), nil
	}
	l, err := net.Listen("tcp4", addr)
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return uint16(l.Addr().(*net.TCPAddr).Port), nil
}

// portOwner is a published port and who publishes it, for conflict messages.
type portOwner struct {
	pm  PortMapping
	who string
}

// publishedPorts lists the ports the endpoints of nets publish.
func publishedPorts(nets map[string]*netFile, where string) []portOwner {
	var out []portOwner
	for _, name := range sortedNames(nets) {
		for _, ep := range sortedEndpoints(nets[name]) {
			for _, pm := range ep.Ports {
				out = append(out, portOwner{pm, fmt.Sprintf("container %s on network %q%s", ep.ContainerID, name, where)})
			}
		}
	}
	return out
}

// foreignPorts lists the ports other state dirs on this host publish (those that
// claimed names since boot, see claim.go): their rules live in their own tables, so a
// port one of them publishes is taken here too. Their files are read without their
// lock; each is replaced whole by a rename, so a read sees one version or the next.
func (m *Manager) foreignPorts() []portOwner {
	self, _ := filepath.Abs(m.dir)
	if real, err := filepath.EvalSymlinks(self); err == nil {
		self = real
	}
	claims, _ := filepath.Glob(filepath.Join(m.claimDir, "table-*"))
	var out []portOwner
	for _, c := range claims {
		b, err := os.ReadFile(c)
		if err != nil || string(b) == self || !filepath.IsAbs(string(b)) {
			continue
		}
		files, _ := filepath.Glob(filepath.Join(string(b), "networks", "*.json"))
		nets := map[string]*netFile{}
		for _, f := range files {
			var nf netFile
			if data, err := os.ReadFile(f); err == nil && json.Unmarshal(data, &nf) == nil {
				nets[nf.Network.Name] = &nf
			}
		}
		out = append(out, publishedPorts(nets, " of the engine state "+string(b))...)
	}
	return out
}

// resolvePorts validates ports, picks free host ports for HostPort 0, and checks that
// no mapping in nets or in others and no socket on the host holds them. Call with the
// lock held.
func resolvePorts(nets map[string]*netFile, others []portOwner, ports []PortMapping) ([]PortMapping, error) {
	type owned = portOwner
	taken := append(publishedPorts(nets, ""), others...)
	conflict := func(pm PortMapping) (string, bool) {
		for _, o := range taken {
			if o.pm.conflicts(pm) {
				return o.who + " (" + o.pm.String() + ")", true
			}
		}
		return "", false
	}
	out := make([]PortMapping, 0, len(ports))
	for _, pm := range ports {
		pm.Proto = pm.proto()
		switch {
		case pm.Proto != "tcp" && pm.Proto != "udp":
			return nil, fmt.Errorf("%w: %s: protocol must be tcp or udp", ErrInvalidPort, pm)
		case pm.ContainerPort == 0:
			return nil, fmt.Errorf("%w: %s: container port 0", ErrInvalidPort, pm)
		case pm.HostIP.IsValid() && !pm.HostIP.Is4():
			return nil, fmt.Errorf("%w: %s: host ip must be IPv4", ErrInvalidPort, pm)
		}
		if pm.HostIP.IsValid() && pm.HostIP.IsUnspecified() {
			pm.HostIP = netip.Addr{}
		}
		if pm.HostPort == 0 {
			for range 50 {
				port, err := pm.bindCheck(0)
				if err != nil {
					return nil, fmt.Errorf("%s: pick a free host port: %v: Bind for %s failed: %w", pm, err, pm.hostAddr(0), ErrPortInUse)
				}
				cand := pm
				cand.HostPort = port
				if _, busy := conflict(cand); !busy {
					pm = cand
					break
				}
			}
			if pm.HostPort == 0 {
				return nil, fmt.Errorf("%s: no free host port found: Bind for %s failed: %w", pm, pm.hostAddr(0), ErrPortInUse)
			}
		} else {
			if who, busy := conflict(pm); busy {
				return nil, fmt.Errorf("%s is published by %s: Bind for %s failed: %w", pm, who, pm.hostAddr(pm.HostPort), ErrPortInUse)
			}
			if _, err := pm.bindCheck(pm.HostPort); err != nil {
				return nil, fmt.Errorf("%s: %v: Bind for %s failed: %w", pm, err, pm.hostAddr(pm.HostPort), ErrPortInUse)
			}
		}
		taken = append(taken, owned{pm, "the same request"})
		out = append(out, pm)
	}
	return out, nil
}
