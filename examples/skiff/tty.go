package main

import (
	"os"
	"os/signal"
	"syscall"

	"golang.org/x/term"
)

// attachTerminal prepares this process's terminal for a container's (or exec'd
// process's) pseudo-terminal: raw mode on stdin when the user types into it
// (interactive), and the container's terminal size kept equal to ours, now and on
// every SIGWINCH. It returns the function that restores the terminal.
func attachTerminal(interactive bool, resize func(rows, cols uint16) error) (restore func()) {
	var undo []func()
	in := int(os.Stdin.Fd())
	if interactive && term.IsTerminal(in) {
		if old, err := term.MakeRaw(in); err == nil {
			undo = append(undo, func() { term.Restore(in, old) })
		}
	}
	sizeFd := int(os.Stdout.Fd())
	if !term.IsTerminal(sizeFd) {
		sizeFd = in
	}
	if term.IsTerminal(sizeFd) {
		sync := func() {
			if w, h, err := term.GetSize(sizeFd); err == nil {
				resize(uint16(h), uint16(w))
			}
		}
		sync()
		winch := make(chan os.Signal, 1)
		signal.Notify(winch, syscall.SIGWINCH)
		done := make(chan struct{})
		go func() {
			for {
				select {
				case <-winch:
					sync()
				case <-done:
					return
				}
			}
		}()
		undo = append(undo, func() { signal.Stop(winch); close(done) })
	}
	return func() {
		for i := len(undo) - 1; i >= 0; i-- {
			undo[i]()
		}
	}
}
