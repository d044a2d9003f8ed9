package netbridge

import (
	"encoding/binary"
	"fmt"
	"slices"

	"github.com/google/nftables"
	"github.com/google/nftables/expr"
	"golang.org/x/sys/unix"
)

// applyRuleset makes the kernel's table equal to rs in one transaction:
//
//	nft -f - <<<'table ip T {}; delete table ip T; table ip T { ...rs... }'
//
// or, when rs has no chains, deletes the table if it exists.
func applyRuleset(rs Ruleset) error {
	c, err := nftables.New()
	if err != nil {
		return fmt.Errorf("nftables: %w", err)
	}
	t := &nftables.Table{Family: nftables.TableFamilyIPv4, Name: rs.Table}
	if len(rs.Chains) == 0 {
		tables, err := c.ListTablesOfFamily(nftables.TableFamilyIPv4)
		if err != nil {
			return fmt.Errorf("nft list tables: %w", err)
		}
		if !slices.ContainsFunc(tables, func(x *nftables.Table) bool { return x.Name == rs.Table }) {
			return nil
		}
		c.DelTable(t)
		if err := c.Flush(); err != nil {
			return fmt.Errorf("nft delete table ip %s: %w", rs.Table, err)
		}
		return nil
	}
	c.AddTable(t)
	c.DelTable(t)
	c.AddTable(t)
	accept := nftables.ChainPolicyAccept
	for _, ch := range rs.Chains {
		hook, err := chainHook(ch.Hook)
		if err != nil {
			return err
		}
		prio := nftables.ChainPriority(ch.Priority)
		chain := c.AddChain(&nftables.Chain{Name: ch.Name, Table: t, Type: nftables.ChainType(ch.Type),
			Hooknum: hook, Priority: &prio, Policy: &accept})
		for _, r := range ch.Rules {
			exprs, err := r.exprs()
			if err != nil {
				return fmt.Errorf("nft table ip %s chain %s: rule %q: %w", rs.Table, ch.Name, r, err)
			}
			c.AddRule(&nftables.Rule{Table: t, Chain: chain, Exprs: exprs})
		}
	}
	if err := c.Flush(); err != nil {
		return fmt.Errorf("nft replace table ip %s: %w", rs.Table, err)
	}
	return nil
}

func chainHook(name string) (*nftables.ChainHook, error) {
	switch name {
	case "prerouting":
		return nftables.ChainHookPrerouting, nil
	case "output":
		return nftables.ChainHookOutput, nil
	case "postrouting":
		return nftables.ChainHookPostrouting, nil
	case "forward":
		return nftables.ChainHookForward, nil
	case "input":
		return nftables.ChainHookInput, nil
	}
	return nil, fmt.Errorf("unknown hook %q", name)
}

func ifname(s string) []byte {
	b := make([]byte, unix.IFNAMSIZ)
	copy(b, s)
	return b
}

func be16(v uint16) []byte { return binary.BigEndian.AppendUint16(nil, v) }

func ne32(v uint32) []byte { return binary.NativeEndian.AppendUint32(nil, v) }

// exprs compiles the rule to nftables expressions (what nft would generate).
func (r Rule) exprs() ([]expr.Any, error) {
	var e []expr.Any
	cmp := func(op expr.CmpOp, data []byte) *expr.Cmp { return &expr.Cmp{Op: op, Register: 1, Data: data} }
	if r.IIf != "" {
		e = append(e, &expr.Meta{Key: expr.MetaKeyIIFNAME, Register: 1}, cmp(expr.CmpOpEq, ifname(r.IIf)))
	}
	if r.OIf != "" {
		e = append(e, &expr.Meta{Key: expr.MetaKeyOIFNAME, Register: 1}, cmp(expr.CmpOpEq, ifname(r.OIf)))
	}
	if r.NotOIf != "" {
		e = append(e, &expr.Meta{Key: expr.MetaKeyOIFNAME, Register: 1}, cmp(expr.CmpOpNeq, ifname(r.NotOIf)))
	}
	addr := func(offset uint32, p interface {
		Bits() int
	}, a [4]byte) {
		e = append(e, &expr.Payload{DestRegister: 1, Base: expr.PayloadBaseNetworkHeader, Offset: offset, Len: 4})
		if bits := p.Bits(); bits < 32 {
			mask := binary.BigEndian.AppendUint32(nil, ^uint32(0)<<(32-bits))
			e = append(e, &expr.Bitwise{SourceRegister: 1, DestRegister: 1, Len: 4, Mask: mask, Xor: make([]byte, 4)})
		}
		e = append(e, cmp(expr.CmpOpEq, a[:]))
	}
	if r.Src.IsValid() {
		addr(12, r.Src, r.Src.Masked().Addr().As4())
	}
	if r.Dst.IsValid() {
		addr(16, r.Dst, r.Dst.Masked().Addr().As4())
	}
	if r.DstLocal {
		e = append(e, &expr.Fib{Register: 1, FlagDADDR: true, ResultADDRTYPE: true}, cmp(expr.CmpOpEq, ne32(unix.RTN_LOCAL)))
	}
	ctBits := func(key expr.CtKey, bits uint32) {
		e = append(e, &expr.Ct{Register: 1, Key: key},
			&expr.Bitwise{SourceRegister: 1, DestRegister: 1, Len: 4, Mask: ne32(bits), Xor: make([]byte, 4)},
			cmp(expr.CmpOpNeq, make([]byte, 4)))
	}
	if r.CtDNAT {
		ctBits(expr.CtKeySTATUS, 1<<5) // IPS_DST_NAT
	}
	if r.CtEst {
		ctBits(expr.CtKeySTATE, expr.CtStateBitESTABLISHED|expr.CtStateBitRELATED)
	}
	if r.Proto != "" {
		var proto byte
		switch r.Proto {
		case "tcp":
			proto = unix.IPPROTO_TCP
		case "udp":
			proto = unix.IPPROTO_UDP
		default:
			return nil, fmt.Errorf("protocol %q", r.Proto)
		}
		e = append(e, &expr.Meta{Key: expr.MetaKeyL4PROTO, Register: 1}, cmp(expr.CmpOpEq, []byte{proto}),
			&expr.Payload{DestRegister: 1, Base: expr.PayloadBaseTransportHeader, Offset: 2, Len: 2},
			cmp(expr.CmpOpEq, be16(r.DPort)))
	}
	switch r.Verdict {
	case "accept":
		e = append(e, &expr.Verdict{Kind: expr.VerdictAccept})
	case "drop":
		e = append(e, &expr.Verdict{Kind: expr.VerdictDrop})
	case "masquerade":
		e = append(e, &expr.Masq{})
	case "dnat":
		a := r.DNAT.Addr().As4()
		e = append(e, &expr.Immediate{Register: 1, Data: a[:]},
			&expr.Immediate{Register: 2, Data: be16(r.DNAT.Port())},
			&expr.NAT{Type: expr.NATTypeDestNAT, Family: unix.NFPROTO_IPV4, RegAddrMin: 1, RegProtoMin: 2})
	default:
		return nil, fmt.Errorf("verdict %q", r.Verdict)
	}
	return e, nil
}
