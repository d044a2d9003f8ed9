package namespace

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"runtime"
	"strconv"
	"syscall"
	"unsafe"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"
)

// Values of initEnv: the mode of a re-exec'd process.
const (
	modeCreate = "1"    // a container's init (Create)
	modeExec   = "exec" // an exec'd process's helper (Exec)
)

// isInit reports whether this process is a container init re-exec'd by Create or
// an exec helper re-exec'd by Exec.
func isInit() bool {
	if len(os.Args) == 0 || os.Args[0] != initArgv0 {
		return false
	}
	m := os.Getenv(initEnv)
	return m == modeCreate || m == modeExec || m == modeWarm
}

func init() {
	if isInit() {
		// Locking in an init function keeps main (and so Init) on the main thread:
		// the thread that carries Pdeathsig, joins namespaces and finally execve's.
		runtime.LockOSThread()
	}
}

// Init must be called first thing in main (skiff.Init calls it), and in TestMain of
// tests that start containers. In a container init re-exec'd by Create it sets up the
// container and execve's its command, in an exec helper the same for Exec, and in a
// waiter (ExecWaiter) it waits: it never returns. In any other process it returns at
// once.
func Init() {
	if isWaiter() {
		runWaiter() // waiter.go; never returns
	}
	if !isInit() {
		return
	}
	mode := os.Getenv(initEnv)
	_ = os.Unsetenv(initEnv)
	sync := os.NewFile(initSyncFd, "sync")
	run := runInit
	if mode == modeExec {
		run = runExec
	} else if mode == modeWarm {
		run = runWarm // warm.go
	}
	code, err := run(sync)
	if err != nil {
		_ = writeMsg(sync, &syncMsg{Type: msgError, Err: toChildError(err)})
	}
	os.Exit(code)
}

// runInit is the child side of the protocol in doc.go. It returns only on failure,
// with the exit code to use.
func runInit(sync *os.File) (int, error) {
	_ = unix.Close(initExeFd) // the sealed exe; /proc/self/exe still refers to it
	// Set at clone already, but where the creator joined a pid namespace for init
	// (see spawn). Had the creator died before, reading the spec below fails.
	if err := unix.Prctl(unix.PR_SET_PDEATHSIG, uintptr(unix.SIGKILL), 0, 0, 0); err != nil {
		return 1, fmt.Errorf("prctl PR_SET_PDEATHSIG: %w", err)
	}
	m, err := readMsg(json.NewDecoder(sync))
	if err != nil {
		return 1, fmt.Errorf("read spec: %w", err)
	}
	if m.Type != msgGo || m.Spec == nil {
		return 1, fmt.Errorf("unexpected message %q", m.Type)
	}
	if err := checkProto(m); err != nil {
		return 1, err
	}
	s := m.Spec
	// The exec fifo is a host path: open it first, with host root's identity (in a
	// user namespace the mapped root may not reach the state dir).
	fifo, err := unix.Open(m.Fifo, unix.O_PATH|unix.O_CLOEXEC, 0)
	if err != nil {
		return 1, fmt.Errorf("open exec fifo: %w", &os.PathError{Op: "open", Path: m.Fifo, Err: err})
	}
	if err := becomeNamespaceRoot(s); err != nil {
		return 1, err
	}
	if err := unshareCgroupns(s); err != nil {
		return 1, err
	}
	if err := joinNamespaces(s); err != nil {
		return 1, err
	}
	if err := setupRootfs(s, !m.Chroot); err != nil {
		return 1, err
	}
	if s.Process.Terminal {
		if err := setupTerminal(s.Process, !wantsReaper(s)); err != nil {
			return 1, err
		}
	}
	filter, err := m.Filter.filter()
	if err != nil {
		return 1, err
	}
	exe, sec, err := setupProcess(s, filter)
	if err != nil {
		return 1, err
	}
	// Created: from now on init must survive its creator.
	if err := unix.Prctl(unix.PR_SET_PDEATHSIG, 0, 0, 0, 0); err != nil {
		return 1, fmt.Errorf("prctl PR_SET_PDEATHSIG: %w", err)
	}
	if !wantsReaper(s) {
		// A stop signal sent once Start returned but before execve must not reach the
		// Go runtime's handlers (which exit 2): the command gets it, or, as pid 1 of
		// its namespace with the default action, nobody, as it would after execve.
		if err := defaultStopSignals(); err != nil {
			return 1, err
		}
	}
	if err := writeMsg(sync, &syncMsg{Type: msgReady}); err != nil {
		return 1, fmt.Errorf("report ready: %w", err)
	}
	if err := waitStart(fifo); err != nil {
		return 1, err
	}
	if wantsReaper(s) {
		return runReaper(exe, s.Process, sec, sync)
	}
	return execve(exe, s.Process, sec)
}

// execve closes every fd above stdio on exec, loads a late seccomp filter and
// execve's exe. It returns only on failure.
func execve(exe string, p *specs.Process, sec *security) (int, error) {
	// CVE-2024-21626: nothing above stdio may cross execve, the sync socket included.
	if err := cloexecFrom(3); err != nil {
		return 1, err
	}
	if err := sec.beforeExec(); err != nil { // last: the filter also covers init's own calls
		return 1, err
	}
	err := syscall.Exec(exe, p.Args, p.Env)
	kind, code := kindNotExec, 126
	if errors.Is(err, unix.ENOENT) {
		kind, code = kindNotFound, 127
	}
	return code, &fieldError{kind: kind, field: "process.args[0]", err: &os.PathError{Op: "execve", Path: exe, Err: err}}
}

// runExec is the helper of Exec: forked from a thread that joined the container's
// namespaces (and cgroup), it applies the process's security settings, user, rlimits
// and cwd as init does, and execve's the command. It returns only on failure.
func runExec(sync *os.File) (int, error) {
	_ = unix.Close(initExeFd)
	if err := joinMountNamespace(); err != nil {
		return 1, err
	}
	m, err := readMsg(json.NewDecoder(sync))
	if err != nil {
		return 1, fmt.Errorf("read exec spec: %w", err)
	}
	if m.Type != msgExec || m.Spec == nil || m.Spec.Process == nil {
		return 1, fmt.Errorf("unexpected message %q", m.Type)
	}
	if err := checkProto(m); err != nil {
		return 1, err
	}
	if m.Spec.Process.Terminal {
		if err := setupTerminal(m.Spec.Process, true); err != nil {
			return 1, err
		}
	}
	filter, err := m.Filter.filter()
	if err != nil {
		return 1, err
	}
	exe, sec, err := prepareProcess(m.Spec, filter)
	if err != nil {
		return 1, err
	}
	return execve(exe, m.Spec.Process, sec)
}

// initMntFd is, in the exec helper, the container's mount namespace if it differs
// from the caller's, or else the root directory of the container's init (a
// container without a mount namespace of its own is chrooted there).
const initMntFd = 6

// joinMountNamespace moves the exec helper's main thread (the one that execve's) into
// the container's mount namespace: unshare(CLONE_FS) first, as setns(CLONE_NEWNS)
// refuses a thread sharing its fs info with others. Given a directory instead, it
// chroots into it.
func joinMountNamespace() error {
	var st unix.Stat_t
	if err := unix.Fstat(initMntFd, &st); err != nil {
		return nil // no fd 6
	}
	defer unix.Close(initMntFd)
	if st.Mode&unix.S_IFMT == unix.S_IFDIR {
		if err := unix.Fchdir(initMntFd); err != nil {
			return fmt.Errorf("fchdir to the container's root: %w", err)
		}
		if err := unix.Chroot("."); err != nil {
			return fmt.Errorf("chroot to the container's root: %w", err)
		}
		return unix.Chdir("/")
	}
	if err := unix.Unshare(unix.CLONE_FS); err != nil {
		return fmt.Errorf("unshare CLONE_FS: %w", err)
	}
	if err := unix.Setns(initMntFd, unix.CLONE_NEWNS); err != nil {
		return fmt.Errorf("setns mnt: %w", err)
	}
	return unix.Chdir("/")
}

// waitStart blocks until Start opens the exec fifo for reading. fifo is an O_PATH fd
// opened before pivot_root; it is reopened for writing through /proc/self/fd.
func waitStart(fifo int) error {
	path := "/proc/self/fd/" + strconv.Itoa(fifo)
	var fd int
	var err error
	for {
		fd, err = unix.Open(path, unix.O_WRONLY|unix.O_CLOEXEC, 0)
		if err != unix.EINTR {
			break
		}
	}
	if err != nil {
		return fmt.Errorf("open exec fifo %s (needs /proc mounted in the container): %w", path, err)
	}
	_, err = unix.Write(fd, []byte{0})
	unix.Close(fd)
	unix.Close(fifo)
	if err != nil {
		return fmt.Errorf("write exec fifo: %w", err)
	}
	return nil
}

// unshareCgroupns makes a new cgroup namespace if the spec asks for one. It runs after
// BeforeInit placed init in its cgroup, which becomes the namespace's root. The
// namespace belongs to this (locked main) thread, which is the one that execve's.
func unshareCgroupns(s *specs.Spec) error {
	if s.Linux == nil {
		return nil
	}
	for i, ns := range s.Linux.Namespaces {
		if ns.Type == specs.CgroupNamespace && ns.Path == "" {
			if err := unix.Unshare(unix.CLONE_NEWCGROUP); err != nil {
				return inField(fmt.Sprintf("linux.namespaces[%d]", i), fmt.Errorf("unshare CLONE_NEWCGROUP: %w", err))
			}
		}
	}
	return nil
}

// stopSignals are the signals a container is usually stopped with.
var stopSignals = [...]unix.Signal{unix.SIGHUP, unix.SIGINT, unix.SIGQUIT, unix.SIGTERM, unix.SIGUSR1, unix.SIGUSR2}

// defaultStopSignals sets stopSignals to their default action in the kernel (not in
// the Go runtime, whose handlers stay registered; init only execve's from here).
func defaultStopSignals() error {
	var dfl [4]uint64 // struct sigaction with SIG_DFL, no flags, empty mask
	for _, sig := range stopSignals {
		if _, _, e := unix.RawSyscall6(unix.SYS_RT_SIGACTION, uintptr(sig), uintptr(unsafe.Pointer(&dfl)), 0, 8, 0, 0); e != 0 {
			return fmt.Errorf("rt_sigaction %v SIG_DFL: %w", sig, e)
		}
	}
	return nil
}
