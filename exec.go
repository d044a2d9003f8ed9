package skiff

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"

	specs "github.com/opencontainers/runtime-spec/specs-go"

	"github.com/skiffrt/skiff/namespace"
)

// ExecConfig describes a process to start in a running container (docker exec).
type ExecConfig struct {
	// Cmd is the command and its arguments; Cmd[0] is looked up in the container's PATH.
	Cmd []string
	// Env entries are added to the container's environment, replacing the same keys.
	Env []string
	// User as in ContainerConfig. Default: the container's user.
	User string
	// WorkingDir. Default: the container's working directory.
	WorkingDir string
	// Terminal, when non-nil, gives the process a pseudo-terminal of that size (zero:
	// the kernel's default) whose master is copied to and from Stdout and Stdin, or is
	// read and written through ExecProcess.Console when they are nil (docker exec -t).
	// Nil means no terminal, even in a container created with Tty.
	Terminal *TerminalSize
	// Stdin, Stdout and Stderr connect the process's streams; nil means /dev/null.
	Stdin          io.Reader
	Stdout, Stderr io.Writer
}

// TerminalSize is the size of a pseudo-terminal, in characters.
type TerminalSize struct{ Rows, Cols uint16 }

// ExecProcess is a process started by Container.Exec.
type ExecProcess struct {
	proc *namespace.Process
	// died records the exec_die event once the process is waited for.
	died     func(code int)
	diedOnce sync.Once
}

// Pid returns the process's host pid.
func (p *ExecProcess) Pid() int { return p.proc.Pid }

// Console returns the master of the process's pseudo-terminal (ExecConfig.Terminal),
// or nil.
func (p *ExecProcess) Console() *os.File { return p.proc.Console() }

// Signal sends sig to the process.
func (p *ExecProcess) Signal(sig os.Signal) error { return p.proc.Signal(sig) }

// Wait waits for the process to exit and returns its exit code (128+N when killed by
// signal N).
func (p *ExecProcess) Wait() (int, error) {
	ws, err := p.proc.Wait()
	if p.died != nil && err == nil {
		p.diedOnce.Do(func() { p.died(ws.Code) })
	}
	return ws.Code, err
}

// Exec starts a new process inside the running container: in its namespaces (it sees
// the container's root filesystem, processes, hostname and network) and its cgroup,
// with its environment, user, capabilities and working directory unless cfg says
// otherwise.
func (c *Container) Exec(ctx context.Context, cfg ExecConfig) (*ExecProcess, error) {
	st := c.State()
	if st.Status != StatusRunning {
		return nil, &StateError{ID: st.ID, Op: "exec in", From: st.Status, Want: string(StatusRunning)}
	}
	if len(cfg.Cmd) == 0 {
		return nil, fmt.Errorf("exec in container %s: %w", shortID(st.ID), ErrNoCommand)
	}
	spec, err := c.e.ctrs.loadProcessSpec(st.ID)
	if err != nil {
		return nil, err
	}
	proc := *spec.Process
	proc.Args = slices.Clone(cfg.Cmd)
	proc.Env = mergeEnv(spec.Process.Env, cfg.Env)
	proc.Terminal = cfg.Terminal != nil
	proc.ConsoleSize = nil
	if t := cfg.Terminal; t != nil && t.Rows > 0 && t.Cols > 0 {
		proc.ConsoleSize = &specs.Box{Height: uint(t.Rows), Width: uint(t.Cols)}
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
	ec := &namespace.ExecConfig{
		Process: &proc,
		Seccomp: seccomp,
		Stdin:   cfg.Stdin,
		Stdout:  cfg.Stdout,
		Stderr:  cfg.Stderr,
	}
	if c.cg != nil {
		ec.BeforeFork = c.cg.AddThread
	}
	p, err := namespace.Exec(ctx, st.Pid, ec)
	if err != nil {
		err = commandError(err)
		return nil, fmt.Errorf("exec in container %s: %w", shortID(st.ID), err)
	}
	cmd := strings.Join(cfg.Cmd, " ")
	c.e.emit(EventContainer, "exec_create: "+cmd, st.ID, containerEventAttrs(&st, "execID", strconv.Itoa(p.Pid)))
	c.e.emit(EventContainer, "exec_start: "+cmd, st.ID, containerEventAttrs(&st, "execID", strconv.Itoa(p.Pid)))
	died := func(code int) {
		c.e.emit(EventContainer, "exec_die", st.ID, containerEventAttrs(&st, "execID", strconv.Itoa(p.Pid), "exitCode", strconv.Itoa(code)))
	}
	return &ExecProcess{proc: p, died: died}, nil
}

// loadSpec reads a container's OCI runtime spec (config.json).
func (e *Engine) loadSpec(id string) (*specs.Spec, error) { return e.ctrs.loadSpec(id) }

// Resize sets the size of the terminal of a process started with a terminal.
func (p *ExecProcess) Resize(rows, cols uint16) error { return p.proc.Resize(rows, cols) }
