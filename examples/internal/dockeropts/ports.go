package dockeropts

import (
	"cmp"
	"fmt"
	"net/netip"
	"slices"
	"strconv"
	"strings"

	"github.com/skiffrt/skiff/netbridge"
)

// ParsePublish parses docker's -p [[hostip:]hostport:]containerport[/proto]; a range
// of ports (8000-8002:80-82, or 80-82 alone) gives one mapping per port.
func ParsePublish(spec string) ([]netbridge.PortMapping, error) {
	bad := func(why string) ([]netbridge.PortMapping, error) {
		return nil, fmt.Errorf("invalid argument %q for \"--publish\" flag: %s", spec, why)
	}
	rest, proto, hasProto := strings.Cut(spec, "/")
	var ip, hostPorts, ctrPorts string
	switch parts := strings.Split(rest, ":"); len(parts) {
	case 1:
		ctrPorts = parts[0]
	case 2:
		hostPorts, ctrPorts = parts[0], parts[1]
	case 3:
		ip, hostPorts, ctrPorts = parts[0], parts[1], parts[2]
	default:
		return bad("too many colons")
	}
	clo, chi, err := portRange(ctrPorts)
	if err != nil {
		return bad(err.Error())
	}
	hlo, hhi := uint64(0), uint64(0)
	if hostPorts != "" {
		if hlo, hhi, err = portRange(hostPorts); err != nil {
			return bad(err.Error())
		}
		if hhi != hlo && hhi-hlo != chi-clo {
			return bad("the host and container port ranges differ in length")
		}
	}
	var out []netbridge.PortMapping
	for p := clo; p <= chi; p++ {
		host := ""
		if hostPorts != "" {
			h := hlo
			if hhi != hlo {
				h += p - clo
			}
			host = strconv.FormatUint(h, 10)
		}
		one := ip + ":" + host + ":" + strconv.FormatUint(p, 10)
		if hasProto {
			one += "/" + proto
		}
		pm, err := netbridge.ParsePortMapping(one)
		if err != nil {
			return bad(err.Error())
		}
		out = append(out, pm)
	}
	return out, nil
}

// portRange parses "80" or "80-82".
func portRange(s string) (uint64, uint64, error) {
	lo, hi, isRange := strings.Cut(s, "-")
	a, err := strconv.ParseUint(lo, 10, 16)
	if err != nil || a == 0 {
		return 0, 0, fmt.Errorf("invalid port %q", s)
	}
	if !isRange {
		return a, a, nil
	}
	b, err := strconv.ParseUint(hi, 10, 16)
	if err != nil || b < a {
		return 0, 0, fmt.Errorf("invalid port range %q", s)
	}
	return a, b, nil
}

// PortBinding is a host side of HostConfig.PortBindings.
type PortBinding struct{ HostIp, HostPort string }

// PortBindings converts HostConfig.PortBindings ("80/tcp" → host sides), sorted by
// container port. An empty or "0.0.0.0" HostIp binds every address; an empty
// HostPort picks a free port; a HostPort range binds its first port.
func PortBindings(bindings map[string][]PortBinding) ([]netbridge.PortMapping, error) {
	keys := make([]string, 0, len(bindings))
	for k := range bindings {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	var out []netbridge.PortMapping
	for _, port := range keys {
		p, proto, _ := strings.Cut(port, "/")
		cport, err := strconv.ParseUint(p, 10, 16)
		if err != nil || cport == 0 {
			return nil, fmt.Errorf("invalid port %q", port)
		}
		if proto == "" {
			proto = "tcp"
		}
		if proto != "tcp" && proto != "udp" {
			return nil, fmt.Errorf("invalid port %q: protocol must be tcp or udp", port)
		}
		for _, b := range bindings[port] {
			m := netbridge.PortMapping{ContainerPort: uint16(cport), Proto: proto}
			if b.HostPort != "" {
				first, _, _ := strings.Cut(b.HostPort, "-")
				hp, err := strconv.ParseUint(first, 10, 16)
				if err != nil {
					return nil, fmt.Errorf("invalid host port %q", b.HostPort)
				}
				m.HostPort = uint16(hp)
			}
			if b.HostIp != "" {
				ip, err := netip.ParseAddr(b.HostIp)
				if err != nil || !ip.Is4() {
					return nil, fmt.Errorf("invalid host IP %q: must be an IPv4 address", b.HostIp)
				}
				if !ip.IsUnspecified() {
					m.HostIP = ip
				}
			}
			out = append(out, m)
		}
	}
	return out, nil
}

// PublishAll is docker's -P (HostConfig.PublishAllPorts): for each exposed port ("80",
// "80/tcp", "53/udp" or a range "8000-8002/tcp", as image configs and --expose give
// them) that ports does not publish yet, a mapping to a free host port on every
// address. The new mappings come sorted by port and protocol.
func PublishAll(ports []netbridge.PortMapping, exposed []string) ([]netbridge.PortMapping, error) {
	type key struct {
		port  uint16
		proto string
	}
	have := map[key]bool{}
	for _, p := range ports {
		have[key{p.ContainerPort, cmp.Or(p.Proto, "tcp")}] = true
	}
	var add []key
	for _, e := range exposed {
		lohi, proto, _ := strings.Cut(e, "/")
		proto = strings.ToLower(cmp.Or(proto, "tcp"))
		if proto != "tcp" && proto != "udp" {
			return nil, fmt.Errorf("invalid exposed port %q: protocol %q is not tcp or udp", e, proto)
		}
		lo, hi, err := portRange(lohi)
		if err != nil {
			return nil, fmt.Errorf("invalid exposed port %q: %w", e, err)
		}
		for p := lo; p <= hi; p++ {
			k := key{uint16(p), proto}
			if !have[k] {
				have[k] = true
				add = append(add, k)
			}
		}
	}
	slices.SortFunc(add, func(a, b key) int { return cmp.Or(cmp.Compare(a.port, b.port), cmp.Compare(a.proto, b.proto)) })
	out := slices.Clone(ports)
	for _, k := range add {
		out = append(out, netbridge.PortMapping{ContainerPort: k.port, Proto: k.proto})
	}
	return out, nil
}
