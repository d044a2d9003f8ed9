package main

import (
	"fmt"
	"path"
	"slices"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	units "github.com/docker/go-units"
	"github.com/spf13/cobra"

	"github.com/skiffrt/skiff/registry"
)

func init() { commands = append(commands, newImagesCommand) }

func newImagesCommand(g *globalFlags) *cobra.Command {
	var quiet, digests, noTrunc, all bool
	var format string
	var filters []string
	cmd := &cobra.Command{
		Use:   "images [OPTIONS] [REPOSITORY[:TAG]]",
		Short: "List images",
		Args:  cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if len(args) == 1 { // as docker: a reference filter
				filters = append(filters, "reference="+args[0])
			}
			match, err := imagesFilter(filters)
			if err != nil {
				return err
			}
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
				names, ok := match(img)
				if !ok {
					continue
				}
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
				if len(names) == 0 {
					names = []string{"<none>:<none>"}
				}
				for _, n := range names {
					repo, tag := splitRef(n)
					repo = registry.Familiar(repo)
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
	cmd.Flags().BoolVarP(&all, "all", "a", false, "show all images (there are no intermediate images to hide)")
	cmd.Flags().StringArrayVarP(&filters, "filter", "f", nil, "filter output based on conditions provided (dangling=true|false, reference=PATTERN, label=KEY[=VALUE])")
	return cmd
}

// imagesFilter builds docker images's --filter: it tells whether an image is listed and
// under which of its names (reference= keeps the matching ones; none for a dangling
// image). Values of one key are ORed, keys are ANDed.
func imagesFilter(filters []string) (func(*registry.Image) ([]string, bool), error) {
	byKey := map[string][]string{}
	for _, f := range filters {
		k, v, ok := strings.Cut(f, "=")
		if !ok {
			return nil, fmt.Errorf("bad format of filter (expected name=value): %s", f)
		}
		switch k {
		case "dangling":
			if v != "true" && v != "false" {
				return nil, fmt.Errorf("invalid filter 'dangling=%s'", v)
			}
		case "reference":
			if _, err := path.Match(v, ""); err != nil {
				return nil, fmt.Errorf("invalid filter 'reference=%s': %w", v, err)
			}
		case "label":
		default:
			return nil, fmt.Errorf("invalid filter '%s'", k)
		}
		byKey[k] = append(byKey[k], v)
	}
	return func(img *registry.Image) ([]string, bool) {
		names := img.Names
		if ds := byKey["dangling"]; len(ds) > 0 && !slices.Contains(ds, strconv.FormatBool(len(names) == 0)) {
			return nil, false
		}
		if ls := byKey["label"]; len(ls) > 0 && !slices.ContainsFunc(ls, func(l string) bool {
			k, v, hasValue := strings.Cut(l, "=")
			got, ok := img.Config.Config.Labels[k]
			return ok && (!hasValue || got == v)
		}) {
			return nil, false
		}
		if refs := byKey["reference"]; len(refs) > 0 {
			var kept []string
			for _, n := range names {
				repo, _ := splitRef(n)
				short := registry.Familiar(n)
				shortRepo, _ := splitRef(short)
				if slices.ContainsFunc(refs, func(p string) bool {
					for _, cand := range []string{n, repo, short, shortRepo} {
						if ok, _ := path.Match(p, cand); ok {
							return true
						}
					}
					return false
				}) {
					kept = append(kept, n)
				}
			}
			if len(kept) == 0 {
				return nil, false
			}
			names = kept
		}
		return names, true
	}, nil
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
