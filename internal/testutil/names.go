package testutil

import (
	"crypto/rand"
	"encoding/hex"
	"net"
	"testing"
)

// RandomName returns prefix followed by 8 random hex digits, for names of
// kernel objects (cgroups, links, containers) that must not clash between
// tests or runs. Keep prefix at most 7 bytes for a network interface name
// (15 bytes at most).
func RandomName(prefix string) string {
	var b [4]byte
	_, _ = rand.Read(b[:]) // crypto/rand.Read never fails on Linux
	return prefix + hex.EncodeToString(b[:])
}

// FreePort returns a TCP port on 127.0.0.1 that was free a moment ago. Another
// process may take it before the caller binds it; callers that start a server
// on it should retry on "address already in use".
func FreePort(t testing.TB) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("free port: %v", err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}
