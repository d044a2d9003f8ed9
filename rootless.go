package skiff

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"os/user"
	"strconv"
	"strings"
	"syscall"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"

	"github.com/skiffrt/skiff/cgroup"
	"github.com/skiffrt/skiff/errdefs"
)

// ErrRootless is wrapped by the errors of what an engine running as an
// unprivileged user cannot do (cgroup limits, bridge networks).
var ErrRootless = errdefs.New(errdefs.ErrPermissionDenied, "rootless")

// rootlessEnv marks the process InitRootless re-executed in its user namespace.
const rootlessEnv = "_SKIFF_ROOTLESS_CHILD"

// InitRootless is Init for programs that also run as an unprivileged user (the
// skiff CLI calls it instead of Init). Run by root, or in a process Skiff started
// itself, it is Init. Run by any other user, it re-executes the program in a new
// user and mount namespace where it is root: uid and gid 0 map to the user's own
// ids and 1..N to the user's ranges in /etc/subuid and /etc/subgid, written with
// newuidmap and newgidmap (apt: uidmap). The calling process only forwards
// signals to that child and exits with its status; it never returns.
//
// The engine in there is rootless (see Rootless): it has no cgroups and only the
// "none" and "host" networks. Every such process gets a namespace of its own, so
// a container's mounts live as long as the process that made them (or its
// monitor, for detached containers).
func InitRootless() {
	Init()
	if os.Geteuid() == 0 || os.Getenv(rootlessEnv) != "" {
		if os.Getenv(rootlessEnv) == "wait" {
			if err := enterRootless(); err != nil {
				fmt.Fprintf(os.Stderr, "skiff: rootless: %v\n", err)
				os.Exit(125)
			}
		}
		return
	}
	os.Exit(reexecRootless())
}

// Rootless reports whether this process runs in a user namespace that does not
// map the whole host uid range (as root of InitRootless's namespace does).
func Rootless() bool {
	b, err := os.ReadFile("/proc/self/uid_map")
	if err != nil {
		return false
	}
	f := strings.Fields(string(b))
	return !(len(f) == 3 && f[0] == "0" && f[1] == "0" && f[2] == "4294967295")
}

// enterRootless runs in the re-executed child: it waits until the parent has
// written the id maps (it closes fd 3), then becomes root of the namespace.
func enterRootless() error {
	os.Setenv(rootlessEnv, "1") // children are Skiff's own: never again
	sync := os.NewFile(3, "rootless-sync")
	var b [1]byte
	n, _ := sync.Read(b[:])
	sync.Close()
	if n != 1 || b[0] != 'y' {
		return errors.New("the parent did not map the user namespace's ids")
	}
	if err := syscall.Setresgid(0, 0, 0); err != nil {
		return fmt.Errorf("setresgid 0: %w", err)
	}
	if err := syscall.Setresuid(0, 0, 0); err != nil {
		return fmt.Errorf("setresuid 0: %w", err)
	}
	_ = syscall.Setgroups(nil)
	// Mounts made here stay here (they cannot reach the host anyway).
	if err := unix.Mount("", "/", "", unix.MS_REC|unix.MS_SLAVE, ""); err != nil {
		return fmt.Errorf("make / rslave: %w", err)
	}
	return nil
}

// idRange is one line of /etc/subuid or /etc/subgid.
type idRange struct{ start, size uint64 }

// subIDs returns the first range of user (by name or id) in file.
func subIDs(file string, u *user.User) (idRange, error) {
	f, err := os.Open(file)
	if err != nil {
		return idRange{}, err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		p := strings.Split(strings.TrimSpace(sc.Text()), ":")
		if len(p) != 3 || (p[0] != u.Username && p[0] != u.Uid) {
			continue
		}
		start, err1 := strconv.ParseUint(p[1], 10, 32)
		size, err2 := strconv.ParseUint(p[2], 10, 32)
		if err1 != nil || err2 != nil || size == 0 {
			return idRange{}, fmt.Errorf("%s: bad line %q", file, sc.Text())
		}
		return idRange{start, size}, nil
	}
	if err := sc.Err(); err != nil {
		return idRange{}, err
	}
	return idRange{}, fmt.Errorf("%s: no range for user %s (add a line %s:START:COUNT)", file, u.Username, u.Username)
}

// reexecRootless starts the program again in a new user and mount namespace,
// maps its ids, forwards signals and returns the exit code for os.Exit.
func reexecRootless() int {
	fail := func(err error) int {
		fmt.Fprintf(os.Stderr, "skiff: rootless: %v\n", err)
		return 125
	}
	u, err := user.LookupId(strconv.Itoa(os.Getuid()))
	if err != nil {
		return fail(err)
	}
	subuid, err := subIDs("/etc/subuid", u)
	if err != nil {
		return fail(err)
	}
	subgid, err := subIDs("/etc/subgid", u)
	if err != nil {
		return fail(err)
	}
	exe, err := os.Executable()
	if err != nil {
		return fail(err)
	}
	r, w, err := os.Pipe()
	if err != nil {
		return fail(err)
	}
	cmd := exec.Command(exe, os.Args[1:]...)
	cmd.Args[0] = os.Args[0]
	cmd.Env = append(os.Environ(), rootlessEnv+"=wait")
	cmd.Stdin, cmd.Stdout, cmd.Stderr = os.Stdin, os.Stdout, os.Stderr
	cmd.ExtraFiles = []*os.File{r}
	cmd.SysProcAttr = &syscall.SysProcAttr{
		Cloneflags: syscall.CLONE_NEWUSER | syscall.CLONE_NEWNS,
		// The child execs before its ids are mapped, so it is not root of its
		// namespace then and execve would drop the capabilities clone gave it.
		AmbientCaps: allCaps(),
		Pdeathsig:   syscall.SIGKILL,
	}
	sigs := make(chan os.Signal, 16)
	signal.Notify(sigs, syscall.SIGINT, syscall.SIGTERM, syscall.SIGHUP, syscall.SIGQUIT,
		syscall.SIGUSR1, syscall.SIGUSR2, syscall.SIGWINCH)
	if err := cmd.Start(); err != nil {
		return fail(err)
	}
	r.Close()
	pid := cmd.Process.Pid
	uidArgs := []string{strconv.Itoa(pid), "0", u.Uid, "1", "1", strconv.FormatUint(subuid.start, 10), strconv.FormatUint(subuid.size, 10)}
	gidArgs := []string{strconv.Itoa(pid), "0", u.Gid, "1", "1", strconv.FormatUint(subgid.start, 10), strconv.FormatUint(subgid.size, 10)}
	for _, m := range []struct {
		helper string
		args   []string
	}{{"newuidmap", uidArgs}, {"newgidmap", gidArgs}} {
		if out, err := exec.Command(m.helper, m.args...).CombinedOutput(); err != nil {
			cmd.Process.Kill()
			cmd.Wait()
			return fail(fmt.Errorf("%s %s: %w: %s (apt: uidmap)", m.helper, strings.Join(m.args, " "), err, strings.TrimSpace(string(out))))
		}
	}
	w.Write([]byte{'y'})
	w.Close()
	go func() {
		for s := range sigs {
			cmd.Process.Signal(s)
		}
	}()
	err = cmd.Wait()
	signal.Stop(sigs)
	if ws, ok := cmd.ProcessState.Sys().(syscall.WaitStatus); ok {
		if ws.Signaled() {
			return 128 + int(ws.Signal())
		}
		return ws.ExitStatus()
	}
	return fail(err)
}

// allCaps lists the capabilities of the bounding set.
func allCaps() []uintptr {
	var caps []uintptr
	for c := 0; c < 64; c++ {
		ok, err := unix.PrctlRetInt(unix.PR_CAPBSET_READ, uintptr(c), 0, 0, 0)
		if err != nil {
			break
		}
		if ok == 1 {
			caps = append(caps, uintptr(c))
		}
	}
	return caps
}

// checkRootless refuses what a rootless engine cannot do, naming the field.
func (e *Engine) checkRootless(cfg ContainerConfig) error {
	if !e.rootless {
		return nil
	}
	r := cfg.Resources
	for _, f := range []struct {
		set  bool
		name string
	}{
		{r.MemoryLimit != 0, "Resources.MemoryLimit"},
		{r.MemorySwap != 0, "Resources.MemorySwap"},
		{r.PidsLimit != 0, "Resources.PidsLimit"},
		{r.CPUQuota != 0, "Resources.CPUQuota"},
		{r.CPUPeriod != 0, "Resources.CPUPeriod"},
		{r.CPUShares != 0, "Resources.CPUShares"},
	} {
		if f.set {
			return fmt.Errorf("%w: %s needs a cgroup, and Skiff uses none when not run as root", ErrRootless, f.name)
		}
	}
	if m := networkMode(cfg.Network); m != NetworkNone && m != NetworkHost {
		return fmt.Errorf("%w: Network %q needs root (bridges and NAT); use NetworkNone or NetworkHost", ErrRootless, m)
	}
	return nil
}

// newCgroup creates the container's cgroup, or, rootless, a stand-in without one.
func (e *Engine) newCgroup(path string, r Resources) (cgroup.Manager, error) {
	if e.rootless {
		return &noCgroup{}, nil
	}
	return cgroup.New(path, r)
}

// noCgroup is the cgroup.Manager of a rootless container: it only remembers the
// container's init and kills it (which ends its whole PID namespace).
type noCgroup struct{ pid int }

func (n *noCgroup) Path() string          { return "" }
func (n *noCgroup) AddProc(pid int) error { n.pid = pid; return nil }
func (n *noCgroup) AddThread(int) error   { return nil }
func (n *noCgroup) Update(r Resources) error {
	if r != (Resources{}) {
		return fmt.Errorf("%w: resource limits need a cgroup", ErrRootless)
	}
	return nil
}
func (n *noCgroup) Procs() ([]int, error) {
	if n.pid == 0 {
		return nil, nil
	}
	return []int{n.pid}, nil
}
func (n *noCgroup) Freeze(context.Context) error {
	return fmt.Errorf("%w: pause needs a cgroup freezer", ErrRootless)
}
func (n *noCgroup) Thaw(context.Context) error {
	return fmt.Errorf("%w: unpause needs a cgroup freezer", ErrRootless)
}
func (n *noCgroup) OOMKilled() (bool, error) { return false, nil }
func (n *noCgroup) Stats() (*cgroup.Stats, error) {
	return nil, fmt.Errorf("%w: stats need a cgroup", ErrRootless)
}
func (n *noCgroup) Kill() error {
	if n.pid > 0 {
		if err := syscall.Kill(n.pid, syscall.SIGKILL); err != nil && !errors.Is(err, syscall.ESRCH) {
			return err
		}
	}
	return nil
}
func (n *noCgroup) Delete() error { return nil }

// rootlessSpec adapts spec for a rootless engine: without a network namespace of
// its own the container may not mount a sysfs (the kernel wants the mounter to
// own the network namespace), so it gets the host's /sys bound read-only instead.
func (e *Engine) rootlessSpec(spec *specs.Spec) {
	if !e.rootless || spec.Linux == nil {
		return
	}
	for _, ns := range spec.Linux.Namespaces {
		if ns.Type == specs.NetworkNamespace && ns.Path == "" {
			return
		}
	}
	for i, m := range spec.Mounts {
		if m.Type == "sysfs" {
			spec.Mounts[i] = specs.Mount{Destination: m.Destination, Type: "bind", Source: "/sys",
				Options: []string{"rbind", "nosuid", "noexec", "nodev", "ro"}}
		}
	}
}
