package testutil

import (
	"strings"
	"testing"
)

func TestRandomName(t *testing.T) {
	a, b := RandomName("sk"), RandomName("sk")
	if a == b || !strings.HasPrefix(a, "sk") || len(a) != 10 {
		t.Errorf("RandomName: %q %q", a, b)
	}
}

func TestFreePort(t *testing.T) {
	if p := FreePort(t); p <= 0 || p > 65535 {
		t.Errorf("port %d", p)
	}
}

func TestRequireBinary(t *testing.T) {
	if p := RequireBinary(t, "sh"); !strings.HasPrefix(p, "/") {
		t.Errorf("path %q not absolute", p)
	}
}
