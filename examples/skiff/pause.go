package main

import (
	"context"

	"github.com/spf13/cobra"

	"github.com/skiffrt/skiff"
)

func init() { commands = append(commands, newPauseCommand, newUnpauseCommand) }

func newPauseCommand(g *globalFlags) *cobra.Command {
	return &cobra.Command{
		Use:   "pause CONTAINER [CONTAINER...]",
		Short: "Pause all processes within one or more containers",
		Args:  cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return eachContainer(cmd, g, args, false, func(ctx context.Context, c *skiff.Container) error {
				return c.Pause(ctx)
			})
		},
	}
}

func newUnpauseCommand(g *globalFlags) *cobra.Command {
	return &cobra.Command{
		Use:   "unpause CONTAINER [CONTAINER...]",
		Short: "Unpause all processes within one or more containers",
		Args:  cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return eachContainer(cmd, g, args, false, func(ctx context.Context, c *skiff.Container) error {
				return c.Resume(ctx)
			})
		},
	}
}
