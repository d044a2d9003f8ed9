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
	"runtime/debug"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"

	"github.com/skiffrt/skiff/cgroup"
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
	fds, err := unix.Socketpair(unix.AF_UNIX, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return 0, 0, fmt.Errorf("monitor socket: %w", err)
	}
	ours, theirs := os.NewFile(uintptr(fds[0]), "monitor"), os.NewFile(uintptr(fds[1]), "monitor")
	defer ours.Close()
	cmd := exec.Command("/proc/self/exe")
	cmd.Args = []string{"skiff-monitor", id[:12]}
	// One P: the monitor copies two pipes and waits; it needs no parallelism.
	cmd.Env = []string{monitorEnv + "=1", "PATH=" + os.Getenv("PATH"), "GOMAXPROCS=1"}
	cmd.ExtraFiles = []*os.File{theirs}
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	cmd.Dir = "/" // pin no directory (and its filesystem) of the caller for the container's life
	if err := cmd.Start(); err != nil {
		theirs.Close()
		return 0, 0, fmt.Errorf("start monitor: %w", err)
	}
	theirs.Close()
	// Reap the monitor when it ends, if this process lives that long.
	go cmd.Wait()

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

// runMonitor is the monitor process's main; it returns the process's exit code.
func runMonitor() int {
	if os.Getenv(monitorEnv) == "restart" {
		return restartByPolicy() // restart.go
	}
	// Catch (not ignore: an ignored disposition would be inherited by the container
	// through execve) the signals a terminal or a process group might send.
	sigs := make(chan os.Signal, 8)
	signal.Notify(sigs, syscall.SIGINT, syscall.SIGHUP, syscall.SIGQUIT, syscall.SIGPIPE, syscall.SIGTERM)
	go func() {
		for range sigs {
		}
	}()
	debug.SetGCPercent(20) // a long-lived, mostly idle process: stay small
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
	lw := &logWriter{f: logf}

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
			lw.copyFrom(stream, r)
		}
	}
	var copiers sync.WaitGroup
	var pipes []*os.File
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
			pipes = append(pipes, w)
			if stream == "stdout" {
				cfg.Stdout = w
			} else {
				cfg.Stderr = w
			}
			copiers.Add(1)
			go func() { defer copiers.Done(); copyOut(stream, r) }()
		}
	}
	proc, err := namespace.Create(context.Background(), cfg)
	for _, w := range pipes {
		w.Close()
	}
	if stdinR != nil {
		stdinR.Close()
	}
	if err != nil {
		return report(err)
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
	enc.Encode(monitorMsg{Type: "created", Pid: proc.Pid})
	sock.Close()
	ctrs := containerStore{dir: filepath.Join(req.Root, "containers")}
	stopHealth := startHealthchecks(req, ctrs) // health.go
	// Pages the creating process still maps are not reclaimed: shrink once it has
	// had time to exit, and once more later.
	for _, d := range []time.Duration{time.Second, 10 * time.Second} {
		time.AfterFunc(d, shrink)
	}

	ws, waitErr := proc.Wait()
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
func isMonitor() bool { m := os.Getenv(monitorEnv); return m == "1" || m == "restart" }

var _ io.Writer = (*logWriter)(nil)

// shrink gives back what the monitor no longer needs once its container runs: the heap
// freed after setup, and the pages of the program's own file (the monitor is the whole
// embedding binary; it only copies output and waits from now on, touching few of them).
func shrink() {
	debug.FreeOSMemory()
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
		if len(f) < 6 || f[5] != exe {
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
		unix.Syscall(unix.SYS_MADVISE, uintptr(start), uintptr(end-start), unix.MADV_PAGEOUT)
	}
}
