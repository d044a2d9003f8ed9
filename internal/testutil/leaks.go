package testutil

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/moby/sys/mountinfo"
	"golang.org/x/sys/unix"
)

// ErrLeak is matched (errors.Is) by the *LeakError FindLeaks returns.
var ErrLeak = errors.New("leaked kernel objects or files")

// DefaultTempPattern is the glob (on base names) for leftover temp dirs and
// files under the engine root.
const DefaultTempPattern = ".tmp-*"

// leakSettle is how long the check in CheckLeaks retries before it reports,
// so that a process killed a moment ago has time to be reaped.
var leakSettle = 2 * time.Second

// LeakOption configures FindLeaks and CheckLeaks.
type LeakOption func(*leakConfig)

type leakConfig struct {
	cgroupPrefix   string
	linkPrefix     string
	tempPattern    string
	ignoreChildren bool
	ignorePIDs     []int
}

// WithCgroupPrefix also reports every cgroup directory, at any depth under
// any hierarchy /sys/fs/cgroup/*/, whose name starts with prefix. Default: no
// cgroup check. Use a per-test prefix (RandomName) so parallel tests do not
// see each other's cgroups.
func WithCgroupPrefix(prefix string) LeakOption {
	return func(c *leakConfig) { c.cgroupPrefix = prefix }
}

// WithLinkPrefix also reports every network interface in the test's network
// namespace (/sys/class/net) whose name starts with prefix (bridges, veths).
// Default: no link check.
func WithLinkPrefix(prefix string) LeakOption {
	return func(c *leakConfig) { c.linkPrefix = prefix }
}

// WithTempPattern sets the glob matched against base names of files and dirs
// under root that count as leftover temp files. Default DefaultTempPattern.
func WithTempPattern(glob string) LeakOption {
	return func(c *leakConfig) { c.tempPattern = glob }
}

// IgnoreChildren turns the child process check off. Tests that call
// t.Parallel need it: their siblings' processes are children of the same test
// binary.
func IgnoreChildren() LeakOption {
	return func(c *leakConfig) { c.ignoreChildren = true }
}

// IgnorePIDs leaves the given child processes out of the child check.
func IgnorePIDs(pids ...int) LeakOption {
	return func(c *leakConfig) { c.ignorePIDs = append(c.ignorePIDs, pids...) }
}

// LeakError lists what FindLeaks found, one human-readable line per object.
type LeakError struct {
	Root      string
	Mounts    []string // "mountpoint (fstype source)" at or under Root
	Cgroups   []string // cgroup dirs, full paths
	Processes []string // "pid N (comm) state S ppid P: cmdline"
	TempFiles []string // paths under Root matching the temp pattern
	Links     []string // interface names
}

func (e *LeakError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "leaks after test (root %s):", e.Root)
	for _, s := range []struct {
		what  string
		items []string
	}{
		{"mount", e.Mounts}, {"cgroup", e.Cgroups}, {"process", e.Processes},
		{"temp file", e.TempFiles}, {"link", e.Links},
	} {
		for _, it := range s.items {
			fmt.Fprintf(&b, "\n\t%s: %s", s.what, it)
		}
	}
	return b.String()
}

// Is makes errors.Is(err, ErrLeak) true.
func (e *LeakError) Is(target error) bool { return target == ErrLeak }

func (e *LeakError) empty() bool {
	return len(e.Mounts)+len(e.Cgroups)+len(e.Processes)+len(e.TempFiles)+len(e.Links) == 0
}

// CheckLeaks registers a t.Cleanup that fails t (t.Errorf) when, after the
// test, FindLeaks(root, opts...) still reports something, retrying for up to
// 2 s first. Cleanups run last-registered first, so call CheckLeaks BEFORE
// anything whose cleanup must run before the check (engine, registry,
// containers), and AFTER root := t.TempDir() (so root is removed after the
// check):
//
//	root := t.TempDir()
//	testutil.CheckLeaks(t, root, testutil.WithCgroupPrefix(cg))
//	eng := newEngine(t, root) // its Cleanup runs before the check
//
// Child processes that exist when CheckLeaks is called are ignored. After
// reporting, it detaches leaked mounts and SIGKILLs leaked children so that
// one leak does not break t.TempDir's removal or later tests.
func CheckLeaks(t testing.TB, root string, opts ...LeakOption) {
	t.Helper()
	if pids, err := childPIDs(); err == nil {
		opts = append(opts, IgnorePIDs(pids...))
	}
	t.Cleanup(func() {
		var err error
		for deadline := time.Now().Add(leakSettle); ; time.Sleep(50 * time.Millisecond) {
			if err = FindLeaks(root, opts...); err == nil || time.Now().After(deadline) {
				break
			}
		}
		if err == nil {
			return
		}
		t.Errorf("%v", err)
		var le *LeakError
		if errors.As(err, &le) {
			undoLeaks(le)
		}
	})
}

// FindLeaks looks for what an engine test must not leave behind: mounts at or
// under root (/proc/self/mountinfo), files or dirs under root whose name
// matches the temp pattern, child processes of this process (zombies
// included), and, when asked by option, cgroup dirs and network interfaces
// with a prefix. It returns nil, a *LeakError (errors.Is ErrLeak) naming
// every leaked object, or an error from reading the system state.
func FindLeaks(root string, opts ...LeakOption) error {
	c := leakConfig{tempPattern: DefaultTempPattern}
	for _, o := range opts {
		o(&c)
	}
	root, err := filepath.Abs(root)
	if err != nil {
		return fmt.Errorf("leak check: root %q: %w", root, err)
	}
	if r, err := filepath.EvalSymlinks(root); err == nil {
		root = r
	}
	le := &LeakError{Root: root}
	var errs []error

	mounts, err := mountinfo.GetMounts(mountinfo.PrefixFilter(root))
	if err != nil {
		errs = append(errs, fmt.Errorf("leak check: mountinfo: %w", err))
	}
	mountpoints := map[string]bool{}
	for _, m := range mounts {
		mountpoints[m.Mountpoint] = true
		le.Mounts = append(le.Mounts, fmt.Sprintf("%s (%s %s)", m.Mountpoint, m.FSType, m.Source))
	}

	tmp, err := findTemp(root, c.tempPattern, mountpoints)
	if err != nil {
		errs = append(errs, err)
	}
	le.TempFiles = tmp

	if !c.ignoreChildren {
		procs, err := children(c.ignorePIDs)
		if err != nil {
			errs = append(errs, err)
		}
		le.Processes = procs
	}
	if c.cgroupPrefix != "" {
		cgs, err := findCgroups("/sys/fs/cgroup", c.cgroupPrefix)
		if err != nil {
			errs = append(errs, err)
		}
		le.Cgroups = cgs
	}
	if c.linkPrefix != "" {
		links, err := findLinks(c.linkPrefix)
		if err != nil {
			errs = append(errs, err)
		}
		le.Links = links
	}
	if !le.empty() {
		errs = append([]error{le}, errs...)
	}
	return errors.Join(errs...)
}

// findTemp walks root (not descending into mountpoints) for names matching
// pattern. A missing root has no temp files.
func findTemp(root, pattern string, mountpoints map[string]bool) ([]string, error) {
	if _, err := filepath.Match(pattern, ""); err != nil {
		return nil, fmt.Errorf("leak check: temp pattern %q: %w", pattern, err)
	}
	var found []string
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			if p == root && errors.Is(err, fs.ErrNotExist) {
				return fs.SkipAll
			}
			return nil // unreadable or vanished: not ours to judge
		}
		if p != root {
			if ok, _ := filepath.Match(pattern, d.Name()); ok {
				found = append(found, p)
				if d.IsDir() {
					return fs.SkipDir
				}
			}
		}
		if d.IsDir() && p != root && mountpoints[p] {
			return fs.SkipDir
		}
		return nil
	})
	if err != nil {
		return found, fmt.Errorf("leak check: walk %s: %w", root, err)
	}
	return found, nil
}

// procStat is what children needs from /proc/PID/stat.
type procStat struct {
	pid, ppid   int
	comm, state string
}

func readStat(pid int) (procStat, error) {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return procStat{}, err
	}
	// "pid (comm) state ppid ...": comm may hold spaces and parens.
	open, close := bytes.IndexByte(b, '('), bytes.LastIndexByte(b, ')')
	if open < 0 || close < open {
		return procStat{}, fmt.Errorf("/proc/%d/stat: malformed", pid)
	}
	f := strings.Fields(string(b[close+1:]))
	if len(f) < 2 {
		return procStat{}, fmt.Errorf("/proc/%d/stat: malformed", pid)
	}
	ppid, err := strconv.Atoi(f[1])
	if err != nil {
		return procStat{}, fmt.Errorf("/proc/%d/stat: ppid %q: %w", pid, f[1], err)
	}
	return procStat{pid: pid, ppid: ppid, comm: string(b[open+1 : close]), state: f[0]}, nil
}

// childStats lists the processes whose parent is this process.
func childStats() ([]procStat, error) {
	ents, err := os.ReadDir("/proc")
	if err != nil {
		return nil, fmt.Errorf("leak check: %w", err)
	}
	self := os.Getpid()
	var out []procStat
	for _, e := range ents {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		st, err := readStat(pid)
		if err != nil {
			continue // exited meanwhile
		}
		if st.ppid == self {
			out = append(out, st)
		}
	}
	return out, nil
}

func childPIDs() ([]int, error) {
	sts, err := childStats()
	pids := make([]int, 0, len(sts))
	for _, s := range sts {
		pids = append(pids, s.pid)
	}
	return pids, err
}

func children(ignore []int) ([]string, error) {
	sts, err := childStats()
	var out []string
	for _, s := range sts {
		if slices.Contains(ignore, s.pid) {
			continue
		}
		cmd, _ := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", s.pid))
		cmd = bytes.TrimRight(bytes.ReplaceAll(cmd, []byte{0}, []byte{' '}), " ")
		out = append(out, fmt.Sprintf("pid %d (%s) state %s ppid %d: %s", s.pid, s.comm, s.state, s.ppid, cmd))
	}
	return out, err
}

// findCgroups walks every hierarchy dir under base for dirs named prefix*.
func findCgroups(base, prefix string) ([]string, error) {
	ents, err := os.ReadDir(base)
	if err != nil {
		return nil, fmt.Errorf("leak check: cgroups: %w", err)
	}
	var found []string
	for _, e := range ents {
		if !e.IsDir() { // symlinks such as cpu -> cpu,cpuacct are walked via their target
			continue
		}
		_ = filepath.WalkDir(filepath.Join(base, e.Name()), func(p string, d fs.DirEntry, err error) error {
			if err != nil || !d.IsDir() {
				return nil
			}
			if strings.HasPrefix(d.Name(), prefix) {
				found = append(found, p)
				return fs.SkipDir
			}
			return nil
		})
	}
	return found, nil
}

func findLinks(prefix string) ([]string, error) {
	ents, err := os.ReadDir("/sys/class/net")
	if err != nil {
		return nil, fmt.Errorf("leak check: links: %w", err)
	}
	var found []string
	for _, e := range ents {
		if strings.HasPrefix(e.Name(), prefix) {
			found = append(found, e.Name())
		}
	}
	return found, nil
}

// undoLeaks detaches leaked mounts (deepest first) and kills leaked
// children, best effort, after they were reported.
func undoLeaks(le *LeakError) {
	mps := make([]string, 0, len(le.Mounts))
	for _, m := range le.Mounts {
		mp, _, _ := strings.Cut(m, " (")
		mps = append(mps, mp)
	}
	slices.SortFunc(mps, func(a, b string) int { return len(b) - len(a) })
	for _, mp := range mps {
		_ = unix.Unmount(mp, unix.MNT_DETACH)
	}
	for _, p := range le.Processes {
		var pid int
		if _, err := fmt.Sscanf(p, "pid %d", &pid); err == nil && pid > 0 {
			_ = unix.Kill(pid, unix.SIGKILL)
		}
	}
}
