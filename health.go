package skiff

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"slices"
	"sync"
	"syscall"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
)

// Health checks (Dockerfile HEALTHCHECK, docker run --health-*): the monitor of a
// detached container runs a probe command in the container (as Container.Exec does)
// every Interval while the container runs, and records each result in State.Health:
//
//	start ──▶ starting ──probe exits 0──▶ healthy ◀──probe exits 0──┐
//	             │                          │                        │
//	             └── Retries failures ──▶ unhealthy ─────────────────┘
//
// Failures during StartPeriod, before any success, do not count; probes come every
// StartInterval then. A change to healthy or unhealthy is an event "health_status:
// healthy" (or unhealthy) of the container. When the container exits its health is
// unhealthy; a new run starts again from starting, with the log kept.

// Healthcheck says how to probe a container's health (Docker's HealthConfig).
// Zero fields take the image's HEALTHCHECK values, then Docker's defaults.
type Healthcheck struct {
	// Test is {"CMD", arg...} (run as is), {"CMD-SHELL", "command"} (run by the
	// image's SHELL, default /bin/sh -c) or {"NONE"} (no health check, also none of
	// the image). Empty: the image's.
	Test []string `json:",omitempty"`
	// Interval between probes. Default 30s.
	Interval time.Duration `json:",omitempty"`
	// Timeout of one probe, after which it is killed and counts as a failure.
	// Default 30s.
	Timeout time.Duration `json:",omitempty"`
	// StartPeriod after the start during which failures do not count, until the
	// first success. Default 0.
	StartPeriod time.Duration `json:",omitempty"`
	// StartInterval between probes during StartPeriod. Default 5s.
	StartInterval time.Duration `json:",omitempty"`
	// Retries is the number of consecutive failures that make the container
	// unhealthy. Default 3.
	Retries int `json:",omitempty"`
}

// Docker's defaults of a health check.
const (
	DefaultHealthInterval      = 30 * time.Second
	DefaultHealthTimeout       = 30 * time.Second
	DefaultHealthStartInterval = 5 * time.Second
	DefaultHealthRetries       = 3
)

// HealthStatus is a container's health as its last probes tell.
type HealthStatus string

// The health statuses, as Docker names them.
const (
	HealthStarting  HealthStatus = "starting"  // no probe succeeded yet since the start
	HealthHealthy   HealthStatus = "healthy"   // the last probe succeeded
	HealthUnhealthy HealthStatus = "unhealthy" // Retries probes in a row failed, or the container exited
)

// Health is a container's health (State.Health), set while a container with a
// health check runs.
type Health struct {
	Status HealthStatus `json:"status"`
	// FailingStreak counts the failed probes since the last success.
	FailingStreak int `json:"failing_streak"`
	// Log holds the last HealthLogSize results, oldest first.
	Log []HealthResult `json:"log,omitempty"`
}

// HealthResult is the result of one probe.
type HealthResult struct {
	Start time.Time `json:"start"`
	End   time.Time `json:"end"`
	// ExitCode is the probe's: 0 healthy, else a failure; -1 when it timed out or
	// could not run.
	ExitCode int `json:"exit_code"`
	// Output is the probe's stdout and stderr, at most HealthOutputLimit bytes.
	Output string `json:"output"`
}

// HealthLogSize is how many probe results State.Health keeps; HealthOutputLimit how
// many bytes of a probe's output (as Docker).
const (
	HealthLogSize     = 5
	HealthOutputLimit = 4096
)

// Enabled reports whether h runs probes: a Test other than NONE.
func (h *Healthcheck) Enabled() bool {
	return h != nil && len(h.Test) > 0 && h.Test[0] != "NONE"
}

// validate checks the fields of a container's health check as Docker's API does.
func (h *Healthcheck) validate() error {
	if h == nil {
		return nil
	}
	if len(h.Test) > 0 {
		switch h.Test[0] {
		case "NONE":
		case "CMD", "CMD-SHELL":
			if len(h.Test) < 2 {
				return fmt.Errorf("%w: Healthcheck.Test %q: no command", ErrInvalidConfig, h.Test)
			}
		default:
			return fmt.Errorf("%w: Healthcheck.Test %q: want CMD, CMD-SHELL or NONE first", ErrInvalidConfig, h.Test)
		}
	}
	for _, d := range []struct {
		name string
		v    time.Duration
	}{{"Interval", h.Interval}, {"Timeout", h.Timeout}, {"StartPeriod", h.StartPeriod}, {"StartInterval", h.StartInterval}} {
		if d.v != 0 && d.v < time.Millisecond {
			return fmt.Errorf("%w: Healthcheck.%s %v: cannot be less than 1ms", ErrInvalidConfig, d.name, d.v)
		}
	}
	if h.Retries < 0 {
		return fmt.Errorf("%w: Healthcheck.Retries %d: cannot be negative", ErrInvalidConfig, h.Retries)
	}
	return nil
}

// mergeHealthcheck is the container's health check as Docker merges it: the
// container's fields, each zero one taken from the image's HEALTHCHECK. Nil when
// neither has one.
func mergeHealthcheck(own *Healthcheck, image *v1.HealthConfig) *Healthcheck {
	if own == nil && image == nil {
		return nil
	}
	h := Healthcheck{}
	if own != nil {
		h = *own
		h.Test = slices.Clone(own.Test)
	}
	if image != nil {
		if len(h.Test) == 0 {
			h.Test = slices.Clone(image.Test)
		}
		if h.Interval == 0 {
			h.Interval = image.Interval
		}
		if h.Timeout == 0 {
			h.Timeout = image.Timeout
		}
		if h.StartPeriod == 0 {
			h.StartPeriod = image.StartPeriod
		}
		if h.Retries == 0 {
			h.Retries = image.Retries
		}
	}
	return &h
}

// withDefaults fills h's zero fields with Docker's defaults.
func (h Healthcheck) withDefaults() Healthcheck {
	if h.Interval == 0 {
		h.Interval = DefaultHealthInterval
	}
	if h.Timeout == 0 {
		h.Timeout = DefaultHealthTimeout
	}
	if h.StartInterval == 0 {
		h.StartInterval = DefaultHealthStartInterval
	}
	if h.Retries == 0 {
		h.Retries = DefaultHealthRetries
	}
	return h
}

// probeArgs is the command a probe of h runs: CMD's arguments, or CMD-SHELL's
// command under shell (default /bin/sh -c).
func (h Healthcheck) probeArgs(shell []string) []string {
	if h.Test[0] == "CMD" {
		return slices.Clone(h.Test[1:])
	}
	if len(shell) == 0 {
		shell = []string{"/bin/sh", "-c"}
	}
	return append(slices.Clone(shell), h.Test[1:]...)
}

// healthOnStart resets the health of a container that starts a run (st is about to
// be running): starting, no failures, the log of earlier runs kept.
func healthOnStart(st *State) {
	if st.Config == nil || !st.Config.Healthcheck.Enabled() {
		st.Health = nil
		return
	}
	h := &Health{Status: HealthStarting}
	if st.Health != nil {
		h.Log = st.Health.Log
	}
	st.Health = h
}

// healthOnExit marks the health of a container whose run ended: unhealthy.
func healthOnExit(st *State) {
	if st.Health != nil {
		st.Health.Status = HealthUnhealthy
	}
}

// healthMonitor is the monitor's probe loop for one run of a container.
type healthMonitor struct {
	ctrs  containerStore
	id    string
	owner int // the monitor's pid: results of a run it no longer owns are dropped
	check Healthcheck
	shell []string
	log   *slog.Logger
}

// startHealthchecks runs the health check of the container the monitor of req
// watches, if it has one, until the returned stop is called (which waits for the
// probe loop to end).
func startHealthchecks(req monitorRequest, ctrs containerStore) (stop func()) {
	m := &healthMonitor{ctrs: ctrs, id: req.ID, owner: os.Getpid(), log: slog.New(slog.DiscardHandler)}
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Add(1)
	go func() { defer wg.Done(); m.run(ctx) }()
	return func() { cancel(); wg.Wait() }
}

// run waits for the container to run, then probes it until ctx ends or the run is
// no longer the monitor's.
func (m *healthMonitor) run(ctx context.Context) {
	st, ok := m.awaitRunning(ctx)
	if !ok || st.Config == nil || !st.Config.Healthcheck.Enabled() {
		return
	}
	m.check, m.shell = st.Config.Healthcheck.withDefaults(), st.HealthShell
	started := st.Started
	// The state of this run starts healthy-unknown (Start sets it too; a restart by a
	// helper process goes through here).
	if _, err := m.ctrs.update(m.id, func(st *State) error {
		if st.Owner != m.owner {
			return errStale
		}
		if st.Health == nil || st.Health.Status != HealthStarting || st.Health.FailingStreak != 0 {
			healthOnStart(st)
			return nil
		}
		return errStale // already so: nothing to write
	}); err != nil && !errors.Is(err, errStale) {
		return
	}
	timer := time.NewTimer(m.interval(started, HealthStarting))
	defer timer.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-timer.C:
		}
		st, err := m.ctrs.load(m.id)
		if err != nil || st.Owner != m.owner || st.Status == StatusExited {
			return
		}
		status := HealthStarting
		if st.Health != nil {
			status = st.Health.Status
		}
		if st.Status == StatusRunning { // a paused container is not probed
			res := m.probe(ctx, st)
			if ctx.Err() != nil {
				return // the run ended under the probe: its result tells nothing
			}
			if status, err = m.record(res, started); err != nil {
				return
			}
		}
		timer.Reset(m.interval(started, status))
	}
}

// awaitRunning waits until the monitor's run of the container is running (Start
// released it) and returns its state; false when the run ends first. The state may
// not name this monitor yet (the engine records it once the monitor has created the
// container's init).
func (m *healthMonitor) awaitRunning(ctx context.Context) (*State, bool) {
	w := m.ctrs.watch(m.id)
	defer w.Close()
	for {
		if st, err := m.ctrs.load(m.id); err == nil && st.Owner == m.owner {
			switch st.Status {
			case StatusRunning, StatusPaused:
				return st, true
			case StatusExited:
				return nil, false
			}
		}
		w.Wait(ctx, time.Second)
		if ctx.Err() != nil {
			return nil, false
		}
	}
}

// interval is the wait before the next probe: StartInterval while the container is
// in its start period and not yet healthy, else Interval.
func (m *healthMonitor) interval(started time.Time, status HealthStatus) time.Duration {
	if time.Since(started) < m.check.StartPeriod && status == HealthStarting {
		return m.check.StartInterval
	}
	return m.check.Interval
}

// probe runs the probe command once in the container, bounded by Timeout.
func (m *healthMonitor) probe(ctx context.Context, st *State) (res HealthResult) {
	res = HealthResult{Start: time.Now().UTC(), ExitCode: -1}
	defer func() { res.End = time.Now().UTC() }()
	// The library's exec path, on an engine of the monitor's root that knows only
	// its containers (a probe needs no images, layers or networks).
	e := &Engine{root: m.ctrs.root(), log: m.log, ctrs: m.ctrs}
	c := e.newContainer(st)
	out := &limitedBuffer{max: HealthOutputLimit}
	pctx, cancel := context.WithTimeout(ctx, m.check.Timeout)
	defer cancel()
	p, err := c.Exec(pctx, ExecConfig{Cmd: m.check.probeArgs(m.shell), Stdout: out, Stderr: out})
	if err != nil {
		res.Output = err.Error()
		if pctx.Err() != nil && ctx.Err() == nil {
			// The timeout passed before the probe even started (a loaded machine):
			// the same failure as a probe that outlives it.
			res.Output = fmt.Sprintf("Health check exceeded timeout (%v)", m.check.Timeout)
		}
		return res
	}
	done := make(chan struct{})
	var code int
	var waitErr error
	go func() { code, waitErr = p.Wait(); close(done) }()
	select {
	case <-done:
	case <-pctx.Done():
		p.Signal(syscall.SIGKILL)
		<-done
		if ctx.Err() == nil {
			res.Output = fmt.Sprintf("Health check exceeded timeout (%v)", m.check.Timeout)
		}
		return res
	}
	if waitErr != nil {
		res.Output = waitErr.Error()
		return res
	}
	res.ExitCode, res.Output = code, out.String()
	return res
}

// record adds res to the container's health atomically, as Docker counts it, and
// reports a change of status as a health_status event. It returns the status now.
func (m *healthMonitor) record(res HealthResult, started time.Time) (HealthStatus, error) {
	var was HealthStatus
	st, err := m.ctrs.update(m.id, func(st *State) error {
		if st.Owner != m.owner || st.Status == StatusExited {
			return errStale
		}
		if st.Health == nil {
			healthOnStart(st)
		}
		h := st.Health
		was = h.Status
		if res.ExitCode == 0 {
			h.FailingStreak = 0
			h.Status = HealthHealthy
		} else if h.Status != HealthStarting || res.Start.Sub(started) >= m.check.StartPeriod {
			h.FailingStreak++
			if h.FailingStreak >= m.check.Retries {
				h.Status = HealthUnhealthy
			}
		}
		h.Log = append(h.Log, res)
		if len(h.Log) > HealthLogSize {
			h.Log = slices.Clone(h.Log[len(h.Log)-HealthLogSize:])
		}
		return nil
	})
	if err != nil {
		return "", err
	}
	if now := st.Health.Status; now != was {
		recordEvent(m.ctrs.root(), EventContainer, "health_status: "+string(now), st.ID, containerEventAttrs(st))
	}
	return st.Health.Status, nil
}

// limitedBuffer keeps the first max bytes written to it, from any goroutine, and
// accepts (drops) the rest.
type limitedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
	max int
}

func (b *limitedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if left := b.max - b.buf.Len(); left > 0 {
		b.buf.Write(p[:min(left, len(p))])
	}
	return len(p), nil
}

func (b *limitedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}
