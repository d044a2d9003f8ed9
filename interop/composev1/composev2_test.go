package composev1

import (
	"os"
	"testing"

	"github.com/skiffrt/skiff/internal/testutil"
)

// TestDockerComposeV2 runs the app with docker compose v2 (github.com/docker/compose/v5,
// built as a standalone binary): $SKIFF_COMPOSE_V2, else docker-compose-v2 on PATH.
func TestDockerComposeV2(t *testing.T) {
	bin := os.Getenv("SKIFF_COMPOSE_V2")
	if bin == "" {
		bin = testutil.RequireBinary(t, "docker-compose-v2")
	}
	composeApp(t, bin, "-", true)
}
