package skiff_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/skiffrt/skiff"
)

func TestCommitContainer(t *testing.T) {
	e := newEngine(t)
	ref := busybox(t, e)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	st, err := e.Run(ctx, skiff.ContainerConfig{Image: ref, Name: "work",
		Cmd: []string{"sh", "-c", "echo new > /new && echo changed > /etc/motd && rm /etc/group && rm -r /opt/dir && mkdir /opt/dir && echo fresh > /opt/dir/f"}})
	if err != nil || st.Code != 0 {
		t.Fatalf("setup: exit %d, %v", st.Code, err)
	}
	c, err := e.Container(ctx, "work")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Delete(context.Background(), skiff.WithForce()) })

	img, err := mustContainer(t, e, "work").Commit(ctx, skiff.CommitOptions{Ref: "committed:1", Message: "my change", Author: "me",
		Changes: []string{`CMD ["cat", "/new", "/etc/motd", "/opt/dir/f"]`, "ENV MODE=committed"}})
	if err != nil {
		t.Fatal(err)
	}
	base, _ := e.Image(ctx, ref)
	if len(img.Layers) != len(base.Layers)+1 {
		t.Errorf("%d layers, want %d", len(img.Layers), len(base.Layers)+1)
	}
	h := img.Config.History[len(img.Config.History)-1]
	if h.Comment != "my change" || img.Config.Author != "me" {
		t.Errorf("history %+v author %q", h, img.Config.Author)
	}
	out, _, _ := run(t, e, skiff.ContainerConfig{Image: "committed:1"})
	if out != "new\nchanged\nfresh\n" {
		t.Errorf("committed image: %q", out)
	}
	out, _, _ = run(t, e, skiff.ContainerConfig{Image: "committed:1", Cmd: []string{"sh", "-c", "ls /opt/dir; test -e /etc/group || echo no group; echo $MODE"}})
	if out != "f\nno group\ncommitted\n" {
		t.Errorf("deletions and env: %q", out)
	}
	if _, err := mustContainer(t, e, "work").Commit(ctx, skiff.CommitOptions{Changes: []string{"RUN true"}}); err == nil || !strings.Contains(err.Error(), "RUN") {
		t.Errorf("RUN in --change: %v", err)
	}
}

func mustContainer(t *testing.T, e *skiff.Engine, ref string) *skiff.Container {
	t.Helper()
	c, err := e.Container(context.Background(), ref)
	if err != nil {
		t.Fatal(err)
	}
	return c
}
