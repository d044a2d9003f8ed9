package skiff

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
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
func (c *Container) restartLocked(ctx context.Context) error {
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
	plan := &netPlan{mode: st.Network, dir: dir, id: st.ID, name: st.Name, host: st.Hostname, aliases: st.Aliases, ports: st.Ports, extra: extra}
	pid, owner, err := e.spawnMonitor(ctx, st.ID, st.AutoRemove, func(pid int) error {
		if err := cg.AddProc(pid); err != nil {
			return err
		}
		return e.attachNetwork(ctx, plan, pid)
	})
	if err != nil {
		e.detachNetwork(context.WithoutCancel(ctx), st.ID)
		return fail(err)
	}
	c.proc = nil
	if _, err := e.ctrs.update(st.ID, func(s *State) error {
		s.Status, s.Pid, s.Owner, s.Detached, s.Restarting = StatusCreated, pid, owner, true, false
		s.ExitCode, s.OOMKilled, s.Finished = 0, false, time.Time{}
		return nil
	}); err != nil {
		cg.Kill()
		return fail(err)
	}
	if err := e.publishPorts(ctx, st); err != nil {
		cg.Kill()
		return fail(err)
	}
	released := time.Now().UTC()
	if err := namespace.Load(pid, dir).Start(); err != nil {
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
