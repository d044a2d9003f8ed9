package main

import (
	"encoding/json"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/skiffrt/skiff"
)

func (d *daemon) eventRoutes(h func(string, apiFunc)) {
	h("GET /events", d.events)
	// A single-host engine is not a swarm manager: Docker answers 503 on these, and
	// clients (docker-py's teardown among them) expect exactly that.
	notSwarm := func(w http.ResponseWriter, r *http.Request) error {
		return errorf(http.StatusServiceUnavailable, "This node is not a swarm manager. Use \"docker swarm init\" or \"docker swarm join\" to connect this node to swarm and try again.")
	}
	for _, p := range []string{"/swarm", "/swarm/", "/services", "/services/", "/nodes", "/nodes/",
		"/tasks", "/tasks/", "/secrets", "/secrets/", "/configs", "/configs/"} {
		h(p, notSwarm)
	}
}

// dockerEvent is an event as the Engine API streams it.
type dockerEvent struct {
	Status   string     `json:"status,omitempty"`
	ID       string     `json:"id,omitempty"`
	From     string     `json:"from,omitempty"`
	Type     string     `json:"Type"`
	Action   string     `json:"Action"`
	Actor    eventActor `json:"Actor"`
	Scope    string     `json:"scope"`
	Time     int64      `json:"time"`
	TimeNano int64      `json:"timeNano"`
}

type eventActor struct {
	ID         string            `json:"ID"`
	Attributes map[string]string `json:"Attributes"`
}

// events streams the engine's events (GET /events?since=&until=&filters=).
func (d *daemon) events(w http.ResponseWriter, r *http.Request) error {
	q := r.URL.Query()
	now := time.Now()
	since, err := eventTime(q.Get("since"), now)
	if err != nil {
		return errorf(http.StatusBadRequest, "invalid value for since: %v", err)
	}
	until, err := eventTime(q.Get("until"), now)
	if err != nil {
		return errorf(http.StatusBadRequest, "invalid value for until: %v", err)
	}
	f, err := filters(r)
	if err != nil {
		return err
	}
	var ef skiff.EventFilter
	for k, vs := range f {
		switch k {
		case "type":
			for _, v := range vs {
				switch skiff.EventType(v) {
				case skiff.EventContainer, skiff.EventImage, skiff.EventNetwork, skiff.EventVolume:
				case "builder", "config", "daemon", "node", "plugin", "secret", "service":
				default:
					return errorf(http.StatusBadRequest, "invalid filter 'type=%s'", v)
				}
				ef.Types = append(ef.Types, skiff.EventType(v))
			}
		case "event":
			ef.Actions = append(ef.Actions, vs...)
		case "container":
			ef.Containers = append(ef.Containers, vs...)
		case "image":
			ef.Images = append(ef.Images, vs...)
		case "network":
			ef.Networks = append(ef.Networks, vs...)
		case "volume":
			ef.Volumes = append(ef.Volumes, vs...)
		case "label":
			ef.Labels = append(ef.Labels, vs...)
		case "scope":
			// Every event of a single host is local.
			for _, v := range vs {
				if v != "local" {
					ef.Types = append(ef.Types, "none")
				}
			}
		case "daemon", "plugin", "node", "service", "secret", "config":
			ef.Types = append(ef.Types, "none") // none of these exist here
		default:
			return errorf(http.StatusBadRequest, "invalid filter '%s'", k)
		}
	}
	if !until.IsZero() && !since.IsZero() && until.Before(since) {
		return errorf(http.StatusBadRequest, "`since` time (%d) cannot be after `until` time (%d)", since.Unix(), until.Unix())
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusOK)
	flusher, _ := w.(http.Flusher)
	if flusher != nil {
		flusher.Flush()
	}
	enc := json.NewEncoder(w)
	return d.e.Events(r.Context(), skiff.EventsOptions{Since: since, Until: until, Filter: ef}, func(ev skiff.Event) error {
		out := dockerEvent{
			Type: string(ev.Type), Action: ev.Action,
			Actor: eventActor{ID: ev.ID, Attributes: ev.Attributes},
			Scope: "local", Time: ev.Time.Unix(), TimeNano: ev.Time.UnixNano(),
		}
		if out.Actor.Attributes == nil {
			out.Actor.Attributes = map[string]string{}
		}
		if ev.Type == skiff.EventContainer || ev.Type == skiff.EventImage {
			// The fields of API < 1.22, which clients still read.
			out.Status, out.ID = ev.Action, ev.ID
			if ev.Type == skiff.EventContainer {
				out.From = ev.Attributes["image"]
			}
		}
		if err := enc.Encode(out); err != nil {
			return err
		}
		if flusher != nil {
			flusher.Flush()
		}
		return nil
	})
}

// eventTime parses since/until as the CLI sends them: Unix seconds with an optional
// fraction ("1700000000.123456789"), or an RFC 3339 time, or a duration before now.
func eventTime(s string, now time.Time) (time.Time, error) {
	if s == "" {
		return time.Time{}, nil
	}
	if secs, frac, ok := strings.Cut(s, "."); ok || isDigits(secs) {
		if isDigits(secs) && (!ok || isDigits(frac)) {
			sec, err := strconv.ParseInt(secs, 10, 64)
			if err != nil {
				return time.Time{}, err
			}
			var nsec int64
			if ok {
				frac = (frac + "000000000")[:9]
				nsec, _ = strconv.ParseInt(frac, 10, 64)
			}
			return time.Unix(sec, nsec), nil
		}
	}
	if t, err := time.Parse(time.RFC3339Nano, s); err == nil {
		return t, nil
	}
	if d, err := time.ParseDuration(s); err == nil {
		return now.Add(-d), nil
	}
	return time.Time{}, errorf(http.StatusBadRequest, "%q is not a Unix timestamp, RFC 3339 time or duration", s)
}

func isDigits(s string) bool {
	if s == "" {
		return false
	}
	for _, c := range s {
		if c < '0' || c > '9' {
			return false
		}
	}
	return true
}
