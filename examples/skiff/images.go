package main

import (
	"fmt"
	"strings"
	"text/tabwriter"
	"time"

	units "github.com/docker/go-units"
	"github.com/spf13/cobra"
)

func init() { commands = append(commands, newImagesCommand) }

func newImagesCommand(g *globalFlags) *cobra.Command {
	var quiet bool
	cmd := &cobra.Command{
		Use:     "images",
		Aliases: []string{"image ls"},
		Short:   "List images",
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			e, err := g.engine()
			if err != nil {
				return err
			}
			imgs, err := e.Images().List(cmd.Context())
			if err != nil {
				return err
			}
			w := tabwriter.NewWriter(cmd.OutOrStdout(), 0, 4, 3, ' ', 0)
			if !quiet {
				fmt.Fprintln(w, "REPOSITORY\tTAG\tIMAGE ID\tCREATED\tSIZE")
			}
			for _, img := range imgs {
				id := strings.TrimPrefix(img.ID.String(), "sha256:")[:12]
				if quiet {
					fmt.Fprintln(w, id)
					continue
				}
				repo, tag := splitRef(img.Name)
				var size int64
				for _, l := range img.Layers {
					size += l.Size
				}
				created := "N/A"
				if !img.Config.Created.IsZero() {
					created = units.HumanDuration(time.Since(img.Config.Created.Time)) + " ago"
				}
				fmt.Fprintf(w, "%s\t%s\t%s\t%s\t%s\n", repo, tag, id, created, units.HumanSize(float64(size)))
			}
			return w.Flush()
		},
	}
	cmd.Flags().BoolVarP(&quiet, "quiet", "q", false, "only show image IDs")
	return cmd
}

// splitRef splits "host/repo:tag" or "host/repo@sha256:…" into repository and tag.
func splitRef(ref string) (repo, tag string) {
	if i := strings.Index(ref, "@"); i >= 0 {
		return ref[:i], "<none>"
	}
	if i := strings.LastIndex(ref, ":"); i > strings.LastIndex(ref, "/") {
		return ref[:i], ref[i+1:]
	}
	return ref, "<none>"
}
