package main

import (
	"errors"
	"fmt"
	"os"
	"os/signal"
	"sync/atomic"
	"syscall"

	"github.com/spf13/cobra"
	"golang.org/x/term"

	"github.com/skiffrt/skiff"
)

func init() { commands = append(commands, newExecCommand) }

func newExecCommand(g *globalFlags) *cobra.Command {
	var interactive, tty, detach bool
	var env []string
	var user, workdir string
	cmd := &cobra.Command{
		Use:   "exec [OPTIONS] CONTAINER COMMAND [ARG...]",
		Short: "Execute a command in a running container",
		Args:  cobra.MinimumNArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			if interactive && tty && !detach && !term.IsTerminal(int(os.Stdin.Fd())) {
				cmd.PrintErrln("the input device is not a TTY")
				return exitError{1}
			}
			c, err := oneContainer(cmd, g, args[0])
			if err != nil {
				return err
			}
			ctx := cmd.Context()
			cfg := skiff.ExecConfig{Cmd: args[1:], Env: hostEnv(env), User: user, WorkingDir: workdir}
			var size *skiff.TerminalSize // nil: no terminal
			if tty {
				size = &skiff.TerminalSize{}
				if w, h, err := term.GetSize(int(os.Stdout.Fd())); err == nil {
					size = &skiff.TerminalSize{Rows: uint16(h), Cols: uint16(w)}
				}
			}
			if !detach {
				cfg.Stdout, cfg.Stderr = os.Stdout, os.Stderr
				if interactive {
					cfg.Stdin = os.Stdin
				}
			}
			var restore func()
			if tty && !detach {
				// Raw mode before the process starts, so that nothing typed is echoed
				// twice; the size follows once the terminal exists.
				var proc atomic.Pointer[skiff.ExecProcess]
				restore = attachTerminal(interactive, func(rows, cols uint16) error {
					if p := proc.Load(); p != nil {
						return p.Resize(rows, cols)
					}
					return nil
				})
				defer restore()
				p, err := c.Exec(ctx, withTerminal(cfg, size))
				if err != nil {
					return execError(cmd, err)
				}
				proc.Store(p)
				return exitStatus(p.Wait())
			}
			p, err := c.Exec(ctx, withTerminal(cfg, size))
			if err != nil {
				return execError(cmd, err)
			}
			if detach {
				return nil
			}
			sigs := make(chan os.Signal, 4)
			signal.Notify(sigs, syscall.SIGINT, syscall.SIGTERM, syscall.SIGHUP, syscall.SIGQUIT)
			defer signal.Stop(sigs)
			go func() {
				for s := range sigs {
					p.Signal(s)
				}
			}()
			return exitStatus(p.Wait())
		},
	}
	fl := cmd.Flags()
	fl.SetInterspersed(false)
	fl.BoolVarP(&interactive, "interactive", "i", false, "keep STDIN open")
	fl.BoolVarP(&tty, "tty", "t", false, "allocate a pseudo-TTY")
	fl.BoolVarP(&detach, "detach", "d", false, "detached mode: run command in the background")
	fl.StringArrayVarP(&env, "env", "e", nil, "set environment variables")
	fl.StringVarP(&user, "user", "u", "", "username or UID (format: <name|uid>[:<group|gid>])")
	fl.StringVarP(&workdir, "workdir", "w", "", "working directory inside the container")
	return cmd
}

// execError maps an Exec failure to docker's exit statuses: 126 when the command
// cannot be run (missing or not executable, as docker exec reports both), 1 for a
// container that is not running and other daemon errors.
func execError(cmd *cobra.Command, err error) error {
	if errors.Is(err, skiff.ErrCommandNotFound) || errors.Is(err, skiff.ErrCommandNotExecutable) {
		cmd.PrintErrf("OCI runtime exec failed: %v\n", err)
		return exitError{126}
	}
	cmd.PrintErrln(daemonError("", err))
	return exitError{1}
}

func exitStatus(code int, err error) error {
	if err != nil {
		return fmt.Errorf("wait for exec: %w", err)
	}
	if code != 0 {
		return exitError{code}
	}
	return nil
}

func withTerminal(cfg skiff.ExecConfig, size *skiff.TerminalSize) skiff.ExecConfig {
	cfg.Terminal = size
	return cfg
}
