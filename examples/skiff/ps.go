package main

import (
	"fmt"
	"sort"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	units "github.com/docker/go-units"
	"github.com/spf13/cobra"

	"github.com/skiffrt/skiff"
	"github.com/skiffrt/skiff/examples/internal/dockeropts"
	"github.com/skiffrt/skiff/registry"
)

func init() { commands = append(commands, newPsCommand) }

func newPsCommand(g *globalFlags) *cobra.Command {
	var all, quiet, noTrunc, latest, size bool
	var filters []string
	var format string
	last := -1
	cmd := &cobra.Command{
		Use:   "ps [OPTIONS]",
		Short: "List containers",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			match, err := psFilter(filters)
			if err != nil {
				return err
			}
			e, err := g.engine()
			if err != nil {
				return err
			}
			ctx := cmd.Context()
			cs, err := e.Containers(ctx)
			if err != nil {
				return err
			}
			w := tabwriter.NewWriter(cmd.OutOrStdout(), 0, 4, 3, ' ', 0)
			var rows *rowFormat
			if format != "" && !quiet {
				if rows, err = newRowFormat(format, psHeaders, cmd.OutOrStdout()); err != nil {
					return err
				}
			} else if !quiet {
				head := "CONTAINER ID\tIMAGE\tCOMMAND\tCREATED\tSTATUS\tPORTS\tNAMES"
				if size {
					head += "\tSIZE"
				}
				fmt.Fprintln(w, head)
			}
			if latest {
				last = 1
			}
			shown := 0
			for i := len(cs) - 1; i >= 0; i-- { // newest first, as docker lists
				c := cs[i]
				st := c.State()
				// A status filter, -n and -l show stopped containers without -a, as
				// docker's do.
				if !all && !match.status && last < 0 && st.Status != skiff.StatusRunning && st.Status != skiff.StatusPaused {
					continue
				}
				if !match.fn(st) {
					continue
				}
				if last >= 0 && shown >= last {
					break
				}
				shown++
				id := st.ID
				if !noTrunc {
					id = id[:12]
				}
				if quiet {
					fmt.Fprintln(w, id)
					continue
				}
				var ports []string
				if st.Status == skiff.StatusRunning || st.Status == skiff.StatusPaused {
					eps, _ := c.Endpoints(ctx)
					for _, ep := range eps {
						for _, p := range ep.Ports {
							ports = append(ports, portText(p.HostIP.String(), p.HostPort, p.ContainerPort, p.Proto))
						}
					}
				}
				sizeText := ""
				if size {
					if rw, rootfs, err := c.Size(ctx); err == nil {
						sizeText = units.HumanSizeWithPrecision(float64(rw), 3) + " (virtual " + units.HumanSizeWithPrecision(float64(rootfs), 3) + ")"
					}
				}
				fields := psFields(c, st, id, ports, noTrunc, sizeText)
				if rows != nil {
					if err := rows.row(fields); err != nil {
						return err
					}
					continue
				}
				row := fmt.Sprintf("%s\t%s\t%s\t%s\t%s\t%s\t%s", id, st.Image, fields["Command"],
					fields["RunningFor"], fields["Status"], fields["Ports"], st.Name)
				if size {
					row += "\t" + sizeText
				}
				fmt.Fprintln(w, row)
			}
			if rows != nil {
				return rows.flush()
			}
			return w.Flush()
		},
	}
	cmd.Flags().BoolVarP(&all, "all", "a", false, "show all containers (default shows just running)")
	cmd.Flags().BoolVarP(&quiet, "quiet", "q", false, "only display container IDs")
	cmd.Flags().BoolVar(&noTrunc, "no-trunc", false, "don't truncate output")
	cmd.Flags().StringVar(&format, "format", "", "format output using a Go template ({{.ID}} {{.Names}} {{.Status}} ...; \"table TEMPLATE\", \"json\")")
	cmd.Flags().StringArrayVarP(&filters, "filter", "f", nil, "filter output based on conditions provided (status=, name=, id=, label=, health=, exited=, ancestor=)")
	cmd.Flags().IntVarP(&last, "last", "n", -1, "show n last created containers (includes all states)")
	cmd.Flags().BoolVarP(&latest, "latest", "l", false, "show the latest created container (includes all states)")
	cmd.Flags().BoolVarP(&size, "size", "s", false, "display total file sizes")
	return cmd
}

// psHeaders are the column titles of ps --format "table ...".
var psHeaders = map[string]string{
	"ID": "CONTAINER ID", "Image": "IMAGE", "Command": "COMMAND", "CreatedAt": "CREATED AT",
	"RunningFor": "CREATED", "Ports": "PORTS", "State": "STATE", "Status": "STATUS", "Size": "SIZE",
	"Names": "NAMES", "Labels": "LABELS", "Mounts": "MOUNTS", "Networks": "NETWORKS",
}

// psFields are a container's fields for ps --format, as docker's.
func psFields(c *skiff.Container, st skiff.State, id string, ports []string, noTrunc bool, size string) map[string]any {
	command := strings.Join(st.Cmd, " ")
	if !noTrunc && len([]rune(command)) > 20 {
		command = string([]rune(command)[:19]) + "…"
	}
	labels := make([]string, 0, len(st.Labels))
	for k, v := range st.Labels {
		labels = append(labels, k+"="+v)
	}
	sort.Strings(labels)
	var mounts []string
	for _, m := range c.Config().Mounts {
		if m.Type == skiff.MountVolume && m.Source != "" {
			mounts = append(mounts, m.Source)
		} else {
			mounts = append(mounts, m.Target)
		}
	}
	return map[string]any{
		"ID": id, "Image": st.Image, "Command": strconv.Quote(command),
		"CreatedAt":  st.Created.Local().Format("2006-01-02 15:04:05 -0700 MST"),
		"RunningFor": units.HumanDuration(time.Since(st.Created)) + " ago",
		"Ports":      strings.Join(ports, ", "), "State": dockeropts.ContainerStatus(st),
		"Status": dockeropts.StatusText(st, time.Now()), "Size": size, "Names": st.Name,
		"Labels": strings.Join(labels, ","), "Mounts": strings.Join(mounts, ","), "Networks": st.Network,
	}
}

func portText(hostIP string, hostPort, containerPort uint16, proto string) string {
	if proto == "" {
		proto = "tcp"
	}
	if hostIP == "invalid IP" || hostIP == "" {
		hostIP = "0.0.0.0"
	}
	return fmt.Sprintf("%s:%d->%d/%s", hostIP, hostPort, containerPort, proto)
}

type psMatch struct {
	status bool // a status filter was given
	fn     func(skiff.State) bool
}

// psFilter builds docker ps's --filter: values of one key are ORed, keys are ANDed.
func psFilter(filters []string) (psMatch, error) {
	byKey := map[string][]string{}
	for _, f := range filters {
		k, v, ok := strings.Cut(f, "=")
		if !ok {
			return psMatch{}, fmt.Errorf("bad format of filter (expected name=value): %s", f)
		}
		switch k {
		case "status":
			switch v {
			case "created", "running", "paused", "exited", "restarting", "removing", "dead":
			default:
				return psMatch{}, fmt.Errorf("invalid filter 'status=%s'", v)
			}
		case "health":
			switch v {
			case "starting", "healthy", "unhealthy", "none":
			default:
				return psMatch{}, fmt.Errorf("Unrecognised filter value for health: %s", v)
			}
		case "exited":
			if _, err := strconv.Atoi(v); err != nil {
				return psMatch{}, fmt.Errorf("invalid filter 'exited=%s'", v)
			}
		case "ancestor":
			if _, err := registry.Normalize(v); err != nil && !isHexPrefix(strings.TrimPrefix(v, "sha256:")) {
				return psMatch{}, fmt.Errorf("invalid filter 'ancestor=%s': %w", v, err)
			}
		case "name", "id", "label":
		default:
			return psMatch{}, fmt.Errorf("invalid filter '%s'", k)
		}
		byKey[k] = append(byKey[k], v)
	}
	one := func(k, v string, st skiff.State) bool {
		switch k {
		case "status":
			return string(st.Status) == v
		case "name":
			return strings.Contains(st.Name, v)
		case "id":
			return strings.HasPrefix(st.ID, v)
		case "health":
			return dockeropts.HealthFilterValue(st) == v
		case "exited":
			return st.Status == skiff.StatusExited && strconv.Itoa(st.ExitCode) == v
		case "ancestor":
			// The image the container was created from, by name or by ID (prefix).
			if n, err := registry.Normalize(v); err == nil {
				if sn, err := registry.Normalize(st.Image); err == nil && sn == n {
					return true
				}
			}
			id := strings.TrimPrefix(v, "sha256:")
			return isHexPrefix(id) && len(id) >= 4 && strings.HasPrefix(strings.TrimPrefix(st.ImageID, "sha256:"), id)
		default: // label: key or key=value
			lk, lv, hasValue := strings.Cut(v, "=")
			got, ok := st.Labels[lk]
			return ok && (!hasValue || got == lv)
		}
	}
	return psMatch{status: len(byKey["status"]) > 0, fn: func(st skiff.State) bool {
		for k, vs := range byKey {
			hit := false
			for _, v := range vs {
				if one(k, v, st) {
					hit = true
					break
				}
			}
			if !hit {
				return false
			}
		}
		return true
	}}, nil
}

// isHexPrefix reports whether s is a non-empty string of lowercase hex digits.
func isHexPrefix(s string) bool { return s != "" && strings.Trim(s, "0123456789abcdef") == "" }
