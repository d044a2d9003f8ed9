package namespace

import (
	"io"
	"os"
	"sync"
)

// childIO is the stdio of a re-exec'd child (init or exec helper) as os/exec gets it.
type childIO struct {
	stdin          io.Reader
	stdout, stderr io.Writer
	copy           *stdinCopy
	pipeR          *os.File // read end of the stdin pipe, closed after Start
	console        *console // Process.Terminal
	consoleChild   *os.File // child end of the console socket (fd 5)
}

// newChildIO prepares a child's stdio. With a terminal the child gets /dev/null
// (replaced by the pty slave) and a console socket; the caller's Stdin and Stdout are
// copied to and from the master later. A Stdin that is not an *os.File goes through a
// pipe this package owns, so that Wait can close it when the process exits instead
// of waiting for the Reader to end (os/exec would).
func newChildIO(terminal bool, stdin io.Reader, stdout, stderr io.Writer) (*childIO, error) {
	c := &childIO{stdout: stdout, stderr: stderr}
	if terminal {
		parent, child, err := newConsoleSocket()
		if err != nil {
			return nil, err
		}
		c.console = &console{sock: parent}
		c.consoleChild = child
		c.stdout, c.stderr = nil, nil
		return c, nil
	}
	switch f := stdin.(type) {
	case nil:
	case *os.File:
		c.stdin = f
	default:
		r, w, err := os.Pipe()
		if err != nil {
			return nil, err
		}
		c.stdin, c.pipeR = r, r
		c.copy = &stdinCopy{w: w}
		go func() {
			_, _ = io.Copy(w, stdin)
			c.copy.close()
		}()
	}
	return c, nil
}

// extraFiles returns the child's fds 3 (sync), 4 (exe) and 5 (console, or closed).
func (c *childIO) extraFiles(sync, exe *os.File) []*os.File {
	return []*os.File{sync, exe, c.consoleChild}
}

// afterStart closes the parent's copies of what only the child needs.
func (c *childIO) afterStart() {
	if c.pipeR != nil {
		c.pipeR.Close()
	}
	if c.consoleChild != nil {
		c.consoleChild.Close()
	}
}

// abort releases everything after a failed start.
func (c *childIO) abort() {
	c.copy.close()
	if c.console != nil {
		if c.console.sock != nil {
			c.console.sock.Close()
		}
		if c.console.master != nil {
			c.console.master.Close()
		}
	}
}

// stdinCopy is the write end of a stdin pipe fed from a Reader.
type stdinCopy struct {
	w    *os.File
	once sync.Once
}

// close closes the pipe (once); the copying goroutine ends at its next write.
func (s *stdinCopy) close() {
	if s == nil {
		return
	}
	s.once.Do(func() { s.w.Close() })
}
