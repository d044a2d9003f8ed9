package main

import (
	"fmt"

	"github.com/spf13/cobra"
)

func init() { commands = append(commands, newPullCommand) }

func newPullCommand(g *globalFlags) *cobra.Command {
	return &cobra.Command{
		Use:   "pull REF",
		Short: "Download an image from a registry",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			e, err := g.engine()
			if err != nil {
				return err
			}
			img, err := e.Pull(cmd.Context(), args[0])
			if err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "Digest: %s\nStatus: Downloaded image for %s\n%s\n", img.Digest, img.Name, img.Name)
			return nil
		},
	}
}
