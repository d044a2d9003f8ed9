package main

import (
	"fmt"
	"os"
	"strconv"
	"time"

	"github.com/spf13/cobra"

	"github.com/skiffrt/skiff"
)

func init() { commands = append(commands, newLogsCommand) }

func newLogsCommand(g *globalFlags) *cobra.Command {
	var opts skiff.LogOptions
	var tail, since, until string
	cmd := &cobra.Command{
		Use:   "logs [OPTIONS] CONTAINER",
		Short: "Fetch the logs of a container",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.Tail = -1
			if tail != "all" {
				n, err := strconv.Atoi(tail)
				if err != nil {
					return flagError("--tail", tail, err)
				}
				opts.Tail = n
			}
			if since != "" {
				t, err := parseSince(since, time.Now())
				if err != nil {
					return flagError("--since", since, err)
				}
				opts.Since = t
			}
			if until != "" {
				t, err := parseSince(until, time.Now())
				if err != nil {
					return flagError("--until", until, err)
				}
				opts.Until = t
			}
			c, err := oneContainer(cmd, g, args[0])
			if err != nil {
				return err
			}
			return c.Logs(cmd.Context(), opts, os.Stdout, os.Stderr)
		},
	}
	fl := cmd.Flags()
	fl.BoolVarP(&opts.Follow, "follow", "f", false, "follow log output")
	fl.BoolVarP(&opts.Timestamps, "timestamps", "t", false, "show timestamps")
	fl.StringVarP(&tail, "tail", "n", "all", "number of lines to show from the end of the logs")
	fl.StringVar(&since, "since", "", "show logs since timestamp (e.g. 2013-01-02T13:23:37Z) or relative (e.g. 42m for 42 minutes)")
	fl.StringVar(&until, "until", "", "show logs before a timestamp (e.g. 2013-01-02T13:23:37Z) or relative (e.g. 42m for 42 minutes)")
	return cmd
}

// parseSince parses docker's --since: a duration before now, RFC 3339 (with or
// without zone and seconds fraction), a date, or Unix seconds[.nanoseconds].
func parseSince(s string, now time.Time) (time.Time, error) {
	if d, err := time.ParseDuration(s); err == nil {
		return now.Add(-d), nil
	}
	for _, layout := range []string{time.RFC3339Nano, "2006-01-02T15:04:05.999999999", "2006-01-02T15:04", "2006-01-02"} {
		if t, err := time.ParseInLocation(layout, s, time.Local); err == nil {
			return t, nil
		}
	}
	if f, err := strconv.ParseFloat(s, 64); err == nil {
		sec := int64(f)
		return time.Unix(sec, int64((f-float64(sec))*1e9)), nil
	}
	return time.Time{}, fmt.Errorf("want a duration, an RFC 3339 time or Unix seconds")
}
