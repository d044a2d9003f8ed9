package netbridge

import (
	"context"
	"fmt"
	"net/netip"
	"slices"
	"strings"
)

// Ruleset is the whole content of Skiff's nftables table, described as a value. It is
// built from the state (Manager.Rules), rendered with String in nft syntax, and applied by
// replacing the table in one netlink transaction. A Ruleset without chains means "no table".
type Ruleset struct {
	// Table is the table name (family ip).
	Table string
	// Chains are the base chains, in rendering order; empty chains are left out.
	Chains []Chain
}

// Chain is one base chain of the table.
type Chain struct {
	// Name is the chain name: prerouting, output, postrouting or forward.
	Name string
	// Type is "nat" or "filter".
	Type string
	// Hook is the netfilter hook: prerouting, output, postrouting or forward.
	Hook string
	// Priority is the hook priority: -100 (dstnat), 100 (srcnat) or 0 (filter).
	Priority int
	// Rules run in order; the policy is accept.
	Rules []Rule
}

// Rule is one nftables rule. Every set match must hold; then Verdict applies. It covers
// exactly the matches Skiff needs, in the order they are rendered.
type Rule struct {
	IIf      string       // iifname "IIf"
	OIf      string       // oifname "OIf"
	NotOIf   string       // oifname != "NotOIf"
	Src      netip.Prefix // ip saddr Src
	Dst      netip.Prefix // ip daddr Dst
	DstLocal bool         // fib daddr type local
	CtDNAT   bool         // ct status dnat
	CtEst    bool         // ct state established,related
	Proto    string       // meta l4proto Proto ("tcp"/"udp"), with DPort
	DPort    uint16       // Proto dport DPort
	// Verdict is "accept", "drop", "masquerade" or "dnat" (to DNAT).
	Verdict string
	DNAT    netip.AddrPort
}

// priorityName is how nft prints a chain priority: by name where nft knows one for the
// hook, as a number otherwise.
func priorityName(c Chain) string {
	switch {
	case c.Type == "nat" && c.Hook == "prerouting" && c.Priority == -100:
		return "dstnat"
	case c.Type == "nat" && c.Hook == "postrouting" && c.Priority == 100:
		return "srcnat"
	case c.Type == "filter" && c.Priority == 0:
		return "filter"
	}
	return fmt.Sprint(c.Priority)
}

// String renders the ruleset as `nft list table ip NAME` would (minus handles), or ""
// when it has no chains.
func (rs Ruleset) String() string {
	if len(rs.Chains) == 0 {
		return ""
	}
	var b strings.Builder
	fmt.Fprintf(&b, "table ip %s {\n", rs.Table)
	for i, c := range rs.Chains {
		if i > 0 {
			b.WriteString("\n")
		}
		prio := priorityName(c)
		fmt.Fprintf(&b, "\tchain %s {\n\t\ttype %s hook %s priority %s; policy accept;\n", c.Name, c.Type, c.Hook, prio)
		for _, r := range c.Rules {
			fmt.Fprintf(&b, "\t\t%s\n", r)
		}
		b.WriteString("\t}\n")
	}
	b.WriteString("}\n")
	return b.String()
}

// String renders one rule in nft syntax.
func (r Rule) String() string {
	var w []string
	add := func(f string, a ...any) { w = append(w, fmt.Sprintf(f, a...)) }
	if r.IIf != "" {
		add("iifname %q", r.IIf)
	}
	if r.OIf != "" {
		add("oifname %q", r.OIf)
	}
	if r.NotOIf != "" {
		add("oifname != %q", r.NotOIf)
	}
	if r.Src.IsValid() {
		add("ip saddr %s", prefixString(r.Src))
	}
	if r.Dst.IsValid() {
		add("ip daddr %s", prefixString(r.Dst))
	}
	if r.DstLocal {
		add("fib daddr type local")
	}
	if r.CtDNAT {
		add("ct status dnat")
	}
	if r.CtEst {
		add("ct state established,related")
	}
	if r.Proto != "" {
		add("%s dport %d", r.Proto, r.DPort)
	}
	if r.Verdict == "dnat" {
		add("dnat to %s", r.DNAT)
	} else {
		add("%s", r.Verdict)
	}
	return strings.Join(w, " ")
}

func prefixString(p netip.Prefix) string {
	if p.IsSingleIP() {
		return p.Addr().String()
	}
	return p.String()
}

var loopbackNet = netip.MustParsePrefix("127.0.0.0/8")

// buildRuleset describes the table for the given networks. Only networks with endpoints
// contribute rules. For each such network N on bridge B with subnet S:
//
//	postrouting  oifname != B ip saddr S masquerade             (outbound NAT)
//	postrouting  oifname B ip saddr 127.0.0.0/8 masquerade      (if ports: 127.0.0.1 → container)
//	postrouting  oifname B ip saddr S ct status dnat masquerade (if ports: hairpin)
//	prerouting   fib daddr type local tcp dport HP dnat to IP:CP (per port; ip daddr H if HostIP)
//	output       the same DNAT rules, for connections made on the host
//	forward      iifname B oifname != B drop                     (internal networks first: no
//	             outbound masquerade, no published ports reach them either)
//	forward      oifname B ct state established,related accept; oifname B ct status dnat accept
//	forward      iifname B oifname B2 drop                       (for every other network B2)
//	forward      iifname B accept; oifname B drop
//
// A published port is open to every network, as it is to any host that reaches the
// host: its DNAT'd connections (and every reply) are accepted before the isolation
// drops, which stop only direct traffic between networks.
func buildRuleset(table string, nets map[string]*netFile) Ruleset {
	var dnat, post, fwdIn, fwdOK, fwdIso, fwd []Rule
	var active []*netFile
	for _, name := range sortedNames(nets) {
		if len(nets[name].Endpoints) > 0 {
			active = append(active, nets[name])
		}
	}
	for _, nf := range active {
		br, sub := nf.Network.Bridge, nf.Network.Subnet
		if nf.Network.Internal {
			fwdIn = append(fwdIn, Rule{IIf: br, NotOIf: br, Verdict: "drop"})
		} else {
			post = append(post, Rule{Src: sub, NotOIf: br, Verdict: "masquerade"})
		}
		hasPorts := false
		for _, ep := range sortedEndpoints(nf) {
			for _, pm := range ep.Ports {
				hasPorts = true
				r := Rule{Proto: pm.proto(), DPort: pm.HostPort, Verdict: "dnat",
					DNAT: netip.AddrPortFrom(ep.IP(), pm.ContainerPort)}
				if pm.HostIP.IsValid() {
					r.Dst = netip.PrefixFrom(pm.HostIP, 32)
				} else {
					r.DstLocal = true
				}
				dnat = append(dnat, r)
			}
		}
		if hasPorts {
			post = append(post,
				Rule{OIf: br, Src: loopbackNet, Verdict: "masquerade"},
				Rule{OIf: br, Src: sub, CtDNAT: true, Verdict: "masquerade"})
		}
		for _, other := range active {
			if other != nf {
				fwdIso = append(fwdIso, Rule{IIf: br, OIf: other.Network.Bridge, Verdict: "drop"})
			}
		}
		fwdOK = append(fwdOK, Rule{OIf: br, CtEst: true, Verdict: "accept"})
		if !nf.Network.Internal {
			fwdOK = append(fwdOK, Rule{OIf: br, CtDNAT: true, Verdict: "accept"})
		}
		fwd = append(fwd,
			Rule{IIf: br, Verdict: "accept"},
			Rule{OIf: br, Verdict: "drop"})
	}
	rs := Ruleset{Table: table}
	addChain := func(name, typ string, prio int, rules []Rule) {
		if len(rules) > 0 {
			rs.Chains = append(rs.Chains, Chain{Name: name, Type: typ, Hook: name, Priority: prio, Rules: rules})
		}
	}
	addChain("prerouting", "nat", -100, dnat)
	addChain("output", "nat", -100, dnat)
	addChain("postrouting", "nat", 100, post)
	addChain("forward", "filter", 0, slices.Concat(fwdIn, fwdOK, fwdIso, fwd))
	return rs
}

// Rules describes Skiff's nftables table as the current state requires it.
func (m *Manager) Rules(ctx context.Context) (Ruleset, error) {
	nets, unlock, err := m.lockAll(ctx)
	if err != nil {
		return Ruleset{}, err
	}
	defer unlock()
	return buildRuleset(m.table, nets), nil
}

// applyRulesLocked rewrites the table from the state. Call with the lock held.
func (m *Manager) applyRulesLocked(ctx context.Context) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	nets, err := m.loadAll()
	if err != nil {
		return err
	}
	return applyRuleset(buildRuleset(m.table, nets))
}
