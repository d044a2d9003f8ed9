package skiff

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/skiffrt/skiff/netbridge"
)

// Link is a legacy container link (docker run --link CONTAINER:ALIAS). The linking
// container, created on the linked one's bridge network (the default bridge, as a
// rule), gets:
//
//   - in /etc/hosts, the linked container's address under Alias, its hostname and
//     its name (kept current while both stay attached);
//   - in its environment, for each port the linked container exposes (its image's
//     EXPOSE and its published ports) ALIAS_PORT_<port>_<PROTO>=<proto>://IP:port
//     with _ADDR, _PORT and _PROTO variants, ALIAS_PORT for the lowest port,
//     ALIAS_NAME=/<linking name>/<alias>, and ALIAS_ENV_<VAR> for each variable of the
//     linked container's environment (but HOME, PATH and HOSTNAME); ALIAS is Alias in
//     upper case with '-' as '_'. The container's own Env wins over these.
//
// The linked container must be running when the linking one is created: its address
// and environment are read then (Docker reads them at each start; a Skiff container's
// environment is fixed at Create). Container.RemoveLink removes a link.
type Link struct {
	// Container is the linked container's name, ID or unique ID prefix; Create records
	// its full ID.
	Container string
	// Alias is the name the linking container knows it by. Empty: the linked
	// container's name.
	Alias string `json:",omitempty"`
}

// ParseLink parses Docker's "CONTAINER[:ALIAS]". Errors wrap ErrInvalidConfig.
func ParseLink(s string) (Link, error) {
	name, alias, _ := strings.Cut(s, ":")
	name = strings.TrimPrefix(name, "/")
	if name == "" || (alias == "" && strings.HasSuffix(s, ":")) {
		return Link{}, fmt.Errorf("%w: invalid link %q: want CONTAINER[:ALIAS]", ErrInvalidConfig, s)
	}
	if alias == "" {
		alias = name
	}
	if !validName.MatchString(alias) {
		return Link{}, fmt.Errorf("%w: invalid link %q: alias %q", ErrInvalidConfig, s, alias)
	}
	return Link{Container: name, Alias: alias}, nil
}

// resolvedLinks are a new container's links as Create applies them.
type resolvedLinks struct {
	links []Link           // with full IDs, recorded in the config
	net   []netbridge.Link // for the endpoint (hosts file)
	env   []string         // the link variables
}

// resolveLinks checks each link of cfg (named name, on network mode) and derives its
// variables and endpoint links.
func (e *Engine) resolveLinks(ctx context.Context, cfg ContainerConfig, name, mode string) (*resolvedLinks, error) {
	out := &resolvedLinks{}
	if len(cfg.Links) == 0 {
		return out, nil
	}
	if mode == NetworkHost || mode == NetworkNone {
		return nil, fmt.Errorf("%w: conflicting options: %s type networking can't be used with links", ErrInvalidConfig, mode)
	}
	seen := map[string]bool{}
	for _, l := range cfg.Links {
		if l.Alias == "" {
			l.Alias = l.Container
		}
		if seen[l.Alias] {
			return nil, fmt.Errorf("%w: link alias %q given twice", ErrInvalidConfig, l.Alias)
		}
		seen[l.Alias] = true
		c, err := e.Container(ctx, l.Container)
		if err != nil {
			return nil, fmt.Errorf("could not get container for %s: %w", l.Container, err)
		}
		st := c.State()
		if st.Status != StatusRunning && st.Status != StatusPaused {
			return nil, fmt.Errorf("%w: Cannot link to a non running container: /%s AS /%s/%s", ErrInvalidState, st.Name, name, l.Alias)
		}
		eps, err := e.net.ContainerEndpoints(ctx, st.ID)
		if err != nil {
			return nil, err
		}
		i := slices.IndexFunc(eps, func(ep netbridge.Endpoint) bool {
			return ep.Network == mode || ep.NetworkID == mode || (len(mode) >= 12 && strings.HasPrefix(ep.NetworkID, mode))
		})
		if i < 0 {
			return nil, fmt.Errorf("%w: Cannot link to /%s, as it does not belong to the network %s", ErrInvalidConfig, st.Name, mode)
		}
		ports, err := e.linkedPorts(ctx, &st)
		if err != nil {
			return nil, err
		}
		var childEnv []string
		if spec, err := e.ctrs.loadSpec(st.ID); err == nil && spec.Process != nil {
			childEnv = spec.Process.Env
		}
		out.env = append(out.env, linkEnv(l.Alias, "/"+name+"/"+l.Alias, eps[i].IP().String(), ports, childEnv)...)
		out.links = append(out.links, Link{Container: st.ID, Alias: l.Alias})
		out.net = append(out.net, netbridge.Link{Container: st.ID, Alias: l.Alias})
	}
	return out, nil
}

// linkPort is a port a linked container exposes.
type linkPort struct {
	num   uint16
	proto string // "tcp", "udp", "sctp"
}

// linkedPorts lists the ports st exposes: its image's EXPOSE and its published
// container ports, by number (tcp first on a tie), without repeats.
func (e *Engine) linkedPorts(ctx context.Context, st *State) ([]linkPort, error) {
	var out []linkPort
	add := func(p linkPort) {
		if p.num != 0 && !slices.Contains(out, p) {
			out = append(out, p)
		}
	}
	if img, err := e.images.Image(ctx, st.ImageID); err == nil {
		for spec := range img.Config.Config.ExposedPorts {
			num, proto, _ := strings.Cut(spec, "/")
			n, err := strconv.ParseUint(num, 10, 16)
			if err != nil {
				continue
			}
			add(linkPort{uint16(n), strings.ToLower(cmp.Or(proto, "tcp"))})
		}
	}
	for _, p := range st.Ports {
		add(linkPort{p.ContainerPort, strings.ToLower(cmp.Or(p.Proto, "tcp"))})
	}
	slices.SortFunc(out, func(a, b linkPort) int {
		if a.num != b.num {
			return int(a.num) - int(b.num)
		}
		switch {
		case a.proto == b.proto:
			return 0
		case a.proto == "tcp":
			return -1
		case b.proto == "tcp":
			return 1
		}
		return strings.Compare(a.proto, b.proto)
	})
	return out, nil
}

// linkEnv renders the variables of one link (see Link): alias as given, fullName
// "/<linking>/<alias>", ip the linked container's address, ports sorted as
// linkedPorts returns them, childEnv the linked container's environment.
func linkEnv(alias, fullName, ip string, ports []linkPort, childEnv []string) []string {
	prefix := strings.ToUpper(strings.ReplaceAll(alias, "-", "_"))
	var env []string
	if len(ports) > 0 {
		p := ports[0]
		env = append(env, fmt.Sprintf("%s_PORT=%s://%s:%d", prefix, p.proto, ip, p.num))
	}
	for _, p := range ports {
		v := fmt.Sprintf("%s_PORT_%d_%s", prefix, p.num, strings.ToUpper(p.proto))
		env = append(env,
			fmt.Sprintf("%s=%s://%s:%d", v, p.proto, ip, p.num),
			fmt.Sprintf("%s_ADDR=%s", v, ip),
			fmt.Sprintf("%s_PORT=%d", v, p.num),
			fmt.Sprintf("%s_PROTO=%s", v, p.proto))
	}
	env = append(env, prefix+"_NAME="+fullName)
	for _, kv := range childEnv {
		k, v, ok := strings.Cut(kv, "=")
		if !ok || k == "HOME" || k == "PATH" || k == "HOSTNAME" {
			continue
		}
		env = append(env, prefix+"_ENV_"+k+"="+v)
	}
	return env
}

// RemoveLink removes the container's legacy link named alias (docker rm --link
// CONTAINER/ALIAS): its /etc/hosts no longer lists the linked container, and it is no
// longer in the recorded config. The link's variables stay in the environment of the
// running process, as with Docker. netbridge.ErrLinkNotFound if it has no such link.
func (c *Container) RemoveLink(ctx context.Context, alias string) error {
	unlock, err := c.e.lockOp(c.id)
	if err != nil {
		return fmt.Errorf("remove link %s of container %s: %w", alias, shortID(c.id), err)
	}
	defer unlock()
	if err := c.e.net.RemoveLink(ctx, c.id, alias); err != nil {
		return fmt.Errorf("remove link %s of container %s: %w", alias, shortID(c.id), err)
	}
	c.e.refreshHosts(ctx, c.id)
	st, err := c.e.ctrs.update(c.id, func(st *State) error {
		if st.Config != nil {
			st.Config.Links = slices.DeleteFunc(slices.Clone(st.Config.Links), func(l Link) bool { return l.Alias == alias })
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("remove link %s of container %s: %w", alias, shortID(c.id), err)
	}
	c.mu.Lock()
	c.st = st
	c.mu.Unlock()
	return nil
}
