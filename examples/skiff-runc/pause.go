package main

import (
	"errors"
	"fmt"

	"github.com/spf13/cobra"

	"github.com/skiffrt/skiff/internal/lockfile"
)

func newPauseCommand(g *globalFlags) *cobra.Command {
	return &cobra.Command{
		Use:   "pause CONTAINER-ID",
		Short: "Freeze all processes of a running container (cgroup freezer)",
		Args:  cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, l, err := g.load(cmd.Context(), firstArg(args), lockfile.Exclusive)
			if err != nil {
				return err
			}
			defer l.Unlock()
			if st := c.status(); st != statusRunning {
				return fmt.Errorf("container not running: %s", st)
			}
			cg := c.cgroup()
			if cg == nil {
				return errors.New("container has no cgroup to freeze")
			}
			return cg.Freeze(cmd.Context())
		},
	}
}

func newResumeCommand(g *globalFlags) *cobra.Command {
	return &cobra.Command{
		Use:   "resume CONTAINER-ID",
		Short: "Thaw a paused container",
		Args:  cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, l, err := g.load(cmd.Context(), firstArg(args), lockfile.Exclusive)
			if err != nil {
				return err
			}
			defer l.Unlock()
			if st := c.status(); st != statusPaused {
				return fmt.Errorf("container not paused")
			}
			return c.cgroup().Thaw(cmd.Context())
		},
	}
}
