package main

import (
	"fmt"
	"strings"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/spf13/cobra"

	"github.com/skiffrt/skiff/registry"
)

func init() { commands = append(commands, newPullCommand) }

func newPullCommand(g *globalFlags) *cobra.Command {
	var platform string
	var quiet bool
	cmd := &cobra.Command{
		Use:   "pull [OPTIONS] NAME[:TAG|@DIGEST]",
		Short: "Download an image from a registry",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			e, err := g.engine()
			if err != nil {
				return err
			}
			var opts []registry.Option
			if platform != "" {
				p, err := v1.ParsePlatform(platform)
				if err != nil {
					return fmt.Errorf("invalid platform %q: %w", platform, err)
				}
				opts = append(opts, registry.WithPlatform(*p))
			}
			out := cmd.OutOrStdout()
			done := func() {}
			if !quiet {
				if norm, err := registry.Normalize(args[0]); err == nil {
					repo, tag := splitRef(norm)
					fmt.Fprintf(out, "%s: Pulling from %s\n", tag, strings.TrimPrefix(repo, "docker.io/"))
				}
				pr := newProgress(cmd.Context(), out, false)
				opts = append(opts, registry.WithProgress(pr.update))
				defer pr.done()
				done = pr.done
			}
			img, err := e.Pull(cmd.Context(), args[0], opts...)
			done()
			if err != nil {
				return err
			}
			if !quiet {
				fmt.Fprintf(out, "Digest: %s\nStatus: Downloaded image for %s\n", img.Digest, img.Name)
			}
			fmt.Fprintln(out, img.Name)
			return nil
		},
	}
	cmd.Flags().StringVar(&platform, "platform", "", "pull this platform of a multi-platform image (os/arch[/variant], e.g. linux/arm64)")
	cmd.Flags().BoolVarP(&quiet, "quiet", "q", false, "suppress verbose output")
	return cmd
}
