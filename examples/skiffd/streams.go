package main

import (
	"context"
	"io"
	"math"
	"net"
	"net/http"
	"strconv"
	"sync"
	"syscall"
	"time"

	"golang.org/x/sys/unix"

	"github.com/skiffrt/skiff"
	"github.com/skiffrt/skiff/examples/internal/dockeropts"
)

func (d *daemon) streamRoutes(h func(string, apiFunc)) {
	h("POST /containers/{id}/attach", d.containerAttach)
	h("GET /containers/{id}/logs", d.containerLogs)
}

// containerAttach hijacks the connection and streams the container's output until it
// exits (docker run, docker attach, docker start -a). A container with an open stdin
// or a terminal is attached through its attach socket (Container.Attach), which also
// takes the client's input; the output of any other is followed in its log.
func (d *daemon) containerAttach(w http.ResponseWriter, r *http.Request) error {
	ref := r.PathValue("id")
	c, err := d.container(r.Context(), ref)
	if err != nil {
		return err
	}
	st := c.State()
	req := request(c)
	tty := c.Config().Tty
	q := r.URL.Query()
	wantIn, wantOut, wantErr := boolQuery(r, "stdin"), boolQuery(r, "stdout"), boolQuery(r, "stderr")
	if !q.Has("stdout") && !q.Has("stderr") {
		wantOut, wantErr = true, true
	}
	keys, err := dockeropts.ParseDetachKeys(q.Get("detachKeys"))
	if err != nil {
		return errorf(http.StatusBadRequest, "%v", err)
	}
	since := time.Now() // output from now on (docker start -a attaches, then starts)
	// Hold the container before the 101: the client starts it as soon as it has that,
	// and the monitor of a --rm container must let this session drain the log first.
	release, err := c.Hold()
	if err != nil {
		return containerError(ref, err)
	}
	defer release()
	if q.Has("stream") && !boolQuery(r, "stream") {
		// No stream: the log so far (logs=1), or nothing, and the end.
		conn, _, err := hijack(w, !tty)
		if err != nil {
			return nil
		}
		defer conn.Close()
		awaitPeerRead(conn)
		if boolQuery(r, "logs") {
			out := &selectFramer{f: &framer{raw: tty, w: conn}, out: wantOut, err: wantErr}
			c.LogEntries(r.Context(), skiff.LogOptions{Tail: -1}, out.entry)
		}
		return nil
	}
	socket := c.Config().OpenStdin || tty
	f := &framer{raw: tty, w: &lazyWriter{}}
	var a *skiff.AttachStream
	if socket && st.Status != skiff.StatusExited {
		// Attached before the 101, so that no output after the client's start is lost.
		opts := skiff.AttachOptions{}
		if wantOut {
			opts.Stdout = f.stream(streamStdout)
		}
		if wantErr {
			opts.Stderr = f.stream(streamStderr)
		}
		if a, err = c.Attach(d.ctx, opts); err != nil {
			return containerError(ref, err)
		}
		defer a.Close()
	}
	conn, br, err := hijack(w, !tty)
	if err != nil {
		return nil
	}
	defer conn.Close()
	awaitPeerRead(conn)
	f.w.(*lazyWriter).set(conn)
	out := &selectFramer{f: f, out: wantOut, err: wantErr}

	ctx, cancel := context.WithCancel(d.ctx)
	defer cancel()
	go watchHangup(ctx, conn, cancel)
	if st.Status == skiff.StatusCreated || boolQuery(r, "logs") {
		since = time.Time{}
	}
	// An exited container is followed in its next run (docker start -a), which may be
	// over by the time this looks: the library tells that run's exit from the last.
	rerun := st.Status == skiff.StatusExited
	follow := func(nextRun bool) {
		c.LogEntries(ctx, skiff.LogOptions{Follow: true, Tail: -1, Since: since, NextRun: nextRun}, func(e skiff.LogEntry) error {
			return out.entry(e)
		})
	}
	// The log has all the output, also of one with an attach socket: the socket is
	// needed only to send input to a new run (docker start -ai), not to follow it.
	if !socket || rerun && !wantIn {
		follow(rerun)
		return nil
	}
	// A new run that takes input is attached through its new monitor's socket: a new
	// monitor (Owner) or a new end time tells that it ran. (Started is not enough:
	// the library leaves it as it was when the command ends before Start records it.)
	if rerun {
		gone, stop := d.followContext(ctx, st.ID)
		defer stop()
		for prev := st; st.Status == skiff.StatusExited && st.Owner == prev.Owner && st.Finished.Equal(prev.Finished); {
			select {
			case <-gone.Done():
				return nil
			case <-time.After(20 * time.Millisecond):
			}
			st = c.State()
		}
	}
	if a == nil {
		// Started again (docker start -a): its new monitor's socket. (Output between
		// the start and this attach is not sent; when the run is over already, its
		// log is.)
		opts := skiff.AttachOptions{}
		if wantOut {
			opts.Stdout = f.stream(streamStdout)
		}
		if wantErr {
			opts.Stderr = f.stream(streamStderr)
		}
		if a, err = c.Attach(ctx, opts); err != nil {
			follow(false) // the run is over already: its log
			return nil
		}
		defer a.Close()
	}
	ended := make(chan struct{})
	if wantIn {
		go func() {
			var in io.Reader = br
			if tty { // the detach keys end the session, not the container
				in = &dockeropts.DetachReader{R: br, Keys: keys}
			}
			io.Copy(a, in)
			if tty {
				close(ended) // the client detached: leave the container running
			} else if req.StdinOnce {
				a.CloseStdin()
			}
		}()
	}
	select {
	case <-a.Done():
	case <-ended:
	case <-ctx.Done():
	}
	return nil
}

// lazyWriter buffers what is written before its destination is set.
type lazyWriter struct {
	mu  sync.Mutex
	buf []byte
	w   io.Writer
}

func (l *lazyWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.w == nil {
		l.buf = append(l.buf, p...)
		return len(p), nil
	}
	return l.w.Write(p)
}

// set writes what was buffered to w and sends everything after it there.
func (l *lazyWriter) set(w io.Writer) {
	l.mu.Lock()
	defer l.mu.Unlock()
	w.Write(l.buf)
	l.w, l.buf = w, nil
}

// selectFramer writes log entries of the selected streams to a framer.
type selectFramer struct {
	f        *framer
	out, err bool
	stamps   bool
}

func (s *selectFramer) entry(e skiff.LogEntry) error {
	t := byte(streamStdout)
	if e.Stream == "stderr" {
		t = streamStderr
	}
	if t == streamStdout && !s.out || t == streamStderr && !s.err {
		return nil
	}
	p := e.Log
	if s.stamps {
		p = e.Time.Format(time.RFC3339Nano) + " " + p
	}
	return s.f.write(t, []byte(p))
}

func parseUnixTime(s string) time.Time {
	if s == "" {
		return time.Time{}
	}
	f, err := strconv.ParseFloat(s, 64)
	if err != nil {
		if t, err := time.Parse(time.RFC3339Nano, s); err == nil {
			return t
		}
		return time.Time{}
	}
	sec, frac := math.Modf(f)
	return time.Unix(int64(sec), int64(frac*1e9))
}

func (d *daemon) containerLogs(w http.ResponseWriter, r *http.Request) error {
	ref := r.PathValue("id")
	c, err := d.container(r.Context(), ref)
	if err != nil {
		return err
	}
	q := r.URL.Query()
	tail := -1
	if t := q.Get("tail"); t != "" && t != "all" {
		if tail, err = strconv.Atoi(t); err != nil {
			return errorf(http.StatusBadRequest, "invalid tail %q", t)
		}
	}
	tty := c.Config().Tty
	opts := skiff.LogOptions{Follow: boolQuery(r, "follow"), Tail: tail, Since: parseUnixTime(q.Get("since")),
		Until: parseUnixTime(q.Get("until"))}
	until := parseUnixTime(q.Get("until"))
	ct := "application/vnd.docker.multiplexed-stream"
	if tty {
		ct = "application/vnd.docker.raw-stream"
	}
	s := startStream(w, ct)
	out := &selectFramer{f: &framer{w: s, raw: tty}, out: boolQuery(r, "stdout"), err: boolQuery(r, "stderr"), stamps: boolQuery(r, "timestamps")}
	// LogEntries with Follow ends by itself when the container exits or is removed.
	c.LogEntries(r.Context(), opts, func(e skiff.LogEntry) error {
		if !until.IsZero() && e.Time.After(until) {
			return nil
		}
		return out.entry(e)
	})
	return nil
}

// followContext is a context that ends shortly after the container is removed, for an
// attach that waits for an exited container to run again (a state poll cannot tell a
// removed container from one not yet restarted).
func (d *daemon) followContext(parent context.Context, id string) (context.Context, context.CancelFunc) {
	ctx, cancel := context.WithCancel(parent)
	go func() {
		t := time.NewTicker(200 * time.Millisecond)
		defer t.Stop()
		gone := 0
		for {
			select {
			case <-ctx.Done():
				return
			case <-t.C:
			}
			if _, err := d.e.Container(ctx, id); err != nil {
				if gone++; gone > 1 {
					cancel()
					return
				}
			}
		}
	}()
	return ctx, cancel
}

// watchHangup cancels when the client closed its end of a hijacked connection. The CLI
// half-closes at once when it has no stdin to send, so reading EOF tells nothing; a unix
// socket whose peer closed altogether polls POLLHUP, one only shut for writing
// POLLRDHUP.
func watchHangup(ctx context.Context, conn net.Conn, cancel context.CancelFunc) {
	sc, ok := conn.(syscall.Conn)
	if !ok {
		return
	}
	raw, err := sc.SyscallConn()
	if err != nil {
		return
	}
	t := time.NewTicker(250 * time.Millisecond)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		hup := false
		raw.Control(func(fd uintptr) {
			fds := []unix.PollFd{{Fd: int32(fd), Events: unix.POLLRDHUP}}
			if n, err := unix.Poll(fds, 0); err == nil && n > 0 && fds[0].Revents&(unix.POLLHUP|unix.POLLERR) != 0 {
				hup = true
			}
		})
		if hup {
			cancel()
			return
		}
	}
}

// awaitPeerRead waits, for a while at most, until the client has read what was
// written to the hijacked connection so far (the 101 response), so that the stream
// does not come in the same read as the response's headers: a client that reads the
// headers through a buffer and the stream from the raw socket (docker-py) would lose
// what the buffer took. A unix socket tells how much the peer has not read yet
// (SIOCOUTQ); nothing announces the read, so it is looked at every millisecond, for
// a second at most (a client that never reads gets the stream then).
func awaitPeerRead(conn net.Conn) {
	sc, ok := conn.(syscall.Conn)
	if !ok {
		return
	}
	raw, err := sc.SyscallConn()
	if err != nil {
		return
	}
	for deadline := time.Now().Add(time.Second); time.Now().Before(deadline); time.Sleep(time.Millisecond) {
		unread, ioErr := 0, error(nil)
		raw.Control(func(fd uintptr) { unread, ioErr = unix.IoctlGetInt(int(fd), unix.SIOCOUTQ) })
		if ioErr != nil || unread == 0 {
			return
		}
	}
}
