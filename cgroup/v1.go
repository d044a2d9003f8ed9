package cgroup

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"time"

	"github.com/containerd/cgroups/v3/cgroup1"
	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// v1 is a cgroup on cgroup v1: one directory per mounted controller hierarchy.
type v1 struct {
	path string
	cg   cgroup1.Cgroup
	// dirs maps a hierarchy name ("memory", "pids", "systemd", ...) to this cgroup's
	// directory in it, e.g. "/sys/fs/cgroup/memory/skiff/abc".
	dirs map[string]string
	// roots maps a hierarchy name to its mount root.
	roots map[string]string
}

type v1Pather interface {
	cgroup1.Subsystem
	Path(path string) string
}

// v1Hierarchies returns the mounted v1 hierarchies (containerd's default list: the named
// systemd hierarchy, freezer, pids, cpuset, cpu, cpuacct, memory, blkio, devices, ...).
func v1Hierarchies() ([]cgroup1.Subsystem, error) {
	subs, err := cgroup1.Default()
	if err != nil {
		if errors.Is(err, cgroup1.ErrMountPointNotExist) {
			return nil, fmt.Errorf("%w: no cgroup v1 hierarchy in /proc/self/mountinfo", ErrNoCgroupFS)
		}
		return nil, fmt.Errorf("list cgroup v1 hierarchies: %w", err)
	}
	var out []cgroup1.Subsystem
	for _, s := range subs {
		if _, ok := s.(v1Pather); ok {
			out = append(out, s)
		}
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("%w: no cgroup v1 hierarchy mounted under /sys/fs/cgroup", ErrNoCgroupFS)
	}
	return out, nil
}

func newV1(path string, subs []cgroup1.Subsystem, cg cgroup1.Cgroup) *v1 {
	m := &v1{path: path, cg: cg, dirs: map[string]string{}, roots: map[string]string{}}
	for _, s := range subs {
		p := s.(v1Pather)
		m.dirs[string(s.Name())] = p.Path(path)
		m.roots[string(s.Name())] = p.Path("/")
	}
	return m
}

func allowAnySubsystem(c *cgroup1.InitConfig) error {
	c.InitCheck = cgroup1.AllowAny
	return nil
}

// NewV1 creates the cgroup path in every mounted cgroup v1 hierarchy (cpuset gets its
// parent's cpus and mems, as containerd does) and writes r. An existing cgroup is reused;
// if NewV1 fails it removes the directories it made.
func NewV1(path string, r Resources) (Manager, error) {
	if err := checkPath(path); err != nil {
		return nil, newErr("create", path, "", err)
	}
	settings, err := r.V1Settings()
	if err != nil {
		return nil, newErr("create", path, "", err)
	}
	subs, err := v1Hierarchies()
	if err != nil {
		return nil, newErr("create", path, "", err)
	}
	var made []string
	for _, s := range subs {
		p := s.(v1Pather)
		made = append(made, missingDirs(p.Path("/"), p.Path(path))...)
	}
	cg, err := cgroup1.New(cgroup1.StaticPath(path), &specs.LinuxResources{},
		cgroup1.WithHierarchy(func() ([]cgroup1.Subsystem, error) { return subs, nil }),
		allowAnySubsystem)
	if err != nil {
		removeDirs(made)
		return nil, newErr("create", path, "", err)
	}
	m := newV1(path, subs, cg)
	if len(made) > 0 { // a fresh cgroup already holds the kernel's defaults
		settings = withoutDefaults(settings)
	}
	if err := apply("create", path, settings, m.resolve); err != nil {
		removeDirs(made)
		return nil, err
	}
	return m, nil
}

// LoadV1 returns the Manager of the existing v1 cgroup path, in the hierarchies where its
// directory exists. It fails with ErrNotExist when it exists in none.
func LoadV1(path string) (Manager, error) {
	if err := checkPath(path); err != nil {
		return nil, newErr("load", path, "", err)
	}
	subs, err := v1Hierarchies()
	if err != nil {
		return nil, newErr("load", path, "", err)
	}
	var present []cgroup1.Subsystem
	for _, s := range subs {
		if _, err := os.Lstat(s.(v1Pather).Path(path)); err == nil {
			present = append(present, s)
		}
	}
	if len(present) == 0 {
		return nil, newErr("load", path, "", ErrNotExist)
	}
	cg, err := cgroup1.Load(cgroup1.StaticPath(path),
		cgroup1.WithHierarchy(func() ([]cgroup1.Subsystem, error) { return present, nil }),
		allowAnySubsystem)
	if err != nil {
		if errors.Is(err, cgroup1.ErrCgroupDeleted) {
			err = ErrNotExist
		}
		return nil, newErr("load", path, "", err)
	}
	return newV1(path, present, cg), nil
}

func (m *v1) Path() string { return m.path }

// resolve maps a setting to its file in the controller's hierarchy.
func (m *v1) resolve(s Setting) (string, error) {
	dir, ok := m.dirs[s.Controller]
	if !ok {
		return "", fmt.Errorf("%w: no %s hierarchy mounted", ErrNotSupported, s.Controller)
	}
	return filepath.Join(dir, s.File), nil
}

// file returns the host path of a control file of one controller, or an error wrapping
// ErrNotSupported.
func (m *v1) file(op, controller, name string) (string, error) {
	dir, ok := m.dirs[controller]
	if !ok {
		return "", newErr(op, m.path, controller+"/"+name, fmt.Errorf("%w: no %s hierarchy mounted", ErrNotSupported, controller))
	}
	return filepath.Join(dir, name), nil
}

func (m *v1) AddProc(pid int) error {
	names := slices.Sorted(maps.Keys(m.dirs))
	for _, n := range names {
		f := filepath.Join(m.dirs[n], "cgroup.procs")
		if err := addProc(f, pid); err != nil {
			return newErr("add", m.path, f, fmt.Errorf("pid %d: %w", pid, err))
		}
	}
	return nil
}

func (m *v1) AddThread(tid int) error {
	for _, n := range slices.Sorted(maps.Keys(m.dirs)) {
		f := filepath.Join(m.dirs[n], "tasks")
		if err := addProc(f, tid); err != nil {
			return newErr("add thread", m.path, f, fmt.Errorf("tid %d: %w", tid, err))
		}
	}
	return nil
}

func (m *v1) Update(r Resources) error {
	settings, err := r.V1Settings()
	if err != nil {
		return newErr("update", m.path, "", err)
	}
	return apply("update", m.path, settings, m.resolve)
}

// procsDir is the hierarchy whose cgroup.procs Procs reads: every hierarchy holds the same
// processes when they were added with AddProc.
func (m *v1) procsDir() (string, error) {
	for _, n := range []string{"freezer", "pids", "memory", "cpu", "systemd"} {
		if d, ok := m.dirs[n]; ok {
			return d, nil
		}
	}
	for _, d := range m.dirs {
		return d, nil
	}
	return "", newErr("procs", m.path, "", ErrNotExist)
}

func (m *v1) Procs() ([]int, error) {
	d, err := m.procsDir()
	if err != nil {
		return nil, err
	}
	f := filepath.Join(d, "cgroup.procs")
	pids, err := readPids(f)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			err = fmt.Errorf("%w: %w", ErrNotExist, err)
		}
		return nil, newErr("procs", m.path, f, err)
	}
	return pids, nil
}

func (m *v1) allProcs() ([]int, error) {
	d, err := m.procsDir()
	if err != nil {
		return nil, err
	}
	pids, err := readPidsRecursive(d)
	if errors.Is(err, fs.ErrNotExist) {
		err = fmt.Errorf("%w: %w", ErrNotExist, err)
	}
	return pids, err
}

func (m *v1) canFreeze() bool { _, ok := m.dirs["freezer"]; return ok }

func (m *v1) Freeze(ctx context.Context) error {
	f, err := m.file("freeze", "freezer", "freezer.state")
	if err != nil {
		return err
	}
	if err := writeFile(f, "FROZEN"); err != nil {
		return newErr("freeze", m.path, f, err)
	}
	err = poll(ctx, func() (bool, error) {
		s, err := readFile(f)
		return s == "FROZEN", err
	}, func() error {
		// Re-writing FROZEN makes the kernel re-check tasks stuck in FREEZING.
		return writeFile(f, "FROZEN")
	})
	if err != nil {
		_ = writeFile(f, "THAWED") // don't leave it half frozen
		state, _ := readFile(f)
		return newErr("freeze", m.path, f, fmt.Errorf("state %s: %w", state, err))
	}
	return nil
}

func (m *v1) Thaw(ctx context.Context) error {
	f, err := m.file("thaw", "freezer", "freezer.state")
	if err != nil {
		return err
	}
	if err := writeFile(f, "THAWED"); err != nil {
		return newErr("thaw", m.path, f, err)
	}
	err = poll(ctx, func() (bool, error) {
		s, err := readFile(f)
		return s == "THAWED", err
	}, func() error { return writeFile(f, "THAWED") })
	if err != nil {
		return newErr("thaw", m.path, f, err)
	}
	return nil
}

func (m *v1) OOMKilled() (bool, error) {
	f, err := m.file("oom", "memory", "memory.oom_control")
	if err != nil {
		return false, err
	}
	n, ok, err := readKV(f, "oom_kill")
	if err != nil {
		return false, newErr("oom", m.path, f, err)
	}
	if !ok {
		return false, newErr("oom", m.path, f, fmt.Errorf("%w: no oom_kill counter (kernel < 4.13)", ErrNotSupported))
	}
	return n > 0, nil
}

func (m *v1) Stats() (*Stats, error) {
	met, err := m.cg.Stat(cgroup1.IgnoreNotExist)
	if err != nil {
		return nil, newErr("stats", m.path, "", err)
	}
	st := &Stats{}
	if met.Memory != nil && met.Memory.Usage != nil {
		st.MemoryUsage = met.Memory.Usage.Usage
		st.MemoryLimit = met.Memory.Usage.Limit
	}
	if met.Memory != nil {
		st.MemoryInactiveFile = met.Memory.TotalInactiveFile
	}
	if met.Pids != nil {
		st.PidsCurrent = met.Pids.Current
		st.PidsLimit = met.Pids.Limit
	}
	if met.CPU != nil && met.CPU.Usage != nil {
		st.CPUUsageNS = met.CPU.Usage.Total
		st.CPUUserNS, st.CPUSystemNS = met.CPU.Usage.User, met.CPU.Usage.Kernel
	}
	return st, nil
}

func (m *v1) Kill() error { return killLoop(m) }

func (m *v1) Delete() error {
	var errs []error
	deadline := time.Now().Add(deleteBusyTimeout) // one budget for all hierarchies
	for _, n := range slices.Sorted(maps.Keys(m.dirs)) {
		d := m.dirs[n]
		if err := rmdirAll(d, deadline); err != nil {
			errs = append(errs, newErr("delete", m.path, d, err))
		}
	}
	return errors.Join(errs...)
}
