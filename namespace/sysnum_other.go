//go:build !amd64

package namespace

// syscallNumber knows no syscall off x86_64: the seccomp compiler only has that table.
func syscallNumber(name string) (uint32, bool) { return 0, false }
