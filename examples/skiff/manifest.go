package main

import (
	"fmt"

	"github.com/spf13/cobra"
)

func init() { commands = append(commands, newManifestCommand) }

// newManifestCommand: multi-platform images (docker manifest / buildx imagetools).
func newManifestCommand(g *globalFlags) *cobra.Command {
	cmd := &cobra.Command{Use: "manifest", Short: "Manage multi-platform images"}
	push := &cobra.Command{
		Use:   "push TARGET SOURCE [SOURCE...]",
		Short: "Push local images of different platforms as one multi-platform image",
		Long: "Push the local images SOURCE (one per platform, e.g. app:amd64 app:arm64) and an image\n" +
			"index naming them under TARGET; pulling TARGET then picks the puller's platform.",
		Args: cobra.MinimumNArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			e, err := g.engine()
			if err != nil {
				return err
			}
			d, err := e.PushIndex(cmd.Context(), args[0], args[1:])
			if err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "%s: digest: %s\n", args[0], d)
			return nil
		},
	}
	cmd.AddCommand(push)
	return cmd
}
