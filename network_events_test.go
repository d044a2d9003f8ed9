package skiff_test

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/skiffrt/skiff"
	"github.com/skiffrt/skiff/netbridge"
)

// TestNetworkEvents: network create, connect (when a container starts, and when it is
// connected), disconnect (when it is disconnected, and when it stops) and destroy are
// recorded as Docker reports them.
func TestNetworkEvents(t *testing.T) {
	e := newEngine(t)
	img := busybox(t, e)
	ctx := context.Background()
	since := time.Now()
	n, err := e.CreateNetwork(ctx, netbridgeConfig("evnet"))
	if err != nil {
		t.Fatal(err)
	}
	c := startBackground(t, e, skiff.ContainerConfig{Image: img, Name: "evc", Network: "evnet", Cmd: []string{"sleep", "60"}})
	other, err := e.CreateNetwork(ctx, netbridgeConfig("evother"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.Connect(ctx, "evother"); err != nil {
		t.Fatal(err)
	}
	if err := c.Disconnect(ctx, other.ID); err != nil {
		t.Fatal(err)
	}
	if err := c.Kill(ctx, 9); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Wait(ctx); err != nil {
		t.Fatal(err)
	}
	if err := e.RemoveNetwork(ctx, "evother"); err != nil {
		t.Fatal(err)
	}

	var got []string
	until := time.Now().Add(time.Second)
	err = e.Events(ctx, skiff.EventsOptions{Since: since, Until: until, Filter: skiff.EventFilter{Types: []skiff.EventType{skiff.EventNetwork}}},
		func(ev skiff.Event) error {
			who := ev.Attributes["name"]
			if ev.Attributes["container"] == c.ID() {
				who += " evc"
			}
			if ev.ID != n.ID && ev.ID != other.ID {
				t.Errorf("event %s %s names network %s", ev.Action, who, ev.ID)
			}
			got = append(got, ev.Action+" "+who)
			return nil
		})
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"create evnet", "connect evnet evc", "create evother", "connect evother evc",
		"disconnect evother evc", "disconnect evnet evc", "destroy evother"}
	if !slices.Equal(got, want) {
		t.Errorf("network events:\n%q\nwant\n%q", got, want)
	}
}

func netbridgeConfig(name string) netbridge.NetworkConfig { return netbridge.NetworkConfig{Name: name} }
