package main

import (
	"context"
	"errors"
	"fmt"

	"github.com/spf13/cobra"

	"github.com/skiffrt/skiff"
	"github.com/skiffrt/skiff/errdefs"
)

// daemonError renders an error as docker's CLI prints errors from its daemon.
func daemonError(ref string, err error) string {
	if errors.Is(err, skiff.ErrNotFound) {
		return "Error response from daemon: No such container: " + ref
	}
	return "Error response from daemon: " + err.Error()
}

// imageFailure prints err as docker's daemon reports a failed image operation on ref
// ("No such image: REF" when the image is missing) and returns exit status 1.
func imageFailure(cmd *cobra.Command, ref string, err error) error {
	if errors.Is(err, errdefs.ErrNotFound) && ref != "" {
		cmd.PrintErrln("Error response from daemon: No such image: " + ref)
	} else {
		cmd.PrintErrln("Error response from daemon: " + err.Error())
	}
	return exitError{1}
}

// eachContainer runs fn on each container named in refs, as docker's multi-container
// commands do: it prints each ref done on stdout (unless quiet), each failure on
// stderr, and fails with exit status 1 when any failed.
func eachContainer(cmd *cobra.Command, g *globalFlags, refs []string, quiet bool, fn func(context.Context, *skiff.Container) error) error {
	e, err := g.engine()
	if err != nil {
		return err
	}
	ctx := cmd.Context()
	var failed error
	for _, ref := range refs {
		c, err := e.Container(ctx, ref)
		if err == nil {
			err = fn(ctx, c)
		}
		if err != nil {
			var ee exitError
			if errors.As(err, &ee) {
				return err
			}
			cmd.PrintErrln(daemonError(ref, err))
			failed = exitError{1}
			continue
		}
		if !quiet {
			fmt.Fprintln(cmd.OutOrStdout(), ref)
		}
	}
	return failed
}

// eachName runs fn on each name (a network, volume or image), as docker's multi-object
// commands do: it prints each name done on stdout (unless quiet), each failure on stderr
// as an error of its daemon, goes on with the next, and fails with exit status 1 when
// any failed.
func eachName(cmd *cobra.Command, names []string, quiet bool, fn func(ctx context.Context, name string) error) error {
	var failed error
	for _, name := range names {
		if err := fn(cmd.Context(), name); err != nil {
			cmd.PrintErrln("Error response from daemon: " + err.Error())
			failed = exitError{1}
			continue
		}
		if !quiet {
			fmt.Fprintln(cmd.OutOrStdout(), name)
		}
	}
	return failed
}

// oneContainer looks up the container named by ref for a single-container command: a
// failure is printed on stderr as an error of docker's daemon and ends the command with
// exit status 1.
func oneContainer(cmd *cobra.Command, g *globalFlags, ref string) (*skiff.Container, error) {
	e, err := g.engine()
	if err != nil {
		return nil, err
	}
	c, err := e.Container(cmd.Context(), ref)
	if err != nil {
		cmd.PrintErrln(daemonError(ref, err))
		return nil, exitError{1}
	}
	return c, nil
}

// waitExit waits for c to exit and passes a non-zero exit code on as the command's exit
// status.
func waitExit(ctx context.Context, c *skiff.Container) error {
	st, err := c.Wait(ctx)
	if err != nil {
		return err
	}
	if st.Code != 0 {
		return exitError{st.Code}
	}
	return nil
}
