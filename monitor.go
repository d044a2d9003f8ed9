package skiff

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"

	"github.com/skiffrt/skiff/cgroup"
	"github.com/skiffrt/skiff/internal/jsonlog"
	"github.com/skiffrt/skiff/namespace"
	"github.com/skiffrt/skiff/netbridge"
)

// A detached container's init is the child of a monitor, not of the program that
// created it, so that it outlives that program. The monitor is this same binary
// re-executed (skiff.Init runs it). It clones the container's init, writes the
// container's output to its log as JSON lines, reaps it and records its exit status.
//
//	engine (Create)                      monitor (skiff-monitor)              init
//	  │ socketpair, start monitor ─────────▶ │
//	  │ ──── request {root, id, ...} ──────▶ │ namespace.Create ──clone──────────▶ │ (blocked)
//	  │ ◀──── beforeInit {pid} ───────────── │                                     │
//	  │ cgroup, network                      │                                     │
//	  │ ───── ok / error ──────────────────▶ │ ──────── go ──────────────────────▶ │ rootfs, pivot
//	  │ ◀──── created {pid} / error ──────── │ ◀─────── ready ──────────────────── │ waits on exec.fifo
//	  │ state.json: created                  │ logs stdout/stderr → container.log  │
//	  │                                      │ (and serves attach.sock: attach.go) │
//	  ⋮ (may exit; Start from anywhere opens exec.fifo) ─────────────────────────▶ │ execve
//	                                         │ wait ◀────────────── exit ───────── │
//	                                         │ state.json: exited (code, OOMKilled)
//	                                         │ --rm: waits for holders (Hold), Delete
//	                                         │ restart policy: a helper Starts it again
const monitorEnv = "_SKIFF_MONITOR"

// errStale leaves the state alone: it belongs to a newer run of the container.
var errStale = errors.New("state belongs to a newer run")

type monitorRequest struct {
	Root         string `json:"root"`
	CgroupParent string `json:"cgroup_parent"`
	Table        string `json:"table"`
	Bridge       string `json:"bridge"`
	ID           string `json:"id"`
	AutoRemove   bool   `json:"auto_remove"`
}

type monitorMsg struct {
	Type string `json:"type"` // beforeInit, ok, created, error
	Pid  int    `json:"pid,omitempty"`
	Err  string `json:"err,omitempty"`
	Kind string `json:"kind,omitempty"` // notfound, notexec
}

// spawnMonitor starts the monitor of a detached container and has it create the
// container's init; beforeInit runs here, in the engine, with the init's pid. It
// returns the init's and the monitor's pids.
func (e *Engine) spawnMonitor(ctx context.Context, id string, autoRemove bool, beforeInit func(pid int) error) (int, int, error) {
	var m *monitorProc
	if e.warm != nil {
		m = e.warm.takeMonitor() // warm.go
	}
	if m == nil {
		var err error
		if m, err = startMonitor(id[:12]); err != nil {
			return 0, 0, err
		}
	}
	cmd, ours := m.cmd, m.sock
	defer ours.Close()

	fail := func(err error) (int, int, error) {
		cmd.Process.Kill()
		return 0, 0, err
	}
	enc, dec := json.NewEncoder(ours), json.NewDecoder(ours)
	req := monitorRequest{Root: e.root, CgroupParent: e.cgroupParent, Table: e.netTable, Bridge: e.netBridge, ID: id, AutoRemove: autoRemove}
	if err := enc.Encode(req); err != nil {
		return fail(fmt.Errorf("monitor: %w", err))
	}
	stop := context.AfterFunc(ctx, func() { ours.SetDeadline(time.Now()) })
	defer stop()
	var initErr error // beforeInit's own error, which the monitor only echoes as text
	for {
		var m monitorMsg
		if err := dec.Decode(&m); err != nil {
			return fail(fmt.Errorf("monitor of container %s: %w", shortID(id), err))
		}
		switch m.Type {
		case "beforeInit":
			reply := monitorMsg{Type: "ok"}
			if err := beforeInit(m.Pid); err != nil {
				reply = monitorMsg{Type: "error", Err: err.Error()}
				initErr = fmt.Errorf("before init (pid %d): %w", m.Pid, err)
			}
			if err := enc.Encode(reply); err != nil {
				return fail(fmt.Errorf("monitor: %w", err))
			}
		case "created":
			return m.Pid, cmd.Process.Pid, nil
		case "error":
			if initErr != nil { // its class (a port conflict, ...) kept
				cmd.Process.Kill()
				return 0, 0, initErr
			}
			err := errors.New(m.Err)
			switch m.Kind {
			case "notfound":
				err = fmt.Errorf("%w: %w", ErrCommandNotFound, err)
			case "notexec":
				err = fmt.Errorf("%w: %w", ErrCommandNotExecutable, err)
			}
			cmd.Process.Kill()
			return 0, 0, err
		}
	}
}

// monitorProc is a started monitor, waiting for its request on sock.
type monitorProc struct {
	cmd  *exec.Cmd
	sock *os.File      // our end of its socket (its fd 3)
	done chan struct{} // closed when it was reaped
}

// startMonitor starts a monitor process. name is the container's short ID, or empty
// for a warm monitor (see WithWarmInit), which starts a warm init for its container
// while it waits for the request; then the caller's goroutine must end after the call.
func startMonitor(name string) (*monitorProc, error) {
	fds, err := unix.Socketpair(unix.AF_UNIX, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return nil, fmt.Errorf("monitor socket: %w", err)
	}
	ours, theirs := os.NewFile(uintptr(fds[0]), "monitor"), os.NewFile(uintptr(fds[1]), "monitor")
	mode := "1"
	cmd := exec.Command("/proc/self/exe")
	cmd.Args = []string{"skiff-monitor", name}
	if name == "" {
		cmd.Args, mode = cmd.Args[:1], monitorWarmMode
	}
	// One P: the monitor copies two pipes and waits; it needs no parallelism.
	cmd.Env = append([]string{monitorEnv + "=" + mode, "PATH=" + os.Getenv("PATH"), "GOMAXPROCS=1"}, initBinaryEnv()...)
	cmd.ExtraFiles = []*os.File{theirs}
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	cmd.Dir = "/" // pin no directory (and its filesystem) of the caller for the container's life
	if name == "" && os.Geteuid() == 0 && !Rootless() {
		// A warm monitor starts at the lowest priority, as a warm init does (the one
		// who takes it renices it, which needs the host's root): the child inherits
		// the forking thread's. That thread ends with the caller's goroutine, never
		// unlocked.
		runtime.LockOSThread()
		_ = unix.Setpriority(unix.PRIO_PROCESS, 0, 19)
	}
	err = cmd.Start()
	theirs.Close()
	if err != nil {
		ours.Close()
		return nil, fmt.Errorf("start monitor: %w", err)
	}
	m := &monitorProc{cmd: cmd, sock: ours, done: make(chan struct{})}
	// Reap the monitor when it ends, if this process lives that long.
	go func() { cmd.Wait(); close(m.done) }()
	return m, nil
}

// initBinaryEnv passes namespace.SetInitBinary's choice on to a monitor or restart
// helper, which create containers too.
func initBinaryEnv() []string {
	if p := namespace.InitBinary(); p != "" {
		return []string{namespace.InitBinaryEnv + "=" + p}
	}
	return nil
}

// runMonitor is the monitor process's main; it returns the process's exit code.
func runMonitor() int {
	switch os.Getenv(monitorEnv) {
	case "restart":
		return restartByPolicy() // restart.go
	case monitorWaitMode:
		return runMonitorWait()
	case monitorFinishMode:
		return runMonitorFinish()
	}
	catchSignals()
	debug.SetGCPercent(20) // a long-lived, mostly idle process: stay small
	create, closeWarm := namespace.Create, func() {}
	if os.Getenv(monitorEnv) == monitorWarmMode {
		// Started ahead of its container: start its init ahead too, while waiting.
		if w, err := namespace.NewWarm(warmNamespaces, namespace.WarmNoRefill()); err == nil {
			create, closeWarm = w.Create, func() { w.Close() }
			defer closeWarm()
		}
	}
	sock := os.NewFile(3, "monitor")
	enc, dec := json.NewEncoder(sock), json.NewDecoder(sock)
	var req monitorRequest
	if err := dec.Decode(&req); err != nil {
		return 1
	}
	dir := filepath.Join(req.Root, "containers", req.ID)
	report := func(err error) int {
		m := monitorMsg{Type: "error", Err: err.Error()}
		switch {
		case errors.Is(err, namespace.ErrNotFound):
			m.Kind = "notfound"
		case errors.Is(err, namespace.ErrNotExecutable):
			m.Kind = "notexec"
		}
		enc.Encode(m)
		return 1
	}
	data, err := os.ReadFile(filepath.Join(dir, "config.json"))
	if err != nil {
		return report(err)
	}
	var spec specs.Spec
	if err := json.Unmarshal(data, &spec); err != nil {
		return report(err)
	}
	logf, err := os.OpenFile(filepath.Join(dir, logFileName), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o640)
	if err != nil {
		return report(err)
	}
	lw := jsonlog.New(logf)

	cfg := &namespace.Config{
		Spec:     &spec,
		StateDir: dir,
		BeforeInit: func(pid int) error {
			if err := enc.Encode(monitorMsg{Type: "beforeInit", Pid: pid}); err != nil {
				return err
			}
			var m monitorMsg
			if err := dec.Decode(&m); err != nil {
				return err
			}
			if m.Type != "ok" {
				return errors.New(m.Err)
			}
			return nil
		},
	}
	// With an open stdin or a terminal, clients attach through a socket (attach.go).
	tty := spec.Process != nil && spec.Process.Terminal
	openStdin := spec.Annotations[annotationOpenStdin] == "true"
	var srv *attachServer
	if tty || openStdin {
		if srv, err = newAttachServer(dir, tty); err != nil {
			return report(err)
		}
		defer srv.close(0)
	}
	copyOut := func(stream string, r io.Reader) {
		if srv != nil {
			teeOutput(stream, r, lw, srv)
		} else {
			lw.CopyFrom(stream, r)
		}
	}
	var copiers sync.WaitGroup
	var pipes []*os.File
	var outs []*os.File // read ends of the stdout and stderr pipes
	var stdinR *os.File
	if !tty && openStdin {
		r, w, err := os.Pipe()
		if err != nil {
			return report(err)
		}
		cfg.Stdin, stdinR = r, r
		var once sync.Once
		srv.in, srv.closeIn = w, func() { once.Do(func() { w.Close() }) }
	}
	if !tty {
		for _, stream := range []string{"stdout", "stderr"} {
			r, w, err := os.Pipe()
			if err != nil {
				return report(err)
			}
			pipes, outs = append(pipes, w), append(outs, r)
			if stream == "stdout" {
				cfg.Stdout = w
			} else {
				cfg.Stderr = w
			}
		}
	}
	proc, err := create(context.Background(), cfg)
	closeWarm() // an unused warm init is reaped, not left to the waiting monitor
	for _, w := range pipes {
		w.Close()
	}
	if stdinR != nil {
		stdinR.Close()
	}
	if err != nil {
		return report(err)
	}
	if srv == nil && !tty {
		// Nothing but the pipes, the log and the wait is left to do: a fresh image of
		// the program does it, without the setup's heap, threads and type caches.
		enc.Encode(monitorMsg{Type: "created", Pid: proc.Pid})
		sock.Close()
		sock = nil
		if namespace.InitBinary() != "" && spec.Annotations[annotationHealthcheck] != "true" {
			_ = execWaiter(req, proc.Pid, logf, outs) // returns only if the exec failed
		}
		_ = reexecWaiter(req, proc.Pid, logf, outs) // returns only if the exec failed
	}
	for i, r := range outs {
		stream := []string{"stdout", "stderr"}[i]
		copiers.Add(1)
		go func() { defer copiers.Done(); copyOut(stream, r) }()
	}
	if con := proc.Console(); con != nil {
		copiers.Add(1)
		go func() { defer copiers.Done(); copyOut("stdout", con) }()
		if srv != nil {
			if openStdin {
				srv.in = con
			}
			srv.resize = func(rows, cols uint16) error { return namespace.ResizeConsole(con, rows, cols) }
		}
	}
	if srv != nil {
		go srv.serve()
	}
	if sock != nil {
		enc.Encode(monitorMsg{Type: "created", Pid: proc.Pid})
		sock.Close()
	}
	return monitorContainer(req, proc.Wait, logf, &copiers, srv, true)
}

// monitorContainer is the monitor's life while its container runs: health checks,
// the wait for the init's exit, the exit recorded, then --rm or the restart policy.
// It returns the monitor's exit code.
//
// freeHeap: the setup left garbage in this image, which shrink gives back.
func monitorContainer(req monitorRequest, wait func() (namespace.ExitStatus, error), logf *os.File, copiers *sync.WaitGroup, srv *attachServer, freeHeap bool) int {
	ctrs := containerStore{dir: filepath.Join(req.Root, "containers")}
	stopHealth := startHealthchecks(req, ctrs) // health.go
	// Pages the creating process still maps are not reclaimed: shrink once it has
	// had time to exit, and once more later.
	for _, d := range []time.Duration{time.Second, 10 * time.Second} {
		time.AfterFunc(d, func() { shrink(freeHeap) })
	}

	ws, waitErr := wait()
	stopHealth()
	// Output still in the pipes is logged; a process that escaped with a copy of
	// them does not keep the monitor alive for long.
	drained := make(chan struct{})
	go func() { copiers.Wait(); close(drained) }()
	select {
	case <-drained:
	case <-time.After(2 * time.Second):
	}
	logf.Close()
	return afterExit(req, ctrs, ws, waitErr, srv)
}

// afterExit is the monitor's work once its container's init is gone and its output
// logged: the exit recorded, then --rm or the restart policy. It returns the
// monitor's exit code.
func afterExit(req monitorRequest, ctrs containerStore, ws namespace.ExitStatus, waitErr error, srv *attachServer) int {
	oom := false
	if st, err := ctrs.load(req.ID); err == nil {
		if cg, err := cgroup.Load(st.Cgroup); err == nil {
			oom, _ = cg.OOMKilled()
		}
		releasePortsAfterExit(req, st) // before the exit is seen: its ports are free then
	}
	restarting := false
	final, _ := ctrs.update(req.ID, func(st *State) error {
		// A restart under way, or another monitor already owning the container (it
		// was started again), means this run's --rm does not apply.
		restarting = st.Restarting || st.Owner != os.Getpid()
		if st.Owner != os.Getpid() {
			return errStale
		}
		st.Status = StatusExited
		st.ExitCode = ws.Code
		if waitErr != nil {
			st.ExitCode = 255
		}
		st.OOMKilled = oom
		st.Finished = time.Now().UTC()
		st.Pid = 0
		healthOnExit(st)
		return nil
	})
	if srv != nil {
		// Clients see the end of the output once the exit is recorded.
		srv.close(2 * time.Second)
	}
	if req.AutoRemove && !restarting && final != nil {
		// Waiters and log followers (Container.Hold) read the exit and the end of the
		// log first.
		held := ctrs.awaitHolders(req.ID, RemovalGrace)
		removeAfterExit(req, ctrs, final)
		held.Unlock()
	} else if !restarting && final != nil {
		scheduleRestart(req, ctrs, final) // restart.go
	}
	return 0
}

// removeAfterExit removes a --rm container once its exit is recorded, as Delete
// would (under the lifecycle lock, so a concurrent Start or Delete is not undone).
func removeAfterExit(req monitorRequest, ctrs containerStore, st *State) {
	op, err := ctrs.lockOp(req.ID)
	if err != nil {
		return
	}
	defer op.Unlock()
	st, err = ctrs.load(req.ID)
	if err != nil || st.Status != StatusExited || st.Restarting || st.Owner != os.Getpid() {
		return // removed, restarted or started again meanwhile
	}
	log := slog.New(slog.DiscardHandler)
	net, err := netbridge.New(filepath.Join(req.Root, "network"), netbridge.WithLogger(log),
		netbridge.WithTable(req.Table), netbridge.WithDefaultBridge(req.Bridge))
	if err != nil {
		return
	}
	var cg cgroup.Manager
	if c, err := cgroup.Load(st.Cgroup); err == nil {
		cg = c
	}
	r := remover{ctrs: ctrs, net: net, log: log,
		vols: &volumeStore{dir: filepath.Join(req.Root, "volumes"), rootLock: filepath.Join(req.Root, ".lock"), ctrs: ctrs, log: log}}
	r.remove(context.Background(), st, cg, true)
}

// isMonitor reports whether this process is a container monitor.
func isMonitor() bool {
	m := os.Getenv(monitorEnv)
	return m == "1" || m == "restart" || m == monitorWaitMode || m == monitorWarmMode || m == monitorFinishMode
}

// catchSignals catches (not ignores: an ignored disposition would be inherited by the
// container through execve) the signals a terminal or a process group might send.
func catchSignals() {
	sigs := make(chan os.Signal, 8)
	signal.Notify(sigs, syscall.SIGINT, syscall.SIGHUP, syscall.SIGQUIT, syscall.SIGPIPE, syscall.SIGTERM)
	go func() {
		for range sigs {
		}
	}()
}

// shrink gives back what the monitor no longer needs once its container runs: the heap
// freed after setup, and the pages of the program's own file (the monitor is the whole
// embedding binary; it only copies output and waits from now on, touching few of them).
func shrink(freeHeap bool) {
	if freeHeap {
		debug.FreeOSMemory()
	}
	namespace.ReleaseBinaryPages()
}

// The monitor of a container without a terminal or an open stdin re-executes itself
// once the container is created (keeping its pid, so the init stays its child): the
// waiting monitor gets the request, the init's pid and the fds of the log and of the
// output pipes in its environment, and holds only what waiting needs.
const (
	monitorWaitMode   = "wait"               // monitorEnv of the waiting monitor
	monitorWarmMode   = "warm"               // monitorEnv of a monitor started ahead (startMonitor)
	monitorFinishMode = "finish"             // monitorEnv of the monitor a waiter execve's (execWaiter)
	monitorReqEnv     = "_SKIFF_MONITOR_REQ" // the monitorRequest, JSON
	monitorPidEnv     = "_SKIFF_MONITOR_PID" // the container init's pid
	monitorFdsEnv     = "_SKIFF_MONITOR_FDS" // fds of the log, the stdout and the stderr pipes
)

// reexecWaiter execve's this program as the waiting monitor of the init pid. It
// returns only on failure; the caller then goes on waiting itself.
func reexecWaiter(req monitorRequest, pid int, logf *os.File, outs []*os.File) error {
	b, err := json.Marshal(req)
	if err != nil {
		return err
	}
	var nums []string
	for _, f := range append([]*os.File{logf}, outs...) {
		// Through SyscallConn, not Fd: Fd would make a pipe blocking, and the waiting
		// monitor would spend a thread per blocked read.
		rc, err := f.SyscallConn()
		if err != nil {
			return err
		}
		var ferr error
		if err := rc.Control(func(fd uintptr) {
			nums = append(nums, strconv.Itoa(int(fd)))
			_, ferr = unix.FcntlInt(fd, unix.F_SETFD, 0) // inherited by the new image
		}); err != nil {
			return err
		}
		if ferr != nil {
			return ferr
		}
	}
	env := []string{monitorEnv + "=" + monitorWaitMode, monitorReqEnv + "=" + string(b),
		monitorPidEnv + "=" + strconv.Itoa(pid), monitorFdsEnv + "=" + strings.Join(nums, ","),
		"PATH=" + os.Getenv("PATH"), "GOMAXPROCS=1"}
	env = append(env, initBinaryEnv()...) // for the restart helpers it starts
	return syscall.Exec("/proc/self/exe", []string{"skiff-monitor", shortID(req.ID)}, env)
}

// execWaiter execve's the init binary (namespace.SetInitBinary) as the waiter of the
// init pid (namespace.ExecWaiter): a small program that logs the output and waits,
// then execve's this program again, as the finishing monitor (runMonitorFinish), to
// record the exit and do --rm or the restart policy. It returns only on failure; the
// caller then re-executes this program to wait (reexecWaiter).
func execWaiter(req monitorRequest, pid int, logf *os.File, outs []*os.File) error {
	b, err := json.Marshal(req)
	if err != nil {
		return err
	}
	self, err := os.Open("/proc/self/exe")
	if err != nil {
		return err
	}
	env := []string{monitorEnv + "=" + monitorFinishMode, monitorReqEnv + "=" + string(b),
		"PATH=" + os.Getenv("PATH"), "GOMAXPROCS=1"}
	env = append(env, initBinaryEnv()...) // for the restart helpers it starts
	err = namespace.ExecWaiter(&namespace.Waiter{
		Pid: pid, Log: logf, Stdout: outs[0], Stderr: outs[1],
		Fifo: filepath.Join(req.Root, "containers", req.ID, namespace.FifoName),
		Exe:  self, Then: []string{"skiff-monitor", shortID(req.ID)}, Env: env,
		Args: []string{"skiff-monitor", shortID(req.ID)},
	})
	self.Close()
	return err
}

// runMonitorFinish is the main of the monitor that a waiter (execWaiter) execve's
// once the container's init is gone: the exit status is in namespace.WaitStatusEnv.
func runMonitorFinish() int {
	catchSignals()
	var req monitorRequest
	if err := json.Unmarshal([]byte(os.Getenv(monitorReqEnv)), &req); err != nil {
		return 1
	}
	ws, waitErr := namespace.ParseWaitStatus(os.Getenv(namespace.WaitStatusEnv))
	for _, k := range []string{monitorEnv, monitorReqEnv, namespace.WaitStatusEnv} {
		os.Unsetenv(k)
	}
	return afterExit(req, containerStore{dir: filepath.Join(req.Root, "containers")}, ws, waitErr, nil)
}

// runMonitorWait is the waiting monitor's main (see reexecWaiter).
func runMonitorWait() int {
	catchSignals()
	// Each GC cycle leaves runtime metadata behind (mark bits, work buffers: half a MB
	// for this program) and re-reads pages of the binary; an idle waiting monitor
	// allocates nearly nothing. So no collection until the heap grew by 2 MB (a
	// container that logs a lot makes garbage, a line at a time).
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	debug.SetGCPercent(-1)
	debug.SetMemoryLimit(int64(ms.Sys-ms.HeapReleased) + 2<<20)
	var req monitorRequest
	if err := json.Unmarshal([]byte(os.Getenv(monitorReqEnv)), &req); err != nil {
		return 1
	}
	pid, err := strconv.Atoi(os.Getenv(monitorPidEnv))
	fds := strings.Split(os.Getenv(monitorFdsEnv), ",")
	if err != nil || len(fds) != 3 {
		return 1
	}
	var files []*os.File
	for i, name := range []string{logFileName, "stdout", "stderr"} {
		fd, err := strconv.Atoi(fds[i])
		if err != nil {
			return 1
		}
		_, _ = unix.FcntlInt(uintptr(fd), unix.F_SETFD, unix.FD_CLOEXEC)
		files = append(files, os.NewFile(uintptr(fd), name))
	}
	for _, k := range []string{monitorEnv, monitorReqEnv, monitorPidEnv, monitorFdsEnv} {
		os.Unsetenv(k)
	}
	lw := jsonlog.New(files[0])
	var copiers sync.WaitGroup
	for i, stream := range []string{"stdout", "stderr"} {
		copiers.Add(1)
		go func() { defer copiers.Done(); lw.CopyFrom(stream, files[i+1]); files[i+1].Close() }()
	}
	stateDir := filepath.Join(req.Root, "containers", req.ID)
	wait := func() (namespace.ExitStatus, error) { return waitChild(pid, stateDir) }
	return monitorContainer(req, wait, files[0], &copiers, nil, false)
}

// waitChild waits for the child pid, a container's init, as namespace.Process.Wait
// does for the process that created it.
func waitChild(pid int, stateDir string) (namespace.ExitStatus, error) {
	p, err := os.FindProcess(pid)
	if err != nil {
		return namespace.ExitStatus{}, err
	}
	ps, err := p.Wait()
	_ = os.Remove(filepath.Join(stateDir, namespace.FifoName))
	if err != nil {
		return namespace.ExitStatus{}, fmt.Errorf("wait for pid %d: %w", pid, err)
	}
	ws, _ := ps.Sys().(syscall.WaitStatus)
	if ws.Signaled() {
		return namespace.ExitStatus{Code: 128 + int(ws.Signal()), Signal: ws.Signal()}, nil
	}
	return namespace.ExitStatus{Code: ws.ExitStatus()}, nil
}
