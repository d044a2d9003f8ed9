package overlay

import (
	"context"
	"fmt"
	"os"
	"testing"

	"github.com/opencontainers/go-digest"
)

// TestMain doubles as a helper process for the cross-process tests: with
// SKIFF_OVERLAY_HELPER=unpack it unpacks one layer and exits.
func TestMain(m *testing.M) {
	if os.Getenv("SKIFF_OVERLAY_HELPER") == "unpack" {
		os.Exit(helperUnpack())
	}
	os.Exit(m.Run())
}

func helperUnpack() int {
	root, tarPath := os.Getenv("HELPER_ROOT"), os.Getenv("HELPER_TAR")
	chainID, diffID := digest.Digest(os.Getenv("HELPER_CHAIN")), digest.Digest(os.Getenv("HELPER_DIFF"))
	s, err := NewStore(root)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	f, err := os.Open(tarPath)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer f.Close()
	if err := s.Unpack(context.Background(), chainID, diffID, f); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	return 0
}
