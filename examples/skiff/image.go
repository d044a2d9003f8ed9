package main

import (
	"context"
	"fmt"

	"github.com/spf13/cobra"

	"github.com/skiffrt/skiff"
)

func init() { commands = append(commands, newImageCommand, newBuilderCommand) }

// newBuilderCommand is `skiff builder prune`: the build cache is emptied whole (the
// cache keeps no record of which steps an image still shares, so -a changes nothing).
func newBuilderCommand(g *globalFlags) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "builder",
		Short: "Manage builds",
		Args:  cobra.NoArgs,
	}
	cmd.AddCommand(newPruneCommand(g, "Remove build cache", true,
		func(bool) string { return "WARNING! This will remove all build cache." },
		func(ctx context.Context, e *skiff.Engine, _ bool) (*skiff.PruneReport, error) {
			return e.PruneBuildCache(ctx)
		}))
	return cmd
}

// newImageCommand is `skiff image ls|inspect|prune|rm|tag|push|pull|history|save|load`,
// docker's management command over the same code as the top-level commands.
func newImageCommand(g *globalFlags) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "image",
		Short: "Manage images",
		Args:  cobra.NoArgs,
	}
	rename := func(c *cobra.Command, use string, aliases ...string) *cobra.Command {
		c.Use, c.Aliases = use, aliases
		return c
	}
	cmd.AddCommand(
		rename(newImagesCommand(g), "ls [OPTIONS] [REPOSITORY[:TAG]]", "list", "images"),
		rename(newRmiCommand(g), "rm [OPTIONS] IMAGE [IMAGE...]", "remove", "rmi"),
		newInspectCommandFor(g, "image"),
		newImagePruneCommand(g),
		newTagCommand(g),
		newPushCommand(g),
		newPullCommand(g),
		newHistoryCommand(g),
		newSaveCommand(g),
		newLoadCommand(g),
	)
	return cmd
}

func newImagePruneCommand(g *globalFlags) *cobra.Command {
	return newPruneCommand(g, "Remove unused images, and the layers and blobs nothing references", true,
		func(all bool) string { return "WARNING! This will remove " + imagesToPrune(all) + "." },
		func(ctx context.Context, e *skiff.Engine, all bool) (*skiff.PruneReport, error) {
			return e.PruneImages(ctx, skiff.PruneImagesOptions{All: all})
		})
}

// newPruneCommand is image, system and container prune: -a/--all (with withAll),
// -f/--force, docker's warning (from warning(all)) unless forced, then prune's report.
func newPruneCommand(g *globalFlags, short string, withAll bool, warning func(all bool) string,
	prune func(ctx context.Context, e *skiff.Engine, all bool) (*skiff.PruneReport, error)) *cobra.Command {
	var all, force bool
	cmd := &cobra.Command{
		Use:   "prune [OPTIONS]",
		Short: short,
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if !force && !confirm(cmd, warning(all)) {
				return nil
			}
			e, err := g.engine()
			if err != nil {
				return err
			}
			rep, err := prune(cmd.Context(), e, all)
			if rep != nil {
				printPruneReport(cmd.OutOrStdout(), rep)
			}
			return err
		},
	}
	if withAll {
		cmd.Flags().BoolVarP(&all, "all", "a", false, "remove all unused images, not just dangling ones")
	}
	cmd.Flags().BoolVarP(&force, "force", "f", false, "do not prompt for confirmation")
	return cmd
}

// imagesToPrune says which images image and system prune remove, as docker's warning
// does.
func imagesToPrune(all bool) string {
	if all {
		return "all images without at least one container associated to them"
	}
	return "all dangling images"
}

// confirm asks docker's "Are you sure" question on the command's streams.
func confirm(cmd *cobra.Command, warning string) bool {
	fmt.Fprintf(cmd.OutOrStdout(), "%s\nAre you sure you want to continue? [y/N] ", warning)
	var answer string
	fmt.Fscanln(cmd.InOrStdin(), &answer)
	return answer == "y" || answer == "Y" || answer == "yes"
}
