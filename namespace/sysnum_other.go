//go:build !amd64

package namespace

// syscallNumbers is empty off x86_64: the seccomp compiler only knows that table.
var syscallNumbers = map[string]uint32{}
