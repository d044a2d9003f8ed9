package main

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"text/tabwriter"
	"time"

	units "github.com/docker/go-units"
	"github.com/spf13/cobra"
	"golang.org/x/term"

	"github.com/skiffrt/skiff/registry"
)

func init() { commands = append(commands, newSaveCommand, newLoadCommand, newHistoryCommand) }

// refuseTerminal is docker's refusal to write an archive to a terminal.
func refuseTerminal(w io.Writer) error {
	if f, ok := w.(*os.File); ok && term.IsTerminal(int(f.Fd())) {
		return errors.New("cowardly refusing to save to a terminal. Use the -o flag or redirect")
	}
	return nil
}

func newSaveCommand(g *globalFlags) *cobra.Command {
	var output string
	cmd := &cobra.Command{
		Use:   "save [OPTIONS] IMAGE [IMAGE...]",
		Short: "Save one or more images to a tar archive (streamed to STDOUT by default)",
		Args:  cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if output == "" {
				if err := refuseTerminal(cmd.OutOrStdout()); err != nil {
					return err
				}
			}
			e, err := g.engine()
			if err != nil {
				return err
			}
			if output == "" {
				if err := e.SaveImages(cmd.Context(), cmd.OutOrStdout(), args...); err != nil {
					return imageFailure(cmd, "", err)
				}
				return nil
			}
			// The file appears whole or not at all: a failed save leaves no partial tar.
			f, err := os.CreateTemp(filepath.Dir(output), ".skiff-save-*")
			if err != nil {
				cmd.PrintErrf("failed to save image: invalid output path %s: %v\n", output, errors.Unwrap(err))
				return exitError{1}
			}
			defer os.Remove(f.Name()) // after the rename, a no-op
			if err := e.SaveImages(cmd.Context(), f, args...); err != nil {
				f.Close()
				return imageFailure(cmd, "", err)
			}
			if err := f.Chmod(0o644); err != nil {
				f.Close()
				return err
			}
			if err := f.Close(); err != nil {
				return err
			}
			return os.Rename(f.Name(), output)
		},
	}
	cmd.Flags().StringVarP(&output, "output", "o", "", "Write to a file, instead of STDOUT")
	return cmd
}

func newLoadCommand(g *globalFlags) *cobra.Command {
	var input string
	var quiet bool
	cmd := &cobra.Command{
		Use:   "load [OPTIONS]",
		Short: "Load images from a tar archive (docker save) or STDIN",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			r := cmd.InOrStdin()
			if input != "" {
				f, err := os.Open(input)
				if err != nil {
					return err
				}
				defer f.Close()
				r = f
			} else if f, ok := r.(*os.File); ok && term.IsTerminal(int(f.Fd())) {
				return errors.New("requested load from stdin, but stdin is empty")
			}
			e, err := g.engine()
			if err != nil {
				return err
			}
			names, err := e.LoadImages(cmd.Context(), r)
			if err != nil {
				return imageFailure(cmd, "", err)
			}
			// As docker's -q, quiet drops only progress (none is printed here).
			for _, n := range names {
				fmt.Fprintf(cmd.OutOrStdout(), "Loaded image: %s\n", registry.Familiar(n))
			}
			return nil
		},
	}
	cmd.Flags().StringVarP(&input, "input", "i", "", "Read from tar archive file, instead of STDIN")
	cmd.Flags().BoolVarP(&quiet, "quiet", "q", false, "Suppress the load output (there is no progress output)")
	return cmd
}

// historyHeaders are the column titles of history --format "table ...".
var historyHeaders = map[string]string{
	"ID": "IMAGE", "CreatedSince": "CREATED", "CreatedAt": "CREATED AT", "CreatedBy": "CREATED BY",
	"Size": "SIZE", "Comment": "COMMENT",
}

func newHistoryCommand(g *globalFlags) *cobra.Command {
	var human, noTrunc, quiet bool
	var format string
	cmd := &cobra.Command{
		Use:   "history [OPTIONS] IMAGE",
		Short: "Show the history of an image (SIZE is each layer's stored, compressed size)",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			e, err := g.engine()
			if err != nil {
				return err
			}
			img, err := e.Image(cmd.Context(), args[0])
			if err != nil {
				return imageFailure(cmd, args[0], err)
			}
			steps := img.History()
			var rows *rowFormat
			w := tabwriter.NewWriter(cmd.OutOrStdout(), 0, 4, 3, ' ', 0)
			if format != "" && !quiet {
				if rows, err = newRowFormat(format, historyHeaders, cmd.OutOrStdout()); err != nil {
					return err
				}
			} else if !quiet {
				fmt.Fprintln(w, "IMAGE\tCREATED\tCREATED BY\tSIZE\tCOMMENT")
			}
			for i := len(steps) - 1; i >= 0; i-- { // newest first, as docker prints
				s := steps[i]
				id := "<missing>"
				if i == len(steps)-1 {
					id = img.ShortID()
					if noTrunc {
						id = img.ID.String()
					}
				}
				if quiet {
					fmt.Fprintln(w, id)
					continue
				}
				created, createdAt := "N/A", ""
				if !s.Created.IsZero() {
					createdAt = s.Created.Local().Format(time.RFC3339)
					created = units.HumanDuration(time.Since(s.Created)) + " ago"
					if !human {
						created = createdAt
					}
				}
				by := strings.ReplaceAll(s.CreatedBy, "\t", " ")
				if !noTrunc && len(by) > 45 {
					by = by[:44] + "…"
				}
				var size int64
				if s.Layer != nil {
					size = s.Layer.Size
				}
				sizeText := units.HumanSizeWithPrecision(float64(size), 3)
				if !human {
					sizeText = fmt.Sprint(size)
				}
				if rows != nil {
					if err := rows.row(map[string]any{"ID": id, "CreatedSince": created, "CreatedAt": createdAt,
						"CreatedBy": by, "Size": sizeText, "Comment": s.Comment}); err != nil {
						return err
					}
					continue
				}
				fmt.Fprintf(w, "%s\t%s\t%s\t%s\t%s\n", id, created, by, sizeText, s.Comment)
			}
			if rows != nil {
				return rows.flush()
			}
			return w.Flush()
		},
	}
	cmd.Flags().BoolVarP(&human, "human", "H", true, "Print sizes and dates in human readable format")
	cmd.Flags().BoolVar(&noTrunc, "no-trunc", false, "Don't truncate output")
	cmd.Flags().BoolVarP(&quiet, "quiet", "q", false, "Only show image IDs")
	cmd.Flags().StringVar(&format, "format", "", "format output using a Go template ({{.ID}} {{.CreatedBy}} {{.Size}} ...; \"table TEMPLATE\", \"json\")")
	return cmd
}
