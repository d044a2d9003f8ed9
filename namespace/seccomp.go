package namespace

import (
	"fmt"
	"runtime"
	"unsafe"

	mobyseccomp "github.com/moby/profiles/seccomp"
	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"
)

// Seccomp: Linux.Seccomp (the OCI form) is compiled here, in pure Go, into a classic
// BPF program and loaded with seccomp(SECCOMP_SET_MODE_FILTER).
//
// Semantics follow runc + libseccomp:
//   - the program first checks the architecture: only x86_64 syscalls are compiled;
//     any other ABI (i386, x32) is killed (SECCOMP_RET_KILL_PROCESS), which is
//     libseccomp's "bad arch" action. Linux.Seccomp.Architectures only matters for
//     validation.
//   - syscall names unknown on x86_64 are skipped (Docker's profile names syscalls of
//     every architecture).
//   - the conditions (args) of one entry are ANDed; when an entry compares one
//     argument several times, every condition becomes its own rule (ORed), as runc
//     does (runc#2735). 64-bit comparisons are exact (both halves).
//   - several rules for one syscall are tried in spec order, conditional ones first;
//     the first that matches gives the action; an unconditional rule is the fallback;
//     otherwise the default action applies.
//   - SCMP_ACT_ERRNO and SCMP_ACT_TRACE return ErrnoRet (EPERM when unset);
//     SCMP_ACT_NOTIFY is not supported.

// seccomp_data offsets.
const (
	sdNr   = 0
	sdArch = 4
	sdArgs = 16
)

// x32SyscallBit marks x32 ABI syscall numbers on x86_64.
const x32SyscallBit = 0x40000000

// DefaultSeccomp returns Docker's default seccomp profile (moby/profiles/seccomp) for a
// process with capabilities caps (its bounding set: some syscalls are allowed only
// with CAP_SYS_ADMIN, CAP_SYS_PTRACE, ...), in the OCI form for Linux.Seccomp.
func DefaultSeccomp(caps *specs.LinuxCapabilities) (*specs.LinuxSeccomp, error) {
	if caps == nil {
		caps = &specs.LinuxCapabilities{}
	}
	s, err := mobyseccomp.GetDefaultProfile(&specs.Spec{Process: &specs.Process{Capabilities: caps}})
	if err != nil {
		return nil, fmt.Errorf("docker default seccomp profile: %w", err)
	}
	return s, nil
}

var seccompArches = map[specs.Arch]bool{
	specs.ArchX86: true, specs.ArchX86_64: true, specs.ArchX32: true, specs.ArchARM: true,
	specs.ArchAARCH64: true, specs.ArchMIPS: true, specs.ArchMIPS64: true,
	specs.ArchMIPS64N32: true, specs.ArchMIPSEL: true, specs.ArchMIPSEL64: true,
	specs.ArchMIPSEL64N32: true, specs.ArchPPC: true, specs.ArchPPC64: true,
	specs.ArchPPC64LE: true, specs.ArchS390: true, specs.ArchS390X: true,
	specs.ArchPARISC: true, specs.ArchPARISC64: true, specs.ArchRISCV64: true,
	specs.ArchLOONGARCH64: true, specs.ArchM68K: true, specs.ArchSH: true,
	specs.ArchSHEB: true,
}

var seccompFlags = map[specs.LinuxSeccompFlag]uintptr{
	specs.LinuxSeccompFlagLog:       unix.SECCOMP_FILTER_FLAG_LOG,
	specs.LinuxSeccompFlagSpecAllow: unix.SECCOMP_FILTER_FLAG_SPEC_ALLOW,
	"SECCOMP_FILTER_FLAG_TSYNC":     unix.SECCOMP_FILTER_FLAG_TSYNC,
}

// seccompFilter is a compiled Linux.Seccomp.
type seccompFilter struct {
	prog  []unix.SockFilter
	flags uintptr
}

// actionValue returns the SECCOMP_RET_* value of an OCI action.
func actionValue(act specs.LinuxSeccompAction, errno *uint) (uint32, error) {
	ret := uint32(unix.EPERM)
	if errno != nil {
		if *errno > unix.SECCOMP_RET_DATA {
			return 0, fmt.Errorf("errnoRet %d out of range", *errno)
		}
		ret = uint32(*errno)
	}
	switch act {
	case specs.ActKill, specs.ActKillThread:
		return unix.SECCOMP_RET_KILL_THREAD, nil
	case specs.ActKillProcess:
		return unix.SECCOMP_RET_KILL_PROCESS, nil
	case specs.ActTrap:
		return unix.SECCOMP_RET_TRAP, nil
	case specs.ActErrno:
		return unix.SECCOMP_RET_ERRNO | ret, nil
	case specs.ActTrace:
		return unix.SECCOMP_RET_TRACE | ret, nil
	case specs.ActAllow:
		return unix.SECCOMP_RET_ALLOW, nil
	case specs.ActLog:
		return unix.SECCOMP_RET_LOG, nil
	case specs.ActNotify:
		return 0, fmt.Errorf("action %s is not supported", act)
	}
	return 0, fmt.Errorf("unknown action %q", act)
}

// seccompRule is one compiled rule of a syscall: conditions ANDed, then action.
type seccompRule struct {
	conds  []specs.LinuxSeccompArg
	action uint32
}

// compileSeccomp validates s and compiles it for x86_64. Errors name the field, e.g.
// "linux.seccomp.syscalls[2].args[0]: unknown operator".
func compileSeccomp(s *specs.LinuxSeccomp) (*seccompFilter, error) {
	if runtime.GOARCH != "amd64" {
		return nil, fmt.Errorf("linux.seccomp: only supported on amd64, not %s", runtime.GOARCH)
	}
	def, err := actionValue(s.DefaultAction, s.DefaultErrnoRet)
	if err != nil {
		return nil, fmt.Errorf("linux.seccomp.defaultAction: %w", err)
	}
	for i, a := range s.Architectures {
		if !seccompArches[a] {
			return nil, fmt.Errorf("linux.seccomp.architectures[%d]: unknown architecture %q", i, a)
		}
	}
	var flags uintptr
	for i, f := range s.Flags {
		v, ok := seccompFlags[f]
		if !ok {
			return nil, fmt.Errorf("linux.seccomp.flags[%d]: unsupported flag %q", i, f)
		}
		flags |= v
	}
	if s.ListenerPath != "" {
		return nil, fmt.Errorf("linux.seccomp.listenerPath: seccomp notify is not supported")
	}
	rules := map[uint32][]seccompRule{}
	var order []uint32
	for i, sc := range s.Syscalls {
		field := fmt.Sprintf("linux.seccomp.syscalls[%d]", i)
		act, err := actionValue(sc.Action, sc.ErrnoRet)
		if err != nil {
			return nil, fmt.Errorf("%s.action: %w", field, err)
		}
		perIndex := map[uint]int{}
		for j, a := range sc.Args {
			if a.Index > 5 {
				return nil, fmt.Errorf("%s.args[%d]: index %d out of range 0-5", field, j, a.Index)
			}
			switch a.Op {
			case specs.OpEqualTo, specs.OpNotEqual, specs.OpGreaterThan, specs.OpGreaterEqual,
				specs.OpLessThan, specs.OpLessEqual, specs.OpMaskedEqual:
			default:
				return nil, fmt.Errorf("%s.args[%d]: unknown operator %q", field, j, a.Op)
			}
			perIndex[a.Index]++
		}
		var rs []seccompRule
		split := false
		for _, n := range perIndex {
			split = split || n > 1
		}
		if split {
			for _, a := range sc.Args {
				rs = append(rs, seccompRule{conds: []specs.LinuxSeccompArg{a}, action: act})
			}
		} else {
			rs = []seccompRule{{conds: sc.Args, action: act}}
		}
		if len(sc.Names) == 0 {
			return nil, fmt.Errorf("%s.names: empty", field)
		}
		for j, name := range sc.Names {
			if name == "" {
				return nil, fmt.Errorf("%s.names[%d]: empty syscall name", field, j)
			}
			nr, ok := syscallNumber(name)
			if !ok {
				continue // not an x86_64 syscall (libseccomp and runc skip these too)
			}
			if _, seen := rules[nr]; !seen {
				order = append(order, nr)
			}
			rules[nr] = append(rules[nr], rs...)
		}
	}

	a := newAsm()
	// Architecture check: only x86_64 (and not its x32 numbers) is compiled.
	okArch, badArch := a.newLabel(), a.newLabel()
	a.ldAbs(sdArch)
	a.jmp(unix.BPF_JEQ, unix.AUDIT_ARCH_X86_64, okArch, badArch)
	a.bind(badArch)
	a.ret(unix.SECCOMP_RET_KILL_PROCESS)
	a.bind(okArch)
	a.ldAbs(sdNr)
	x32, native := a.newLabel(), a.newLabel()
	a.jmp(unix.BPF_JGE, x32SyscallBit, x32, native)
	a.bind(x32)
	a.ret(unix.SECCOMP_RET_KILL_PROCESS)
	a.bind(native)

	bodies := map[uint32]label{}
	for _, nr := range order {
		rs := rules[nr]
		skip := a.newLabel()
		a.jmp(unix.BPF_JEQ, nr, 0, skip)
		if len(rs) == 1 && len(rs[0].conds) == 0 {
			a.ret(rs[0].action)
		} else {
			bodies[nr] = a.newLabel()
			a.ja(bodies[nr])
		}
		a.bind(skip)
	}
	a.ret(def)
	for _, nr := range order {
		body, ok := bodies[nr]
		if !ok {
			continue
		}
		a.bind(body)
		fallback := def
		haveFallback := false
		for _, r := range rules[nr] {
			if len(r.conds) == 0 {
				if !haveFallback {
					fallback, haveFallback = r.action, true
				}
				continue
			}
			next := a.newLabel()
			for _, c := range r.conds {
				emitCond(a, c, next)
			}
			a.ret(r.action)
			a.bind(next)
		}
		a.ret(fallback)
	}
	prog, err := a.assemble()
	if err != nil {
		return nil, fmt.Errorf("linux.seccomp: %w", err)
	}
	return &seccompFilter{prog: prog, flags: flags}, nil
}

// emitCond emits a 64-bit comparison of one syscall argument; it falls through when
// the condition holds and jumps to fail otherwise.
func emitCond(a *asm, c specs.LinuxSeccompArg, fail label) {
	lo := sdArgs + 8*uint32(c.Index)
	hi := lo + 4
	vhi, vlo := uint32(c.Value>>32), uint32(c.Value)
	pass := a.newLabel()
	switch c.Op {
	case specs.OpEqualTo:
		a.ldAbs(hi)
		a.jmp(unix.BPF_JEQ, vhi, 0, fail)
		a.ldAbs(lo)
		a.jmp(unix.BPF_JEQ, vlo, pass, fail)
	case specs.OpNotEqual:
		a.ldAbs(hi)
		a.jmp(unix.BPF_JEQ, vhi, 0, pass)
		a.ldAbs(lo)
		a.jmp(unix.BPF_JEQ, vlo, fail, pass)
	case specs.OpGreaterThan, specs.OpGreaterEqual:
		a.ldAbs(hi)
		a.jmp(unix.BPF_JGT, vhi, pass, 0)
		a.jmp(unix.BPF_JEQ, vhi, 0, fail)
		a.ldAbs(lo)
		op := uint16(unix.BPF_JGT)
		if c.Op == specs.OpGreaterEqual {
			op = unix.BPF_JGE
		}
		a.jmp(op, vlo, pass, fail)
	case specs.OpLessThan, specs.OpLessEqual:
		a.ldAbs(hi)
		a.jmp(unix.BPF_JGT, vhi, fail, 0)
		a.jmp(unix.BPF_JEQ, vhi, 0, pass)
		a.ldAbs(lo)
		if c.Op == specs.OpLessThan { // lo < v  ⇔  !(lo >= v)
			a.jmp(unix.BPF_JGE, vlo, fail, pass)
		} else { // lo <= v  ⇔  !(lo > v)
			a.jmp(unix.BPF_JGT, vlo, fail, pass)
		}
	case specs.OpMaskedEqual:
		mhi, mlo := vhi, vlo
		whi, wlo := uint32(c.ValueTwo>>32), uint32(c.ValueTwo)
		a.ldAbs(hi)
		a.and(mhi)
		a.jmp(unix.BPF_JEQ, whi, 0, fail)
		a.ldAbs(lo)
		a.and(mlo)
		a.jmp(unix.BPF_JEQ, wlo, pass, fail)
	}
	a.bind(pass)
}

// load installs the filter on the calling thread (plus flags, e.g. TSYNC). The caller
// has no_new_privs set or CAP_SYS_ADMIN.
func (f *seccompFilter) load() error {
	prog := unix.SockFprog{Len: uint16(len(f.prog)), Filter: &f.prog[0]}
	_, _, errno := unix.RawSyscall(unix.SYS_SECCOMP, unix.SECCOMP_SET_MODE_FILTER, f.flags, uintptr(unsafe.Pointer(&prog)))
	runtime.KeepAlive(f)
	if errno != 0 {
		return fmt.Errorf("seccomp(SECCOMP_SET_MODE_FILTER) of %d instructions: %w", len(f.prog), errno)
	}
	return nil
}
