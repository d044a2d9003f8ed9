package main

import (
	"bufio"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/skiffrt/skiff"
	"github.com/skiffrt/skiff/examples/internal/dockeropts"
)

func init() { commands = append(commands, newVolumeCommand) }

func newVolumeCommand(g *globalFlags) *cobra.Command {
	cmd := &cobra.Command{Use: "volume", Short: "Manage volumes", Args: cobra.NoArgs}
	cmd.AddCommand(newVolumeCreate(g), newVolumeLs(g), newVolumeInspect(g), newVolumeRm(g), newVolumePrune(g))
	return cmd
}

func newVolumeCreate(g *globalFlags) *cobra.Command {
	var labels []string
	cmd := &cobra.Command{
		Use:   "create [OPTIONS] [VOLUME]",
		Short: "Create a volume",
		Args:  cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			e, err := g.engine()
			if err != nil {
				return err
			}
			name := randomHex()
			if len(args) == 1 {
				name = args[0]
			}
			var l map[string]string
			if len(labels) > 0 {
				l = map[string]string{}
				for _, kv := range labels {
					k, v, _ := strings.Cut(kv, "=")
					l[k] = v
				}
			}
			v, err := e.CreateVolume(cmd.Context(), name, l)
			if err != nil {
				cmd.PrintErrln("Error response from daemon: create " + name + ": " + err.Error())
				return exitError{1}
			}
			fmt.Fprintln(cmd.OutOrStdout(), v.Name)
			return nil
		},
	}
	cmd.Flags().StringArrayVar(&labels, "label", nil, "set metadata for a volume")
	return cmd
}

func randomHex() string {
	b := make([]byte, 32)
	rand.Read(b)
	return hex.EncodeToString(b)
}

func newVolumeLs(g *globalFlags) *cobra.Command {
	var quiet bool
	cmd := &cobra.Command{
		Use:     "ls [OPTIONS]",
		Aliases: []string{"list"},
		Short:   "List volumes",
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			e, err := g.engine()
			if err != nil {
				return err
			}
			vols, err := e.Volumes(cmd.Context())
			if err != nil {
				return err
			}
			w := tabwriter.NewWriter(cmd.OutOrStdout(), 0, 4, 4, ' ', 0)
			if !quiet {
				fmt.Fprintln(w, "DRIVER\tVOLUME NAME")
			}
			for _, v := range vols {
				if quiet {
					fmt.Fprintln(w, v.Name)
				} else {
					fmt.Fprintf(w, "%s\t%s\n", v.Driver, v.Name)
				}
			}
			return w.Flush()
		},
	}
	cmd.Flags().BoolVarP(&quiet, "quiet", "q", false, "only display volume names")
	return cmd
}

func newVolumeInspect(g *globalFlags) *cobra.Command {
	var format string
	cmd := &cobra.Command{
		Use:   "inspect [OPTIONS] VOLUME [VOLUME...]",
		Short: "Display detailed information on one or more volumes",
		Args:  cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			tmpl, err := inspectTemplate(format)
			if err != nil {
				return err
			}
			e, err := g.engine()
			if err != nil {
				return err
			}
			var found []any
			var failed error
			for _, name := range args {
				v, err := e.Volume(cmd.Context(), name)
				if err != nil {
					cmd.PrintErrln("Error response from daemon: get " + name + ": no such volume")
					failed = exitError{1}
					continue
				}
				found = append(found, dockeropts.VolumeInspect(v))
			}
			if err := printInspect(cmd.OutOrStdout(), tmpl, found); err != nil {
				return err
			}
			return failed
		},
	}
	cmd.Flags().StringVarP(&format, "format", "f", "", "format the output using the given Go template")
	return cmd
}

func newVolumeRm(g *globalFlags) *cobra.Command {
	var force bool
	cmd := &cobra.Command{
		Use:     "rm [OPTIONS] VOLUME [VOLUME...]",
		Aliases: []string{"remove"},
		Short:   "Remove one or more volumes",
		Args:    cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			e, err := g.engine()
			if err != nil {
				return err
			}
			return eachName(cmd, args, false, func(ctx context.Context, name string) error {
				err := e.RemoveVolume(ctx, name, skiff.RemoveVolumeOptions{Force: force})
				if errors.Is(err, skiff.ErrVolumeNotFound) {
					if force {
						return nil // docker volume rm -f ignores missing volumes
					}
					return fmt.Errorf("get %s: no such volume", name)
				}
				return err
			})
		},
	}
	cmd.Flags().BoolVarP(&force, "force", "f", false, "force the removal of one or more volumes (also one in use)")
	return cmd
}

func newVolumePrune(g *globalFlags) *cobra.Command {
	var all, force bool
	cmd := &cobra.Command{
		Use:   "prune [OPTIONS]",
		Short: "Remove unused local volumes",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if !force {
				what := "anonymous local volumes"
				if all {
					what = "all local volumes"
				}
				fmt.Fprintf(cmd.OutOrStdout(), "WARNING! This will remove %s not used by at least one container.\nAre you sure you want to continue? [y/N] ", what)
				line, _ := bufio.NewReader(os.Stdin).ReadString('\n')
				if a := strings.ToLower(strings.TrimSpace(line)); a != "y" && a != "yes" {
					return nil
				}
			}
			e, err := g.engine()
			if err != nil {
				return err
			}
			removed, err := e.PruneVolumes(cmd.Context(), skiff.VolumePrune{All: all})
			printDeleted(cmd.OutOrStdout(), "Deleted Volumes:", removed)
			return err
		},
	}
	cmd.Flags().BoolVarP(&all, "all", "a", false, "remove all unused volumes, not just anonymous ones")
	cmd.Flags().BoolVarP(&force, "force", "f", false, "do not prompt for confirmation")
	return cmd
}
