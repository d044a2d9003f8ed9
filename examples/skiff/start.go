package main

import (
	"context"
	"os"

	"github.com/spf13/cobra"

	"github.com/skiffrt/skiff"
)

func init() { commands = append(commands, newStartCommand) }

func newStartCommand(g *globalFlags) *cobra.Command {
	var attach bool
	cmd := &cobra.Command{
		Use:   "start [OPTIONS] CONTAINER [CONTAINER...]",
		Short: "Start one or more stopped containers",
		Args:  cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if attach && len(args) > 1 {
				cmd.PrintErrln("you cannot start and attach multiple containers at once")
				return exitError{1}
			}
			return eachContainer(cmd, g, args, attach, func(ctx context.Context, c *skiff.Container) error {
				if err := c.Start(ctx); err != nil {
					return err
				}
				if !attach {
					return nil
				}
				// Attached: the container's output as it is logged, then its exit status.
				if err := c.Logs(ctx, skiff.LogOptions{Follow: true, Tail: -1}, os.Stdout, os.Stderr); err != nil {
					return err
				}
				return waitExit(ctx, c)
			})
		},
	}
	cmd.Flags().BoolVarP(&attach, "attach", "a", false, "attach STDOUT/STDERR and forward signals")
	return cmd
}
