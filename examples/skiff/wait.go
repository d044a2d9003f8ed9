package main

import (
	"context"
	"fmt"

	"github.com/spf13/cobra"

	"github.com/skiffrt/skiff"
)

func init() { commands = append(commands, newWaitCommand) }

func newWaitCommand(g *globalFlags) *cobra.Command {
	return &cobra.Command{
		Use:   "wait CONTAINER [CONTAINER...]",
		Short: "Block until one or more containers stop, then print their exit codes",
		Args:  cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return eachContainer(cmd, g, args, true, func(ctx context.Context, c *skiff.Container) error {
				st, err := c.Wait(ctx)
				if err != nil {
					return err
				}
				fmt.Fprintln(cmd.OutOrStdout(), st.Code)
				return nil
			})
		},
	}
}
