package namespace

import (
	"encoding/json"
	"fmt"
	"os"
	"os/signal"
	"runtime"
	"runtime/debug"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"golang.org/x/sys/unix"

	"github.com/skiffrt/skiff/internal/jsonlog"
)

// A waiter is the process that stays with a detached container for its whole life:
// the parent of its init, which copies the container's output into its log and waits
// for it to exit. Whatever else an engine does around that (recording the exit,
// removing the container, restarting it) happens once, at the end. So the engine's
// monitor, once the container is created, can execve the init binary (see
// SetInitBinary) as the waiter: it keeps the monitor's pid, so the init stays its
// child, and costs only what a small Go program costs. When the init has exited and
// its output is logged, the waiter execve's the program the engine named (Then),
// which finds the exit status in WaitStatusEnv.
const (
	modeWait = "wait" // initEnv of a waiter

	// waiterEnv carries the Waiter (JSON) to the waiter.
	waiterEnv = "_SKIFF_WAITER"
	// WaitStatusEnv is set for the program a waiter execve's when its child is gone:
	// "code/signal" as in ExitStatus (e.g. "0/0", "137/9"), or "error: ..." if the
	// wait itself failed.
	WaitStatusEnv = "_SKIFF_WAIT_STATUS"

	// drainTimeout bounds how long a waiter goes on logging output after the init's
	// exit: a process that escaped with a copy of the pipes does not keep it alive.
	drainTimeout = 2 * time.Second
)

// Waiter says what a waiter does (see ExecWaiter).
type Waiter struct {
	// Pid is the child to wait for: a container's init, child of the calling process.
	Pid int `json:"pid"`
	// Log, Stdout and Stderr are open files of the calling process: each line read
	// from Stdout and Stderr (until EOF) is appended to Log as one JSON object, the
	// json-file format of Docker's logs: {"log": line, "stream": "stdout" or
	// "stderr", "time": RFC 3339 with nanoseconds}. A line longer than 16 KiB is
	// logged in 16 KiB pieces.
	Log    *os.File `json:"-"`
	Stdout *os.File `json:"-"`
	Stderr *os.File `json:"-"`
	// Fifo, if set, is removed once the child is gone (the container's exec fifo).
	Fifo string `json:"fifo,omitempty"`
	// Exe is the program to execve when the child is gone and its output logged,
	// as an open file (it is executed through /proc/self/fd, so a replaced or deleted
	// binary still runs as it was); Then is its argv and Env its environment, to
	// which WaitStatusEnv is added.
	Exe  *os.File `json:"-"`
	Then []string `json:"then"`
	Env  []string `json:"env,omitempty"`
	// Args is the waiter's own argv, for ps (default "skiff-wait PID").
	Args []string `json:"-"`

	Fds [4]int `json:"fds"` // Log, Stdout, Stderr, Exe as the waiter inherits them
}

// ExecWaiter execve's the init binary (SetInitBinary; it must be set) as the waiter
// w describes, in place of the calling process, which must be the parent of w.Pid.
// It returns only on failure; the caller may then wait itself. The calling process
// should be single-purpose by then (an engine's monitor): every fd it has without
// close-on-exec, and its pid, cross the execve.
func ExecWaiter(w *Waiter) error {
	bin := InitBinary()
	if bin == "" {
		return fmt.Errorf("%w: waiter: no init binary (SetInitBinary)", ErrInvalidSpec)
	}
	if w.Pid <= 0 || len(w.Then) == 0 || w.Exe == nil || w.Log == nil || w.Stdout == nil || w.Stderr == nil {
		return fmt.Errorf("%w: waiter: pid, log, stdout, stderr, exe and then are required", ErrInvalidSpec)
	}
	for i, f := range []*os.File{w.Log, w.Stdout, w.Stderr, w.Exe} {
		// Through SyscallConn, not Fd: Fd would make a pipe blocking, and the waiter
		// would spend a thread per blocked read.
		rc, err := f.SyscallConn()
		if err != nil {
			return err
		}
		var ferr error
		if err := rc.Control(func(fd uintptr) {
			w.Fds[i] = int(fd)
			_, ferr = unix.FcntlInt(fd, unix.F_SETFD, 0) // inherited by the new image
		}); err != nil {
			return err
		}
		if ferr != nil {
			return ferr
		}
	}
	b, err := json.Marshal(w)
	if err != nil {
		return err
	}
	env := []string{initEnv + "=" + modeWait, waiterEnv + "=" + string(b), "GOMAXPROCS=1"}
	args := w.Args
	if len(args) == 0 {
		args = []string{"skiff-wait", strconv.Itoa(w.Pid)}
	}
	return syscall.Exec(bin, args, env)
}

// isWaiter reports whether this process is a waiter (ExecWaiter).
func isWaiter() bool {
	return os.Getenv(initEnv) == modeWait && os.Getenv(waiterEnv) != ""
}

// runWaiter is the waiter's main: it never returns.
func runWaiter() {
	// An idle waiter allocates a line at a time: no collection until its memory grew
	// by 2 MB over what the start left (a collection scans stacks, which reads the
	// binary's tables back in).
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	debug.SetGCPercent(-1)
	debug.SetMemoryLimit(int64(ms.Sys-ms.HeapReleased) + 2<<20)
	// Caught, not ignored (an ignored disposition would pass to Then): the waiter
	// outlives a terminal's hangup and a Ctrl-C of its process group, as the monitor.
	sigs := make(chan os.Signal, 8)
	signal.Notify(sigs, syscall.SIGINT, syscall.SIGHUP, syscall.SIGQUIT, syscall.SIGPIPE, syscall.SIGTERM)
	go func() {
		for range sigs {
		}
	}()
	var w Waiter
	if err := json.Unmarshal([]byte(os.Getenv(waiterEnv)), &w); err != nil || len(w.Then) == 0 {
		fmt.Fprintf(os.Stderr, "skiff waiter: bad %s: %v\n", waiterEnv, err)
		os.Exit(1)
	}
	_ = os.Unsetenv(initEnv)
	_ = os.Unsetenv(waiterEnv)
	files := make([]*os.File, 3)
	for i, name := range []string{"log", "stdout", "stderr"} {
		_, _ = unix.FcntlInt(uintptr(w.Fds[i]), unix.F_SETFD, unix.FD_CLOEXEC)
		files[i] = os.NewFile(uintptr(w.Fds[i]), name)
	}
	lw := jsonlog.New(files[0])
	var copiers sync.WaitGroup
	for i, stream := range []string{"stdout", "stderr"} {
		copiers.Add(1)
		go func() { defer copiers.Done(); lw.CopyFrom(stream, files[i+1]); files[i+1].Close() }()
	}
	// The start's pages of the binary are not needed again (the copy and the wait
	// touch few): give them back once the start is over, and later.
	for _, d := range []time.Duration{time.Second, 10 * time.Second} {
		time.AfterFunc(d, ReleaseBinaryPages)
	}
	status := waitPid(w.Pid)
	if w.Fifo != "" {
		_ = os.Remove(w.Fifo)
	}
	drained := make(chan struct{})
	go func() { copiers.Wait(); close(drained) }()
	select {
	case <-drained:
	case <-time.After(drainTimeout):
	}
	files[0].Close()
	env := append(w.Env, WaitStatusEnv+"="+status)
	_, _ = unix.FcntlInt(uintptr(w.Fds[3]), unix.F_SETFD, unix.FD_CLOEXEC) // an ELF binary needs no reopening
	err := syscall.Exec("/proc/self/fd/"+strconv.Itoa(w.Fds[3]), w.Then, env)
	fmt.Fprintf(os.Stderr, "skiff waiter: exec %v: %v\n", w.Then, err)
	os.Exit(1)
}

// waitPid reaps the child pid and returns its status as WaitStatusEnv spells it.
func waitPid(pid int) string {
	awaitExit(pid)
	p, err := os.FindProcess(pid)
	if err != nil {
		return "error: " + err.Error()
	}
	ps, err := p.Wait()
	if err != nil {
		return fmt.Sprintf("error: wait for pid %d: %v", pid, err)
	}
	ws, _ := ps.Sys().(syscall.WaitStatus)
	if ws.Signaled() {
		return fmt.Sprintf("%d/%d", 128+int(ws.Signal()), int(ws.Signal()))
	}
	return fmt.Sprintf("%d/0", ws.ExitStatus())
}

// ParseWaitStatus reads a WaitStatusEnv value.
func ParseWaitStatus(s string) (ExitStatus, error) {
	if msg, ok := strings.CutPrefix(s, "error: "); ok {
		return ExitStatus{}, fmt.Errorf("waiter: %s", msg)
	}
	code, sig, ok := strings.Cut(s, "/")
	c, err1 := strconv.Atoi(code)
	n, err2 := strconv.Atoi(sig)
	if !ok || err1 != nil || err2 != nil {
		return ExitStatus{}, fmt.Errorf("%w: waiter: status %q", ErrInvalidSpec, s)
	}
	return ExitStatus{Code: c, Signal: syscall.Signal(n)}, nil
}

// ReleaseBinaryPages unmaps the resident pages of the read-only mappings of this
// program's own file (madvise MADV_DONTNEED: they stay in the page cache, and a page
// used again faults back in), so they no longer count in its RSS: for a long-lived,
// mostly idle process such as a container's monitor or waiter, which touched much of
// its binary while starting and little of it since. Writable mappings (the data
// segment) are left alone.
func ReleaseBinaryPages() {
	exe, err := os.Readlink("/proc/self/exe")
	if err != nil {
		return
	}
	maps, err := os.ReadFile("/proc/self/maps")
	if err != nil {
		return
	}
	for _, line := range strings.Split(string(maps), "\n") {
		f := strings.Fields(line)
		if len(f) < 6 || f[5] != exe || strings.Contains(f[1], "w") {
			continue
		}
		lo, hi, ok := strings.Cut(f[0], "-")
		if !ok {
			continue
		}
		start, err1 := strconv.ParseUint(lo, 16, 64)
		end, err2 := strconv.ParseUint(hi, 16, 64)
		if err1 != nil || err2 != nil || end <= start {
			continue
		}
		_, _, _ = unix.Syscall(unix.SYS_MADVISE, uintptr(start), uintptr(end-start), unix.MADV_DONTNEED)
	}
}

// awaitExit returns once the process pid has exited (or at once if that cannot be
// watched): it waits for its pidfd to become readable in the runtime's poller, so no
// OS thread sits blocked in a wait system call (each costs the waiter memory).
func awaitExit(pid int) {
	fd, err := unix.PidfdOpen(pid, unix.PIDFD_NONBLOCK)
	if err != nil {
		return
	}
	f := os.NewFile(uintptr(fd), "pidfd")
	defer f.Close()
	rc, err := f.SyscallConn()
	if err != nil {
		return
	}
	first := true
	_ = rc.Read(func(fd uintptr) bool {
		if first { // the poller reports readiness: ask it once before the check
			first = false
			return false
		}
		return true
	})
}
