package main

import (
	"fmt"

	"github.com/spf13/cobra"
)

func init() { commands = append(commands, newRmiCommand) }

func newRmiCommand(g *globalFlags) *cobra.Command {
	var force bool
	cmd := &cobra.Command{
		Use:   "rmi [OPTIONS] IMAGE [IMAGE...]",
		Short: "Remove one or more images",
		Args:  cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			e, err := g.engine()
			if err != nil {
				return err
			}
			var failed error
			for _, ref := range args {
				rm, err := e.RemoveImage(cmd.Context(), ref, force)
				if rm != nil {
					for _, n := range rm.Untagged {
						fmt.Fprintf(cmd.OutOrStdout(), "Untagged: %s\n", n)
					}
					for _, d := range rm.Deleted {
						fmt.Fprintf(cmd.OutOrStdout(), "Deleted: %s\n", d)
					}
				}
				if err != nil {
					cmd.PrintErrf("Error response from daemon: %v\n", err)
					failed = exitError{1}
				}
			}
			return failed
		},
	}
	cmd.Flags().BoolVarP(&force, "force", "f", false, "force removal of the image")
	return cmd
}
