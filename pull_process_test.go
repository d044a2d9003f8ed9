package skiff_test

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/skiffrt/skiff"
	"github.com/skiffrt/skiff/internal/testutil"
)

// TestTwoProcessesPullOneImage: two OS processes pull the same image into one root at
// once; both succeed, and the store holds one image and one copy of each layer.
func TestTwoProcessesPullOneImage(t *testing.T) {
	e := newEngine(t)
	addr := testutil.StartRegistry(t)
	ref := addr + "/skiff/busybox:latest"
	testutil.PushImage(t, ref, testutil.Busybox(t))
	var cmds []*exec.Cmd
	for range 2 {
		c := exec.Command(os.Args[0], "-test.run=^TestHelperPull$")
		c.Env = append(os.Environ(), "SKIFF_HELPER_ROOT="+e.Root(), "SKIFF_HELPER_IMAGE="+ref)
		if err := c.Start(); err != nil {
			t.Fatal(err)
		}
		cmds = append(cmds, c)
	}
	for i, c := range cmds {
		if err := c.Wait(); err != nil {
			t.Errorf("pull process %d: %v", i, err)
		}
	}
	imgs, err := e.Images().List(context.Background())
	if err != nil || len(imgs) != 1 {
		t.Fatalf("store holds %d images (%v), want 1", len(imgs), err)
	}
	layers, err := e.Layers().List()
	if err != nil || len(layers) != 3 {
		t.Errorf("layer store holds %d layers (%v), want 3", len(layers), err)
	}
	if left, _ := filepath.Glob(filepath.Join(e.Root(), "layers", "*", ".tmp-*")); len(left) > 0 {
		t.Errorf("temp dirs left: %v", left)
	}
	out, _, st := run(t, e, skiff.ContainerConfig{Image: ref, Network: skiff.NetworkNone, Cmd: []string{"echo", "ok"}})
	if out != "ok\n" || st.Code != 0 {
		t.Errorf("run after concurrent pulls: %q %d", out, st.Code)
	}
}

// TestHelperPull runs only as TestTwoProcessesPullOneImage's helper process.
func TestHelperPull(t *testing.T) {
	root := os.Getenv("SKIFF_HELPER_ROOT")
	if root == "" {
		t.Skip("helper process of TestTwoProcessesPullOneImage")
	}
	e, err := skiff.New(skiff.WithRoot(root))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.Pull(context.Background(), os.Getenv("SKIFF_HELPER_IMAGE")); err != nil {
		t.Fatal(err)
	}
}
