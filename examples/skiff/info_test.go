package main

import (
	"strings"
	"testing"
)

func TestCLIVersionAndInfo(t *testing.T) {
	c := newCLI(t)
	if out := c.ok("version"); !strings.Contains(out, "Go version:") || !strings.Contains(out, "Kernel:") {
		t.Errorf("skiff version:\n%s", out)
	}
	// docker --version and docker -v print one line.
	for _, flag := range []string{"--version", "-v"} {
		if out := c.ok(flag); !strings.HasPrefix(out, "Skiff version ") || strings.Count(out, "\n") != 1 {
			t.Errorf("skiff %s = %q", flag, out)
		}
	}
	withBusybox(t, c)
	out := c.ok("info")
	for _, want := range []string{"Containers: 0\n", "Images: 1\n", "Cgroup Version: ", "Skiff Root Dir: " + c.root + "\n"} {
		if !strings.Contains(out, want) {
			t.Errorf("skiff info lacks %q:\n%s", want, out)
		}
	}
}
