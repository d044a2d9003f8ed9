package skiff_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/skiffrt/skiff"
)

// awaitLog waits (up to 30 s) until the detached container c has logged want.
func awaitLog(t *testing.T, c *skiff.Container, want string) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		var out strings.Builder
		if err := c.Logs(context.Background(), skiff.LogOptions{Tail: -1}, &out, &out); err != nil {
			t.Fatal(err)
		}
		if strings.Contains(out.String(), want) {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("container %s never logged %q; log: %q", c.Name(), want, out.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// TestStopTimeoutAndSignalFromConfig: Stop given ConfigStopTimeout waits the
// container's own StopTimeout (docker create --stop-timeout, then docker stop without
// -t) before it kills a process that ignores the stop signal, and sends the
// container's StopSignal (--stop-signal) first; a bad signal name is refused at
// create.
func TestStopTimeoutAndSignalFromConfig(t *testing.T) {
	e := newEngine(t)
	img := busybox(t, e)
	ctx := context.Background()

	short := 300 * time.Millisecond
	// sh, then sleep, as pid 1 have no handler for SIGTERM: only the kill after the
	// timeout ends it. Stopped once its command runs (not the init before its execve).
	deaf := startBackground(t, e, skiff.ContainerConfig{Image: img, Name: "deaf", Detach: true,
		Cmd: []string{"sh", "-c", "echo ready; exec sleep 600"}, StopTimeout: &short})
	awaitLog(t, deaf, "ready")
	if got := deaf.Config().StopTimeout; got == nil || *got != short {
		t.Errorf("recorded StopTimeout %v, want %s", got, short)
	}
	began := time.Now()
	if err := deaf.Stop(ctx, skiff.ConfigStopTimeout); err != nil {
		t.Fatal(err)
	}
	took := time.Since(began)
	if st := deaf.State(); st.Status != skiff.StatusExited || st.ExitCode != 137 {
		t.Errorf("after stop: %s, exit %d; want exited, 137 (killed)", st.Status, st.ExitCode)
	}
	if took < short || took >= skiff.DefaultStopTimeout {
		t.Errorf("stop of a container with StopTimeout %s took %s; want at least that and less than the default %s", short, took, skiff.DefaultStopTimeout)
	}

	long := time.Minute
	polite := startBackground(t, e, skiff.ContainerConfig{Image: img, Name: "polite", Detach: true,
		StopSignal: "usr1", StopTimeout: &long,
		Cmd: []string{"sh", "-c", "trap 'exit 3' USR1; echo ready; while :; do sleep 0.05; done"}})
	awaitLog(t, polite, "ready")
	if err := polite.Stop(ctx, skiff.ConfigStopTimeout); err != nil {
		t.Fatal(err)
	}
	if st := polite.State(); st.Status != skiff.StatusExited || st.ExitCode != 3 {
		t.Errorf("stop with StopSignal USR1: %s, exit %d; want exited, 3 (the trap ran)", st.Status, st.ExitCode)
	}

	_, err := e.Create(ctx, skiff.ContainerConfig{Image: img, StopSignal: "SIGNOPE", Cmd: []string{"true"}})
	if !errors.Is(err, skiff.ErrInvalidConfig) {
		t.Errorf("create with StopSignal SIGNOPE: %v, want ErrInvalidConfig", err)
	}
}
