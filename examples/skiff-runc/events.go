package main

import (
	"encoding/json"
	"os"
	"time"

	"github.com/spf13/cobra"

	"github.com/skiffrt/skiff/cgroup"
	"github.com/skiffrt/skiff/internal/lockfile"
)

// event is runc's events output: {"type":"stats"|"oom","id":...,"data":...}.
type event struct {
	Type string `json:"type"`
	ID   string `json:"id"`
	Data any    `json:"data,omitempty"`
}

// stats is the part of runc's stats types that Skiff's cgroup stats fill.
type stats struct {
	CPU struct {
		Usage struct {
			Total  uint64 `json:"total"`
			Kernel uint64 `json:"kernel"`
			User   uint64 `json:"user"`
		} `json:"usage"`
	} `json:"cpu"`
	Memory struct {
		Cache uint64 `json:"cache"`
		Usage struct {
			Limit uint64 `json:"limit"`
			Usage uint64 `json:"usage"`
		} `json:"usage"`
	} `json:"memory"`
	Pids struct {
		Current uint64 `json:"current"`
		Limit   uint64 `json:"limit"`
	} `json:"pids"`
}

func toStats(s *cgroup.Stats) stats {
	var out stats
	out.CPU.Usage.Total, out.CPU.Usage.Kernel, out.CPU.Usage.User = s.CPUUsageNS, s.CPUSystemNS, s.CPUUserNS
	out.Memory.Usage.Usage, out.Memory.Usage.Limit = s.MemoryUsage, s.MemoryLimit
	out.Memory.Cache = s.MemoryInactiveFile
	out.Pids.Current, out.Pids.Limit = s.PidsCurrent, s.PidsLimit
	return out
}

func newEventsCommand(g *globalFlags) *cobra.Command {
	var once bool
	var interval time.Duration
	cmd := &cobra.Command{
		Use:   "events [--stats] [--interval 5s] CONTAINER-ID",
		Short: "Print a container's stats (--stats: once) and OOM events as JSON lines",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			id := args[0]
			enc := json.NewEncoder(os.Stdout)
			oom := false
			for {
				c, l, err := g.load(cmd.Context(), id, lockfile.Shared)
				if err != nil {
					return err
				}
				st := c.status()
				cg := c.cgroup()
				l.Unlock()
				if st == statusStopped || cg == nil {
					if once {
						return errNotRunning
					}
					return nil
				}
				s, err := cg.Stats()
				if err != nil {
					return err
				}
				if err := enc.Encode(event{Type: "stats", ID: id, Data: toStats(s)}); err != nil {
					return err
				}
				if once {
					return nil
				}
				if killed, _ := cg.OOMKilled(); killed && !oom {
					oom = true
					if err := enc.Encode(event{Type: "oom", ID: id}); err != nil {
						return err
					}
				}
				select {
				case <-cmd.Context().Done():
					return nil
				case <-time.After(interval):
				}
			}
		},
	}
	cmd.Flags().BoolVar(&once, "stats", false, "display the container's stats then exit")
	cmd.Flags().DurationVar(&interval, "interval", 5*time.Second, "set the stats collection interval")
	return cmd
}
