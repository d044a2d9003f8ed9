package main

import (
	"fmt"

	"github.com/spf13/cobra"
)

func init() { commands = append(commands, newDiffCommand) }

func newDiffCommand(g *globalFlags) *cobra.Command {
	return &cobra.Command{
		Use:   "diff CONTAINER",
		Short: "Inspect changes to files or directories on a container's filesystem",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := oneContainer(cmd, g, args[0])
			if err != nil {
				return err
			}
			changes, err := c.Changes(cmd.Context())
			if err != nil {
				return err
			}
			for _, ch := range changes {
				fmt.Fprintf(cmd.OutOrStdout(), "%s %s\n", ch.Kind, ch.Path)
			}
			return nil
		},
	}
}
