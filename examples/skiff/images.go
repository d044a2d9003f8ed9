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
	var quiet, digests, noTrunc bool
	var format string
	cmd := &cobra.Command{
		Use:   "images [OPTIONS]",
		Short: "List images",
		Args:  cobra.NoArgs,
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
			var rows *rowFormat
			if format != "" && !quiet {
				if rows, err = newRowFormat(format, imagesHeaders, cmd.OutOrStdout()); err != nil {
					return err
				}
			} else if !quiet {
				head := "REPOSITORY\tTAG\t"
				if digests {
					head += "DIGEST\t"
				}
				fmt.Fprintln(w, head+"IMAGE ID\tCREATED\tSIZE")
			}
			seen := map[string]bool{}
			for _, img := range imgs {
				id := img.ShortID()
				if noTrunc {
					id = img.ID.String()
				}
				if quiet {
					if !seen[id] {
						fmt.Fprintln(w, id)
					}
					seen[id] = true
					continue
				}
				created := "N/A"
				if !img.Config.Created.IsZero() {
					created = units.HumanDuration(time.Since(img.Config.Created.Time)) + " ago"
				}
				names := img.Names
				if len(names) == 0 {
					names = []string{"<none>:<none>"}
				}
				for _, n := range names {
					repo, tag := splitRef(n)
					repo = strings.TrimPrefix(strings.TrimPrefix(repo, "docker.io/library/"), "docker.io/")
					if rows != nil {
						createdAt := ""
						if !img.Config.Created.IsZero() {
							createdAt = img.Config.Created.Time.Local().Format("2006-01-02 15:04:05 -0700 MST")
						}
						if err := rows.row(map[string]any{"ID": id, "Repository": repo, "Tag": tag, "Digest": img.Digest.String(),
							"CreatedSince": created, "CreatedAt": createdAt, "Size": units.HumanSize(float64(img.Size))}); err != nil {
							return err
						}
						continue
					}
					row := repo + "\t" + tag + "\t"
					if digests {
						row += img.Digest.String() + "\t"
					}
					fmt.Fprintf(w, "%s%s\t%s\t%s\n", row, id, created, units.HumanSize(float64(img.Size)))
				}
			}
			if rows != nil {
				return rows.flush()
			}
			return w.Flush()
		},
	}
	cmd.Flags().StringVar(&format, "format", "", "format output using a Go template ({{.Repository}} {{.Tag}} {{.ID}} ...; \"table TEMPLATE\", \"json\")")
	cmd.Flags().BoolVarP(&quiet, "quiet", "q", false, "only show image IDs")
	cmd.Flags().BoolVar(&digests, "digests", false, "show digests")
	cmd.Flags().BoolVar(&noTrunc, "no-trunc", false, "don't truncate output")
	return cmd
}

// imagesHeaders are the column titles of images --format "table ...".
var imagesHeaders = map[string]string{
	"ID": "IMAGE ID", "Repository": "REPOSITORY", "Tag": "TAG", "Digest": "DIGEST",
	"CreatedSince": "CREATED", "CreatedAt": "CREATED AT", "Size": "SIZE",
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
