package main

import (
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/skiffrt/skiff"
)

func init() { commands = append(commands, newEventsCommand) }

func newEventsCommand(g *globalFlags) *cobra.Command {
	var since, until, format string
	var filters []string
	cmd := &cobra.Command{
		Use:   "events [OPTIONS]",
		Short: "Get real time events from the engine",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			now := time.Now()
			var opts skiff.EventsOptions
			var err error
			if opts.Since, err = parseEventTime(since, now); err != nil {
				return fmt.Errorf("--since: %w", err)
			}
			if opts.Until, err = parseEventTime(until, now); err != nil {
				return fmt.Errorf("--until: %w", err)
			}
			for _, f := range filters {
				k, v, ok := strings.Cut(f, "=")
				if !ok {
					return fmt.Errorf("bad format of filter (expected name=value): %s", f)
				}
				switch k {
				case "type":
					opts.Filter.Types = append(opts.Filter.Types, skiff.EventType(v))
				case "event":
					opts.Filter.Actions = append(opts.Filter.Actions, v)
				case "container":
					opts.Filter.Containers = append(opts.Filter.Containers, v)
				case "image":
					opts.Filter.Images = append(opts.Filter.Images, v)
				case "network":
					opts.Filter.Networks = append(opts.Filter.Networks, v)
				case "volume":
					opts.Filter.Volumes = append(opts.Filter.Volumes, v)
				case "label":
					opts.Filter.Labels = append(opts.Filter.Labels, v)
				default:
					return fmt.Errorf("invalid filter '%s'", k)
				}
			}
			if format != "" && format != "json" && format != "{{json .}}" {
				return fmt.Errorf("--format: only json is supported")
			}
			e, err := g.engine()
			if err != nil {
				return err
			}
			out := cmd.OutOrStdout()
			return e.Events(cmd.Context(), opts, func(ev skiff.Event) error {
				if format != "" {
					b, err := json.Marshal(ev)
					if err != nil {
						return err
					}
					_, err = fmt.Fprintf(out, "%s\n", b)
					return err
				}
				var attrs []string
				for _, k := range slices.Sorted(maps.Keys(ev.Attributes)) {
					attrs = append(attrs, k+"="+ev.Attributes[k])
				}
				_, err := fmt.Fprintf(out, "%s %s %s %s (%s)\n", ev.Time.Local().Format(time.RFC3339Nano),
					ev.Type, ev.Action, ev.ID, strings.Join(attrs, ", "))
				return err
			})
		},
	}
	cmd.Flags().StringVar(&since, "since", "", "Show all events created since timestamp (Unix seconds, RFC 3339, or a duration like 10m)")
	cmd.Flags().StringVar(&until, "until", "", "Stream events until this timestamp")
	cmd.Flags().StringArrayVarP(&filters, "filter", "f", nil, "Filter output based on conditions provided")
	cmd.Flags().StringVar(&format, "format", "", "Format the output (json)")
	return cmd
}

// parseEventTime takes Unix seconds (with a fraction), an RFC 3339 time, or a duration
// before now, as docker events does.
func parseEventTime(s string, now time.Time) (time.Time, error) {
	if s == "" {
		return time.Time{}, nil
	}
	if f, err := strconv.ParseFloat(s, 64); err == nil && f >= 0 {
		sec := int64(f)
		return time.Unix(sec, int64((f-float64(sec))*1e9)), nil
	}
	for _, layout := range []string{time.RFC3339Nano, "2006-01-02T15:04:05", "2006-01-02"} {
		if t, err := time.ParseInLocation(layout, s, time.Local); err == nil {
			return t, nil
		}
	}
	if d, err := time.ParseDuration(s); err == nil {
		return now.Add(-d), nil
	}
	return time.Time{}, fmt.Errorf("%q is not a timestamp or a duration", s)
}
