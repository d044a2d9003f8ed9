package main

import (
	"fmt"
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
			rep, err := e.Check(cmd.Context(), repair)
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
			again, err := e.Check(cmd.Context(), false)
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
	for _, p := range ir.Temps {
		fmt.Fprintf(out, "stray temp file: %s\n", p)
	}
	for _, d := range ir.Missing {
		fmt.Fprintf(out, "missing blob: %s\n", d)
	}
	for _, d := range ir.Corrupt {
		fmt.Fprintf(out, "corrupt blob: %s\n", d)
	}
	for _, p := range rep.LayerTemps {
		fmt.Fprintf(out, "stray layer temp dir: %s\n", p)
	}
	for _, p := range rep.DanglingLinks {
		fmt.Fprintf(out, "dangling layer link: %s\n", p)
	}
	for _, p := range rep.HalfCreated {
		fmt.Fprintf(out, "half-created container dir: %s\n", p)
	}
	for _, id := range rep.Lost {
		fmt.Fprintf(out, "lost container (process gone): %s\n", id)
	}
	for _, ep := range rep.Endpoints {
		fmt.Fprintf(out, "detached stale endpoint: %s\n", ep)
	}
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
	var all, force bool
	cmd := &cobra.Command{
		Use:   "prune [OPTIONS]",
		Short: "Remove stopped containers, unused networks and dangling images",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			images := "all dangling images"
			if all {
				images = "all images without at least one container associated to them"
			}
			warning := "WARNING! This will remove:\n  - all stopped containers\n  - all networks not used by at least one container\n  - " + images
			if !force && !confirm(cmd, warning) {
				return nil
			}
			e, err := g.engine()
			if err != nil {
				return err
			}
			rep, err := e.PruneSystem(cmd.Context(), all)
			if rep != nil {
				out := cmd.OutOrStdout()
				if len(rep.Containers) > 0 {
					fmt.Fprintln(out, "Deleted Containers:")
					for _, id := range rep.Containers {
						fmt.Fprintln(out, id)
					}
					fmt.Fprintln(out)
				}
				if len(rep.Networks) > 0 {
					fmt.Fprintln(out, "Deleted Networks:")
					for _, n := range rep.Networks {
						fmt.Fprintln(out, n)
					}
					fmt.Fprintln(out)
				}
				if len(rep.Images)+len(rep.ImageIDs)+len(rep.Layers) > 0 {
					fmt.Fprintln(out, "Deleted Images:")
					for _, n := range rep.Images {
						fmt.Fprintf(out, "untagged: %s\n", n)
					}
					for _, d := range rep.ImageIDs {
						fmt.Fprintf(out, "deleted: %s\n", d)
					}
					for _, d := range rep.Layers {
						fmt.Fprintf(out, "deleted: %s\n", d)
					}
					fmt.Fprintln(out)
				}
				fmt.Fprintf(out, "Total reclaimed space: %s\n", units.HumanSize(float64(rep.Reclaimed)))
			}
			return err
		},
	}
	cmd.Flags().BoolVarP(&all, "all", "a", false, "remove all unused images, not just dangling ones")
	cmd.Flags().BoolVarP(&force, "force", "f", false, "do not prompt for confirmation")
	return cmd
}
