package main

import (
	"fmt"

	"github.com/spf13/cobra"

	"github.com/skiffrt/skiff"
)

func init() { commands = append(commands, newCommitCommand) }

// newCommitCommand is `skiff commit`, docker commit.
func newCommitCommand(g *globalFlags) *cobra.Command {
	var (
		pause           bool
		changes         []string
		message, author string
	)
	cmd := &cobra.Command{
		Use:   "commit [OPTIONS] CONTAINER [REPOSITORY[:TAG]]",
		Short: "Create a new image from a container's changes",
		Args:  cobra.RangeArgs(1, 2),
		RunE: func(cmd *cobra.Command, args []string) error {
			opts := skiff.CommitOptions{Changes: changes, Message: message, Author: author, NoPause: !pause}
			if len(args) == 2 {
				opts.Ref = args[1]
			}
			e, err := g.engine()
			if err != nil {
				return err
			}
			c, err := e.Container(cmd.Context(), args[0])
			if err != nil {
				return err
			}
			img, err := c.Commit(cmd.Context(), opts)
			if err != nil {
				return err
			}
			fmt.Fprintln(cmd.OutOrStdout(), img.ID)
			return nil
		},
	}
	fl := cmd.Flags()
	fl.StringArrayVarP(&changes, "change", "c", nil, "apply a Dockerfile instruction to the created image")
	fl.StringVarP(&message, "message", "m", "", "commit message")
	fl.BoolVarP(&pause, "pause", "p", true, "pause the container during commit")
	fl.StringVarP(&author, "author", "a", "", `author (e.g. "John Hannibal Smith <hannibal@a-team.com>")`)
	return cmd
}
