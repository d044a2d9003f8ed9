package cgroup

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"syscall"
	"time"
)

// Manager is one cgroup, v1 (a directory per controller hierarchy) or v2 (one directory).
// Its methods are safe for concurrent use; the state lives in the kernel, so a Manager
// made by Load in another process controls the same cgroup.
type Manager interface {
	// Path returns the cgroup path, e.g. "/skiff/abc123".
	Path() string
	// AddProc moves the process pid (all its threads) into the cgroup, in every hierarchy
	// on v1. The engine calls it for a child that is blocked before running user code.
	AddProc(pid int) error
	// AddThread moves one thread (task id) into the cgroup, so that the processes it
	// forks are born there (joining a running container). cgroup v1 only: on v2 a
	// thread cannot leave its process's cgroup, and ErrNotSupported is returned (clone
	// into the cgroup with CLONE_INTO_CGROUP instead).
	AddThread(tid int) error
	// Update writes r; a zero field resets that limit to the default.
	Update(r Resources) error
	// Procs returns the pids in the cgroup itself (not in cgroups below it).
	Procs() ([]int, error)
	// Freeze stops every task in the cgroup and returns once the kernel reports the cgroup
	// frozen (v1 freezer.state FROZEN, v2 cgroup.events "frozen 1"). If ctx ends first it
	// thaws again and returns ctx's error.
	Freeze(ctx context.Context) error
	// Thaw resumes the tasks and returns once the kernel reports the cgroup thawed.
	Thaw(ctx context.Context) error
	// OOMKilled reports whether the kernel OOM-killed a task of this cgroup since it was
	// made (v1 memory.oom_control oom_kill, kernel >= 4.13; v2 memory.events oom_kill).
	OOMKilled() (bool, error)
	// Stats returns current usage.
	Stats() (*Stats, error)
	// Kill sends SIGKILL to every process in the cgroup and below it (v1: freeze, kill,
	// thaw, repeated until empty; v2: cgroup.kill when the kernel has it, else the same)
	// and waits up to 5s for the cgroup to empty; then it fails with ErrNotEmpty.
	// Killed children still need to be reaped by their parent, but zombies are no longer
	// members of the cgroup. Kill of a cgroup that does not exist does nothing.
	Kill() error
	// Delete removes the cgroup directory (and cgroups below it) in every hierarchy. It
	// kills nothing: processes still inside make it fail with ErrNotEmpty after a short
	// retry (EBUSY while dying tasks leave). A missing directory is fine, so Delete is
	// idempotent.
	Delete() error
}

// Stats is a snapshot of a cgroup's usage. A value whose controller is absent is 0.
type Stats struct {
	MemoryUsage uint64 // bytes charged now (v1 memory.usage_in_bytes, v2 memory.current)
	MemoryLimit uint64 // bytes (math.MaxUint64 or a huge v1 value when unlimited)
	PidsCurrent uint64 // tasks now (pids.current)
	PidsLimit   uint64 // pids.max (0 when "max")
	CPUUsageNS  uint64 // total CPU time consumed, in nanoseconds
	// CPUUserNS and CPUSystemNS split CPUUsageNS into user and kernel time (v1
	// cpuacct.usage_user/usage_sys, v2 cpu.stat user_usec/system_usec).
	CPUUserNS, CPUSystemNS uint64
	// MemoryInactiveFile is page cache the kernel may reclaim first (v1
	// memory.stat total_inactive_file, v2 inactive_file): `docker stats` shows
	// MemoryUsage minus it.
	MemoryInactiveFile uint64
}

// killTimeout bounds how long Kill waits for the cgroup to empty (5s).
var killTimeout = 5 * time.Second

// deleteBusyTimeout bounds Delete's EBUSY retries (a var for tests).
var deleteBusyTimeout = 2 * time.Second

// freezeInKill bounds the freeze step of the freeze/kill/thaw sequence.
const freezeInKill = time.Second

// New creates the cgroup path with limits r on this host's backend: v2 under
// /sys/fs/cgroup on a unified host, v1 in every mounted hierarchy otherwise (hybrid hosts
// have their controllers on v1). An existing cgroup is reused. If New fails it removes
// the directories it made.
func New(path string, r Resources) (Manager, error) {
	switch mode := DetectMode(); mode {
	case Legacy, Hybrid:
		return NewV1(path, r)
	case Unified:
		return NewV2(UnifiedMountpoint, path, r)
	default:
		return nil, newErr("create", path, "/sys/fs/cgroup", ErrNoCgroupFS)
	}
}

// Load returns the Manager of an existing cgroup on this host's backend (see New). It fails
// with ErrNotExist when the cgroup is in no hierarchy.
func Load(path string) (Manager, error) {
	switch DetectMode() {
	case Legacy, Hybrid:
		return LoadV1(path)
	case Unified:
		return LoadV2(UnifiedMountpoint, path)
	default:
		return nil, newErr("load", path, "/sys/fs/cgroup", ErrNoCgroupFS)
	}
}

// procser is what the freeze/kill/thaw loop needs of a backend.
type procser interface {
	Path() string
	Freeze(ctx context.Context) error
	Thaw(ctx context.Context) error
	allProcs() ([]int, error) // recursive
	canFreeze() bool
}

// killLoop is the portable Kill: freeze (so nothing forks while we look), SIGKILL every
// pid, thaw (a frozen task only dies once thawed on v1), until the cgroup is empty or
// killTimeout passes.
func killLoop(m procser) error {
	ctx, cancel := context.WithTimeout(context.Background(), killTimeout)
	defer cancel()
	var last []int
	for {
		pids, err := m.allProcs()
		if errors.Is(err, ErrNotExist) {
			return nil // nothing left to kill
		}
		if err != nil {
			return newErr("kill", m.Path(), "", err)
		}
		if len(pids) == 0 {
			return nil
		}
		last = pids
		if ctx.Err() != nil {
			return newErr("kill", m.Path(), "", fmt.Errorf("%w after %v: pids %v", ErrNotEmpty, killTimeout, last))
		}
		frozen := false
		if m.canFreeze() {
			fctx, fcancel := context.WithTimeout(ctx, freezeInKill)
			if err := m.Freeze(fctx); err != nil {
				slog.Debug("cgroup kill: freeze failed, killing unfrozen", "path", m.Path(), "err", err)
			} else {
				frozen = true
			}
			fcancel()
			if frozen {
				// Re-read under the freeze: nothing can have forked since.
				if pids, err = m.allProcs(); err != nil {
					_ = m.Thaw(context.Background())
					return newErr("kill", m.Path(), "", err)
				}
			}
		}
		for _, pid := range pids {
			if err := syscall.Kill(pid, syscall.SIGKILL); err != nil && !errors.Is(err, syscall.ESRCH) {
				slog.Debug("cgroup kill: signal failed", "path", m.Path(), "pid", pid, "err", err)
			}
		}
		if m.canFreeze() {
			tctx, tcancel := context.WithTimeout(context.Background(), killTimeout)
			err := m.Thaw(tctx)
			tcancel()
			if err != nil {
				return newErr("kill", m.Path(), "", fmt.Errorf("thaw after SIGKILL: %w", err))
			}
		}
		if err := waitEmpty(ctx, m); err != nil && !errors.Is(err, context.DeadlineExceeded) {
			return newErr("kill", m.Path(), "", err)
		}
	}
}

// waitEmpty polls until the cgroup (recursively) has no process, for at most 200ms or
// until ctx ends.
func waitEmpty(ctx context.Context, m procser) error {
	wctx, cancel := context.WithTimeout(ctx, 200*time.Millisecond)
	defer cancel()
	return poll(wctx, func() (bool, error) {
		pids, err := m.allProcs()
		return len(pids) == 0, err
	}, nil)
}
