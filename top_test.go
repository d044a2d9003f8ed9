package skiff_test

import (
	"context"
	"errors"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/skiffrt/skiff"
)

// TestTop: docker top lists the container's processes (and only them), as ps -ef
// and with ps arguments; a stopped container is refused.
func TestTop(t *testing.T) {
	e := newEngine(t)
	img := busybox(t, e)
	ctx := context.Background()
	c := startBackground(t, e, skiff.ContainerConfig{Image: img, Network: skiff.NetworkNone,
		Cmd: []string{"sh", "-c", "sleep 61 & sleep 62; true"}})
	want := []string{"sh -c sleep 61 & sleep 62; true", "sleep 61", "sleep 62"}
	var top *skiff.TopResult
	for range 250 { // the shell forks its two sleeps, which then exec, soon after start
		var err error
		if top, err = c.Top(ctx, ""); err != nil {
			t.Fatal(err)
		}
		if len(top.Processes) == 3 && top.Processes[1][7] == want[1] && top.Processes[2][7] == want[2] {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	if !slices.Equal(top.Titles, []string{"UID", "PID", "PPID", "C", "STIME", "TTY", "TIME", "CMD"}) {
		t.Fatalf("titles %q", top.Titles)
	}
	var cmds []string
	for _, p := range top.Processes {
		cmds = append(cmds, p[7])
		if p[0] != "root" || p[5] != "?" || p[6] != "00:00:00" {
			t.Errorf("row %q", p)
		}
	}
	if !slices.Equal(cmds, want) {
		t.Errorf("commands %q", cmds)
	}
	if top.Processes[1][2] != strconv.Itoa(c.State().Pid) {
		t.Errorf("sleep's PPID %s, want the container's init %d", top.Processes[1][2], c.State().Pid)
	}
	aux, err := c.Top(ctx, "aux")
	if err != nil {
		t.Fatal(err)
	}
	if aux.Titles[0] != "USER" || len(aux.Processes) != 3 || !strings.HasPrefix(aux.Processes[2][len(aux.Titles)-1], "sleep 62") {
		t.Errorf("top aux: %q %q", aux.Titles, aux.Processes)
	}
	if _, err := c.Top(ctx, "--no-such-option"); !errors.Is(err, skiff.ErrTopFailed) {
		t.Errorf("bad ps args: %v, want ErrTopFailed", err)
	}
	if err := c.Kill(ctx, 9); err != nil {
		t.Fatal(err)
	}
	c.Wait(ctx)
	if _, err := c.Top(ctx, ""); !errors.Is(err, skiff.ErrInvalidState) {
		t.Errorf("top of a stopped container: %v, want ErrInvalidState", err)
	}
}
