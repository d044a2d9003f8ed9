package skiff_test

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/skiffrt/skiff"
)

// TestContainerEvents: a follower sees a detached container's life as Docker reports
// it, including the die that its monitor (another process) records, and a volume's.
func TestContainerEvents(t *testing.T) {
	e := newEngine(t)
	img := busybox(t, e)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()

	var mu sync.Mutex
	var got []string
	seen := func() string {
		mu.Lock()
		defer mu.Unlock()
		return strings.Join(got, " ")
	}
	since := time.Now()
	follow, stop := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() {
		done <- e.Events(follow, skiff.EventsOptions{Since: since, Filter: skiff.EventFilter{
			Types: []skiff.EventType{skiff.EventContainer, skiff.EventVolume}}}, func(ev skiff.Event) error {
			mu.Lock()
			defer mu.Unlock()
			s := ev.Action
			if ev.Type == skiff.EventContainer && ev.Attributes["name"] != "evbox" {
				return fmt.Errorf("event %s of container %q", ev.Action, ev.Attributes["name"])
			}
			if ev.Action == "die" {
				s += "=" + ev.Attributes["exitCode"]
			}
			if ev.Type == skiff.EventVolume {
				s = "volume-" + s + "-" + ev.ID
			}
			got = append(got, s)
			return nil
		})
	}()

	if _, err := e.CreateVolume(ctx, "evdata", nil); err != nil {
		t.Fatal(err)
	}
	c, err := e.Create(ctx, skiff.ContainerConfig{Image: img, Name: "evbox", Network: skiff.NetworkNone,
		Detach: true, Labels: map[string]string{"tier": "test"}, Cmd: []string{"sh", "-c", "sleep 0.2; exit 3"}})
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Start(ctx); err != nil {
		t.Fatal(err)
	}
	if st, err := c.Wait(ctx); err != nil || st.Code != 3 {
		t.Fatalf("wait: %+v %v", st, err)
	}
	if err := c.Delete(ctx); err != nil {
		t.Fatal(err)
	}
	if err := e.RemoveVolume(ctx, "evdata", skiff.RemoveVolumeOptions{}); err != nil {
		t.Fatal(err)
	}
	want := "volume-create-evdata create start die=3 destroy volume-destroy-evdata"
	for deadline := time.Now().Add(10 * time.Second); seen() != want && time.Now().Before(deadline); {
		time.Sleep(20 * time.Millisecond)
	}
	stop()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if s := seen(); s != want {
		t.Fatalf("events = %q, want %q", s, want)
	}

	// A replay from the same point, filtered by label and action, finds the die again.
	var replay []skiff.Event
	err = e.Events(ctx, skiff.EventsOptions{Since: since, Until: time.Now(), Filter: skiff.EventFilter{
		Labels: []string{"tier=test"}, Actions: []string{"die"}}}, func(ev skiff.Event) error {
		replay = append(replay, ev)
		return nil
	})
	if err != nil || len(replay) != 1 || replay[0].ID != c.ID() || replay[0].Attributes["image"] != img {
		t.Fatalf("replay = %+v, %v", replay, err)
	}
}
