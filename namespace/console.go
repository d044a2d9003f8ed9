package namespace

import (
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"
	"sync"
	"time"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"
)

// Terminals (Process.Terminal): as runc does, the pty is allocated *inside* the
// container, from its own devpts instance (/dev/ptmx → pts/ptmx), so the process sees
// /dev/pts/N. Init (or the exec helper) opens the master and the slave, sends the
// master to the parent over a dedicated console socket (fd 5, SCM_RIGHTS), makes the
// slave its stdio, and becomes a session leader with the slave as controlling
// terminal (setsid + TIOCSCTTY) before execve. Under the init reaper the command,
// not init, takes the terminal.

// initConsoleFd is the console socket in init and in the exec helper.
const initConsoleFd = 5

// openPty allocates a pty in the calling process's /dev (the container's) and
// returns the master and slave fds. The slave is chowned to uid and sized as size.
func openPty(uid uint32, size *specs.Box) (master, slave int, err error) {
	master, err = unix.Open("/dev/ptmx", unix.O_RDWR|unix.O_NOCTTY|unix.O_CLOEXEC, 0)
	if err != nil {
		return -1, -1, &os.PathError{Op: "open", Path: "/dev/ptmx", Err: err}
	}
	defer func() {
		if err != nil {
			unix.Close(master)
		}
	}()
	if err := unix.IoctlSetPointerInt(master, unix.TIOCSPTLCK, 0); err != nil {
		return -1, -1, fmt.Errorf("unlockpt: %w", err)
	}
	n, err := unix.IoctlGetUint32(master, unix.TIOCGPTN)
	if err != nil {
		return -1, -1, fmt.Errorf("ptsname: %w", err)
	}
	path := "/dev/pts/" + strconv.Itoa(int(n))
	slave, err = unix.Open(path, unix.O_RDWR|unix.O_NOCTTY|unix.O_CLOEXEC, 0)
	if err != nil {
		return -1, -1, &os.PathError{Op: "open", Path: path, Err: err}
	}
	if err := unix.Fchown(slave, int(uid), -1); err != nil {
		unix.Close(slave)
		return -1, -1, &os.PathError{Op: "chown", Path: path, Err: err}
	}
	if size != nil {
		ws := &unix.Winsize{Row: uint16(size.Height), Col: uint16(size.Width)}
		if err := unix.IoctlSetWinsize(slave, unix.TIOCSWINSZ, ws); err != nil {
			unix.Close(slave)
			return -1, -1, fmt.Errorf("set size of %s: %w", path, err)
		}
	}
	return master, slave, nil
}

// setupTerminal is the child side: allocate the pty, send the master over the
// console socket, make the slave fds 0-2, and (unless ctty is false: the reaper's
// command takes it) become a session leader with the slave as controlling terminal.
func setupTerminal(p *specs.Process, ctty bool) error {
	master, slave, err := openPty(p.User.UID, p.ConsoleSize)
	if err != nil {
		return inField("process.terminal", err)
	}
	err = unix.Sendmsg(initConsoleFd, []byte{0}, unix.UnixRights(master), nil, 0)
	unix.Close(master)
	unix.Close(initConsoleFd)
	if err != nil {
		unix.Close(slave)
		return inField("process.terminal", fmt.Errorf("send console: %w", err))
	}
	for fd := 0; fd <= 2; fd++ {
		if err := unix.Dup3(slave, fd, 0); err != nil {
			unix.Close(slave)
			return inField("process.terminal", fmt.Errorf("dup3 console to %d: %w", fd, err))
		}
	}
	unix.Close(slave)
	if !ctty {
		return nil
	}
	if _, err := unix.Setsid(); err != nil {
		return inField("process.terminal", fmt.Errorf("setsid: %w", err))
	}
	if err := unix.IoctlSetInt(0, unix.TIOCSCTTY, 0); err != nil {
		return inField("process.terminal", fmt.Errorf("ioctl TIOCSCTTY: %w", err))
	}
	return nil
}

// console is the parent side of a terminal: the console socket until the master
// arrives, then the master and the copies to and from the caller's stdio.
type console struct {
	sock   *os.File // parent end of the console socket; nil once received
	master *os.File
	out    sync.WaitGroup // master → Stdout copy
}

// newConsoleSocket returns the parent and child ends of a console socket.
func newConsoleSocket() (parent, child *os.File, err error) {
	fds, err := unix.Socketpair(unix.AF_UNIX, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return nil, nil, fmt.Errorf("console socketpair: %w", err)
	}
	return os.NewFile(uintptr(fds[0]), "console-parent"), os.NewFile(uintptr(fds[1]), "console-child"), nil
}

// receive reads the master from the console socket (it was sent before "ready" or
// before execve, so it is there) and starts copying stdin to it and it to stdout.
func (c *console) receive(stdin io.Reader, stdout io.Writer) error {
	defer func() { c.sock.Close(); c.sock = nil }()
	buf := make([]byte, 1)
	oob := make([]byte, unix.CmsgSpace(4))
	_, oobn, _, _, err := unix.Recvmsg(int(c.sock.Fd()), buf, oob, unix.MSG_CMSG_CLOEXEC)
	if err != nil {
		return fmt.Errorf("receive console: %w", err)
	}
	msgs, err := unix.ParseSocketControlMessage(oob[:oobn])
	if err != nil || len(msgs) != 1 {
		return fmt.Errorf("receive console: no fd in message (%v)", err)
	}
	fds, err := unix.ParseUnixRights(&msgs[0])
	if err != nil || len(fds) != 1 {
		return fmt.Errorf("receive console: %v", err)
	}
	// Non-blocking, so the runtime poller serves it and read deadlines work.
	_ = unix.SetNonblock(fds[0], true)
	c.master = os.NewFile(uintptr(fds[0]), "console")
	if stdin != nil {
		go func() { _, _ = io.Copy(c.master, stdin) }()
	}
	if stdout != nil {
		c.out.Add(1)
		go func() {
			defer c.out.Done()
			_, _ = io.Copy(stdout, eioReader{c.master})
		}()
	}
	return nil
}

// drain waits (at most a while, other processes may hold the terminal) for the
// output copy to reach the end of the terminal once the process exited.
func (c *console) drain() {
	if c == nil || c.master == nil {
		return
	}
	done := make(chan struct{})
	go func() { c.out.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(2 * time.Second):
		_ = c.master.SetReadDeadline(time.Now())
		<-done
	}
}

// eioReader turns EIO, what a pty master reads once every slave fd is closed, into
// EOF.
type eioReader struct{ f *os.File }

func (r eioReader) Read(b []byte) (int, error) {
	n, err := r.f.Read(b)
	if errors.Is(err, unix.EIO) {
		err = io.EOF
	}
	return n, err
}

// Console returns the master side of the process's terminal (Process.Terminal), or
// nil. Reading it gives the process's output, writing it is typing. When Config (or
// ExecConfig) had Stdin or Stdout set, this package already copies them to and from
// it: do not read it as well then. It stays open after Wait; the caller may close it.
func (p *Process) Console() *os.File {
	if p.console == nil {
		return nil
	}
	return p.console.master
}

// Resize sets the size of the process's terminal (on SIGWINCH of the caller's own
// terminal, say); the process gets SIGWINCH.
func (p *Process) Resize(rows, cols uint16) error {
	if p.console == nil || p.console.master == nil {
		return fmt.Errorf("resize pid %d: no terminal (process.terminal is false)", p.Pid)
	}
	return ResizeConsole(p.console.master, rows, cols)
}

// ResizeConsole sets the size of the terminal whose master (or slave) is f.
func ResizeConsole(f *os.File, rows, cols uint16) error {
	conn, err := f.SyscallConn()
	if err != nil {
		return fmt.Errorf("resize console: %w", err)
	}
	var ioErr error
	err = conn.Control(func(fd uintptr) {
		ioErr = unix.IoctlSetWinsize(int(fd), unix.TIOCSWINSZ, &unix.Winsize{Row: rows, Col: cols})
	})
	if err == nil {
		err = ioErr
	}
	if err != nil {
		return fmt.Errorf("resize console to %dx%d: %w", rows, cols, err)
	}
	return nil
}
