package main

import (
	"fmt"

	"github.com/spf13/cobra"

	"github.com/skiffrt/skiff/registry"
)

func init() { commands = append(commands, newPushCommand) }

func newPushCommand(g *globalFlags) *cobra.Command {
	var quiet bool
	cmd := &cobra.Command{
		Use:   "push [OPTIONS] NAME[:TAG]",
		Short: "Upload an image to a registry",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			e, err := g.engine()
			if err != nil {
				return err
			}
			norm, err := registry.Normalize(args[0])
			if err != nil {
				return err
			}
			repo, tag := splitRef(norm)
			out := cmd.OutOrStdout()
			done := func() {}
			var opts []registry.Option
			if !quiet {
				fmt.Fprintf(out, "The push refers to repository [%s]\n", repo)
				pr := newProgress(cmd.Context(), out, true)
				opts = append(opts, registry.WithProgress(pr.update))
				defer pr.done()
				done = pr.done
			}
			dig, err := e.Push(cmd.Context(), args[0], opts...)
			done()
			if err != nil {
				return err
			}
			if quiet {
				fmt.Fprintln(out, norm)
			} else {
				fmt.Fprintf(out, "%s: digest: %s\n", tag, dig)
			}
			return nil
		},
	}
	cmd.Flags().BoolVarP(&quiet, "quiet", "q", false, "suppress verbose output")
	return cmd
}
