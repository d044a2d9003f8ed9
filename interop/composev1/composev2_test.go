package composev1

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"testing"
)

// composeV2Version is the docker compose v2 module built for the test: the newest
// whose go.mod the tree's Go (1.26.8) accepts.
const composeV2Version = "v5.6.0"

var (
	v2Once sync.Once
	v2Bin  string
	v2Err  error
	v2Out  []byte
)

// composeV2 returns a docker compose v2 binary: $SKIFF_COMPOSE_V2, docker-compose-v2
// on PATH, else one built once from github.com/docker/compose/v5 (fetched through the
// Go module proxy; minutes the first time, seconds with a warm build cache).
func composeV2(t *testing.T) string {
	if p := os.Getenv("SKIFF_COMPOSE_V2"); p != "" {
		return p
	}
	if p, err := exec.LookPath("docker-compose-v2"); err == nil {
		return p
	}
	v2Once.Do(func() {
		dl := exec.Command("go", "mod", "download", "-json", "github.com/docker/compose/v5@"+composeV2Version)
		dl.Dir, dl.Env = os.TempDir(), append(os.Environ(), "GOFLAGS=", "GOWORK=off")
		if v2Out, v2Err = dl.Output(); v2Err != nil {
			return
		}
		var mod struct{ Dir string }
		if v2Err = json.Unmarshal(v2Out, &mod); v2Err != nil {
			return
		}
		dir, err := os.MkdirTemp("", "compose-v2-")
		if v2Err = err; err != nil {
			return
		}
		v2Bin = filepath.Join(dir, "docker-compose")
		build := exec.Command("go", "build", "-o", v2Bin, "./cmd")
		build.Dir = mod.Dir
		build.Env = append(os.Environ(), "CGO_ENABLED=0", "GOFLAGS=-mod=readonly", "GOWORK=off")
		v2Out, v2Err = build.CombinedOutput()
	})
	if v2Err != nil {
		t.Fatalf("build docker compose %s: %v\n%s", composeV2Version, v2Err, v2Out)
	}
	return v2Bin
}

// TestDockerComposeV2 runs the app with docker compose v2 (the standalone binary of
// github.com/docker/compose/v5).
func TestDockerComposeV2(t *testing.T) {
	composeApp(t, composeV2(t), "-", true)
}
