package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"github.com/spf13/cobra"

	"github.com/skiffrt/skiff/cgroup"
	"github.com/skiffrt/skiff/internal/lockfile"
)

func newUpdateCommand(g *globalFlags) *cobra.Command {
	var resources string
	var memory, pids, cpuQuota int64
	var cpuPeriod, cpuShares uint64
	cmd := &cobra.Command{
		Use:   "update [--resources FILE|-] CONTAINER-ID",
		Short: "Update a container's resource limits (runtime-spec linux.resources JSON)",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			var upd specs.LinuxResources
			if resources != "" {
				var r io.Reader = os.Stdin
				if resources != "-" {
					f, err := os.Open(resources)
					if err != nil {
						return err
					}
					defer f.Close()
					r = f
				}
				if err := json.NewDecoder(r).Decode(&upd); err != nil {
					return fmt.Errorf("decode resources: %w", err)
				}
			}
			fl := cmd.Flags()
			if fl.Changed("memory") {
				upd.Memory = &specs.LinuxMemory{Limit: &memory}
			}
			if fl.Changed("pids-limit") {
				upd.Pids = &specs.LinuxPids{Limit: &pids}
			}
			if fl.Changed("cpu-quota") || fl.Changed("cpu-period") || fl.Changed("cpu-share") {
				upd.CPU = &specs.LinuxCPU{}
				if fl.Changed("cpu-quota") {
					upd.CPU.Quota = &cpuQuota
				}
				if fl.Changed("cpu-period") {
					upd.CPU.Period = &cpuPeriod
				}
				if fl.Changed("cpu-share") {
					upd.CPU.Shares = &cpuShares
				}
			}
			c, l, err := g.load(cmd.Context(), args[0], lockfile.Exclusive)
			if err != nil {
				return err
			}
			defer l.Unlock()
			if c.status() == statusStopped {
				return errNotRunning
			}
			cg := c.cgroup()
			if cg == nil {
				return errors.New("container has no cgroup")
			}
			if c.Spec.Linux == nil {
				c.Spec.Linux = &specs.Linux{}
			}
			merged := mergeResources(c.Spec.Linux.Resources, &upd)
			if err := cg.Update(toResources(merged)); err != nil {
				return err
			}
			if err := cgroup.ApplyExtra(cg, toExtra(&upd)); err != nil {
				return err
			}
			c.Spec.Linux.Resources = merged
			return c.save()
		},
	}
	f := cmd.Flags()
	f.StringVarP(&resources, "resources", "r", "", "path to a file with the resources to update, or - for stdin")
	f.Int64Var(&memory, "memory", 0, "memory limit (in bytes)")
	f.Int64Var(&pids, "pids-limit", 0, "maximum number of pids allowed in the container")
	f.Int64Var(&cpuQuota, "cpu-quota", 0, "CPU CFS hardcap limit (in usecs)")
	f.Uint64Var(&cpuPeriod, "cpu-period", 0, "CPU CFS period to be used for hardcapping (in usecs)")
	f.Uint64Var(&cpuShares, "cpu-share", 0, "CPU shares (relative weight vs. other containers)")
	return cmd
}
