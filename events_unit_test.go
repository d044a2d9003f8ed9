package skiff

import (
	"context"
	"errors"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/skiffrt/skiff/errdefs"
)

func TestEventFilterMatch(t *testing.T) {
	id := "4f1c2d3e4f1c2d3e4f1c2d3e4f1c2d3e4f1c2d3e4f1c2d3e4f1c2d3e4f1c2d3e"
	die := Event{Type: EventContainer, Action: "die", ID: id,
		Attributes: map[string]string{"name": "web", "image": "busybox", "exitCode": "3", "tier": "front"}}
	connect := Event{Type: EventNetwork, Action: "connect", ID: "n1",
		Attributes: map[string]string{"name": "appnet", "container": id}}
	tag := Event{Type: EventImage, Action: "tag", ID: "sha256:abc", Attributes: map[string]string{"name": "busybox:latest"}}
	exec := Event{Type: EventContainer, Action: "exec_start: sh -c true", ID: id, Attributes: map[string]string{"name": "web"}}
	vol := Event{Type: EventVolume, Action: "create", ID: "data"}
	for _, tc := range []struct {
		name string
		f    EventFilter
		ev   Event
		want bool
	}{
		{"empty filter", EventFilter{}, die, true},
		{"type", EventFilter{Types: []EventType{EventImage}}, die, false},
		{"types or", EventFilter{Types: []EventType{EventImage, EventContainer}}, die, true},
		{"action", EventFilter{Actions: []string{"start", "die"}}, die, true},
		{"action miss", EventFilter{Actions: []string{"start"}}, die, false},
		{"action prefix", EventFilter{Actions: []string{"exec_start"}}, exec, true},
		{"container by name", EventFilter{Containers: []string{"web"}}, die, true},
		{"container by id prefix", EventFilter{Containers: []string{id[:12]}}, die, true},
		{"container other", EventFilter{Containers: []string{"db"}}, die, false},
		{"container filter skips network events", EventFilter{Containers: []string{id}}, connect, false},
		{"container filter skips image", EventFilter{Containers: []string{"web"}}, tag, false},
		{"image of container", EventFilter{Images: []string{"busybox:latest"}}, die, true},
		{"image event by name", EventFilter{Images: []string{"busybox"}}, tag, true},
		{"image event by id", EventFilter{Images: []string{"sha256:abc"}}, tag, true},
		{"network by name", EventFilter{Networks: []string{"appnet"}}, connect, true},
		{"network skips container", EventFilter{Networks: []string{"appnet"}}, die, false},
		{"volume", EventFilter{Volumes: []string{"data"}}, vol, true},
		{"label key", EventFilter{Labels: []string{"tier"}}, die, true},
		{"label value", EventFilter{Labels: []string{"tier=front"}}, die, true},
		{"label other value", EventFilter{Labels: []string{"tier=back"}}, die, false},
		{"all fields and", EventFilter{Types: []EventType{EventContainer}, Containers: []string{"web"}, Actions: []string{"start"}}, die, false},
	} {
		if got := tc.f.Match(tc.ev); got != tc.want {
			t.Errorf("%s: Match = %v, want %v", tc.name, got, tc.want)
		}
	}
}

func TestEventsReplayFollowAndUntil(t *testing.T) {
	e := &Engine{root: t.TempDir(), log: slog.New(slog.DiscardHandler)}
	before := time.Now().UTC()
	for _, a := range []string{"create", "start", "die"} {
		e.emit(EventContainer, a, "c1", map[string]string{"name": "one"})
	}
	e.emit(EventVolume, "create", "data", nil)

	// A replay from a past time up to now returns what is recorded, filtered, and ends.
	var got []string
	err := e.Events(context.Background(), EventsOptions{Since: before, Until: time.Now().UTC(),
		Filter: EventFilter{Types: []EventType{EventContainer}}}, func(ev Event) error {
		got = append(got, ev.Action)
		return nil
	})
	if err != nil || len(got) != 3 || got[0] != "create" || got[2] != "die" {
		t.Fatalf("replay = %q, %v", got, err)
	}

	// Without Since only new events come; fn's error ends the stream and is returned.
	stop := errors.New("enough")
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	done := make(chan error, 1)
	var seen []Event
	go func() {
		done <- e.Events(ctx, EventsOptions{}, func(ev Event) error {
			seen = append(seen, ev)
			return stop
		})
	}()
	for waiting := true; waiting; {
		e.emit(EventNetwork, "create", "n1", map[string]string{"name": "appnet"})
		select {
		case err := <-done:
			if !errors.Is(err, stop) {
				t.Fatalf("Events = %v, want fn's error", err)
			}
			waiting = false
		case <-time.After(100 * time.Millisecond):
		}
	}
	if len(seen) != 1 || seen[0].Type != EventNetwork || seen[0].Time.Before(before) {
		t.Fatalf("follow saw %+v", seen)
	}

	// Until in the future ends a follow when it passes.
	start := time.Now()
	err = e.Events(context.Background(), EventsOptions{Until: time.Now().Add(300 * time.Millisecond)}, func(Event) error { return nil })
	if err != nil || time.Since(start) < 250*time.Millisecond {
		t.Fatalf("Events with Until = %v after %v", err, time.Since(start))
	}

	if err := e.Events(context.Background(), EventsOptions{Since: time.Now(), Until: before}, nil); !errors.Is(err, errdefs.ErrInvalidArgument) {
		t.Fatalf("until before since = %v, want an invalid argument", err)
	}
}

// TestStartEventsOfQuickExit: a run records start then die, whether Start marks it
// running before its monitor records the exit, or the monitor of a command that ended
// at once records the exit (created → exited) before Start's mark.
func TestStartEventsOfQuickExit(t *testing.T) {
	e := &Engine{root: t.TempDir(), log: slog.New(slog.DiscardHandler)}
	s := containerStore{dir: filepath.Join(e.root, "containers")}
	if err := os.MkdirAll(s.dir, 0o700); err != nil {
		t.Fatal(err)
	}
	exit := func(st *State) error { st.Status, st.ExitCode = StatusExited, 5; return nil }
	before := time.Now().UTC()
	for _, tc := range []struct{ id, name string }{{"aa", "usual"}, {"bb", "quick"}} {
		if _, err := s.create(tc.id); err != nil {
			t.Fatal(err)
		}
		if err := s.save(&State{ID: tc.id, Name: tc.name, Status: StatusCreated}); err != nil {
			t.Fatal(err)
		}
		if tc.name == "quick" {
			if _, err := s.update(tc.id, exit); err != nil { // the monitor first
				t.Fatal(err)
			}
		}
		st, err := s.markStarted(tc.id, time.Now().UTC())
		if err != nil {
			t.Fatal(err)
		}
		if tc.name == "usual" {
			if st.Status != StatusRunning {
				t.Fatalf("after markStarted: %s", st.Status)
			}
			if _, err := s.update(tc.id, exit); err != nil {
				t.Fatal(err)
			}
		} else if st.Status != StatusExited || st.Started.IsZero() {
			t.Fatalf("quick run after markStarted: %+v", st)
		}
	}
	got := map[string][]string{}
	err := e.Events(context.Background(), EventsOptions{Since: before, Until: time.Now().UTC()}, func(ev Event) error {
		got[ev.Attributes["name"]] = append(got[ev.Attributes["name"]], ev.Action+":"+ev.Attributes["exitCode"])
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"usual", "quick"} {
		if s := strings.Join(got[name], " "); s != "start: die:5" {
			t.Errorf("events of the %s run: %q, want start then die with its exit code", name, s)
		}
	}
}
