package main

import (
	"fmt"
	"os"
	"os/exec"
	"slices"
	"strconv"
	"strings"

	"github.com/spf13/cobra"

	"github.com/skiffrt/skiff/internal/lockfile"
)

func newPsCommand(g *globalFlags) *cobra.Command {
	var format string
	cmd := &cobra.Command{
		Use:   "ps [--format table|json] CONTAINER-ID [-- PS-ARGS...]",
		Short: "List the processes of a container (json: their host pids)",
		Args:  cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, l, err := g.load(cmd.Context(), args[0], lockfile.Shared)
			if err != nil {
				return err
			}
			defer l.Unlock()
			pids := []int{}
			if cg := c.cgroup(); cg != nil {
				if pids, err = cg.Procs(); err != nil {
					return err
				}
			} else if c.status() != statusStopped {
				pids = []int{c.Pid}
			}
			switch format {
			case "json":
				return printJSON(pids)
			case "table":
				return psTable(pids, args[1:])
			}
			return fmt.Errorf("invalid format option")
		},
	}
	cmd.Flags().StringVarP(&format, "format", "f", "table", "select one of: table or json")
	cmd.Flags().SetInterspersed(false)
	return cmd
}

// psTable prints the lines of `ps -ef` (or ps with psArgs) whose PID is one of pids.
func psTable(pids []int, psArgs []string) error {
	if len(psArgs) == 0 {
		psArgs = []string{"-ef"}
	}
	out, err := exec.Command("ps", psArgs...).Output()
	if err != nil {
		return fmt.Errorf("ps %s: %w", strings.Join(psArgs, " "), err)
	}
	lines := strings.Split(strings.TrimRight(string(out), "\n"), "\n")
	col := slices.Index(strings.Fields(lines[0]), "PID")
	if col < 0 {
		return fmt.Errorf("no PID column in ps output")
	}
	fmt.Fprintln(os.Stdout, lines[0])
	for _, line := range lines[1:] {
		f := strings.Fields(line)
		if len(f) <= col {
			continue
		}
		if pid, err := strconv.Atoi(f[col]); err == nil && slices.Contains(pids, pid) {
			fmt.Fprintln(os.Stdout, line)
		}
	}
	return nil
}
