package main

import (
	"context"
	"fmt"
	"io"
	"text/tabwriter"

	units "github.com/docker/go-units"
	"github.com/spf13/cobra"

	"github.com/skiffrt/skiff"
)

func init() { commands = append(commands, newSystemCommand) }

func newSystemCommand(g *globalFlags) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "system",
		Short: "Manage the engine root",
		Args:  cobra.NoArgs,
	}
	cmd.AddCommand(newSystemCheckCommand(g), newSystemDfCommand(g), newSystemPruneCommand(g))
	return cmd
}

func newSystemCheckCommand(g *globalFlags) *cobra.Command {
	var repair bool
	cmd := &cobra.Command{
		Use:   "check [--repair]",
		Short: "Check the engine root like fsck (exit 1 when it is not clean)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			e, err := g.engine()
			if err != nil {
				return err
			}
			rep, err := e.Check(cmd.Context(), skiff.CheckOptions{Repair: repair})
			if err != nil {
				return err
			}
			out := cmd.OutOrStdout()
			printCheck(cmd, rep)
			if rep.Clean() {
				fmt.Fprintln(out, "clean")
				return nil
			}
			if !repair {
				fmt.Fprintln(out, "not clean: run `skiff system check --repair`")
				return exitError{1}
			}
			again, err := e.Check(cmd.Context(), skiff.CheckOptions{})
			if err != nil {
				return err
			}
			if !again.Clean() {
				fmt.Fprintln(out, "still not clean after repair:")
				printCheck(cmd, again)
				return exitError{1}
			}
			fmt.Fprintln(out, "repaired: clean")
			return nil
		},
	}
	cmd.Flags().BoolVar(&repair, "repair", false, "repair what is found")
	return cmd
}

func printCheck(cmd *cobra.Command, rep *skiff.CheckReport) {
	out := cmd.OutOrStdout()
	ir := rep.Images
	fmt.Fprintf(out, "images: %d images, %d blobs, %d unreferenced\n", ir.Images, ir.Blobs, len(ir.Unreferenced))
	printEach(out, "stray temp file: ", ir.Temps)
	printEach(out, "missing blob: ", ir.Missing)
	printEach(out, "corrupt blob: ", ir.Corrupt)
	printEach(out, "stray layer temp dir: ", rep.LayerTemps)
	printEach(out, "dangling layer link: ", rep.DanglingLinks)
	printEach(out, "half-created container dir: ", rep.HalfCreated)
	printEach(out, "lost container (process gone): ", rep.Lost)
	printEach(out, "detached stale endpoint: ", rep.Endpoints)
	printEach(out, "stray volume temp dir: ", rep.VolumeTemps)
	printEach(out, "stray build temp: ", rep.BuildTemps)
}

// printEach writes a line per item: prefix and the item.
func printEach[T ~string](out io.Writer, prefix string, items []T) {
	for _, it := range items {
		fmt.Fprintf(out, "%s%s\n", prefix, it)
	}
}

// printDeleted writes the header, a line per item and an empty line, as docker's prune
// commands list what they removed; nothing when items is empty.
func printDeleted(out io.Writer, header string, items []string) {
	if len(items) == 0 {
		return
	}
	fmt.Fprintln(out, header)
	printEach(out, "", items)
	fmt.Fprintln(out)
}

// printPruneReport writes what a prune removed and the space it reclaimed, as docker's
// image and system prune do.
func printPruneReport(out io.Writer, rep *skiff.PruneReport) {
	printDeleted(out, "Deleted Containers:", rep.Containers)
	printDeleted(out, "Deleted Networks:", rep.Networks)
	if len(rep.Images)+len(rep.ImageIDs)+len(rep.Layers) > 0 {
		fmt.Fprintln(out, "Deleted Images:")
		printEach(out, "untagged: ", rep.Images)
		printEach(out, "deleted: ", rep.ImageIDs)
		printEach(out, "deleted: ", rep.Layers)
		fmt.Fprintln(out)
	}
	if len(rep.BuildCache) > 0 {
		ids := make([]string, len(rep.BuildCache))
		for i, d := range rep.BuildCache {
			ids[i] = d.Encoded()
		}
		printDeleted(out, "Deleted build cache objects:", ids)
	}
	fmt.Fprintf(out, "Total reclaimed space: %s\n", units.HumanSize(float64(rep.Reclaimed)))
}

func newSystemDfCommand(g *globalFlags) *cobra.Command {
	return &cobra.Command{
		Use:   "df",
		Short: "Show disk usage",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			e, err := g.engine()
			if err != nil {
				return err
			}
			du, err := e.DiskUsage(cmd.Context())
			if err != nil {
				return err
			}
			w := tabwriter.NewWriter(cmd.OutOrStdout(), 0, 4, 3, ' ', 0)
			fmt.Fprintln(w, "TYPE\tTOTAL\tACTIVE\tSIZE\tRECLAIMABLE")
			for _, l := range []struct {
				name string
				u    skiff.UsageLine
			}{{"Images", du.Images}, {"Containers", du.Containers}, {"Local Volumes", du.Volumes}, {"Build Cache", du.BuildCache}} {
				recl := units.HumanSize(float64(l.u.Reclaimable))
				if l.u.Size > 0 {
					recl += fmt.Sprintf(" (%d%%)", l.u.Reclaimable*100/l.u.Size)
				}
				fmt.Fprintf(w, "%s\t%d\t%d\t%s\t%s\n", l.name, l.u.Total, l.u.Active, units.HumanSize(float64(l.u.Size)), recl)
			}
			return w.Flush()
		},
	}
}

func newSystemPruneCommand(g *globalFlags) *cobra.Command {
	return newPruneCommand(g, "Remove stopped containers, unused networks and dangling images", true,
		func(all bool) string {
			return "WARNING! This will remove:\n  - all stopped containers\n  - all networks not used by at least one container\n  - " + imagesToPrune(all)
		},
		func(ctx context.Context, e *skiff.Engine, all bool) (*skiff.PruneReport, error) {
			return e.PruneSystem(ctx, skiff.PruneSystemOptions{All: all})
		})
}
