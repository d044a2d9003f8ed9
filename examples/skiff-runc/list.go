package main

import (
	"errors"
	"fmt"
	"os"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/skiffrt/skiff/internal/lockfile"
)

func newListCommand(g *globalFlags) *cobra.Command {
	var format string
	var quiet bool
	cmd := &cobra.Command{
		Use:     "list [--format table|json] [-q]",
		Aliases: []string{"ls"},
		Short:   "List the containers under --root",
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ents, err := os.ReadDir(g.root)
			if err != nil && !errors.Is(err, os.ErrNotExist) {
				return err
			}
			out := []runcState{}
			for _, e := range ents {
				if !e.IsDir() {
					continue
				}
				c, l, err := g.load(cmd.Context(), e.Name(), lockfile.Shared)
				if err != nil {
					continue // being created or deleted
				}
				out = append(out, stateOutput(c))
				l.Unlock()
			}
			switch {
			case quiet:
				for _, s := range out {
					fmt.Println(s.ID)
				}
				return nil
			case format == "json":
				return printJSON(out)
			case format != "table":
				return fmt.Errorf("invalid format option")
			}
			w := tabwriter.NewWriter(os.Stdout, 12, 1, 3, ' ', 0)
			fmt.Fprint(w, "ID\tPID\tSTATUS\tBUNDLE\tCREATED\tOWNER\n")
			for _, s := range out {
				fmt.Fprintf(w, "%s\t%d\t%s\t%s\t%s\t%s\n", s.ID, s.Pid, s.Status, s.Bundle, s.Created, "root")
			}
			return w.Flush()
		},
	}
	cmd.Flags().StringVarP(&format, "format", "f", "table", "select one of: table or json")
	cmd.Flags().BoolVarP(&quiet, "quiet", "q", false, "display only container IDs")
	return cmd
}
