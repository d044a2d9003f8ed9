// Package dockerpy drives skiffd with Docker's Python client (Debian's python3-docker
// 5.0.3 and python3-pytest): this directory's own pytest checks, run against a skiffd
// the test starts.
package dockerpy

import (
	"os"
	"os/exec"
	"testing"

	"github.com/skiffrt/skiff/internal/testutil"
	"github.com/skiffrt/skiff/interop/harness"
)

func TestMain(m *testing.M) {
	harness.Init()
	os.Exit(m.Run())
}

func TestDockerPy(t *testing.T) {
	python := testutil.RequireBinary(t, "/usr/bin/python3")
	if err := exec.Command(python, "-c", "import docker, pytest").Run(); err != nil {
		testutil.Require(t, "python3-docker and python3-pytest (apt)", false)
	}
	env := harness.Start(t)
	cmd := exec.Command(python, "-m", "pytest", "-q", "-p", "no:cacheprovider", "test_skiffd.py")
	cmd.Env = append(os.Environ(), "DOCKER_HOST="+env.Host, "SKIFF_BUSYBOX="+env.Busybox)
	out, err := cmd.CombinedOutput()
	t.Logf("pytest:\n%s", out)
	if err != nil {
		t.Fatalf("pytest against skiffd: %v", err)
	}
}
