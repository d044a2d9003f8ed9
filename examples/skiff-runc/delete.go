package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"

	"github.com/spf13/cobra"
	"golang.org/x/sys/unix"

	"github.com/skiffrt/skiff/internal/lockfile"
	"github.com/skiffrt/skiff/namespace"
)

func newDeleteCommand(g *globalFlags) *cobra.Command {
	var force bool
	cmd := &cobra.Command{
		Use:   "delete [--force] CONTAINER-ID",
		Short: "Delete a stopped (or created) container's state and cgroup; --force kills a running one",
		Args:  cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return g.deleteContainer(cmd.Context(), firstArg(args), force)
		},
	}
	cmd.Flags().BoolVarP(&force, "force", "f", false, "forcibly delete the container if it is still running (SIGKILL)")
	return cmd
}

func (g *globalFlags) deleteContainer(ctx context.Context, id string, force bool) error {
	c, l, err := g.load(ctx, id, lockfile.Exclusive)
	if errors.Is(err, errNotExist) {
		// A create that died before writing its state leaves only the directory.
		if dir, derr := g.containerDir(id); derr == nil {
			_ = os.RemoveAll(dir)
		}
		if force {
			return nil
		}
	}
	if err != nil {
		return err
	}
	defer l.Unlock()
	st := c.status()
	if (st == statusRunning || st == statusPaused) && !force {
		return fmt.Errorf("cannot delete container %s that is not stopped: %s", id, st)
	}
	cg := c.cgroup()
	if st != statusStopped {
		pidfd, perr := unix.PidfdOpen(c.Pid, 0)
		if cg != nil {
			if err := cg.Kill(); err != nil {
				slog.Warn("kill container processes", "id", id, "err", err)
			}
		}
		_ = unix.Kill(c.Pid, unix.SIGKILL)
		if perr == nil {
			// Readable once the init exited (its parent, the subreaper, reaps it).
			pfd := []unix.PollFd{{Fd: int32(pidfd), Events: unix.POLLIN}}
			for {
				if _, err := unix.Poll(pfd, 5000); err != unix.EINTR {
					break
				}
			}
			unix.Close(pidfd)
		}
	} else if cg != nil {
		// Without a pid namespace the init's children outlive it.
		_ = cg.Kill()
	}
	if c.Spec.Hooks != nil {
		s := c.ociState()
		s.Status = statusStopped
		if err := runHooks(ctx, "poststop", c.Spec.Hooks.Poststop, s); err != nil {
			slog.Warn("poststop hook failed", "id", id, "err", err)
		}
	}
	if err := namespace.UnmountRootfs(c.Rootfs, c.RootfsMount); err != nil {
		return err
	}
	if cg != nil {
		if err := cg.Delete(); err != nil {
			return err
		}
	}
	return os.RemoveAll(c.dir)
}
