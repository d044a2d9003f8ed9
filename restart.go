package skiff

import (
	"context"
	"encoding/json"
	"fmt"
	specs "github.com/opencontainers/runtime-spec/specs-go"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"time"

	"github.com/moby/sys/mountinfo"
	godigest "github.com/opencontainers/go-digest"

	"github.com/skiffrt/skiff/namespace"
)

// Restart stops the container (as Stop, with timeout) and starts it again (docker
// restart).
func (c *Container) Restart(ctx context.Context, timeout time.Duration) error {
	// Mark the restart first: the monitor of a --rm container must not remove it when
	// the stop ends its process (Docker turns AutoRemove off for a restart too).
	if _, err := c.e.ctrs.update(c.id, func(s *State) error { s.Restarting = true; return nil }); err != nil {
		return fmt.Errorf("restart container %s: %w", shortID(c.id), err)
	}
	err := c.Stop(ctx, timeout)
	if err == nil {
		err = c.Start(ctx)
	}
	if err != nil {
		c.e.ctrs.update(c.id, func(s *State) error { s.Restarting = false; return nil })
		return err
	}
	st := c.State()
	c.e.emit(EventContainer, "restart", st.ID, containerEventAttrs(&st))
	return nil
}

// restartLocked runs an exited container again (c.mu held): a new init, under a
// monitor, in the container's cgroup and networks, on its root filesystem with its
// upper dir as the last run left it.
func (c *Container) restartLocked(ctx context.Context, byPolicy bool) error {
	e, st := c.e, c.st
	dir := e.ctrs.path(st.ID)
	fail := func(err error) error { return fmt.Errorf("restart container %s: %w", shortID(st.ID), err) }

	merged := filepath.Join(dir, "merged")
	if ok, _ := mountinfo.Mounted(merged); !ok { // e.g. after a reboot
		layers := make([]godigest.Digest, len(st.Layers))
		for i, l := range st.Layers {
			layers[i] = godigest.Digest(l)
		}
		m, err := e.layers.Prepare(ctx, dir, layers)
		if err != nil {
			return fail(err)
		}
		if err := os.MkdirAll(merged, 0o755); err != nil {
			return fail(err)
		}
		if err := m.Mount(merged); err != nil {
			return fail(err)
		}
	}
	// Made again if gone (a reboot, a repair), and its limits applied again either way.
	cg, err := e.newCgroup(st.Cgroup, st.Resources)
	if err != nil {
		return fail(err)
	}
	c.cg = cg
	// The old interfaces died with the old network namespace; their addresses and
	// rules are released and the container attaches anew.
	extra := e.extraNetworks(ctx, st) // joined again with their aliases
	if err := e.detachNetwork(ctx, st.ID); err != nil {
		return fail(err)
	}
	plan := &netPlan{mode: st.Network, dir: dir, id: st.ID, name: st.Name, host: st.Hostname, aliases: st.Aliases, ports: st.Ports, publish: true, extra: extra}
	if st.Config != nil {
		if err := plan.setNames(*st.Config); err != nil {
			return fail(err)
		}
	}
	var sysctls *specs.Spec // read only for a container that has some (the field is recorded)
	if st.Config != nil && len(st.Config.Sysctls) > 0 {
		if sysctls, err = e.ctrs.loadSysctlSpec(st.ID); err != nil {
			return fail(err)
		}
	}
	pid, owner, err := e.spawnMonitor(ctx, st.ID, st.AutoRemove, func(pid int) error {
		if err := cg.AddProc(pid); err != nil {
			return err
		}
		if err := e.attachNetwork(ctx, plan, pid); err != nil {
			return err
		}
		return namespace.ApplySysctls(pid, sysctls)
	})
	if err != nil {
		e.detachNetwork(context.WithoutCancel(ctx), st.ID)
		return fail(err)
	}
	c.proc = nil
	if _, err := e.ctrs.update(st.ID, func(s *State) error {
		s.Status, s.Pid, s.Owner, s.Detached, s.Restarting = StatusCreated, pid, owner, true, false
		s.ExitCode, s.OOMKilled, s.Finished = 0, false, time.Time{}
		// Health "starting" from now, not the last run's "unhealthy" exit mark.
		healthOnStart(s)
		if !byPolicy { // a client's start: the policy starts counting anew
			s.RestartCount, s.ManuallyStopped = 0, false
		}
		return nil
	}); err != nil {
		cg.Kill()
		return fail(err)
	}
	e.emitConnected(ctx, st.ID)
	released := time.Now().UTC()
	if err := namespace.Load(pid, dir).Start(); err != nil && !endedBeforeStart(err, pid) {
		cg.Kill()
		return fail(err)
	}
	ns, err := e.ctrs.update(st.ID, func(s *State) error {
		s.Started = released // also when the monitor saw it exit already
		if s.Status == StatusCreated {
			s.Status = StatusRunning
		}
		return nil
	})
	if err != nil {
		return fail(err)
	}
	c.st = ns
	return nil
}

// Restart policies (docker run --restart): what the monitor of a detached container
// does when the container's process exits by itself.
const (
	RestartNo            = "no"             // leave it exited (the default)
	RestartAlways        = "always"         // run it again, unless stopped by Stop or Kill
	RestartUnlessStopped = "unless-stopped" // as always: Skiff has no daemon whose restart would tell them apart
	RestartOnFailure     = "on-failure"     // run it again when it exits non-zero, MaximumRetryCount times at most
)

// RestartPolicy tells the monitor of a detached container whether to run the
// container again when its process exits (docker run --restart). The monitor waits
// before each restart, 100 ms doubled at each restart up to a minute (100 ms again
// after a run of 10 s or more); State.RestartCount counts the restarts, State.Restarting
// is set while one is pending. Stop and Kill end the restarts until the next Start.
type RestartPolicy struct {
	// Name is RestartNo (or empty), RestartAlways, RestartUnlessStopped or
	// RestartOnFailure.
	Name string
	// MaximumRetryCount bounds the restarts of RestartOnFailure; 0 means no bound.
	MaximumRetryCount int
}

// validate checks the policy of cfg.
func (p RestartPolicy) validate(cfg *ContainerConfig) error {
	switch p.Name {
	case "", RestartNo:
		if p.MaximumRetryCount != 0 {
			return fmt.Errorf("%w: RestartPolicy.MaximumRetryCount is for %q only", ErrInvalidConfig, RestartOnFailure)
		}
		return nil
	case RestartAlways, RestartUnlessStopped, RestartOnFailure:
	default:
		return fmt.Errorf("%w: RestartPolicy.Name %q: want %q, %q, %q or %q", ErrInvalidConfig, p.Name,
			RestartNo, RestartAlways, RestartUnlessStopped, RestartOnFailure)
	}
	switch {
	case p.MaximumRetryCount < 0, p.MaximumRetryCount > 0 && p.Name != RestartOnFailure:
		return fmt.Errorf("%w: RestartPolicy.MaximumRetryCount %d: a count of restarts for %q only", ErrInvalidConfig, p.MaximumRetryCount, RestartOnFailure)
	case cfg.AutoRemove:
		return fmt.Errorf("%w: RestartPolicy %q and AutoRemove conflict", ErrInvalidConfig, p.Name)
	case !cfg.Detach:
		return fmt.Errorf("%w: RestartPolicy %q needs Detach (a monitor restarts the container)", ErrInvalidConfig, p.Name)
	}
	return nil
}

// wantsRestart reports whether the policy runs the container of st again after the
// exit st records.
func (p RestartPolicy) wantsRestart(st *State) bool {
	if st.ManuallyStopped {
		return false
	}
	switch p.Name {
	case RestartAlways, RestartUnlessStopped:
		return true
	case RestartOnFailure:
		return st.ExitCode != 0 && (p.MaximumRetryCount == 0 || st.RestartCount < p.MaximumRetryCount)
	}
	return false
}

// restartDelay is the wait before the next restart of st's container: 100 ms, doubled
// at each restart up to a minute, and 100 ms again after a run of 10 s or more.
func restartDelay(st *State) time.Duration {
	const first, most = 100 * time.Millisecond, time.Minute
	if !st.Started.IsZero() && st.Finished.Sub(st.Started) >= 10*time.Second {
		return first
	}
	d := first
	for i := 0; i < st.RestartCount && d < most; i++ {
		d *= 2
	}
	return min(d, most)
}

// markStopped records that a client stopped or killed the container, which ends its
// restart policy's restarts until it is started again.
func (c *Container) markStopped() {
	if st, err := c.e.ctrs.update(c.id, func(s *State) error {
		if s.ManuallyStopped || s.Config == nil || s.Config.RestartPolicy.Name == "" || s.Config.RestartPolicy.Name == RestartNo {
			return errStale // nothing to write
		}
		s.ManuallyStopped = true
		return nil
	}); err == nil {
		c.mu.Lock()
		c.st = st
		c.mu.Unlock()
	}
}

// policyRestartEnv marks the helper process that a monitor starts to run its
// container again (see restartByPolicy).
const policyRestartEnv = "_SKIFF_POLICY_RESTART"

// scheduleRestart is the monitor's side of a restart policy, once the exit of its
// run is recorded in final: when the policy wants the container run again, it marks
// the restart (Restarting, RestartCount), waits the restart delay and starts a helper
// process of this binary that starts the container as Start would, under a new
// monitor. It reports whether a restart was scheduled.
func scheduleRestart(req monitorRequest, ctrs containerStore, final *State) bool {
	if final.Config == nil || !final.Config.RestartPolicy.wantsRestart(final) {
		return false
	}
	st, err := ctrs.update(req.ID, func(s *State) error {
		if s.Owner != os.Getpid() || s.Status != StatusExited || s.Restarting || s.ManuallyStopped {
			return errStale // started, stopped or restarted meanwhile
		}
		s.Restarting = true
		s.RestartCount++
		return nil
	})
	if err != nil {
		return false
	}
	// The delay ends early when a client stops, starts or removes the container.
	w := ctrs.watch(req.ID)
	defer w.Close()
	for deadline := time.Now().Add(restartDelay(final)); ; {
		now, err := ctrs.load(req.ID)
		if err != nil {
			return false // removed
		}
		if now.ManuallyStopped || now.Status != StatusExited || now.Owner != os.Getpid() {
			ctrs.update(req.ID, func(s *State) error {
				if s.Owner != os.Getpid() || s.Status != StatusExited {
					return errStale
				}
				s.Restarting = false
				return nil
			})
			return false
		}
		left := time.Until(deadline)
		if left <= 0 {
			break
		}
		w.Wait(context.Background(), left)
	}
	data, err := json.Marshal(req)
	if err != nil {
		return false
	}
	cmd := exec.Command("/proc/self/exe")
	cmd.Args = []string{"skiff-restart", shortID(req.ID)}
	cmd.Env = append([]string{monitorEnv + "=restart", policyRestartEnv + "=" + string(data), "PATH=" + os.Getenv("PATH")}, initBinaryEnv()...)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	cmd.Dir = "/"
	if err := cmd.Start(); err != nil {
		ctrs.update(st.ID, func(s *State) error { s.Restarting = false; return nil })
		return false
	}
	cmd.Process.Release()
	return true
}

// restartByPolicy is the main of the helper process a monitor starts for a restart
// policy: an engine on the monitor's root starts the container again, unless a
// client stopped, started or removed it during the delay. It returns the process's
// exit code.
func restartByPolicy() int {
	var req monitorRequest
	if err := json.Unmarshal([]byte(os.Getenv(policyRestartEnv)), &req); err != nil {
		return 1
	}
	if _, err := os.Stat(filepath.Join(req.Root, "containers", req.ID)); err != nil {
		return 1 // removed meanwhile: make no engine (it would make its root again)
	}
	e, err := New(WithRoot(req.Root), WithCgroupParent(req.CgroupParent), WithNetworkNames(req.Table, req.Bridge),
		WithLogger(slog.New(slog.DiscardHandler)))
	if err != nil {
		return 1
	}
	ctx := context.Background()
	c, err := e.load(req.ID)
	if err != nil {
		return 1 // removed meanwhile
	}
	if err := c.start(ctx, true); err != nil {
		e.ctrs.update(req.ID, func(s *State) error { s.Restarting = false; return nil })
		return 1
	}
	return 0
}
