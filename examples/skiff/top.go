package main

import (
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"
)

func init() { commands = append(commands, newTopCommand) }

func newTopCommand(g *globalFlags) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "top CONTAINER [ps OPTIONS]",
		Short: "Display the running processes of a container",
		Args:  cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := oneContainer(cmd, g, args[0])
			if err != nil {
				return err
			}
			top, err := c.Top(cmd.Context(), strings.Join(args[1:], " "))
			if err != nil {
				return err
			}
			w := tabwriter.NewWriter(cmd.OutOrStdout(), 20, 1, 3, ' ', 0)
			w.Write([]byte(strings.Join(top.Titles, "\t") + "\n"))
			for _, p := range top.Processes {
				w.Write([]byte(strings.Join(p, "\t") + "\n"))
			}
			return w.Flush()
		},
	}
	cmd.Flags().SetInterspersed(false) // what follows CONTAINER is ps's
	return cmd
}
