package namespace

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"syscall"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"
)

// ExecConfig says how to run an extra process in a running container (docker exec).
type ExecConfig struct {
	// Process gives Args (Args[0] is resolved in the container's PATH of Env), Env,
	// Cwd (default /, must exist), User, Rlimits, Capabilities, NoNewPrivileges,
	// Terminal and ConsoleSize, applied as for the container's init. To run it as
	// confined as the container, copy the container spec's Process.Capabilities and
	// NoNewPrivileges (a nil Capabilities keeps root's).
	Process *specs.Process
	// Seccomp is the filter to load before execve; the container's Linux.Seccomp to
	// confine the process as the container is. nil means none.
	Seccomp *specs.LinuxSeccomp
	// Stdin, Stdout and Stderr as in Config (with a terminal too).
	Stdin          io.Reader
	Stdout, Stderr io.Writer
	// BeforeFork, if set, runs on the OS thread that will fork the process, after the
	// thread joined the container's namespaces, with the thread's id. The engine puts
	// that thread in the container's cgroup here (cgroup v1: write tid to the "tasks"
	// file of each hierarchy), so the process is born in it. The thread is discarded
	// afterwards.
	BeforeFork func(tid int) error
	// CgroupFD, if > 0, is an open cgroup v2 directory to clone the process into
	// (CLONE_INTO_CGROUP), the race-free alternative to BeforeFork on cgroup v2.
	CgroupFD int
}

// nsOrder is the order Exec joins namespaces in (a user namespace is refused). The
// mount namespace is joined by the helper itself, after its execve: a dynamically
// linked binary (cgo) needs the host's loader to start.
var nsOrder = []string{"user", "cgroup", "ipc", "uts", "net", "pid", "mnt"}

// Exec starts a process in the namespaces of the running container whose init has
// host pid pid: it sees the container's rootfs, PID namespace, hostname and network,
// with the capabilities, seccomp filter, no_new_privs, user, rlimits and cwd of
// cfg. The returned Process is already running; Wait and Signal work as for Create
// (Start is a no-op).
//
// How (exec mode): Go cannot setns(CLONE_NEWNS) in a multi-threaded process, except
// on a thread that unshared its filesystem info. Exec locks a fresh goroutine to its
// OS thread, unshare(CLONE_FS), setns into each of the container's namespaces that
// differs from ours except the mount namespace, and forks from that thread the sealed
// copy of this binary (the one init runs from) in exec mode; the thread then dies
// with the goroutine. The helper starts with the host's filesystem (so a dynamically
// linked binary finds its loader), inside the container's other namespaces (and
// cgroup, see BeforeFork); its main thread unshares CLONE_FS and joins the mount
// namespace (fd 6), reads the process over a sync socket, applies rlimits, seccomp,
// bounding set, user, capabilities, cwd and no_new_privs as init does, resolves the
// command and execve's it; the socket closing on exec tells Exec it ran. Joining a
// user namespace needs a single-threaded process, which neither side is: containers
// with a user namespace cannot be exec'd into yet (ErrInvalidSpec).
func Exec(ctx context.Context, pid int, cfg *ExecConfig) (*Process, error) {
	if cfg == nil || cfg.Process == nil || len(cfg.Process.Args) == 0 {
		return nil, fmt.Errorf("%w: exec: process.args is empty", ErrInvalidSpec)
	}
	if cwd := cfg.Process.Cwd; cwd != "" && !filepath.IsAbs(cwd) {
		return nil, fmt.Errorf("%w: exec: process.cwd %q is not absolute", ErrInvalidSpec, cwd)
	}
	sec, err := newSecurity(cfg.Process, cfg.Seccomp)
	if err != nil {
		return nil, fmt.Errorf("%w: exec: %w", ErrInvalidSpec, err)
	}
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("exec in pid %d: %w", pid, err)
	}
	exe, err := sealedExe()
	if err != nil {
		return nil, err
	}
	type result struct {
		p   *Process
		err error
	}
	ch := make(chan result, 1)
	var join func()
	join = func() {
		// Never unlocked: the thread's namespaces changed, so the runtime must
		// destroy it when this goroutine ends.
		runtime.LockOSThread()
		if unix.Gettid() == unix.Getpid() {
			// The main thread is never destroyed (the runtime wedges it), and the
			// process's /proc/self views follow it: hold it while another goroutine,
			// which cannot get this thread, does the work.
			done := make(chan struct{})
			go func() { join(); close(done) }()
			<-done
			runtime.UnlockOSThread()
			return
		}
		p, err := execLocked(pid, cfg, exe)
		ch <- result{p, err}
	}
	go join()
	r := <-ch
	if r.err != nil {
		return nil, fmt.Errorf("exec in pid %d: %w", pid, r.err)
	}
	p := r.p
	fail := func(err error) (*Process, error) {
		_ = p.cmd.Process.Kill()
		_, _ = p.Wait()
		if p.console != nil && p.console.sock != nil {
			p.console.sock.Close()
		}
		return nil, fmt.Errorf("exec in pid %d: %w", pid, err)
	}
	// The seccomp profile travels compiled, as to an init (see goMessage).
	spec := &specs.Spec{Process: cfg.Process}
	if err := writeMsg(p.sync, &syncMsg{Type: msgExec, Spec: spec, Filter: sec.seccomp.toWire()}); err != nil {
		return fail(fmt.Errorf("send process to exec helper (pid %d): %w", p.Pid, err))
	}
	rep, err := p.awaitMsg(ctx)
	if err != nil {
		return fail(err)
	}
	switch {
	case rep.err == io.EOF:
		p.closeSync() // execve happened
		if p.console != nil {
			if err := p.console.receive(cfg.Stdin, cfg.Stdout); err != nil {
				return fail(err)
			}
		}
		return p, nil
	case rep.err != nil:
		return fail(rep.err)
	case rep.m.Type == msgError && rep.m.Err != nil:
		return fail(rep.m.Err.toError())
	}
	return fail(fmt.Errorf("%w: unexpected message %q from exec helper %d", ErrInit, rep.m.Type, p.Pid))
}

func execLocked(pid int, cfg *ExecConfig, exe *os.File) (*Process, error) {
	var fds []int
	var mnt *os.File // the container's mount namespace, for the helper (fd 6)
	defer func() {
		for _, fd := range fds {
			unix.Close(fd)
		}
		if mnt != nil {
			mnt.Close()
		}
	}()
	for _, ns := range nsOrder {
		path := "/proc/" + strconv.Itoa(pid) + "/ns/" + ns
		var theirs, ours unix.Stat_t
		if err := unix.Stat(path, &theirs); err != nil {
			if errors.Is(err, unix.ENOENT) && ns == "cgroup" {
				continue // kernel without cgroup namespaces
			}
			return nil, &os.PathError{Op: "stat", Path: path, Err: err}
		}
		if err := unix.Stat("/proc/thread-self/ns/"+ns, &ours); err == nil && ours.Ino == theirs.Ino && ours.Dev == theirs.Dev {
			continue
		}
		if ns == "user" {
			return nil, fmt.Errorf("%w: joining the user namespace of pid %d is not supported", ErrInvalidSpec, pid)
		}
		fd, err := unix.Open(path, unix.O_RDONLY|unix.O_CLOEXEC, 0)
		if err != nil {
			return nil, &os.PathError{Op: "open", Path: path, Err: err}
		}
		if ns == "mnt" {
			mnt = os.NewFile(uintptr(fd), path)
			continue
		}
		fds = append(fds, fd)
	}
	if mnt == nil {
		// Our mount namespace: a container without one of its own is chrooted in
		// it, and the helper chroots into the same directory (fd 6).
		root := "/proc/" + strconv.Itoa(pid) + "/root"
		fd, err := unix.Open(root, unix.O_PATH|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
		if err != nil {
			return nil, &os.PathError{Op: "open", Path: root, Err: err}
		}
		mnt = os.NewFile(uintptr(fd), root)
	}
	if err := unix.Unshare(unix.CLONE_FS); err != nil {
		return nil, fmt.Errorf("unshare CLONE_FS: %w", err)
	}
	for _, fd := range fds {
		if err := unix.Setns(fd, 0); err != nil {
			link, _ := os.Readlink("/proc/thread-self/fd/" + strconv.Itoa(fd))
			return nil, fmt.Errorf("setns %s: %w", link, err)
		}
	}
	attr := &syscall.SysProcAttr{}
	if cfg.CgroupFD > 0 {
		attr.UseCgroupFD, attr.CgroupFD = true, cfg.CgroupFD
	}
	if cfg.BeforeFork != nil {
		if err := cfg.BeforeFork(unix.Gettid()); err != nil {
			return nil, fmt.Errorf("before fork: %w", err)
		}
	}
	sv, err := unix.Socketpair(unix.AF_UNIX, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return nil, fmt.Errorf("sync socketpair: %w", err)
	}
	parentSock := os.NewFile(uintptr(sv[0]), "sync-parent")
	childSock := os.NewFile(uintptr(sv[1]), "sync-child")
	defer childSock.Close()
	cio, err := newChildIO(cfg.Process.Terminal, cfg.Stdin, cfg.Stdout, cfg.Stderr)
	if err != nil {
		parentSock.Close()
		return nil, err
	}
	// The path is resolved by the child, in the container's /proc: its own fd 4.
	cmd := &exec.Cmd{
		Path:        "/proc/self/fd/" + strconv.Itoa(initExeFd),
		Args:        []string{initArgv0},
		Env:         []string{initEnv + "=" + modeExec},
		Dir:         "/",
		Stdin:       cio.stdin,
		Stdout:      cio.stdout,
		Stderr:      cio.stderr,
		ExtraFiles:  append(cio.extraFiles(childSock, exe), mnt), // fd 6: mnt ns or root dir
		SysProcAttr: attr,
	}
	p, err := startChild(cmd, cio, parentSock, "exec helper")
	if err != nil {
		return nil, err
	}
	p.started = true
	return p, nil
}
