package main

import (
	"context"
	"fmt"

	"github.com/spf13/cobra"

	"github.com/skiffrt/skiff"
	"github.com/skiffrt/skiff/examples/internal/dockeropts"
)

func init() { commands = append(commands, newRenameCommand, newUpdateCommand) }

// newRenameCommand is docker rename CONTAINER NEW_NAME.
func newRenameCommand(g *globalFlags) *cobra.Command {
	return &cobra.Command{
		Use:   "rename CONTAINER NEW_NAME",
		Short: "Rename a container",
		Args:  cobra.ExactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := oneContainer(cmd, g, args[0])
			if err != nil {
				return err
			}
			if err := c.Rename(cmd.Context(), args[1]); err != nil {
				cmd.PrintErrln(daemonError(args[0], err))
				return exitError{1}
			}
			return nil
		},
	}
}

// newUpdateCommand is docker update: the limits and restart policy of containers.
func newUpdateCommand(g *globalFlags) *cobra.Command {
	var memory, memorySwap, cpus, restart string
	var pidsLimit, cpuShares int64
	cmd := &cobra.Command{
		Use:   "update [OPTIONS] CONTAINER [CONTAINER...]",
		Short: "Update configuration of one or more containers",
		Args:  cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			var u skiff.UpdateConfig
			var err error
			if u.Resources, err = parseResources(memory, memorySwap, cpus, pidsLimit, cpuShares); err != nil {
				return err
			}
			if cmd.Flags().Changed("restart") {
				p, err := dockeropts.ParseRestartPolicy(restart)
				if err != nil {
					return err
				}
				rp := skiff.RestartPolicy(p)
				u.RestartPolicy = &rp
			}
			if u.Resources == (skiff.Resources{}) && u.RestartPolicy == nil {
				return fmt.Errorf("you must provide one or more flags when using this command")
			}
			return eachContainer(cmd, g, args, false, func(ctx context.Context, c *skiff.Container) error {
				return c.Update(ctx, u)
			})
		},
	}
	fl := cmd.Flags()
	fl.StringVarP(&memory, "memory", "m", "", "memory limit")
	fl.StringVar(&memorySwap, "memory-swap", "", "swap limit equal to memory plus swap: -1 to enable unlimited swap")
	fl.StringVar(&cpus, "cpus", "", "number of CPUs")
	fl.Int64Var(&cpuShares, "cpu-shares", 0, "CPU shares (relative weight)")
	fl.Int64Var(&pidsLimit, "pids-limit", 0, "tune container pids limit")
	fl.StringVar(&restart, "restart", "", "restart policy to apply when a container exits")
	return cmd
}
