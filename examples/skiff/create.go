package main

import (
	"fmt"

	"github.com/spf13/cobra"
)

func init() { commands = append(commands, newCreateCommand) }

// newCreateCommand: docker create. The container is created under a monitor (as with
// run -d), so that it outlives this command; `skiff start` runs it, `start -a`
// follows its output.
func newCreateCommand(g *globalFlags) *cobra.Command {
	var f containerFlags
	cmd := &cobra.Command{
		Use:   "create [OPTIONS] IMAGE [COMMAND] [ARG...]",
		Short: "Create a new container",
		Args:  cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			cfg, err := f.config(args)
			if err != nil {
				return err
			}
			cfg.Detach = true
			cfg.OpenStdin = f.interactive // skiff attach reaches it
			cfg.Stdin, cfg.Stdout, cfg.Stderr = nil, nil, nil
			e, err := g.engine()
			if err != nil {
				return err
			}
			ctx := cmd.Context()
			if err := f.prepare(ctx, e, &cfg); err != nil {
				return err
			}
			c, err := f.createWithCIDFile(ctx, e, cfg)
			if err != nil {
				return err
			}
			fmt.Fprintln(cmd.OutOrStdout(), c.ID())
			return nil
		},
	}
	f.register(cmd)
	return cmd
}
