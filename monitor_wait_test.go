package skiff_test

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/skiffrt/skiff"
)

// TestMonitorWaitsReexecuted: the monitor of a detached container without a terminal
// re-executes itself to wait (same pid, the init still its child, named by the
// container); with a terminal it keeps its attach socket and does not.
func TestMonitorWaitsReexecuted(t *testing.T) {
	e := newEngine(t)
	img := busybox(t, e)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	for _, tty := range []bool{false, true} {
		c, err := e.Create(ctx, skiff.ContainerConfig{Image: img, Network: skiff.NetworkNone, Detach: true, Tty: tty,
			Cmd: []string{"sleep", "60"}})
		if err != nil {
			t.Fatal(err)
		}
		defer c.Delete(context.Background(), skiff.WithForce())
		if err := c.Start(ctx); err != nil {
			t.Fatal(err)
		}
		st := c.State()
		wantMode := "_SKIFF_MONITOR=1"
		if !tty {
			wantMode = "_SKIFF_MONITOR=wait"
		}
		// The re-exec happens right after the container is created: await it.
		deadline := time.Now().Add(20 * time.Second)
		var env, cmdline []byte
		for {
			env, _ = os.ReadFile(fmt.Sprintf("/proc/%d/environ", st.Owner))
			cmdline, _ = os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", st.Owner))
			if bytes.Contains(env, []byte(wantMode+"\x00")) || time.Now().After(deadline) {
				break
			}
			time.Sleep(10 * time.Millisecond)
		}
		if !bytes.Contains(env, []byte(wantMode+"\x00")) {
			t.Errorf("tty %v: monitor %d environment %q, want %s", tty, st.Owner, env, wantMode)
		}
		if want := "skiff-monitor\x00" + c.ID()[:12] + "\x00"; string(cmdline) != want {
			t.Errorf("tty %v: monitor %d command line %q, want %q", tty, st.Owner, cmdline, want)
		}
		stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", st.Pid))
		if err != nil {
			t.Fatal(err)
		}
		_, rest, _ := strings.Cut(string(stat), ") ")
		if f := strings.Fields(rest); len(f) < 2 || f[1] != fmt.Sprint(st.Owner) {
			t.Errorf("tty %v: init %d's parent in %q, want the monitor %d", tty, st.Pid, stat, st.Owner)
		}
		if err := c.Stop(ctx, time.Second); err != nil {
			t.Fatal(err)
		}
		if got := c.State(); got.Status != skiff.StatusExited || got.ExitCode != 137 {
			t.Errorf("tty %v: after Stop: %s, exit %d; want exited, 137 (recorded by the monitor)", tty, got.Status, got.ExitCode)
		}
	}
}
