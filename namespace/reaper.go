package namespace

import (
	"errors"
	"os"
	"os/signal"
	"syscall"
	"unsafe"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"
)

// AnnotationInit, set to "true" in Spec.Annotations, makes init stay as the
// container's PID 1 (docker run --init): instead of execve'ing the command it forks
// it as PID 2, forwards every signal it can catch to it, reaps every zombie
// (orphans are re-parented to PID 1) and exits with the command's exit code (128+n
// when a signal n killed it) once the command exits. The command gets the same
// capabilities, seccomp filter, user and no_new_privs it would have had; init keeps
// no fd but stdio (which it points at /dev/null once the command runs).
const AnnotationInit = "skiff.init"

// wantsReaper reports whether s asks for the init reaper.
func wantsReaper(s *specs.Spec) bool {
	return s.Annotations[AnnotationInit] == "true"
}

// runReaper is init in --init mode, from the point where it would execve. It
// returns only if the command could not be started.
func runReaper(exe string, p *specs.Process, sec *security, sync *os.File) (int, error) {
	if err := cloexecFrom(3); err != nil {
		return 1, err
	}
	// The filter is loaded on this (locked main) thread, the one that forks: the
	// command inherits it.
	if err := sec.beforeExec(); err != nil {
		return 1, err
	}
	if name, err := unix.BytePtrFromString("skiff-init"); err == nil {
		_ = unix.Prctl(unix.PR_SET_NAME, uintptr(unsafe.Pointer(name)), 0, 0, 0)
	}
	// Outside a PID namespace init is not PID 1: still adopt the orphans.
	_ = unix.Prctl(unix.PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0)
	sigs := make(chan os.Signal, 128)
	signal.Notify(sigs)
	attr := &syscall.ProcAttr{Env: p.Env, Files: []uintptr{0, 1, 2}, Sys: &syscall.SysProcAttr{}}
	if p.Terminal {
		// The command, not init, owns the terminal (fd 0) as its controlling tty.
		attr.Sys.Setsid, attr.Sys.Setctty, attr.Sys.Ctty = true, true, 0
	}
	pid, err := syscall.ForkExec(exe, p.Args, attr)
	if err != nil {
		signal.Reset()
		kind, code := kindNotExec, 126
		if errors.Is(err, unix.ENOENT) {
			kind, code = kindNotFound, 127
		}
		return code, &fieldError{kind: kind, field: "process.args[0]", err: &os.PathError{Op: "execve", Path: exe, Err: err}}
	}
	// The command runs: EOF on the sync socket tells Start so.
	sync.Close()
	if null, err := unix.Open("/dev/null", unix.O_RDWR|unix.O_CLOEXEC, 0); err == nil {
		for fd := 0; fd <= 2; fd++ {
			_ = unix.Dup3(null, fd, 0)
		}
		unix.Close(null)
	}
	os.Exit(reap(pid, sigs))
	return 0, nil
}

// reap forwards signals to pid and reaps children until pid exits; it returns pid's
// exit code.
func reap(pid int, sigs chan os.Signal) int {
	for sig := range sigs {
		s := sig.(syscall.Signal)
		switch s {
		case unix.SIGCHLD:
			for {
				var ws unix.WaitStatus
				wpid, err := unix.Wait4(-1, &ws, unix.WNOHANG, nil)
				if err == unix.EINTR {
					continue
				}
				if wpid <= 0 {
					break
				}
				if wpid == pid {
					if ws.Signaled() {
						return 128 + int(ws.Signal())
					}
					return ws.ExitStatus()
				}
			}
		case unix.SIGURG:
			// The Go runtime's own preemption signal: not for the command.
		default:
			_ = unix.Kill(pid, s)
		}
	}
	return 1
}
