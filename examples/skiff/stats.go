package main

import (
	"fmt"
	"io"
	"text/tabwriter"
	"time"

	units "github.com/docker/go-units"
	"github.com/spf13/cobra"

	"github.com/skiffrt/skiff"
)

func init() { commands = append(commands, newStatsCommand) }

func newStatsCommand(g *globalFlags) *cobra.Command {
	var noStream, all bool
	cmd := &cobra.Command{
		Use:   "stats [OPTIONS] [CONTAINER...]",
		Short: "Display a live stream of container(s) resource usage statistics",
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx := cmd.Context()
			e, err := g.engine()
			if err != nil {
				return err
			}
			var cs []*skiff.Container
			if len(args) == 0 {
				list, err := e.Containers(ctx)
				if err != nil {
					return err
				}
				for _, c := range list {
					if s := c.State().Status; s == skiff.StatusRunning || s == skiff.StatusPaused || all {
						cs = append(cs, c)
					}
				}
			}
			for _, ref := range args {
				c, err := oneContainer(cmd, g, ref)
				if err != nil {
					return err
				}
				cs = append(cs, c)
			}
			// CPU % needs two samples: the first is taken a second before the first row.
			prev := make([]*skiff.ContainerStats, len(cs))
			for i, c := range cs {
				if prev[i], err = c.Stats(ctx); err != nil {
					return err
				}
			}
			for {
				select {
				case <-ctx.Done():
					return nil
				case <-time.After(time.Second):
				}
				if !noStream {
					fmt.Fprint(cmd.OutOrStdout(), "\033[2J\033[H") // clear the screen
				}
				w := tabwriter.NewWriter(cmd.OutOrStdout(), 0, 4, 3, ' ', 0)
				fmt.Fprintln(w, "CONTAINER ID\tNAME\tCPU %\tMEM USAGE / LIMIT\tMEM %\tNET I/O\tPIDS")
				for i, c := range cs {
					s, err := c.Stats(ctx)
					if err != nil {
						return err
					}
					statsRow(w, c, prev[i], s)
					prev[i] = s
				}
				w.Flush()
				if noStream {
					return nil
				}
			}
		},
	}
	cmd.Flags().BoolVar(&noStream, "no-stream", false, "Disable streaming stats and only pull the first result")
	cmd.Flags().BoolVarP(&all, "all", "a", false, "Show all containers (default shows just running)")
	return cmd
}

// statsRow prints one container's row as docker stats does.
func statsRow(w io.Writer, c *skiff.Container, prev, s *skiff.ContainerStats) {
	cpu := 0.0
	if dc, ds := float64(s.CPUUsageNS)-float64(prev.CPUUsageNS), float64(s.SystemCPUNS)-float64(prev.SystemCPUNS); dc > 0 && ds > 0 {
		cpu = dc / ds * float64(s.OnlineCPUs) * 100
	}
	used := s.MemoryUsage
	if s.MemoryInactiveFile < used {
		used -= s.MemoryInactiveFile
	}
	mem := 0.0
	if s.MemoryLimit > 0 {
		mem = float64(used) / float64(s.MemoryLimit) * 100
	}
	var rx, tx uint64
	for _, n := range s.Networks {
		rx, tx = rx+n.RxBytes, tx+n.TxBytes
	}
	fmt.Fprintf(w, "%s\t%s\t%.2f%%\t%s / %s\t%.2f%%\t%s / %s\t%d\n", c.ID()[:12], c.Name(), cpu,
		units.BytesSize(float64(used)), units.BytesSize(float64(s.MemoryLimit)), mem,
		units.HumanSizeWithPrecision(float64(rx), 3), units.HumanSizeWithPrecision(float64(tx), 3), s.PidsCurrent)
}
