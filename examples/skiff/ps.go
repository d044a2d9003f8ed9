package main

import (
	"fmt"
	"strings"
	"text/tabwriter"
	"time"

	units "github.com/docker/go-units"
	"github.com/spf13/cobra"

	"github.com/skiffrt/skiff"
)

func init() { commands = append(commands, newPsCommand) }

func newPsCommand(g *globalFlags) *cobra.Command {
	var all, quiet bool
	cmd := &cobra.Command{
		Use:   "ps",
		Short: "List containers",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			e, err := g.engine()
			if err != nil {
				return err
			}
			cs, err := e.Containers(cmd.Context())
			if err != nil {
				return err
			}
			w := tabwriter.NewWriter(cmd.OutOrStdout(), 0, 4, 3, ' ', 0)
			if !quiet {
				fmt.Fprintln(w, "CONTAINER ID\tIMAGE\tCREATED\tSTATUS\tNAMES")
			}
			for _, c := range cs {
				st := c.State()
				if !all && st.Status != skiff.StatusRunning && st.Status != skiff.StatusPaused {
					continue
				}
				if quiet {
					fmt.Fprintln(w, st.ID[:12])
					continue
				}
				fmt.Fprintf(w, "%s\t%s\t%s ago\t%s\t%s\n", st.ID[:12], st.Image,
					units.HumanDuration(time.Since(st.Created)), statusText(st), st.Name)
			}
			return w.Flush()
		},
	}
	cmd.Flags().BoolVarP(&all, "all", "a", false, "show all containers (default shows just running)")
	cmd.Flags().BoolVarP(&quiet, "quiet", "q", false, "only display container IDs")
	return cmd
}

// statusText renders a state as docker ps does: "Up 3 seconds", "Exited (0) 2 minutes ago".
func statusText(st skiff.State) string {
	switch st.Status {
	case skiff.StatusRunning:
		return "Up " + units.HumanDuration(time.Since(st.Started))
	case skiff.StatusPaused:
		return "Up " + units.HumanDuration(time.Since(st.Started)) + " (Paused)"
	case skiff.StatusExited:
		return fmt.Sprintf("Exited (%d) %s ago", st.ExitCode, units.HumanDuration(time.Since(st.Finished)))
	default:
		return strings.ToUpper(string(st.Status[:1])) + string(st.Status[1:])
	}
}
