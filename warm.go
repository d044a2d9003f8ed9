package skiff

import (
	"context"
	"os"
	"strconv"
	"sync"

	"golang.org/x/sys/unix"

	specs "github.com/opencontainers/runtime-spec/specs-go"

	"github.com/skiffrt/skiff/namespace"
)

// WithWarmInit makes the Engine keep processes started ahead of time, so that Create
// skips the start of a process and of its Go runtime (the embedding program
// re-executed):
//
//   - for containers that are not detached, one container init (see namespace.Warm),
//     started by New: Create hands it the container instead of starting a process;
//   - for detached containers, after the first one, one monitor that has started a
//     container init of its own: Create hands the container to both.
//
// Each is replaced in the background once used. It pays in a long-lived program that
// creates containers one after another (skiffd); a program that creates one container
// and exits (a CLI) gains nothing, since the processes start within Create's program
// either way.
//
// A waiting init or monitor is an idle process of a few MB. The inits are made for the
// namespaces of a container on a bridge network; a container that differs (host
// network, a terminal, joined namespaces) gets a cold one. Close the Engine to kill
// them; if the program dies, they die with it. Default: off.
func WithWarmInit() Option { return func(o *options) { o.warm = true } }

// warmNamespaces are those of a container on a bridge network (buildSpec's).
var warmNamespaces = []specs.LinuxNamespace{
	{Type: specs.PIDNamespace}, {Type: specs.IPCNamespace}, {Type: specs.UTSNamespace},
	{Type: specs.MountNamespace}, {Type: specs.NetworkNamespace},
}

// warmPool holds the processes of WithWarmInit.
type warmPool struct {
	init *namespace.Warm

	mu       sync.Mutex
	monitor  *monitorProc // a warm monitor (startMonitor); nil if none
	starting bool
	closed   bool
	starts   sync.WaitGroup
}

// startWarm starts the warm init of WithWarmInit.
func startWarm() (*warmPool, error) {
	w, err := namespace.NewWarm(warmNamespaces)
	if err != nil {
		return nil, err
	}
	return &warmPool{init: w}, nil
}

// takeMonitor returns the warm monitor, or nil if none is ready, and has another one
// started in the background.
func (p *warmPool) takeMonitor() *monitorProc {
	p.mu.Lock()
	defer p.mu.Unlock()
	m := p.monitor
	p.monitor = nil
	if m != nil {
		select {
		case <-m.done: // died while waiting: a cold one serves
			m.sock.Close()
			m = nil
		default:
			renice(m.cmd.Process.Pid)
		}
	}
	if !p.starting && !p.closed {
		p.starting = true
		p.starts.Add(1)
		go p.startMonitor()
	}
	return m
}

func (p *warmPool) startMonitor() {
	defer p.starts.Done()
	m, err := startMonitor("")
	p.mu.Lock()
	defer p.mu.Unlock()
	p.starting = false
	if err != nil {
		return
	}
	if p.closed {
		m.stop()
		return
	}
	p.monitor = m
}

// renice gives every thread of pid nice 0, as a warm monitor waits at 19.
func renice(pid int) {
	tasks, _ := os.ReadDir("/proc/" + strconv.Itoa(pid) + "/task")
	for _, t := range tasks {
		if tid, err := strconv.Atoi(t.Name()); err == nil {
			_ = unix.Setpriority(unix.PRIO_PROCESS, tid, 0)
		}
	}
}

// stop ends a monitor that got no request (its socket closes: it reaps its warm init
// and exits) and waits until it was reaped.
func (m *monitorProc) stop() {
	m.sock.Close()
	<-m.done
}

func (p *warmPool) close() error {
	p.mu.Lock()
	p.closed = true
	m := p.monitor
	p.monitor = nil
	p.mu.Unlock()
	p.starts.Wait()
	if m != nil {
		m.stop()
	}
	return p.init.Close()
}

// createInit creates a container's init: in the warm init if there is one.
func (e *Engine) createInit(ctx context.Context, cfg *namespace.Config) (*namespace.Process, error) {
	if e.warm != nil {
		return e.warm.init.Create(ctx, cfg)
	}
	return namespace.Create(ctx, cfg)
}

// Close releases what the Engine holds in this process: the processes of
// WithWarmInit, killed and reaped. Containers, created or running, are not touched.
// The Engine must not create containers after Close.
func (e *Engine) Close() error {
	if e.warm != nil {
		return e.warm.close()
	}
	return nil
}
