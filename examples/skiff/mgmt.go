package main

import (
	"context"
	"fmt"
	"strings"

	"github.com/spf13/cobra"

	"github.com/skiffrt/skiff"
)

func init() { commands = append(commands, newContainerCommand, newContainerPruneCommand) }

// containerSubcommands are docker container's subcommands: each is the top-level
// command of the same name ("ls", "list" and "ps" are ps).
var containerSubcommands = []string{"attach", "commit", "cp", "create", "diff", "exec", "export", "inspect",
	"kill", "logs", "ls", "pause", "port", "rename", "restart", "rm", "run", "start", "stats",
	"stop", "top", "unpause", "update", "wait"}

// groupAliases are the subcommands of docker's other management commands that are
// top-level commands here.
var groupAliases = map[string]string{
	"image build": "build", "image import": "import", "system events": "events", "system info": "info",
}

// globalValueFlags are the global flags that take a value (as a separate argument).
var globalValueFlags = map[string]bool{"--root": true, "--cgroup-parent": true, "--insecure-registry": true}

// rewriteManagementCommand turns `skiff [global flags] container SUB args...` into the
// top-level command SUB (docker container ls is docker ps), and the groupAliases into
// theirs, without building a second command tree. Other arguments are returned as they
// are.
func rewriteManagementCommand(args []string) []string {
	i := 0
	for i < len(args) {
		a := args[i]
		if !strings.HasPrefix(a, "-") {
			break
		}
		if globalValueFlags[a] {
			i++
		}
		i++
	}
	if i+1 >= len(args) {
		return args
	}
	// docker image build|import and docker system events|info are the top-level ones.
	if top, ok := groupAliases[args[i]+" "+args[i+1]]; ok {
		out := append(append([]string{}, args[:i]...), top)
		return append(out, args[i+2:]...)
	}
	if args[i] != "container" {
		return args
	}
	sub := args[i+1]
	switch sub {
	case "ls", "list", "ps":
		sub = "ps"
	case "inspect":
		out := append(append([]string{}, args[:i]...), "inspect", "--type", "container")
		return append(out, args[i+2:]...)
	case "prune":
		sub = "container-prune"
	default:
		known := false
		for _, c := range containerSubcommands {
			known = known || c == sub
		}
		if !known {
			return args
		}
	}
	out := append(append([]string{}, args[:i]...), sub)
	return append(out, args[i+2:]...)
}

// newContainerCommand is `skiff container`: its subcommands are rewritten to the
// top-level ones before the command line is parsed (rewriteManagementCommand); this
// command itself only lists them, or refuses an unknown one as docker does.
func newContainerCommand(g *globalFlags) *cobra.Command {
	return &cobra.Command{
		Use:   "container COMMAND",
		Short: "Manage containers",
		Args:  cobra.ArbitraryArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if len(args) > 0 {
				return fmt.Errorf("unknown command %q for \"skiff container\"", args[0])
			}
			fmt.Fprintf(cmd.OutOrStdout(), "Usage:  skiff container COMMAND\n\nManage containers\n\nCommands:\n  %s\n\nEach is the top-level command of the same name; ls is ps.\n",
				strings.Join(append(containerSubcommands, "prune"), "\n  "))
			return nil
		},
	}
}

// newContainerPruneCommand is docker container prune [-f] (reached as `skiff container
// prune`): removes every stopped container. It has no -a (nothing to widen).
func newContainerPruneCommand(g *globalFlags) *cobra.Command {
	cmd := newPruneCommand(g, "Remove all stopped containers", false,
		func(bool) string { return "WARNING! This will remove all stopped containers." },
		func(ctx context.Context, e *skiff.Engine, _ bool) (*skiff.PruneReport, error) {
			return e.PruneContainers(ctx)
		})
	cmd.Use, cmd.Hidden = "container-prune [OPTIONS]", true
	return cmd
}
