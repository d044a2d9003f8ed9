package main

import (
	"fmt"

	"github.com/spf13/cobra"

	"github.com/skiffrt/skiff"
)

func init() { commands = append(commands, newRmCommand) }

func newRmCommand(g *globalFlags) *cobra.Command {
	var force bool
	cmd := &cobra.Command{
		Use:   "rm [OPTIONS] CONTAINER [CONTAINER...]",
		Short: "Remove one or more containers",
		Args:  cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			e, err := g.engine()
			if err != nil {
				return err
			}
			var failed error
			for _, ref := range args {
				c, err := e.Container(cmd.Context(), ref)
				if err == nil {
					var opts []skiff.DeleteOption
					if force {
						opts = append(opts, skiff.WithForce())
					}
					err = c.Delete(cmd.Context(), opts...)
				}
				if err != nil {
					cmd.PrintErrf("Error response from daemon: %v\n", err)
					failed = exitError{1}
					continue
				}
				fmt.Fprintln(cmd.OutOrStdout(), ref)
			}
			return failed
		},
	}
	cmd.Flags().BoolVarP(&force, "force", "f", false, "force the removal of a running container (uses SIGKILL)")
	return cmd
}
