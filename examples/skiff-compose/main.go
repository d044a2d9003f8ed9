// Command skiff-compose is `skiff compose`: Compose apps over the Skiff library, in
// process, with the compose package. It is a plugin binary of its own, as docker compose
// is docker's: every container's init and monitor re-executes the binary that made it,
// and the Compose loader's dependencies (a JSON schema compiled at start, ~2.5 MB of
// allocations) stay out of the skiff CLI's. skiff runs it for `skiff compose ...`, found
// next to its own executable or in PATH.
//
//	skiff-compose [--root DIR] compose [-f FILE] [-p NAME] up|down|ps|logs|exec|stop|start|restart|config
package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"slices"
	"syscall"

	"github.com/spf13/cobra"

	"github.com/skiffrt/skiff"
	"github.com/skiffrt/skiff/examples/internal/dockeropts"
)

// exitError carries a process exit status out of a command.
type exitError struct{ code int }

func (e exitError) Error() string { return fmt.Sprintf("exit status %d", e.code) }

// globalFlags are the skiff CLI's global flags, which skiff passes on.
type globalFlags struct {
	root     string
	insecure []string
	debug    bool
}

func (g *globalFlags) engine() (*skiff.Engine, error) {
	level := slog.LevelWarn
	if g.debug {
		level = slog.LevelDebug
	}
	log := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: level}))
	return skiff.New(skiff.WithRoot(g.root), skiff.WithLogger(log), skiff.WithInsecureRegistries(g.insecure...))
}

func hostEnv(kvs []string) []string { return dockeropts.ExpandEnv(kvs, os.LookupEnv) }

func main() {
	skiff.InitRootless()
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGPIPE)
	defer stop()
	g := &globalFlags{}
	root := &cobra.Command{Use: "skiff-compose", SilenceUsage: true, SilenceErrors: true}
	root.CompletionOptions.DisableDefaultCmd = true
	defRoot := os.Getenv("SKIFF_ROOT")
	if defRoot == "" {
		defRoot = skiff.DefaultRoot
	}
	root.PersistentFlags().StringVar(&g.root, "root", defRoot, "engine state root (env SKIFF_ROOT)")
	root.PersistentFlags().StringSliceVar(&g.insecure, "insecure-registry", nil, "allow plain HTTP to this registry host[:port] (localhost always is)")
	root.PersistentFlags().BoolVarP(&g.debug, "debug", "D", false, "print debug logs")
	root.AddCommand(newComposeCommand(g))
	args := os.Args[1:]
	if !slices.Contains(args, "compose") {
		args = append([]string{"compose"}, args...) // run by hand: skiff-compose up -d
	}
	root.SetArgs(args)
	err := root.ExecuteContext(ctx)
	var ee exitError
	switch {
	case err == nil:
	case errors.As(err, &ee):
		os.Exit(ee.code)
	default:
		fmt.Fprintf(os.Stderr, "skiff compose: %v\n", err)
		os.Exit(skiff.ExitCodeOf(err))
	}
}

func flagError(flag, val string, err error) error {
	return fmt.Errorf("invalid argument %q for %q flag: %w", val, flag, err)
}

// execError reports a failed exec as docker compose exec does: 126 when the command
// cannot run.
func execError(cmd *cobra.Command, err error) error {
	if errors.Is(err, skiff.ErrCommandNotFound) || errors.Is(err, skiff.ErrCommandNotExecutable) {
		cmd.PrintErrf("OCI runtime exec failed: %v\n", err)
		return exitError{126}
	}
	cmd.PrintErrln("Error response from daemon: " + err.Error())
	return exitError{1}
}
