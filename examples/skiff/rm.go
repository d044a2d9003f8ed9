package main

import (
	"context"
	"fmt"
	"strings"

	"github.com/spf13/cobra"

	"github.com/skiffrt/skiff"
)

func init() { commands = append(commands, newRmCommand) }

func newRmCommand(g *globalFlags) *cobra.Command {
	var force, volumes, link bool
	cmd := &cobra.Command{
		Use:   "rm [OPTIONS] CONTAINER [CONTAINER...]",
		Short: "Remove one or more containers",
		Args:  cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if link { // each arg is CONTAINER/ALIAS, as inspect names a link: /web/db
				e, err := g.engine()
				if err != nil {
					return err
				}
				return eachName(cmd, args, false, func(ctx context.Context, arg string) error {
					ref, alias, ok := strings.Cut(strings.TrimPrefix(arg, "/"), "/")
					if !ok {
						return fmt.Errorf("invalid link %q: want CONTAINER/ALIAS", arg)
					}
					c, err := e.Container(ctx, ref)
					if err != nil {
						return err
					}
					return c.RemoveLink(ctx, alias)
				})
			}
			return eachContainer(cmd, g, args, false, func(ctx context.Context, c *skiff.Container) error {
				var opts []skiff.DeleteOption
				if force {
					opts = append(opts, skiff.WithForce())
				}
				if volumes {
					opts = append(opts, skiff.WithVolumes())
				}
				return c.Delete(ctx, opts...)
			})
		},
	}
	cmd.Flags().BoolVarP(&force, "force", "f", false, "force the removal of a running container (uses SIGKILL)")
	cmd.Flags().BoolVarP(&volumes, "volumes", "v", false, "remove anonymous volumes associated with the container")
	cmd.Flags().BoolVarP(&link, "link", "l", false, "remove the specified link (CONTAINER/ALIAS)")
	return cmd
}
