// Command skiff-nsinit is the small program a container's init and exec helper can run
// from, instead of the embedding program re-executed (see namespace.SetInitBinary). It
// imports only package namespace, so it reaches namespace.Init after a fraction of the
// package inits a large program runs: the Go runtime runs every linked package's init
// before main, in every container start and every exec.
//
// Build it beside the program that uses it, from the same Skiff version:
//
//	go build -o /usr/local/bin/ ./examples/skiff ./examples/skiff-nsinit
//
// examples/skiff and examples/skiffd use a skiff-nsinit found in their own directory.
// Run by hand, it only says what it is for.
package main

import (
	"fmt"
	"os"

	"github.com/skiffrt/skiff/namespace"
)

func main() {
	namespace.Init() // never returns in a container's init or exec helper
	fmt.Fprintln(os.Stderr, "skiff-nsinit: the container init of Skiff's engines; not a command to run by hand")
	os.Exit(2)
}
