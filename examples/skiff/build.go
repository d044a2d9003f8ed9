package main

import (
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"golang.org/x/term"

	"github.com/skiffrt/skiff"
	"github.com/skiffrt/skiff/builder"
	"github.com/skiffrt/skiff/registry"
)

func init() { commands = append(commands, newBuildCommand) }

// newBuildCommand is `skiff build`, docker build's subset.
func newBuildCommand(g *globalFlags) *cobra.Command {
	var (
		tags, buildArgs, labels          []string
		file, target, progress, platform string
		network                          string
		noCache, push, quiet             bool
	)
	cmd := &cobra.Command{
		Use:   "build [OPTIONS] PATH",
		Short: "Build an image from a Dockerfile",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			opts := skiff.BuildOptions{
				ContextDir: args[0], Dockerfile: file, Tags: tags, Target: target,
				NoCache: noCache, Platform: platform, Network: network,
				BuildArgs: map[string]string{}, Labels: map[string]string{},
			}
			if file == "-" {
				data, err := io.ReadAll(os.Stdin)
				if err != nil {
					return err
				}
				opts.DockerfileContent = data
			}
			for _, kv := range buildArgs {
				k, v, ok := strings.Cut(kv, "=")
				if !ok {
					if v, ok = os.LookupEnv(k); !ok {
						continue // docker drops --build-arg KEY when KEY is unset
					}
				}
				opts.BuildArgs[k] = v
			}
			for _, kv := range labels {
				k, v, _ := strings.Cut(kv, "=")
				opts.Labels[k] = v
			}
			if s := os.Getenv("SOURCE_DATE_EPOCH"); s != "" {
				sec, err := strconv.ParseInt(s, 10, 64)
				if err != nil {
					return fmt.Errorf("SOURCE_DATE_EPOCH %q: not a number of seconds", s)
				}
				opts.SourceDateEpoch = time.Unix(sec, 0)
			}
			stderr := cmd.ErrOrStderr()
			if progress == "auto" {
				progress = "plain"
				if f, ok := stderr.(*os.File); ok && term.IsTerminal(int(f.Fd())) {
					progress = "tty"
				}
			}
			if !quiet {
				opts.Progress = func(ev skiff.BuildEvent) {
					if ev.Kind == builder.StepStarted && progress == "tty" {
						return
					}
					if ev.Kind != builder.StepFailed {
						fmt.Fprintln(stderr, ev)
					}
				}
				if progress == "plain" {
					opts.Output = stderr
				}
			}
			e, err := g.engine()
			if err != nil {
				return err
			}
			img, err := e.Build(cmd.Context(), opts)
			if err != nil {
				return err
			}
			if push {
				for _, t := range tags {
					if _, err := e.Images().Push(cmd.Context(), t, registry.WithInsecure(g.insecure...)); err != nil {
						return err
					}
					if !quiet {
						fmt.Fprintf(stderr, "pushed %s\n", t)
					}
				}
			}
			fmt.Fprintln(cmd.OutOrStdout(), img.ID)
			return nil
		},
	}
	fl := cmd.Flags()
	fl.StringArrayVarP(&tags, "tag", "t", nil, "name and optionally a tag (name:tag)")
	fl.StringVarP(&file, "file", "f", "", "name of the Dockerfile (default PATH/Dockerfile; - reads stdin)")
	fl.StringArrayVar(&buildArgs, "build-arg", nil, "set a build-time variable (KEY=VALUE, or KEY to pass the host's)")
	fl.StringArrayVar(&labels, "label", nil, "set metadata for the image (KEY=VALUE)")
	fl.StringVar(&target, "target", "", "set the target build stage to build")
	fl.BoolVar(&noCache, "no-cache", false, "do not use cache when building the image")
	fl.StringVar(&progress, "progress", "auto", "progress output: auto, plain (steps and RUN output) or tty (steps only)")
	fl.StringVar(&platform, "platform", "", "target platform (os/arch[/variant])")
	fl.StringVar(&network, "network", "default", "network of RUN steps: default, none or host")
	fl.BoolVar(&push, "push", false, "push every tag after the build")
	fl.BoolVarP(&quiet, "quiet", "q", false, "print only the image ID")
	return cmd
}
