package dockerfile

import (
	"net"
	"strconv"
	"strings"
)

// ParsePorts turns expanded EXPOSE arguments ("80", "53/udp",
// "8000-8010/tcp") into the image config's port keys ("80/tcp", "53/udp",
// "8000/tcp" ... "8010/tcp"), as BuildKit does. The protocol defaults to
// tcp and is lower-cased. An "ip:hostPort:" prefix is accepted and ignored.
func ParsePorts(ports []string) ([]string, error) {
	var out []string
	for _, raw := range ports {
		p, proto, _ := strings.Cut(raw, "/")
		if proto == "" {
			proto = "tcp"
		}
		proto = strings.ToLower(proto)
		if proto != "tcp" && proto != "udp" && proto != "sctp" {
			return nil, errorf(ErrArguments, "invalid port: %q: invalid proto: %s", raw, proto)
		}
		if i := strings.LastIndexByte(p, ':'); i >= 0 {
			ip := p[:i]
			if j := strings.LastIndexByte(ip, ':'); j >= 0 && !strings.HasSuffix(ip, "]") {
				ip = ip[:j]
			}
			ip = strings.TrimSuffix(strings.TrimPrefix(ip, "["), "]")
			if ip != "" && net.ParseIP(ip) == nil && !isPortRange(ip) {
				return nil, errorf(ErrArguments, "invalid IP address: %s", ip)
			}
			p = p[i+1:]
		}
		start, end, err := portRange(p)
		if err != nil {
			return nil, errorf(ErrArguments, "invalid containerPort: %s", p)
		}
		for n := start; n <= end; n++ {
			out = append(out, strconv.Itoa(n)+"/"+proto)
		}
	}
	return out, nil
}

func isPortRange(s string) bool { _, _, err := portRange(s); return err == nil }

func portRange(s string) (int, int, error) {
	a, b, isRange := strings.Cut(s, "-")
	start, err := strconv.ParseUint(a, 10, 16)
	if err != nil {
		return 0, 0, err
	}
	end := start
	if isRange {
		if end, err = strconv.ParseUint(b, 10, 16); err != nil {
			return 0, 0, err
		}
		if end < start {
			return 0, 0, strconv.ErrRange
		}
	}
	return int(start), int(end), nil
}
