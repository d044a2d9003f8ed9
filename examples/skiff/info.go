package main

import (
	"fmt"
	"runtime"
	"runtime/debug"
	"strings"

	"github.com/spf13/cobra"
	"golang.org/x/sys/unix"

	"github.com/skiffrt/skiff"
	"github.com/skiffrt/skiff/cgroup"
)

func init() { commands = append(commands, newVersionCommand, newInfoCommand) }

func version() string {
	if bi, ok := debug.ReadBuildInfo(); ok {
		for _, d := range bi.Deps {
			if d.Path == "github.com/skiffrt/skiff" {
				return d.Version
			}
		}
		if v := bi.Main.Version; v != "" {
			return v
		}
	}
	return "(devel)"
}

func kernel() string {
	var u unix.Utsname
	if unix.Uname(&u) != nil {
		return "unknown"
	}
	return unix.ByteSliceToString(u.Release[:])
}

func newVersionCommand(g *globalFlags) *cobra.Command {
	return &cobra.Command{
		Use:   "version",
		Short: "Show the Skiff version information",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			fmt.Fprintf(cmd.OutOrStdout(), "Skiff (daemonless)\n Version:     %s\n Go version:  %s\n OS/Arch:     %s/%s\n Kernel:      %s\n",
				version(), runtime.Version(), runtime.GOOS, runtime.GOARCH, kernel())
			return nil
		},
	}
}

func newInfoCommand(g *globalFlags) *cobra.Command {
	return &cobra.Command{
		Use:   "info",
		Short: "Display system-wide information",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			e, err := g.engine()
			if err != nil {
				return err
			}
			ctx := cmd.Context()
			cs, err := e.Containers(ctx)
			if err != nil {
				return err
			}
			counts := map[skiff.Status]int{}
			for _, c := range cs {
				counts[c.State().Status]++
			}
			imgs, err := e.Images().List(ctx)
			if err != nil {
				return err
			}
			nets, _ := e.Networks().Networks(ctx)
			names := []string{"host", "none"}
			for _, n := range nets {
				names = append(names, n.Name)
			}
			out := cmd.OutOrStdout()
			fmt.Fprintf(out, "Containers: %d\n Running: %d\n Paused: %d\n Stopped: %d\n Created: %d\n",
				len(cs), counts[skiff.StatusRunning], counts[skiff.StatusPaused], counts[skiff.StatusExited], counts[skiff.StatusCreated])
			fmt.Fprintf(out, "Images: %d\n", len(imgs))
			fmt.Fprintf(out, "Server Version: %s (no daemon)\nStorage Driver: overlay (layers shared by chain ID)\n", version())
			fmt.Fprintf(out, "Cgroup Version: %s\n", cgroupVersion())
			fmt.Fprintf(out, "Networks: %s\n", strings.Join(names, " "))
			fmt.Fprintf(out, "Rootless: %v\nKernel Version: %s\nArchitecture: %s\nSkiff Root Dir: %s\n",
				skiff.Rootless(), kernel(), runtime.GOARCH, e.Root())
			return nil
		},
	}
}

func cgroupVersion() string {
	switch cgroup.DetectMode() {
	case cgroup.Unified:
		return "2"
	case cgroup.Hybrid:
		return "1 (hybrid: cgroup2 mounted without controllers)"
	case cgroup.Legacy:
		return "1"
	}
	return "none"
}
