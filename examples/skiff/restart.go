package main

import (
	"context"
	"time"

	"github.com/spf13/cobra"

	"github.com/skiffrt/skiff"
)

func init() { commands = append(commands, newRestartCommand) }

func newRestartCommand(g *globalFlags) *cobra.Command {
	var timeout int
	cmd := &cobra.Command{
		Use:   "restart [OPTIONS] CONTAINER [CONTAINER...]",
		Short: "Restart one or more containers",
		Args:  cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			d := skiff.ConfigStopTimeout // the container's --stop-timeout, 10 s by default
			if cmd.Flags().Changed("time") {
				d = time.Duration(timeout) * time.Second
			}
			return eachContainer(cmd, g, args, false, func(ctx context.Context, c *skiff.Container) error {
				return c.Restart(ctx, d)
			})
		},
	}
	cmd.Flags().IntVarP(&timeout, "time", "t", 0, "seconds to wait before killing the container (default: the container's --stop-timeout, else 10)")
	return cmd
}
