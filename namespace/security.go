package namespace

import (
	"fmt"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"
)

// Security settings of a container process: capabilities, no_new_privs and seccomp.
// Init applies them to its locked main thread, the one that execve's (an exec'd
// process does the same in its own re-exec'd helper, see exec mode in doc.go), in
// runc's order:
//
//	rlimits (the memory and thread ones: only their hard limit raised) → umask
//	→ seccomp, if no_new_privs is NOT set (loading a filter without it needs
//	  CAP_SYS_ADMIN, so before the capabilities are dropped)
//	→ drop the bounding set (needs CAP_SETPCAP) → PR_SET_KEEPCAPS 1
//	→ setgroups/setgid/setuid → PR_SET_KEEPCAPS 0
//	→ capset effective/permitted/inheritable → ambient raise
//	→ chdir → no_new_privs → (ready, exec fifo) → close_range CLOEXEC
//	→ memory and thread rlimits lowered → seccomp, if no_new_privs is set (as late
//	  as possible) → execve
//
// Without Process.Capabilities the process keeps root's capabilities (and loses them
// on setuid to a non-root user, as usual).

// security is the parsed security settings of one process.
type security struct {
	caps    *capSets       // nil: leave the capabilities alone
	seccomp *seccompFilter // nil: no filter
	nnp     bool

	lateRlimits []lateRlimit // applied in beforeExec (see setRlimits)
}

// newSecurity validates and compiles the security settings of p with seccomp profile
// sc (may be nil). Errors name the spec field.
func newSecurity(p *specs.Process, sc *specs.LinuxSeccomp) (*security, error) {
	sec := &security{nnp: p.NoNewPrivileges}
	if p.Capabilities != nil {
		cs, err := parseCapabilities(p.Capabilities)
		if err != nil {
			return nil, err
		}
		sec.caps = &cs
	}
	if sc != nil {
		f, err := compileSeccomp(sc)
		if err != nil {
			return nil, err
		}
		sec.seccomp = f
	}
	return sec, nil
}

// specSeccomp returns Linux.Seccomp of s, or nil.
func specSeccomp(s *specs.Spec) *specs.LinuxSeccomp {
	if s.Linux == nil {
		return nil
	}
	return s.Linux.Seccomp
}

// applyWithUser runs the security steps around the user switch (see the order above).
func (sec *security) applyWithUser(u specs.User) error {
	if sec.seccomp != nil && !sec.nnp {
		if err := sec.seccomp.load(); err != nil {
			return inField("linux.seccomp", err)
		}
	}
	if sec.caps == nil {
		return setUser(u)
	}
	if err := dropBoundingSet(*sec.caps); err != nil {
		return err
	}
	if err := unix.Prctl(unix.PR_SET_KEEPCAPS, 1, 0, 0, 0); err != nil {
		return inField("process.capabilities", fmt.Errorf("prctl PR_SET_KEEPCAPS: %w", err))
	}
	if err := setUser(u); err != nil {
		return err
	}
	if err := unix.Prctl(unix.PR_SET_KEEPCAPS, 0, 0, 0, 0); err != nil {
		return inField("process.capabilities", fmt.Errorf("prctl PR_SET_KEEPCAPS: %w", err))
	}
	return setCapabilities(*sec.caps)
}

// setNoNewPrivs sets no_new_privs if asked.
func (sec *security) setNoNewPrivs() error {
	if !sec.nnp {
		return nil
	}
	if err := unix.Prctl(unix.PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0); err != nil {
		return inField("process.noNewPrivileges", fmt.Errorf("prctl PR_SET_NO_NEW_PRIVS: %w", err))
	}
	return nil
}

// beforeExec lowers the rlimits left for last (address space, data, stack, nproc:
// see setRlimits), then loads the seccomp filter if it was left for last
// (no_new_privs set).
func (sec *security) beforeExec() error {
	if err := applyLateRlimits(sec.lateRlimits); err != nil {
		return err
	}
	if sec.seccomp != nil && sec.nnp {
		if err := sec.seccomp.load(); err != nil {
			return inField("linux.seccomp", err)
		}
	}
	return nil
}
