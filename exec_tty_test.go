package skiff_test

import (
	"bytes"
	"context"
	"strings"
	"testing"

	"github.com/skiffrt/skiff"
)

// TestExecTerminal runs processes with and without a terminal in one running
// container: with a size the process sees a tty of that size; without one it sees
// none, even in a container created with Tty.
func TestExecTerminal(t *testing.T) {
	e := newEngine(t)
	img := busybox(t, e)
	ctx := context.Background()
	c, err := e.Create(ctx, skiff.ContainerConfig{Image: img, Cmd: []string{"sleep", "60"}, Tty: true, Detach: true, Network: skiff.NetworkNone})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Delete(context.Background(), skiff.WithForce()) })
	if err := c.Start(ctx); err != nil {
		t.Fatal(err)
	}

	var out bytes.Buffer
	p, err := c.Exec(ctx, skiff.ExecConfig{Cmd: []string{"sh", "-c", "tty; stty size"}, Stdout: &out, Terminal: &skiff.TerminalSize{Rows: 21, Cols: 77}})
	if err != nil {
		t.Fatal(err)
	}
	if code, err := p.Wait(); err != nil || code != 0 {
		t.Fatalf("exec with a terminal: code %d, err %v, output %q", code, err, out.String())
	}
	if got := strings.ReplaceAll(out.String(), "\r", ""); !strings.HasPrefix(got, "/dev/pts/") || !strings.HasSuffix(got, "21 77\n") {
		t.Errorf("exec with a 21x77 terminal printed %q", got)
	}

	out.Reset()
	p, err = c.Exec(ctx, skiff.ExecConfig{Cmd: []string{"tty"}, Stdout: &out})
	if err != nil {
		t.Fatal(err)
	}
	if code, _ := p.Wait(); code != 1 || out.String() != "not a tty\n" {
		t.Errorf("exec without a terminal: code %d, output %q; want 1, \"not a tty\"", code, out.String())
	}

	if err := c.Kill(ctx, 9); err != nil {
		t.Fatal(err)
	}
	c.Wait(ctx)
	if _, err := c.Exec(ctx, skiff.ExecConfig{Cmd: []string{"true"}}); err == nil {
		t.Error("exec in an exited container succeeded")
	}
}
