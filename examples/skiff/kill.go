package main

import (
	"context"

	"github.com/spf13/cobra"

	"github.com/skiffrt/skiff"
)

func init() { commands = append(commands, newKillCommand) }

func newKillCommand(g *globalFlags) *cobra.Command {
	var sig string
	cmd := &cobra.Command{
		Use:   "kill [OPTIONS] CONTAINER [CONTAINER...]",
		Short: "Kill one or more running containers",
		Args:  cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			s, err := skiff.ParseSignal(sig)
			if err != nil {
				cmd.PrintErrln(daemonError("", err))
				return exitError{1}
			}
			return eachContainer(cmd, g, args, false, func(ctx context.Context, c *skiff.Container) error {
				return c.Kill(ctx, s)
			})
		},
	}
	cmd.Flags().StringVarP(&sig, "signal", "s", "KILL", "signal to send to the container")
	return cmd
}
