package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// monitorExe returns the base name of the program the monitor of container name runs.
func monitorExe(t *testing.T, c *cli, name string) string {
	t.Helper()
	id := strings.TrimSpace(c.ok("inspect", "-f", "{{.Id}}", name))
	out, err := exec.Command("pgrep", "-f", "^skiff-monitor "+id[:12]).Output()
	if err != nil {
		t.Fatalf("no monitor of %s: %v", name, err)
	}
	exe, err := os.Readlink("/proc/" + strings.Fields(string(out))[0] + "/exe")
	if err != nil {
		t.Fatal(err)
	}
	return filepath.Base(exe)
}

// TestCLIDetachedWaiter: with skiff-nsinit beside skiff, a detached container's
// monitor waits as skiff-nsinit (a small program), and the exit code, the log and
// --rm come out as with the whole program; a container with a health check keeps
// the whole program as its monitor, which runs the probes.
func TestCLIDetachedWaiter(t *testing.T) {
	c := newCLI(t)
	withBusybox(t, c)
	c.ok("run", "-d", "--name", "waited", "--network", "none", "busybox", "sh", "-c", "echo out; echo err >&2; sleep 1; exit 3")
	if exe := monitorExe(t, c, "waited"); exe != "skiff-nsinit" {
		t.Errorf("the monitor of a running container runs %s, want skiff-nsinit", exe)
	}
	if out := c.ok("wait", "waited"); out != "3\n" {
		t.Errorf("wait = %q, want 3", out)
	}
	out, errOut, code := c.run("", "logs", "waited")
	if code != 0 || out != "out\n" || errOut != "err\n" {
		t.Errorf("logs: %d %q %q", code, out, errOut)
	}
	if out := c.ok("inspect", "-f", "{{.State.Status}} {{.State.ExitCode}}", "waited"); out != "exited 3\n" {
		t.Errorf("inspect = %q", out)
	}
	c.ok("rm", "waited")

	c.ok("run", "-d", "--rm", "--name", "gone", "--network", "none", "busybox", "sh", "-c", "sleep 0.5")
	waitFor(t, func() bool { return !strings.Contains(c.ok("ps", "-a"), "gone") })

	c.ok("run", "-d", "--name", "probed", "--network", "none", "--health-cmd", "true", "busybox", "sleep", "60")
	if exe := monitorExe(t, c, "probed"); exe == "skiff-nsinit" {
		t.Errorf("the monitor of a container with a health check runs skiff-nsinit, which cannot probe")
	}
	c.ok("rm", "-f", "probed")
}

// TestCLIInspectDockerFields: inspect answers Docker's template fields, with the
// library's record under .Skiff.
func TestCLIInspectDockerFields(t *testing.T) {
	c := newCLI(t)
	withBusybox(t, c)
	c.ok("run", "-d", "--name", "shaped", "--network", "none", "--memory", "64m", "-l", "k=v", "busybox", "sleep", "60")
	out := c.ok("inspect", "-f", "{{.Name}} {{.State.Status}} {{.State.Running}} {{.Config.Image}} {{.HostConfig.Memory}} {{.HostConfig.NetworkMode}} {{index .Config.Labels \"k\"}} {{.Path}} {{index .Args 0}} {{.Skiff.status}}", "shaped")
	if out != "/shaped running true busybox 67108864 none v sleep 60 running\n" {
		t.Errorf("inspect = %q", out)
	}
	pid := strings.TrimSpace(c.ok("inspect", "-f", "{{.State.Pid}}", "shaped"))
	if _, err := os.Stat("/proc/" + pid + "/ns/pid"); err != nil || pid == "0" {
		t.Errorf("State.Pid %q is not a live process: %v", pid, err)
	}
	c.ok("rm", "-f", "shaped")
}
