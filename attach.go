package skiff

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"time"

	"github.com/skiffrt/skiff/errdefs"
	"github.com/skiffrt/skiff/internal/jsonlog"

	"golang.org/x/sys/unix"
)

// A detached container created with OpenStdin or Tty has an attach socket,
// containers/<id>/attach.sock, served by its monitor. Any process on the engine root
// may connect to it (Container.Attach); the protocol is private to this package:
//
//	monitor → client: one byte, 'T' (terminal) or 'P' (pipes), sent once the client
//	    is registered; then the container's output from that moment on: raw terminal
//	    bytes ('T'), or frames of docker's stdcopy format ('P'): an 8-byte header
//	    [stream, 0, 0, 0, size (big endian uint32)] (stream 1 stdout, 2 stderr) and
//	    size bytes. The monitor closes the connection once the container exited and
//	    its output was sent.
//	client → monitor: frames with the same 8-byte header, whose first byte is a kind:
//	    0 stdin data (size bytes), 1 close stdin (size 0), 2 resize (size 4: rows,
//	    cols as big endian uint16).
//
// The output still goes to the container's log as well.
const attachSockName = "attach.sock"

// annotationOpenStdin in a container's config.json marks a container whose stdin
// stays open for its attach socket (ContainerConfig.OpenStdin).
const annotationOpenStdin = "skiff.open-stdin"

// annotationHealthcheck marks the spec of a container with a health check: its
// monitor stays the whole program, which runs the probes (no small waiter, see
// execWaiter).
const annotationHealthcheck = "skiff.healthcheck"

// Kinds of client → monitor frames.
const (
	attachStdin      = 0
	attachCloseStdin = 1
	attachResize     = 2
)

// maxAttachFrame bounds a client frame, so a bad client cannot make the monitor
// allocate much.
const maxAttachFrame = 1 << 20

// ErrNotAttachable: the container has no attach socket (it is not detached, or was
// created without OpenStdin and Tty), or its monitor is gone.
var ErrNotAttachable = errdefs.New(errdefs.ErrConflict, "container cannot be attached")

// AttachOptions connect a caller's streams to a container (Container.Attach).
type AttachOptions struct {
	// Stdin is copied to the container's stdin (its terminal, with Tty). Nil sends
	// nothing. Input is dropped when the container was created without OpenStdin.
	Stdin io.Reader
	// CloseStdin closes the container's stdin when Stdin ends (docker's StdinOnce,
	// what `docker run -i` does); without it the stdin stays open for the next
	// client. It has no effect on a terminal.
	CloseStdin bool
	// Stdout and Stderr receive the container's output from the moment Attach
	// returns; with a terminal everything goes to Stdout. Nil discards.
	Stdout, Stderr io.Writer
}

// AttachStream is a connection to a detached container's standard streams, made by
// Container.Attach.
type AttachStream struct {
	conn      *net.UnixConn
	tty       bool
	wmu       sync.Mutex
	done      chan struct{}
	err       error
	closeOnce sync.Once
	stop      func() bool
}

// Attach connects to the standard streams of a detached container created with
// OpenStdin or Tty, from any process on the engine root, as often as wanted and by
// several clients at once (each gets all the output; their input is merged). When it
// returns, every output of the container from then on reaches opts.Stdout and
// opts.Stderr, and opts.Stdin is being copied to the container. The stream ends when
// the container exits (after its last output), when Close is called or when ctx ends;
// the container keeps running when a client goes away. A container that is not
// created or running is refused with a *StateError; one without an attach socket with
// ErrNotAttachable.
func (c *Container) Attach(ctx context.Context, opts AttachOptions) (*AttachStream, error) {
	st := c.State()
	if st.Status == StatusExited {
		return nil, &StateError{ID: st.ID, Op: "attach to", From: st.Status, Want: "created, running or paused"}
	}
	conn, tty, err := c.e.dialAttach(ctx, st.ID)
	if err != nil {
		return nil, err
	}
	a := &AttachStream{conn: conn, tty: tty, done: make(chan struct{})}
	a.stop = context.AfterFunc(ctx, func() { a.Close() })
	go a.readOutput(opts.Stdout, opts.Stderr)
	if opts.Stdin != nil {
		go a.copyInput(opts.Stdin, opts.CloseStdin)
	}
	return a, nil
}

// dialAttach connects to a container's attach socket and waits until the monitor
// registered the connection; it returns whether the container has a terminal.
func (e *Engine) dialAttach(ctx context.Context, id string) (*net.UnixConn, bool, error) {
	fail := func(err error) (*net.UnixConn, bool, error) {
		return nil, false, fmt.Errorf("attach to container %s: %w", shortID(id), err)
	}
	// Through an O_PATH fd of the directory: the socket's full path may be longer
	// than a sockaddr_un holds.
	dirfd, err := unix.Open(e.ctrs.path(id), unix.O_PATH|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return fail(fmt.Errorf("%w: %w", ErrNotFound, err))
	}
	defer unix.Close(dirfd)
	var d net.Dialer
	nc, err := d.DialContext(ctx, "unix", "/proc/self/fd/"+strconv.Itoa(dirfd)+"/"+attachSockName)
	if err != nil {
		if errors.Is(err, unix.ENOENT) || errors.Is(err, unix.ECONNREFUSED) {
			return fail(fmt.Errorf("%w: %s: %w", ErrNotAttachable, attachSockName, err))
		}
		return fail(err)
	}
	conn := nc.(*net.UnixConn)
	stop := context.AfterFunc(ctx, func() { conn.SetReadDeadline(time.Now()) })
	defer stop()
	var hello [1]byte
	if _, err := io.ReadFull(conn, hello[:]); err != nil || hello[0] != 'T' && hello[0] != 'P' {
		conn.Close()
		if ctx.Err() != nil {
			return fail(ctx.Err())
		}
		return fail(fmt.Errorf("%w: no greeting from its monitor (%v)", ErrNotAttachable, err))
	}
	conn.SetReadDeadline(time.Time{})
	return conn, hello[0] == 'T', nil
}

// Tty reports whether the container has a terminal: then its output is the raw
// terminal output, all of it on Stdout, and Resize applies.
func (a *AttachStream) Tty() bool { return a.tty }

// Resize sets the size of the container's terminal; the container gets SIGWINCH.
func (a *AttachStream) Resize(rows, cols uint16) error {
	if !a.tty {
		return fmt.Errorf("resize: %w: the container has no terminal", ErrInvalidState)
	}
	var p [4]byte
	binary.BigEndian.PutUint16(p[0:], rows)
	binary.BigEndian.PutUint16(p[2:], cols)
	return a.send(attachResize, p[:])
}

// Write sends p to the container's stdin (its terminal), as AttachOptions.Stdin
// does; it is for callers that have no Reader to hand over at Attach time.
func (a *AttachStream) Write(p []byte) (int, error) {
	for off := 0; off < len(p); off += maxAttachFrame {
		if err := a.send(attachStdin, p[off:min(len(p), off+maxAttachFrame)]); err != nil {
			return off, err
		}
	}
	return len(p), nil
}

// CloseStdin closes the container's stdin (its reader sees end of file), for every
// client. It does nothing to a terminal.
func (a *AttachStream) CloseStdin() error { return a.send(attachCloseStdin, nil) }

// Wait blocks until the stream ended: nil when the container exited and all its
// output was copied (or Close was called), else the error that ended the copy.
func (a *AttachStream) Wait() error {
	<-a.done
	return a.err
}

// Done is closed when the stream ended (see Wait).
func (a *AttachStream) Done() <-chan struct{} { return a.done }

// Close detaches: the container keeps running. A Stdin copy blocked in Read stays so
// until that Read returns.
func (a *AttachStream) Close() error {
	a.closeOnce.Do(func() {
		a.stop()
		a.conn.Close()
	})
	return nil
}

func (a *AttachStream) send(kind byte, p []byte) error {
	hdr := [8]byte{kind}
	binary.BigEndian.PutUint32(hdr[4:], uint32(len(p)))
	a.wmu.Lock()
	defer a.wmu.Unlock()
	if _, err := a.conn.Write(append(hdr[:], p...)); err != nil {
		return fmt.Errorf("attach: %w", err)
	}
	return nil
}

// readOutput copies the monitor's output to stdout and stderr until it ends.
func (a *AttachStream) readOutput(stdout, stderr io.Writer) {
	defer close(a.done)
	if stdout == nil {
		stdout = io.Discard
	}
	if stderr == nil {
		stderr = io.Discard
	}
	var err error
	if a.tty {
		_, err = io.Copy(stdout, a.conn)
	} else {
		err = demux(a.conn, stdout, stderr)
	}
	if errors.Is(err, net.ErrClosed) {
		err = nil // Close
	}
	a.err = err
	a.Close()
}

// demux splits stdcopy frames from r onto stdout and stderr, until EOF.
func demux(r io.Reader, stdout, stderr io.Writer) error {
	br := &io.LimitedReader{}
	var hdr [8]byte
	for {
		if _, err := io.ReadFull(r, hdr[:]); err != nil {
			if err == io.EOF {
				return nil
			}
			return err
		}
		w := stdout
		if hdr[0] == 2 {
			w = stderr
		}
		br.R, br.N = r, int64(binary.BigEndian.Uint32(hdr[4:]))
		if _, err := io.Copy(w, br); err != nil {
			return err
		}
		if br.N > 0 {
			return io.ErrUnexpectedEOF
		}
	}
}

// copyInput sends r to the container's stdin, and closes it at the end if asked.
func (a *AttachStream) copyInput(r io.Reader, closeAtEOF bool) {
	buf := make([]byte, 32<<10)
	for {
		n, err := r.Read(buf)
		if n > 0 {
			if a.send(attachStdin, buf[:n]) != nil {
				return
			}
		}
		if err != nil {
			if err == io.EOF && closeAtEOF && !a.tty {
				a.CloseStdin()
			}
			return
		}
	}
}

// resizeDetached resizes the terminal of a detached container through its attach
// socket.
func (c *Container) resizeDetached(rows, cols uint16) error {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	conn, tty, err := c.e.dialAttach(ctx, c.id)
	if err != nil {
		return fmt.Errorf("resize container %s: %w", shortID(c.id), err)
	}
	a := &AttachStream{conn: conn, tty: tty, stop: func() bool { return false }}
	defer a.Close()
	if err := a.Resize(rows, cols); err != nil {
		return fmt.Errorf("resize container %s: %w", shortID(c.id), err)
	}
	return nil
}

// attachServer is the monitor's side of the attach socket.
type attachServer struct {
	ln    *net.UnixListener
	dirfd int // O_PATH fd of the container dir, which the socket's path goes through
	tty   bool

	mu      sync.Mutex
	clients map[*attachClient]bool
	closed  bool
	writers sync.WaitGroup
	ended   sync.Once

	inMu    sync.Mutex
	in      io.Writer // the container's stdin pipe or terminal; nil: stdin not open
	closeIn func()    // closes the stdin pipe; nil with a terminal
	resize  func(rows, cols uint16) error
}

type attachClient struct {
	conn net.Conn
	out  chan []byte
}

// newAttachServer listens on dir/attach.sock (replacing the socket of an earlier run).
func newAttachServer(dir string, tty bool) (*attachServer, error) {
	dirfd, err := unix.Open(dir, unix.O_PATH|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, fmt.Errorf("attach socket: %w", &os.PathError{Op: "open", Path: dir, Err: err})
	}
	path := "/proc/self/fd/" + strconv.Itoa(dirfd) + "/" + attachSockName
	os.Remove(path)
	ln, err := net.ListenUnix("unix", &net.UnixAddr{Name: path, Net: "unix"})
	if err != nil {
		unix.Close(dirfd)
		return nil, fmt.Errorf("attach socket %s: %w", filepath.Join(dir, attachSockName), err)
	}
	ln.SetUnlinkOnClose(false) // the path goes through dirfd: close removes it itself
	return &attachServer{ln: ln, dirfd: dirfd, tty: tty, clients: map[*attachClient]bool{}}, nil
}

// serve accepts clients until close.
func (s *attachServer) serve() {
	for {
		conn, err := s.ln.Accept()
		if err != nil {
			return
		}
		cl := &attachClient{conn: conn, out: make(chan []byte, 256)}
		hello := []byte{'P'}
		if s.tty {
			hello[0] = 'T'
		}
		cl.out <- hello
		s.mu.Lock()
		if s.closed {
			s.mu.Unlock()
			conn.Close()
			continue
		}
		s.clients[cl] = true
		s.writers.Add(1)
		s.mu.Unlock()
		go s.write(cl)
		go s.read(cl)
	}
}

// write sends a client its output until its channel is closed or it went away.
func (s *attachServer) write(cl *attachClient) {
	defer s.writers.Done()
	defer cl.conn.Close()
	for p := range cl.out {
		if _, err := cl.conn.Write(p); err != nil {
			s.drop(cl)
			for range cl.out {
			}
			return
		}
	}
}

// drop forgets a client (s.mu not held).
func (s *attachServer) drop(cl *attachClient) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.clients[cl] {
		delete(s.clients, cl)
		close(cl.out)
	}
}

// read applies a client's frames until it stops sending.
func (s *attachServer) read(cl *attachClient) {
	var hdr [8]byte
	for {
		if _, err := io.ReadFull(cl.conn, hdr[:]); err != nil {
			return
		}
		n := binary.BigEndian.Uint32(hdr[4:])
		if n > maxAttachFrame {
			s.drop(cl)
			return
		}
		p := make([]byte, n)
		if _, err := io.ReadFull(cl.conn, p); err != nil {
			return
		}
		switch hdr[0] {
		case attachStdin:
			s.inMu.Lock()
			if s.in != nil {
				s.in.Write(p)
			}
			s.inMu.Unlock()
		case attachCloseStdin:
			if s.closeIn != nil {
				s.closeIn()
			}
		case attachResize:
			if s.resize != nil && n == 4 {
				s.resize(binary.BigEndian.Uint16(p[0:]), binary.BigEndian.Uint16(p[2:]))
			}
		}
	}
}

// broadcast sends output of stream ("stdout" or "stderr") to every client; a client
// that fell far behind is dropped rather than holding up the container.
func (s *attachServer) broadcast(stream string, p []byte) {
	var chunk []byte
	if s.tty {
		chunk = bytes.Clone(p)
	} else {
		chunk = make([]byte, 8+len(p))
		chunk[0] = 1
		if stream == "stderr" {
			chunk[0] = 2
		}
		binary.BigEndian.PutUint32(chunk[4:], uint32(len(p)))
		copy(chunk[8:], p)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	for cl := range s.clients {
		select {
		case cl.out <- chunk:
		default:
			delete(s.clients, cl)
			close(cl.out)
		}
	}
}

// close ends every client once its pending output is sent (at most wait), the
// container's stdin and the socket. Calls after the first do nothing.
func (s *attachServer) close(wait time.Duration) {
	s.ended.Do(func() { s.end(wait) })
}

func (s *attachServer) end(wait time.Duration) {
	s.mu.Lock()
	s.closed = true
	for cl := range s.clients {
		delete(s.clients, cl)
		close(cl.out)
	}
	s.mu.Unlock()
	s.ln.Close()
	done := make(chan struct{})
	go func() { s.writers.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(wait):
	}
	if s.closeIn != nil {
		s.closeIn()
	}
	os.Remove("/proc/self/fd/" + strconv.Itoa(s.dirfd) + "/" + attachSockName)
	unix.Close(s.dirfd)
}

// teeOutput copies a container's output stream to the attached clients as it comes
// and to the log line by line (long lines in 16 KiB pieces), until r ends.
func teeOutput(stream string, r io.Reader, lw *jsonlog.Writer, s *attachServer) {
	const maxLine = jsonlog.MaxLine
	buf := make([]byte, 32<<10)
	var line []byte
	for {
		n, err := r.Read(buf)
		if n > 0 {
			s.broadcast(stream, buf[:n])
			line = append(line, buf[:n]...)
			rest := line
			for {
				i := bytes.IndexByte(rest, '\n')
				if i < 0 && len(rest) < maxLine {
					break
				}
				if i < 0 || i >= maxLine {
					i = maxLine - 1
				}
				lw.WriteLine(stream, rest[:i+1])
				rest = rest[i+1:]
			}
			line = append(line[:0], rest...)
		}
		if err != nil {
			if len(line) > 0 {
				lw.WriteLine(stream, line)
			}
			return
		}
	}
}
