package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"github.com/spf13/cobra"
	"golang.org/x/sys/unix"

	"github.com/skiffrt/skiff/cgroup"
	"github.com/skiffrt/skiff/internal/lockfile"
	"github.com/skiffrt/skiff/namespace"
)

// execOptions are the flags of exec.
type execOptions struct {
	process       string
	detach        bool
	pidFile       string
	consoleSocket string
	tty           bool
	cwd           string
	env           []string
	user          string
	noNewPrivs    bool
}

func newExecCommand(g *globalFlags) *cobra.Command {
	o := &execOptions{}
	cmd := &cobra.Command{
		Use:   "exec [flags] CONTAINER-ID [-- COMMAND [ARGS...]]",
		Short: "Run a process in a running container (--process: a runtime-spec process JSON)",
		Args:  cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			rest := args[1:]
			if len(rest) > 0 && rest[0] == "--" {
				rest = rest[1:]
			}
			return g.exec(cmd, args[0], rest, o)
		},
	}
	f := cmd.Flags()
	f.SetInterspersed(false)
	f.StringVarP(&o.process, "process", "p", "", "path to the process.json")
	f.BoolVarP(&o.detach, "detach", "d", false, "detach from the container's process")
	f.StringVar(&o.pidFile, "pid-file", "", "specify the file to write the process id to")
	f.StringVar(&o.consoleSocket, "console-socket", "", "path to an AF_UNIX socket which will receive the pty master")
	f.BoolVarP(&o.tty, "tty", "t", false, "allocate a pseudo-TTY")
	f.StringVar(&o.cwd, "cwd", "", "current working directory in the container")
	f.StringArrayVarP(&o.env, "env", "e", nil, "set environment variables")
	f.StringVarP(&o.user, "user", "u", "", "UID (format: <uid>[:<gid>])")
	f.BoolVar(&o.noNewPrivs, "no-new-privs", false, "set the no new privileges value for the process")
	return cmd
}

// execProcess builds the process to run: --process, or the container's process with
// args and the flags applied.
func execProcess(c *container, args []string, o *execOptions) (*specs.Process, error) {
	if o.process != "" {
		b, err := os.ReadFile(o.process)
		if err != nil {
			return nil, err
		}
		var p specs.Process
		if err := json.Unmarshal(b, &p); err != nil {
			return nil, fmt.Errorf("parse process %s: %w", o.process, err)
		}
		return &p, nil
	}
	if len(args) == 0 {
		return nil, errors.New("exec args cannot be empty")
	}
	p := *c.Spec.Process
	p.Args = args
	p.Terminal = o.tty
	p.Env = append(append([]string(nil), p.Env...), o.env...)
	if o.cwd != "" {
		p.Cwd = o.cwd
	}
	if o.noNewPrivs {
		p.NoNewPrivileges = true
	}
	if o.user != "" {
		uid, gid, _ := strings.Cut(o.user, ":")
		u, err := strconv.ParseUint(uid, 10, 32)
		if err != nil {
			return nil, fmt.Errorf("parsing %s as int for uid failed: %w", uid, err)
		}
		p.User = specs.User{UID: uint32(u)}
		if gid != "" {
			gv, err := strconv.ParseUint(gid, 10, 32)
			if err != nil {
				return nil, fmt.Errorf("parsing %s as int for gid failed: %w", gid, err)
			}
			p.User.GID = uint32(gv)
		}
	}
	return &p, nil
}

func (g *globalFlags) exec(cmd *cobra.Command, id string, args []string, o *execOptions) error {
	ctx := cmd.Context()
	c, l, err := g.load(ctx, id, lockfile.Shared)
	if err != nil {
		return err
	}
	switch st := c.status(); st {
	case statusRunning, statusCreated:
	case statusStopped:
		l.Unlock()
		return errors.New("cannot exec in a stopped container")
	default:
		l.Unlock()
		return fmt.Errorf("cannot exec in a %s state", st)
	}
	proc, err := execProcess(c, args, o)
	if err != nil {
		l.Unlock()
		return err
	}
	if proc.Terminal && o.detach && o.consoleSocket == "" {
		l.Unlock()
		return errors.New("cannot allocate tty if runc will detach without setting console socket")
	}
	if !proc.Terminal && o.consoleSocket != "" {
		l.Unlock()
		return errors.New("cannot use console socket if runc will not detach or allocate tty")
	}
	ec := &namespace.ExecConfig{Process: proc, Stdin: os.Stdin, Stdout: os.Stdout, Stderr: os.Stderr}
	if proc.Terminal && o.consoleSocket != "" {
		ec.Stdin, ec.Stdout, ec.Stderr = nil, nil, nil
	}
	if c.Spec.Linux != nil {
		ec.Seccomp = c.Spec.Linux.Seccomp
	}
	if cg := c.cgroup(); cg != nil {
		if cgroup.DetectMode() == cgroup.Unified {
			d, err := os.Open(filepath.Join(cgroup.UnifiedMountpoint, cg.Path()))
			if err != nil {
				l.Unlock()
				return err
			}
			defer d.Close()
			ec.CgroupFD = int(d.Fd())
		} else {
			ec.BeforeFork = cg.AddThread
		}
	}
	p, err := namespace.Exec(ctx, c.Pid, ec)
	l.Unlock()
	if err != nil {
		return err
	}
	if o.consoleSocket != "" {
		if err := sendConsole(o.consoleSocket, p.Console()); err != nil {
			_ = p.Signal(unix.SIGKILL)
			return err
		}
		p.Console().Close()
	}
	if o.pidFile != "" {
		if err := writePidFile(o.pidFile, p.Pid); err != nil {
			_ = p.Signal(unix.SIGKILL)
			return err
		}
	}
	if o.detach {
		return nil
	}
	sigs := make(chan os.Signal, 8)
	signal.Notify(sigs, unix.SIGTERM, unix.SIGINT, unix.SIGHUP, unix.SIGQUIT, unix.SIGUSR1, unix.SIGUSR2)
	defer signal.Stop(sigs)
	go func() {
		for s := range sigs {
			_ = p.Signal(s.(syscall.Signal))
		}
	}()
	st, err := p.Wait()
	if err != nil {
		return err
	}
	return exitError{st.Code}
}
