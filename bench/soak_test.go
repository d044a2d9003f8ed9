// Package bench holds the benchmark and soak scripts; its one test runs the short soak.
package bench

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"syscall"
	"testing"
	"time"

	"github.com/skiffrt/skiff/internal/testutil"
)

// TestSoakShort runs `bench/soak.sh --short`: 100 create/start/rm cycles, 5 concurrent
// `run --rm`, 5 detached containers with published ports on a user network, 5 kill -9s
// of each of pull, build, run and rm, and a pull onto a full 64 MiB root; it fails on
// any failed operation and any leak (mounts, cgroups, links, nftables rules, files,
// processes, fds, a Check that is not clean, an image lost). About a minute.
func TestSoakShort(t *testing.T) {
	testutil.RequireRoot(t)
	for _, b := range []string{"bash", "go", "docker-registry", "busybox", "ip", "python3", "findmnt", "timeout"} {
		testutil.RequireBinary(t, b)
	}
	if testing.Short() {
		t.Skip("skipping the soak run in -short mode")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "bash", "soak.sh", "--short")
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	// On timeout the script gets SIGTERM and cleans up (containers, networks, mounts,
	// its registry) before it exits; SIGKILL only if that takes over a minute.
	cmd.Cancel = func() error { return cmd.Process.Signal(syscall.SIGTERM) }
	cmd.WaitDelay = time.Minute
	cmd.Env = append(os.Environ(), "SOAK_TRACE=")
	start := time.Now()
	err := cmd.Run()
	t.Logf("bench/soak.sh --short (%s):\n%s", time.Since(start).Round(time.Second), out.String())
	if err != nil {
		t.Fatalf("bench/soak.sh --short: %v", err)
	}
}
