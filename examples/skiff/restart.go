package main

import (
	"context"
	"fmt"
	"time"

	"github.com/spf13/cobra"

	"github.com/skiffrt/skiff"
)

func init() { commands = append(commands, newRestartCommand) }

// restarter is the library's restart step, when it has one: a stopped container's
// process started again on the same root filesystem.
type restarter interface {
	Restart(ctx context.Context, timeout time.Duration) error
}

func newRestartCommand(g *globalFlags) *cobra.Command {
	var timeout int
	cmd := &cobra.Command{
		Use:   "restart [OPTIONS] CONTAINER [CONTAINER...]",
		Short: "Restart one or more containers",
		Args:  cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			d := time.Duration(timeout) * time.Second
			return eachContainer(cmd, g, args, false, func(ctx context.Context, c *skiff.Container) error {
				if r, ok := any(c).(restarter); ok {
					return r.Restart(ctx, d)
				}
				if err := c.Stop(ctx, d); err != nil {
					return err
				}
				if err := c.Start(ctx); err != nil {
					return fmt.Errorf("stopped, but cannot start again: %w", err)
				}
				return nil
			})
		},
	}
	cmd.Flags().IntVarP(&timeout, "time", "t", 10, "seconds to wait before killing the container")
	return cmd
}
