package namespace

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"syscall"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"
)

const (
	// initArgv0 and initEnv mark a re-exec'd init (see isInit).
	initArgv0 = "skiff-init"
	initEnv   = "_SKIFF_INIT"
	// Fds of init: 0-2 stdio, then cmd.ExtraFiles.
	initSyncFd = 3 // the sync socket
	initExeFd  = 4 // the sealed exe, executed as /proc/self/fd/4
	// FifoName is the exec fifo's name inside Config.StateDir.
	FifoName = "exec.fifo"
)

// Config says how to start a container's first process.
//
// Spec is an OCI runtime spec: Root.Path is the already-mounted rootfs on the host;
// Process gives Args, Env, Cwd, User, Rlimits, Capabilities, NoNewPrivileges,
// Terminal and ConsoleSize; Hostname; Mounts (applied in order, see DefaultSpec);
// Linux.Namespaces (a Path means join it: all types but user can be joined, see
// nsjoin.go; without a mount entry init stays in its creator's mount namespace and
// chroots; a new user namespace needs Linux.UIDMappings and GIDMappings);
// Linux.MaskedPaths and ReadonlyPaths; Root.Readonly; Linux.Devices; Linux.Seccomp;
// Annotations[AnnotationInit] ("true": the init reaper).
type Config struct {
	Spec *specs.Spec
	// StateDir is a host directory for this container's runtime files (the exec fifo).
	// It must exist.
	StateDir string
	// Stdin, Stdout and Stderr are the container's stdio; nil means /dev/null. An
	// *os.File is passed as is, anything else goes through a pipe (see os/exec.Cmd);
	// Wait does not wait for a Stdin Reader to end.
	//
	// With Process.Terminal the process gets a pty allocated in the container
	// (/dev/pts/N, its controlling terminal, sized Process.ConsoleSize) on fds 0-2,
	// and [Process.Console] is the master: if Stdin or Stdout are set, they are copied
	// to and from the master (Stderr is unused: the terminal merges both); leave them
	// nil to use Console directly. Resize with [Process.Resize].
	Stdin          io.Reader
	Stdout, Stderr io.Writer
	// BeforeInit is called with the child's host pid after clone and before the child
	// runs any code of the container (it is blocked on the sync socket): the engine
	// puts it in its cgroup and sets up its network here. An error kills the child.
	BeforeInit func(pid int) error
}

// Process is a container's init process: created by Create, released by Start,
// reaped by Wait.
type Process struct {
	// Pid is the host pid of the container's first process.
	Pid int
	// RootfsMount is, for a container without a mount namespace of its own, the id
	// of the bind mount of its rootfs that init made in its creator's mount
	// namespace (see UnmountRootfs); 0 otherwise.
	RootfsMount uint64

	stateDir string
	rootfs   string    // the rootfs of RootfsMount
	cmd      *exec.Cmd // nil when loaded by another OS process (Load)
	sync     *os.File  // parent end of the sync socket; nil after Start/Wait or Load
	syncDec  *json.Decoder
	started  bool       // an Exec'd process: running from the start
	console  *console   // Process.Terminal: the pty master
	stdin    *stdinCopy // a non-file Stdin being copied into a pipe
}

// ExitStatus is how a container's process ended.
type ExitStatus struct {
	// Code is the exit code, or 128+signal when the process was killed by a signal.
	Code int
	// Signal is the signal that killed the process, 0 if it exited.
	Signal syscall.Signal
}

// Create clones the init (new namespaces), calls BeforeInit, lets it set up the rootfs
// and pivot_root, resolve Args[0] in the container's PATH, and leaves it blocked just
// before execve, waiting for Start. Errors from the child come back over the sync
// socket, wrapped: ErrNotFound (exit 127), ErrNotExecutable (126) or ErrInit, and name
// the spec field or path involved. If ctx ends before init is ready, init is killed.
//
// While Create runs, init dies with its parent (Pdeathsig); once created, it outlives
// the creator and can be started from another OS process (see Load).
func Create(ctx context.Context, cfg *Config) (*Process, error) {
	filter, err := validate(cfg)
	if err != nil {
		return nil, err
	}
	flags, err := cloneFlags(cfg.Spec)
	if err != nil {
		return nil, err
	}
	exe, err := sealedExe()
	if err != nil {
		return nil, err
	}
	fifo := filepath.Join(cfg.StateDir, FifoName)
	_ = os.Remove(fifo)
	if err := unix.Mkfifo(fifo, 0o622); err != nil {
		return nil, &os.PathError{Op: "mkfifo", Path: fifo, Err: err}
	}
	// mkfifo obeys the umask; the container user must be able to open it for writing.
	if err := os.Chmod(fifo, 0o622); err != nil {
		_ = os.Remove(fifo)
		return nil, err
	}
	p, err := spawn(ctx, cfg, flags, exe, fifo, filter)
	if err != nil {
		_ = os.Remove(fifo)
		return nil, err
	}
	return p, nil
}

func spawn(ctx context.Context, cfg *Config, flags uintptr, exe *os.File, fifo string, filter *seccompFilter) (*Process, error) {
	fds, err := unix.Socketpair(unix.AF_UNIX, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return nil, fmt.Errorf("sync socketpair: %w", err)
	}
	parentSock := os.NewFile(uintptr(fds[0]), "sync-parent")
	childSock := os.NewFile(uintptr(fds[1]), "sync-child")
	cio, err := newChildIO(cfg.Spec.Process.Terminal, cfg.Stdin, cfg.Stdout, cfg.Stderr)
	if err != nil {
		parentSock.Close()
		childSock.Close()
		return nil, err
	}

	cmd := &exec.Cmd{
		Path:       "/proc/self/fd/" + strconv.Itoa(initExeFd),
		Args:       []string{initArgv0},
		Env:        []string{initEnv + "=" + modeCreate},
		Stdin:      cio.stdin,
		Stdout:     cio.stdout,
		Stderr:     cio.stderr,
		ExtraFiles: cio.extraFiles(childSock, exe), // fds 3, 4 (and 5) in the child
		SysProcAttr: &syscall.SysProcAttr{
			Cloneflags: flags,
			// Pdeathsig fires when the forking *thread* exits: keep this goroutine on
			// one thread until init is ready (it clears the signal then).
			Pdeathsig: syscall.SIGKILL,
		},
	}
	if _, path := nsPath(cfg.Spec, specs.PIDNamespace); path != "" {
		// Go's fork kills a child whose getppid() is not its parent's pid, which is
		// always so (0) in a joined pid namespace: init sets the signal itself.
		cmd.SysProcAttr.Pdeathsig = 0
	}
	if userNamespace(cfg.Spec) {
		// Init execs before its ids are mapped, so it is not root of its namespace and
		// the execve would drop the capabilities clone gave it: keep them as ambient.
		cmd.SysProcAttr.AmbientCaps = boundingCaps()
	}
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	shared, err := newSharedRootfs(cfg.Spec)
	var restore func()
	if err == nil {
		restore, err = enterPidns(cfg.Spec)
	}
	if err != nil {
		parentSock.Close()
		childSock.Close()
		cio.afterStart()
		cio.abort()
		return nil, err
	}
	p, err := startChild(cmd, cio, parentSock, "container init")
	restore()
	childSock.Close()
	if err != nil {
		return nil, err
	}
	p.stateDir = cfg.StateDir
	fail := func(err error) (*Process, error) {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
		parentSock.Close()
		cio.abort()
		shared.undo()
		return nil, err
	}
	if userNamespace(cfg.Spec) {
		if err := writeIDMaps(p.Pid, cfg.Spec); err != nil {
			return fail(fmt.Errorf("%w: pid %d: %w", ErrInit, p.Pid, err))
		}
	}
	if cfg.BeforeInit != nil {
		if err := cfg.BeforeInit(p.Pid); err != nil {
			return fail(fmt.Errorf("before init (pid %d): %w", p.Pid, err))
		}
	}
	if err := writeMsg(parentSock, goMessage(cfg.Spec, filter, fifo, flags&unix.CLONE_NEWNS == 0)); err != nil {
		return fail(fmt.Errorf("send spec to init (pid %d): %w", p.Pid, err))
	}
	r, err := p.awaitMsg(ctx)
	if err != nil {
		return fail(fmt.Errorf("create container (pid %d): %w", p.Pid, err))
	}
	switch {
	case r.err == io.EOF:
		return fail(fmt.Errorf("%w: pid %d exited during setup", ErrInit, p.Pid))
	case r.err != nil:
		return fail(r.err)
	case r.m.Type == msgError && r.m.Err != nil:
		return fail(r.m.Err.toError())
	case r.m.Type != msgReady:
		return fail(fmt.Errorf("%w: unexpected message %q from pid %d", ErrInit, r.m.Type, p.Pid))
	}
	if shared != nil {
		if p.RootfsMount, err = shared.mounted(); err != nil {
			return fail(err)
		}
		p.rootfs = shared.path
	}
	if p.console != nil {
		if err := p.console.receive(cfg.Stdin, cfg.Stdout); err != nil {
			return fail(fmt.Errorf("create container (pid %d): %w", p.Pid, err))
		}
	}
	return p, nil
}

// startChild starts cmd (the container init or an exec helper, named by what) with the
// stdio of cio, and returns its Process talking on parentSock, the parent end of the
// sync socket. If the start fails it closes parentSock and releases cio.
func startChild(cmd *exec.Cmd, cio *childIO, parentSock *os.File, what string) (*Process, error) {
	err := cmd.Start()
	cio.afterStart()
	if err != nil {
		parentSock.Close()
		cio.abort()
		return nil, fmt.Errorf("start %s: %w", what, err)
	}
	return &Process{Pid: cmd.Process.Pid, cmd: cmd, sync: parentSock,
		syncDec: json.NewDecoder(parentSock), console: cio.console, stdin: cio.copy}, nil
}

// Load returns a handle on a created or running container init made by another OS
// process (or an earlier run of this one), for Start and Signal. Wait on it returns
// ErrNotChild.
func Load(pid int, stateDir string) *Process {
	return &Process{Pid: pid, stateDir: stateDir}
}

// Start releases a created init to execve the user command by opening the exec fifo in
// StateDir, then removes the fifo (for an Exec'd process it does nothing). It may be called from any OS process (see Load).
// In the creating process it also waits until the execve happened and returns its
// error (ErrNotFound, ErrNotExecutable) if it failed.
func (p *Process) Start() error {
	if p.started {
		return nil
	}
	// The pidfd first: once the fifo is open, init may run its command, exit and be
	// reaped before a later pidfd_open, which would then fail although the start
	// worked.
	pidfd, err := unix.PidfdOpen(p.Pid, 0)
	if err != nil {
		return fmt.Errorf("start container (pid %d): pidfd_open: %w", p.Pid, err)
	}
	defer unix.Close(pidfd)
	fifo := filepath.Join(p.stateDir, FifoName)
	fd, err := unix.Open(fifo, unix.O_RDONLY|unix.O_NONBLOCK|unix.O_CLOEXEC, 0)
	if err != nil {
		return fmt.Errorf("start container (pid %d): %w", p.Pid, &os.PathError{Op: "open", Path: fifo, Err: err})
	}
	defer unix.Close(fd)
	// Init is blocked opening the fifo for writing; our open released it, and it
	// writes one byte. If it died instead, the pidfd becomes readable.
	pfd := []unix.PollFd{{Fd: int32(fd), Events: unix.POLLIN}, {Fd: int32(pidfd), Events: unix.POLLIN}}
	for {
		_, err = unix.Poll(pfd, -1)
		if err != unix.EINTR {
			break
		}
	}
	if err != nil {
		return fmt.Errorf("start container (pid %d): poll exec fifo: %w", p.Pid, err)
	}
	var b [1]byte
	if pfd[0].Revents&unix.POLLIN == 0 {
		return fmt.Errorf("start container (pid %d): %w before start", p.Pid, ErrExited)
	}
	if n, err := unix.Read(fd, b[:]); n != 1 {
		return fmt.Errorf("start container (pid %d): read exec fifo %s: %d bytes, %v", p.Pid, fifo, n, err)
	}
	_ = os.Remove(fifo)
	if p.sync == nil {
		return nil
	}
	// The sync socket is close-on-exec in init: EOF means execve succeeded.
	m, err := readMsg(p.syncDec)
	p.closeSync()
	switch {
	case err == io.EOF:
		return nil
	case err != nil:
		return fmt.Errorf("start container (pid %d): %w", p.Pid, err)
	case m.Type == msgError && m.Err != nil:
		return fmt.Errorf("start container (pid %d): %w", p.Pid, m.Err.toError())
	}
	return fmt.Errorf("%w: unexpected message %q from pid %d", ErrInit, m.Type, p.Pid)
}

func (p *Process) closeSync() {
	if p.sync != nil {
		p.sync.Close()
		p.sync = nil
	}
}

// Wait waits for the container's first process to exit, reaps it and returns how it
// ended. Only the process that created it can wait (ErrNotChild otherwise). When it
// returns, the container's mount namespace is gone with its mounts.
func (p *Process) Wait() (ExitStatus, error) {
	if p.cmd == nil {
		return ExitStatus{}, fmt.Errorf("wait for pid %d: %w", p.Pid, ErrNotChild)
	}
	err := p.cmd.Wait()
	p.closeSync()
	p.stdin.close() // a Reader that never ends must not block anything
	p.console.drain()
	if p.stateDir != "" {
		_ = os.Remove(filepath.Join(p.stateDir, FifoName))
	}
	if err := UnmountRootfs(p.rootfs, p.RootfsMount); err != nil {
		slog.Warn("namespace: unmount the rootfs of a container without a mount namespace", "pid", p.Pid, "err", err)
	}
	var ee *exec.ExitError
	if err != nil && !errors.As(err, &ee) {
		if p.cmd.ProcessState == nil {
			return ExitStatus{}, fmt.Errorf("wait for pid %d: %w", p.Pid, err)
		}
	} else {
		err = nil
	}
	ws, _ := p.cmd.ProcessState.Sys().(syscall.WaitStatus)
	if ws.Signaled() {
		return ExitStatus{Code: 128 + int(ws.Signal()), Signal: ws.Signal()}, err
	}
	return ExitStatus{Code: ws.ExitStatus()}, err
}

// Signal sends sig to the container's first process.
func (p *Process) Signal(sig os.Signal) error {
	s, ok := sig.(syscall.Signal)
	if !ok {
		return fmt.Errorf("signal pid %d: unsupported signal %v", p.Pid, sig)
	}
	if p.cmd != nil {
		if err := p.cmd.Process.Signal(s); err != nil {
			return fmt.Errorf("signal %v to pid %d: %w", s, p.Pid, err)
		}
		return nil
	}
	if err := unix.Kill(p.Pid, s); err != nil {
		return fmt.Errorf("signal %v to pid %d: %w", s, p.Pid, err)
	}
	return nil
}

func validate(cfg *Config) (*seccompFilter, error) {
	switch {
	case cfg == nil || cfg.Spec == nil:
		return nil, fmt.Errorf("%w: no spec", ErrInvalidSpec)
	case cfg.Spec.Root == nil || cfg.Spec.Root.Path == "":
		return nil, fmt.Errorf("%w: root.path is empty", ErrInvalidSpec)
	case !filepath.IsAbs(cfg.Spec.Root.Path):
		return nil, fmt.Errorf("%w: root.path %q is not absolute", ErrInvalidSpec, cfg.Spec.Root.Path)
	case cfg.Spec.Process == nil || len(cfg.Spec.Process.Args) == 0:
		return nil, fmt.Errorf("%w: process.args is empty", ErrInvalidSpec)
	case cfg.StateDir == "":
		return nil, fmt.Errorf("%w: no state dir", ErrInvalidSpec)
	}
	if cwd := cfg.Spec.Process.Cwd; cwd != "" && !filepath.IsAbs(cwd) {
		return nil, fmt.Errorf("%w: process.cwd %q is not absolute", ErrInvalidSpec, cwd)
	}
	sec, err := newSecurity(cfg.Spec.Process, specSeccomp(cfg.Spec))
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrInvalidSpec, err)
	}
	return sec.seccomp, validateIDMaps(cfg.Spec)
}

var nsFlags = map[specs.LinuxNamespaceType]uintptr{
	specs.MountNamespace:   unix.CLONE_NEWNS,
	specs.PIDNamespace:     unix.CLONE_NEWPID,
	specs.UTSNamespace:     unix.CLONE_NEWUTS,
	specs.IPCNamespace:     unix.CLONE_NEWIPC,
	specs.NetworkNamespace: unix.CLONE_NEWNET,
	specs.CgroupNamespace:  unix.CLONE_NEWCGROUP,
	specs.UserNamespace:    unix.CLONE_NEWUSER,
	specs.TimeNamespace:    0, // not supported yet
}

// cloneFlags returns the clone flags for the namespaces of spec without a Path.
// Without Linux.Namespaces it uses mount, pid, uts and ipc. A mount namespace joined
// by path still gets a new one at clone (see nsjoin.go); a list without a mount
// namespace gets none: init chroots in its creator's.
func cloneFlags(s *specs.Spec) (uintptr, error) {
	if s.Linux == nil || s.Linux.Namespaces == nil {
		return unix.CLONE_NEWNS | unix.CLONE_NEWPID | unix.CLONE_NEWUTS | unix.CLONE_NEWIPC, nil
	}
	flags := uintptr(0)
	if hasMountNamespace(s) {
		flags |= unix.CLONE_NEWNS
	}
	joinedUTS := false // sethostname in a joined uts namespace is fine too
	for i, ns := range s.Linux.Namespaces {
		f, ok := nsFlags[ns.Type]
		if !ok {
			return 0, fmt.Errorf("%w: linux.namespaces[%d]: unknown type %q", ErrInvalidSpec, i, ns.Type)
		}
		if ns.Type == specs.TimeNamespace {
			return 0, fmt.Errorf("%w: linux.namespaces[%d]: %s namespaces are not supported yet", ErrInvalidSpec, i, ns.Type)
		}
		if ns.Path != "" {
			joinedUTS = joinedUTS || ns.Type == specs.UTSNamespace
			if _, ok := joinable[ns.Type]; !ok {
				return 0, fmt.Errorf("%w: linux.namespaces[%d]: joining a %s namespace (%s) is not supported", ErrInvalidSpec, i, ns.Type, ns.Path)
			}
			continue
		}
		if ns.Type == specs.CgroupNamespace {
			// Unshared by init after BeforeInit moved it into its cgroup, so that
			// the container's cgroup is the namespace's root.
			continue
		}
		flags |= f
	}
	if s.Hostname != "" && flags&unix.CLONE_NEWUTS == 0 && !joinedUTS {
		return 0, fmt.Errorf("%w: hostname %q needs a new uts namespace in linux.namespaces", ErrInvalidSpec, s.Hostname)
	}
	return flags, nil
}
