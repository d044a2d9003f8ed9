package skiff

import (
	"context"
	"encoding/json"
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/skiffrt/skiff/errdefs"
	"github.com/skiffrt/skiff/internal/journal"
)

// EventType is the kind of object an Event is about.
type EventType string

// The objects the engine reports events of, as Docker names them.
const (
	EventContainer EventType = "container"
	EventImage     EventType = "image"
	EventNetwork   EventType = "network"
	EventVolume    EventType = "volume"
)

// Event is one thing that happened on the engine root, recorded by whichever process did
// it (a program embedding the engine, the CLI, a container's monitor), so every process
// on the root sees the same events. Actions follow Docker's words: containers create,
// start, die (attribute exitCode), kill (signal), stop, restart, pause, unpause, destroy,
// exec_create, exec_start, exec_die, health_status; images pull, push, tag, untag,
// delete, import, load, save; networks create, connect, disconnect, destroy; volumes
// create, destroy.
type Event struct {
	Type   EventType `json:"type"`
	Action string    `json:"action"`
	// ID is the object's: a container or network ID, an image ID or reference, a
	// volume name.
	ID string `json:"id"`
	// Attributes describe the object (name, image, the container's labels, ...).
	Attributes map[string]string `json:"attributes,omitempty"`
	Time       time.Time         `json:"time"`
}

// EventFilter selects events. Within one field any value matches; every non-empty
// field must match (Docker's filter semantics).
type EventFilter struct {
	Types   []EventType
	Actions []string // an action, or its prefix before ":" ("exec_start: sh" matches "exec_start")
	// Containers match container events by ID, ID prefix or name (as Docker's, not
	// the network events that name the container).
	Containers []string
	// Images match image events by ID or name, and container events by their image.
	Images []string
	// Networks match network events by ID, ID prefix or name.
	Networks []string
	// Volumes match volume events by name.
	Volumes []string
	// Labels are "key" or "key=value", matched against the attributes.
	Labels []string
}

// EventsOptions says which events Engine.Events reports.
type EventsOptions struct {
	// Since replays the recorded events from this time on before new ones; zero
	// reports only events that happen after the call.
	Since time.Time
	// Until ends the stream at this time (after the replay, when it is in the past);
	// zero follows until ctx ends.
	Until  time.Time
	Filter EventFilter
}

// ErrInvalidEventsOptions: Until is before Since.
var ErrInvalidEventsOptions = errdefs.New(errdefs.ErrInvalidArgument, "invalid events options: until is before since")

// Events calls fn with each event that matches opts, oldest first, until ctx ends, the
// Until time passes, or fn returns an error (returned as it is). Events of every process
// on the root are seen as they are recorded. Recent events are kept in a bounded journal
// under Root()/events: a replay reaches back as far as it holds.
func (e *Engine) Events(ctx context.Context, opts EventsOptions, fn func(Event) error) error {
	if !opts.Until.IsZero() && !opts.Since.IsZero() && opts.Until.Before(opts.Since) {
		return ErrInvalidEventsOptions
	}
	j, err := journal.Open(eventsDir(e.root), 0)
	if err != nil {
		return err
	}
	follow := opts.Until.IsZero() || opts.Until.After(time.Now())
	if follow && !opts.Until.IsZero() {
		var cancel context.CancelFunc
		ctx, cancel = context.WithDeadline(ctx, opts.Until)
		defer cancel()
	}
	var fnErr error
	err = j.Read(ctx, journal.ReadOptions{FromStart: !opts.Since.IsZero(), Follow: follow}, func(rec []byte) error {
		var ev Event
		if json.Unmarshal(rec, &ev) != nil {
			return nil // a record of a newer format: not ours to report
		}
		if !opts.Since.IsZero() && ev.Time.Before(opts.Since) {
			return nil
		}
		if !opts.Until.IsZero() && ev.Time.After(opts.Until) {
			return journal.ErrStop
		}
		if !opts.Filter.Match(ev) {
			return nil
		}
		if err := fn(ev); err != nil {
			fnErr = err
			return journal.ErrStop
		}
		return nil
	})
	if fnErr != nil {
		return fnErr
	}
	return err
}

// Match reports whether ev passes the filter.
func (f EventFilter) Match(ev Event) bool {
	if len(f.Types) > 0 && !slices.Contains(f.Types, ev.Type) {
		return false
	}
	if len(f.Actions) > 0 && !slices.ContainsFunc(f.Actions, func(a string) bool {
		base, _, _ := strings.Cut(ev.Action, ":")
		return a == ev.Action || a == base
	}) {
		return false
	}
	attr := func(k string) string { return ev.Attributes[k] }
	if len(f.Containers) > 0 && !slices.ContainsFunc(f.Containers, func(c string) bool {
		return ev.Type == EventContainer && idOrName(c, ev.ID, attr("name"))
	}) {
		return false
	}
	if len(f.Images) > 0 && !slices.ContainsFunc(f.Images, func(i string) bool {
		switch ev.Type {
		case EventImage:
			return i == ev.ID || i == attr("name") || sameImageName(i, attr("name")) || sameImageName(i, ev.ID)
		case EventContainer:
			return i == attr("image") || sameImageName(i, attr("image"))
		}
		return false
	}) {
		return false
	}
	if len(f.Networks) > 0 && !slices.ContainsFunc(f.Networks, func(n string) bool {
		return ev.Type == EventNetwork && idOrName(n, ev.ID, attr("name"))
	}) {
		return false
	}
	if len(f.Volumes) > 0 && !slices.ContainsFunc(f.Volumes, func(v string) bool {
		return ev.Type == EventVolume && v == ev.ID
	}) {
		return false
	}
	for _, l := range f.Labels {
		k, v, hasValue := strings.Cut(l, "=")
		got, ok := ev.Attributes[k]
		if !ok || (hasValue && got != v) {
			return false
		}
	}
	return true
}

// idOrName matches a filter value against an object's ID (or a prefix of it of at least
// 3 characters, hex IDs only) or its name.
func idOrName(want, id, name string) bool {
	if want == "" {
		return false
	}
	return want == id || want == name || (len(want) >= 3 && len(id) == 64 && strings.HasPrefix(id, want))
}

// sameImageName compares image names, "busybox" meaning "busybox:latest".
func sameImageName(a, b string) bool {
	norm := func(s string) string {
		if s == "" || strings.Contains(s, "@") {
			return s
		}
		if i := strings.LastIndexByte(s, ':'); i < 0 || strings.Contains(s[i:], "/") {
			return s + ":latest"
		}
		return s
	}
	return a != "" && norm(a) == norm(b)
}

func eventsDir(root string) string { return filepath.Join(root, "events") }

// recordEvent appends an event to the root's journal. An event that cannot be recorded
// never fails the operation it reports: it is logged at debug level by the caller's
// logger when there is one.
func recordEvent(root string, typ EventType, action, id string, attrs map[string]string) error {
	j, err := journal.Open(eventsDir(root), 0)
	if err != nil {
		return err
	}
	rec, err := json.Marshal(Event{Type: typ, Action: action, ID: id, Attributes: attrs, Time: time.Now().UTC()})
	if err != nil {
		return fmt.Errorf("event %s %s: %w", typ, action, err)
	}
	return j.Append(rec)
}

// emit records an event of this engine's root.
func (e *Engine) emit(typ EventType, action, id string, attrs map[string]string) {
	if err := recordEvent(e.root, typ, action, id, attrs); err != nil {
		e.log.Debug("event not recorded", "type", typ, "action", action, "err", err)
	}
}

// containerEventAttrs are the attributes of a container's events: its name, image and
// labels (as Docker reports them).
func containerEventAttrs(st *State, extra ...string) map[string]string {
	attrs := make(map[string]string, len(st.Labels)+2+len(extra)/2)
	for k, v := range st.Labels {
		attrs[k] = v
	}
	attrs["name"] = st.Name
	attrs["image"] = st.Image
	for i := 0; i+1 < len(extra); i += 2 {
		attrs[extra[i]] = extra[i+1]
	}
	return attrs
}
