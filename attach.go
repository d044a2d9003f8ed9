package skiff

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"slices"
	"strconv"

	specs "github.com/opencontainers/runtime-spec/specs-go"

	"github.com/skiffrt/skiff/namespace"
)

// TerminalSize is the size of a pseudo-terminal, in characters.
type TerminalSize struct{ Rows, Cols uint16 }

// ExecTerminal is Exec with an explicit choice of terminal (docker exec -t): with a
// non-nil size the process gets a pseudo-terminal of that size, whose master is copied
// to and from cfg.Stdout and cfg.Stdin (resize it with ExecProcess.Resize); with nil
// it gets none, even in a container created with Tty (Exec copies the container's
// choice).
func (c *Container) ExecTerminal(ctx context.Context, cfg ExecConfig, size *TerminalSize) (*ExecProcess, error) {
	st := c.State()
	if st.Status != StatusRunning {
		return nil, &StateError{ID: st.ID, Op: "exec in", From: st.Status, Want: string(StatusRunning)}
	}
	if len(cfg.Cmd) == 0 {
		return nil, fmt.Errorf("exec in container %s: %w", shortID(st.ID), ErrNoCommand)
	}
	spec, err := c.e.loadSpec(st.ID)
	if err != nil {
		return nil, err
	}
	proc := *spec.Process
	proc.Args = slices.Clone(cfg.Cmd)
	proc.Env = mergeEnv(spec.Process.Env, cfg.Env)
	proc.Terminal = size != nil
	proc.ConsoleSize = nil
	if size != nil && size.Rows > 0 && size.Cols > 0 {
		proc.ConsoleSize = &specs.Box{Height: uint(size.Rows), Width: uint(size.Cols)}
	}
	if cfg.WorkingDir != "" {
		proc.Cwd = cfg.WorkingDir
	}
	if cfg.User != "" {
		u, err := resolveUser(filepath.Join("/proc", strconv.Itoa(st.Pid), "root"), cfg.User)
		if err != nil {
			return nil, fmt.Errorf("exec in container %s: %w", shortID(st.ID), err)
		}
		gids := make([]uint32, 0, len(u.Sgids))
		for _, g := range u.Sgids {
			gids = append(gids, uint32(g))
		}
		proc.User = specs.User{UID: uint32(u.Uid), GID: uint32(u.Gid), AdditionalGids: gids}
	}
	var seccomp *specs.LinuxSeccomp
	if spec.Linux != nil {
		seccomp = spec.Linux.Seccomp
	}
	ec := &namespace.ExecConfig{Process: &proc, Seccomp: seccomp, Stdin: cfg.Stdin, Stdout: cfg.Stdout, Stderr: cfg.Stderr}
	if c.cg != nil {
		ec.BeforeFork = c.cg.AddThread
	}
	p, err := namespace.Exec(ctx, st.Pid, ec)
	if err != nil {
		switch {
		case errors.Is(err, namespace.ErrNotFound):
			err = fmt.Errorf("%w: %w", ErrCommandNotFound, err)
		case errors.Is(err, namespace.ErrNotExecutable):
			err = fmt.Errorf("%w: %w", ErrCommandNotExecutable, err)
		}
		return nil, fmt.Errorf("exec in container %s: %w", shortID(st.ID), err)
	}
	return &ExecProcess{proc: p}, nil
}

// Resize sets the size of the terminal of a process started with a terminal.
func (p *ExecProcess) Resize(rows, cols uint16) error { return p.proc.Resize(rows, cols) }
