package main

import (
	"context"

	"github.com/spf13/cobra"

	"github.com/skiffrt/skiff"
)

func init() { commands = append(commands, newRmCommand) }

func newRmCommand(g *globalFlags) *cobra.Command {
	var force, volumes bool
	cmd := &cobra.Command{
		Use:   "rm [OPTIONS] CONTAINER [CONTAINER...]",
		Short: "Remove one or more containers",
		Args:  cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return eachContainer(cmd, g, args, false, func(ctx context.Context, c *skiff.Container) error {
				var opts []skiff.DeleteOption
				if force {
					opts = append(opts, skiff.WithForce())
				}
				if volumes {
					opts = append(opts, skiff.WithVolumes())
				}
				return c.Delete(ctx, opts...)
			})
		},
	}
	cmd.Flags().BoolVarP(&force, "force", "f", false, "force the removal of a running container (uses SIGKILL)")
	cmd.Flags().BoolVarP(&volumes, "volumes", "v", false, "remove anonymous volumes associated with the container")
	return cmd
}
