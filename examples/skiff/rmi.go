package main

import (
	"context"
	"fmt"

	"github.com/spf13/cobra"

	"github.com/skiffrt/skiff"
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
			return eachName(cmd, args, true, func(ctx context.Context, ref string) error {
				rm, err := e.RemoveImage(ctx, ref, skiff.RemoveImageOptions{Force: force})
				if rm != nil {
					for _, n := range rm.Untagged {
						fmt.Fprintf(cmd.OutOrStdout(), "Untagged: %s\n", n)
					}
					for _, d := range rm.Deleted {
						fmt.Fprintf(cmd.OutOrStdout(), "Deleted: %s\n", d)
					}
				}
				return err
			})
		},
	}
	cmd.Flags().BoolVarP(&force, "force", "f", false, "force removal of the image")
	return cmd
}
