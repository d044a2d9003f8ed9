package cgroup

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/containerd/cgroups/v3/cgroup2"
	"golang.org/x/sys/unix"
)

// v2 is a cgroup on cgroup v2: one directory under the unified mountpoint.
type v2 struct {
	mount string // e.g. "/sys/fs/cgroup"
	path  string // e.g. "/skiff/abc"
	dir   string // mount + path
	mgr   *cgroup2.Manager
}

func checkCgroup2(mountpoint string) error {
	var st unix.Statfs_t
	if err := unix.Statfs(mountpoint, &st); err != nil {
		return fmt.Errorf("%w: statfs %s: %w", ErrNoCgroupFS, mountpoint, err)
	}
	if st.Type != unix.CGROUP2_SUPER_MAGIC {
		return fmt.Errorf("%w: %s is not a cgroup2 mount", ErrNoCgroupFS, mountpoint)
	}
	return nil
}

func loadV2(mountpoint, path string) (*v2, error) {
	mgr, err := cgroup2.Load(path, cgroup2.WithMountpoint(mountpoint))
	if err != nil {
		return nil, err
	}
	return &v2{mount: mountpoint, path: path, dir: filepath.Join(mountpoint, path), mgr: mgr}, nil
}

// NewV2 creates the cgroup path under the cgroup2 hierarchy mounted at mountpoint
// (/sys/fs/cgroup on a unified host, /sys/fs/cgroup/unified on a hybrid one), enables in
// the parents' cgroup.subtree_control the controllers that r's limits need, and writes r.
// A limit whose controller the hierarchy does not offer fails with ErrNotSupported. An
// existing cgroup is reused; if NewV2 fails it removes the directories it made.
func NewV2(mountpoint, path string, r Resources) (Manager, error) {
	if err := checkPath(path); err != nil {
		return nil, newErr("create", path, "", err)
	}
	settings, err := r.V2Settings()
	if err != nil {
		return nil, newErr("create", path, "", err)
	}
	if err := checkCgroup2(mountpoint); err != nil {
		return nil, newErr("create", path, mountpoint, err)
	}
	m, err := loadV2(mountpoint, path)
	if err != nil {
		return nil, newErr("create", path, "", err)
	}
	made, err := mkdirTracked(mountpoint, m.dir)
	if err != nil {
		return nil, newErr("create", path, m.dir, err)
	}
	if len(made) > 0 { // a fresh cgroup already holds the kernel's defaults
		settings = withoutDefaults(settings)
	}
	if err := m.update("create", settings); err != nil {
		removeDirs(made)
		return nil, err
	}
	return m, nil
}

// LoadV2 returns the Manager of the existing cgroup path under the cgroup2 hierarchy at
// mountpoint, or an error wrapping ErrNotExist.
func LoadV2(mountpoint, path string) (Manager, error) {
	if err := checkPath(path); err != nil {
		return nil, newErr("load", path, "", err)
	}
	if err := checkCgroup2(mountpoint); err != nil {
		return nil, newErr("load", path, mountpoint, err)
	}
	m, err := loadV2(mountpoint, path)
	if err != nil {
		return nil, newErr("load", path, "", err)
	}
	if _, err := os.Stat(filepath.Join(m.dir, "cgroup.procs")); err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			err = ErrNotExist
		}
		return nil, newErr("load", path, m.dir, err)
	}
	return m, nil
}

func (m *v2) Path() string { return m.path }

func (m *v2) resolve(s Setting) (string, error) { return filepath.Join(m.dir, s.File), nil }

// update enables the controllers the non-optional settings need, then writes them.
func (m *v2) update(op string, settings []Setting) error {
	var need []string
	for _, s := range settings {
		if !s.Optional && !slices.Contains(need, s.Controller) {
			need = append(need, s.Controller)
		}
	}
	if len(need) > 0 {
		avail, err := readFile(filepath.Join(m.mount, "cgroup.controllers"))
		if err != nil {
			return newErr(op, m.path, filepath.Join(m.mount, "cgroup.controllers"), err)
		}
		have := strings.Fields(avail)
		for _, c := range need {
			if !slices.Contains(have, c) {
				return newErr(op, m.path, filepath.Join(m.mount, "cgroup.controllers"),
					fmt.Errorf("%w: controller %q not available (have %q)", ErrNotSupported, c, avail))
			}
		}
		if err := m.mgr.ToggleControllers(need, cgroup2.Enable); err != nil {
			return newErr(op, m.path, "cgroup.subtree_control", err)
		}
	}
	return apply(op, m.path, settings, m.resolve)
}

func (m *v2) AddProc(pid int) error {
	f := filepath.Join(m.dir, "cgroup.procs")
	if err := addProc(f, pid); err != nil {
		return newErr("add", m.path, f, fmt.Errorf("pid %d: %w", pid, err))
	}
	return nil
}

func (m *v2) AddThread(tid int) error {
	return newErr("add thread", m.path, "", fmt.Errorf("tid %d: %w: a thread cannot leave its process's cgroup on v2", tid, ErrNotSupported))
}

func (m *v2) Update(r Resources) error {
	settings, err := r.V2Settings()
	if err != nil {
		return newErr("update", m.path, "", err)
	}
	return m.update("update", settings)
}

func (m *v2) Procs() ([]int, error) {
	pids, err := m.mgr.Procs(false)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			err = fmt.Errorf("%w: %w", ErrNotExist, err)
		}
		return nil, newErr("procs", m.path, filepath.Join(m.dir, "cgroup.procs"), err)
	}
	out := make([]int, len(pids))
	for i, p := range pids {
		out[i] = int(p)
	}
	return out, nil
}

func (m *v2) allProcs() ([]int, error) {
	pids, err := readPidsRecursive(m.dir)
	if errors.Is(err, fs.ErrNotExist) {
		err = fmt.Errorf("%w: %w", ErrNotExist, err)
	}
	return pids, err
}

func (m *v2) canFreeze() bool {
	_, err := os.Stat(filepath.Join(m.dir, "cgroup.freeze"))
	return err == nil
}

// setFrozen writes cgroup.freeze and waits for cgroup.events to report the state.
func (m *v2) setFrozen(ctx context.Context, op string, frozen bool) error {
	want := uint64(0)
	if frozen {
		want = 1
	}
	f := filepath.Join(m.dir, "cgroup.freeze")
	if err := writeFile(f, fmt.Sprint(want)); err != nil {
		return newErr(op, m.path, f, notSupported(err))
	}
	ev := filepath.Join(m.dir, "cgroup.events")
	err := poll(ctx, func() (bool, error) {
		v, ok, err := readKV(ev, "frozen")
		if err == nil && !ok {
			err = fmt.Errorf("%w: no frozen line (kernel < 5.2)", ErrNotSupported)
		}
		return v == want, err
	}, nil)
	if err != nil {
		if frozen {
			_ = writeFile(f, "0")
		}
		return newErr(op, m.path, ev, err)
	}
	return nil
}

func (m *v2) Freeze(ctx context.Context) error { return m.setFrozen(ctx, "freeze", true) }
func (m *v2) Thaw(ctx context.Context) error   { return m.setFrozen(ctx, "thaw", false) }

func (m *v2) OOMKilled() (bool, error) {
	f := filepath.Join(m.dir, "memory.events")
	n, _, err := readKV(f, "oom_kill")
	if err != nil {
		return false, newErr("oom", m.path, f, notSupported(err))
	}
	return n > 0, nil
}

func (m *v2) Stats() (*Stats, error) {
	met, err := m.mgr.StatFiltered(cgroup2.StatPids | cgroup2.StatCPU | cgroup2.StatMemory)
	if err != nil {
		return nil, newErr("stats", m.path, m.dir, err)
	}
	st := &Stats{}
	if met.Memory != nil {
		st.MemoryUsage = met.Memory.Usage
		st.MemoryLimit = met.Memory.UsageLimit
		st.MemoryInactiveFile = met.Memory.InactiveFile
	}
	if met.Pids != nil {
		st.PidsCurrent = met.Pids.Current
		if met.Pids.Limit != math.MaxUint64 {
			st.PidsLimit = met.Pids.Limit
		}
	}
	if met.CPU != nil {
		st.CPUUsageNS = met.CPU.UsageUsec * 1000
		st.CPUUserNS, st.CPUSystemNS = met.CPU.UserUsec*1000, met.CPU.SystemUsec*1000
	}
	return st, nil
}

// Kill writes cgroup.kill (kernel >= 5.14: the kernel kills the whole subtree, no race with
// forks) and falls back to freeze/kill/thaw; either way it waits for the cgroup to empty.
func (m *v2) Kill() error {
	f := filepath.Join(m.dir, "cgroup.kill")
	// Without cgroup.kill (or without the cgroup: killLoop sees that) the portable loop
	// does the work; with it, the loop only waits for the cgroup to empty.
	_ = writeFile(f, "1")
	return killLoop(m)
}

func (m *v2) Delete() error {
	if err := rmdirAll(m.dir, time.Now().Add(deleteBusyTimeout)); err != nil {
		return newErr("delete", m.path, m.dir, err)
	}
	return nil
}
