package namespace

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"runtime"
	"strconv"
	"syscall"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"
)

// ExecConfig says how to run an extra process in a running container (docker exec).
type ExecConfig struct {
	// Process gives Args (Args[0] is resolved in the container's PATH of Env), Env,
	// Cwd (default /) and User. Terminal must be false for now.
	Process *specs.Process
	// Stdin, Stdout and Stderr as in Config.
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

// nsOrder is the order Exec joins namespaces in: mnt last, since joining it changes
// the thread's root (and so what /proc is).
var nsOrder = []string{"cgroup", "ipc", "uts", "net", "pid", "mnt"}

// Exec starts a process in the namespaces of the running container whose init has
// host pid pid: it sees the container's rootfs, PID namespace, hostname and network.
// The returned Process is already running; Wait and Signal work as for Create (Start
// is a no-op).
//
// How: Go cannot setns(CLONE_NEWNS) in a multi-threaded process, except on a thread
// that unshared its filesystem info. Exec locks a fresh goroutine to its OS thread,
// unshare(CLONE_FS), setns into each of the container's namespaces that differs from
// ours, forks the process from that thread (os/exec), and lets the thread die with the
// goroutine. Joining a user namespace needs a single-threaded process, so containers
// with a user namespace will need the re-exec'd init to join instead (issue 5), as will
// capabilities and seccomp for exec'd processes.
func Exec(ctx context.Context, pid int, cfg *ExecConfig) (*Process, error) {
	if cfg == nil || cfg.Process == nil || len(cfg.Process.Args) == 0 {
		return nil, fmt.Errorf("%w: exec: process.args is empty", ErrInvalidSpec)
	}
	if cfg.Process.Terminal {
		return nil, fmt.Errorf("%w: exec: process.terminal is not supported yet", ErrInvalidSpec)
	}
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("exec in pid %d: %w", pid, err)
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
		p, err := execLocked(pid, cfg)
		ch <- result{p, err}
	}
	go join()
	r := <-ch
	if r.err != nil {
		return nil, fmt.Errorf("exec in pid %d: %w", pid, r.err)
	}
	return r.p, nil
}

func execLocked(pid int, cfg *ExecConfig) (*Process, error) {
	var fds []int
	defer func() {
		for _, fd := range fds {
			unix.Close(fd)
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
		fd, err := unix.Open(path, unix.O_RDONLY|unix.O_CLOEXEC, 0)
		if err != nil {
			return nil, &os.PathError{Op: "open", Path: path, Err: err}
		}
		fds = append(fds, fd)
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
	p := cfg.Process
	// On this thread "/" is now the container's root: resolve as init would.
	exe, err := lookPath(p.Args[0], p.Env)
	if err != nil {
		return nil, toChildError(err).toError()
	}
	cwd := p.Cwd
	if cwd == "" {
		cwd = "/"
	}
	groups := make([]uint32, len(p.User.AdditionalGids))
	copy(groups, p.User.AdditionalGids)
	attr := &syscall.SysProcAttr{
		Credential: &syscall.Credential{Uid: p.User.UID, Gid: p.User.GID, Groups: groups},
	}
	if cfg.CgroupFD > 0 {
		attr.UseCgroupFD, attr.CgroupFD = true, cfg.CgroupFD
	}
	if cfg.BeforeFork != nil {
		if err := cfg.BeforeFork(unix.Gettid()); err != nil {
			return nil, fmt.Errorf("before fork: %w", err)
		}
	}
	cmd := &exec.Cmd{Path: exe, Args: p.Args, Env: p.Env, Dir: cwd,
		Stdin: cfg.Stdin, Stdout: cfg.Stdout, Stderr: cfg.Stderr, SysProcAttr: attr}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start %s: %w", exe, err)
	}
	return &Process{Pid: cmd.Process.Pid, cmd: cmd, started: true}, nil
}
