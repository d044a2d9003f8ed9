package skiff

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"
)

// logFileName is a detached container's log under its directory: one JSON object a
// line, {"log": "...", "stream": "stdout"|"stderr", "time": RFC 3339 nano}, the format
// of Docker's json-file driver.
const logFileName = "container.log"

// LogEntry is one line of a container's log.
type LogEntry struct {
	Log    string    `json:"log"`
	Stream string    `json:"stream"`
	Time   time.Time `json:"time"`
}

// LogOptions select what Container.Logs returns (docker logs flags).
type LogOptions struct {
	// Follow keeps returning new output until the container exits or ctx ends (-f).
	Follow bool
	// Tail is how many lines from the end to return; negative means all (--tail).
	Tail int
	// Timestamps prefixes each line with its RFC 3339 nano time (--timestamps).
	Timestamps bool
	// Since skips entries before this time; zero means from the start (--since).
	Since time.Time
	// Until skips entries after this time; zero means to the end (--until). A
	// follower stops once the log has passed it, or the clock has.
	Until time.Time
	// NextRun makes Follow of an exited container wait for its next run (Start, or
	// its restart policy) and end with that run's exit, as docker start -a follows.
	NextRun bool
}

// Logs writes the output a detached container logged: its stdout lines to stdout and
// its stderr lines to stderr (with a terminal, everything is stdout).
func (c *Container) Logs(ctx context.Context, opts LogOptions, stdout, stderr io.Writer) error {
	return c.LogEntries(ctx, opts, func(e LogEntry) error {
		w := stdout
		if e.Stream == "stderr" {
			w = stderr
		}
		if opts.Timestamps {
			if _, err := io.WriteString(w, e.Time.Format(time.RFC3339Nano)+" "); err != nil {
				return err
			}
		}
		_, err := io.WriteString(w, e.Log)
		return err
	})
}

// LogEntries calls fn with each entry of the container's log, as Logs selects them.
func (c *Container) LogEntries(ctx context.Context, opts LogOptions, fn func(LogEntry) error) error {
	path := filepath.Join(c.e.ctrs.path(c.id), logFileName)
	var w *dirWatch // new output or a new state wakes a follower at once
	if opts.Follow {
		// A --rm container stays until the follower has read its end (see Hold).
		if l, err := c.e.ctrs.hold(c.id); err == nil {
			defer l.Unlock()
		}
		w = watchDir(c.e.ctrs.path(c.id))
		defer w.Close()
	}
	var after time.Time // with NextRun: an exit recorded at or before it is the previous run's
	if st := c.State(); opts.NextRun && st.Status == StatusExited {
		if after = st.Finished; after.IsZero() {
			after = time.Now()
		}
	}
	ended := func() bool {
		st := c.State()
		return c.isRemoved() || st.Status == StatusExited && (after.IsZero() || st.Finished.After(after))
	}
	f, err := os.Open(path)
	if os.IsNotExist(err) {
		if !opts.Follow {
			return nil // never detached, or nothing logged yet
		}
		for os.IsNotExist(err) {
			if ended() {
				return nil
			}
			if w.Wait(ctx, 250*time.Millisecond); ctx.Err() != nil {
				return ctx.Err()
			}
			f, err = os.Open(path)
		}
	}
	if err != nil {
		return fmt.Errorf("logs of container %s: %w", shortID(c.id), err)
	}
	defer f.Close()

	var backlog []LogEntry
	past := func(t time.Time) bool { return !opts.Until.IsZero() && t.After(opts.Until) }
	keep := func(e LogEntry) error {
		if !opts.Since.IsZero() && e.Time.Before(opts.Since) || past(e.Time) {
			return nil
		}
		if opts.Tail < 0 {
			return fn(e)
		}
		backlog = append(backlog, e)
		if len(backlog) > opts.Tail {
			backlog = backlog[1:]
		}
		return nil
	}
	br := bufio.NewReaderSize(f, 64<<10)
	var partial []byte
	// read consumes every complete line available now.
	read := func(emit func(LogEntry) error) error {
		for {
			line, err := br.ReadBytes('\n')
			partial = append(partial, line...)
			if err != nil {
				return nil // EOF: an incomplete line waits for the rest
			}
			var e LogEntry
			if jerr := json.Unmarshal(bytes.TrimSpace(partial), &e); jerr == nil {
				if err := emit(e); err != nil {
					return err
				}
			}
			partial = partial[:0]
		}
	}
	if err := read(keep); err != nil {
		return err
	}
	for _, e := range backlog {
		if err := fn(e); err != nil {
			return err
		}
	}
	if !opts.Follow {
		return nil
	}
	errPast := errors.New("past Until")
	live := func(e LogEntry) error {
		if past(e.Time) {
			return errPast
		}
		return fn(e)
	}
	for {
		exited := ended() || past(time.Now())
		if err := read(live); errors.Is(err, errPast) {
			return nil
		} else if err != nil {
			return err
		}
		if exited {
			return nil
		}
		if w.Wait(ctx, 250*time.Millisecond); ctx.Err() != nil {
			return ctx.Err()
		}
	}
}
