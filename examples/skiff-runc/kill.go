package main

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/moby/sys/signal"
	"github.com/spf13/cobra"
	"golang.org/x/sys/unix"

	"github.com/skiffrt/skiff/internal/lockfile"
)

func newKillCommand(g *globalFlags) *cobra.Command {
	var all bool
	cmd := &cobra.Command{
		Use:   "kill [--all] CONTAINER-ID [SIGNAL]",
		Short: "Send a signal (default SIGTERM) to a container's init, or with --all to all its processes",
		Args:  cobra.RangeArgs(1, 2),
		RunE: func(cmd *cobra.Command, args []string) error {
			sigName := "SIGTERM"
			if len(args) == 2 {
				sigName = args[1]
			}
			sig, err := parseSignal(sigName)
			if err != nil {
				return err
			}
			return g.kill(cmd.Context(), args[0], sig, all)
		},
	}
	cmd.Flags().BoolVarP(&all, "all", "a", false, "send the signal to all processes in the container")
	return cmd
}

// parseSignal accepts 9, KILL and SIGKILL.
func parseSignal(s string) (syscall.Signal, error) {
	if n, err := strconv.Atoi(s); err == nil {
		if n <= 0 || n > 64 {
			return 0, fmt.Errorf("unknown signal %q", s)
		}
		return syscall.Signal(n), nil
	}
	sig, ok := signal.SignalMap[strings.TrimPrefix(strings.ToUpper(s), "SIG")]
	if !ok {
		return 0, fmt.Errorf("unknown signal %q", s)
	}
	return sig, nil
}

func (g *globalFlags) kill(ctx context.Context, id string, sig syscall.Signal, all bool) error {
	c, l, err := g.load(ctx, id, lockfile.Shared)
	if err != nil {
		return err
	}
	defer l.Unlock()
	st := c.status()
	if st == statusStopped && !all {
		return errNotRunning
	}
	if all {
		cg := c.cgroup()
		if cg == nil {
			if st == statusStopped {
				return errNotRunning
			}
			return unix.Kill(c.Pid, sig)
		}
		if sig == unix.SIGKILL {
			return cg.Kill()
		}
		pids, err := cg.Procs()
		if err != nil {
			return err
		}
		for _, pid := range pids {
			if err := unix.Kill(pid, sig); err != nil && !errors.Is(err, unix.ESRCH) {
				return fmt.Errorf("kill pid %d: %w", pid, err)
			}
		}
		if st == statusPaused && sig != unix.SIGSTOP {
			// A frozen task gets the signal once thawed, as runc does for SIGKILL.
			tctx, cancel := context.WithTimeout(ctx, 5*time.Second)
			defer cancel()
			return cg.Thaw(tctx)
		}
		return nil
	}
	if err := unix.Kill(c.Pid, sig); err != nil {
		if errors.Is(err, unix.ESRCH) {
			return errNotRunning
		}
		return fmt.Errorf("kill pid %d: %w", c.Pid, err)
	}
	return nil
}
