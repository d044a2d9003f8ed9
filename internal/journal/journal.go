// Package journal is an append-only log of JSON lines shared by every process on one
// engine root, kept in size-bounded segments, with followers that wake on each append.
//
// Layout under its directory:
//
//	<seq>.jsonl   segments, numbered from 1; records go to the highest. Each record is one
//	              line, written by one write(2). Past the size bound a writer starts the
//	              next segment and removes all but the newest Keep ones.
//	lock          held exclusively while a record is appended or a segment started
//
// Appends are serialised by the lock and a segment is never written again once the next
// one exists, so a follower that drains a segment after it sees the next one has read
// every record of it, and it loses records only when it lags a whole Keep segments.
package journal

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"golang.org/x/sys/unix"

	"github.com/skiffrt/skiff/internal/dirwatch"
	"github.com/skiffrt/skiff/internal/lockfile"
)

// DefaultMaxSize is the segment size bound when Open is given 0.
const DefaultMaxSize = 1 << 20

// Keep is how many segments the journal keeps.
const Keep = 4

// ErrRecord reports a record that cannot be appended (empty, or holding a newline).
var ErrRecord = errors.New("journal: invalid record")

// Journal is one journal directory. It is safe for concurrent use by goroutines and
// processes.
type Journal struct {
	dir string
	max int64
}

// Open returns the journal in dir, creating the directory if needed. Past maxSize bytes
// (DefaultMaxSize when 0) a segment is closed and the next one started.
func Open(dir string, maxSize int64) (*Journal, error) {
	if maxSize <= 0 {
		maxSize = DefaultMaxSize
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("journal %s: %w", dir, err)
	}
	return &Journal{dir: dir, max: maxSize}, nil
}

func (j *Journal) segment(seq int) string {
	return filepath.Join(j.dir, fmt.Sprintf("%08d.jsonl", seq))
}

// segments lists the existing segment numbers, lowest first.
func (j *Journal) segments() ([]int, error) {
	ents, err := os.ReadDir(j.dir)
	if err != nil {
		return nil, err
	}
	var seqs []int
	for _, e := range ents {
		if name, ok := strings.CutSuffix(e.Name(), ".jsonl"); ok {
			if n, err := strconv.Atoi(name); err == nil && n > 0 {
				seqs = append(seqs, n)
			}
		}
	}
	slices.Sort(seqs)
	return seqs, nil
}

// Append writes rec (one JSON document, without newline) as the journal's next line.
func (j *Journal) Append(rec []byte) error {
	if len(rec) == 0 || bytes.IndexByte(rec, '\n') >= 0 {
		return ErrRecord
	}
	l, err := lockfile.Acquire(nil, filepath.Join(j.dir, "lock"), lockfile.Exclusive)
	if err != nil {
		return fmt.Errorf("journal %s: %w", j.dir, err)
	}
	defer l.Unlock()
	seqs, err := j.segments()
	if err != nil {
		return fmt.Errorf("journal %s: %w", j.dir, err)
	}
	seq := 1
	if len(seqs) > 0 {
		seq = seqs[len(seqs)-1]
	}
	f, err := os.OpenFile(j.segment(seq), os.O_WRONLY|os.O_APPEND|os.O_CREATE|unix.O_CLOEXEC, 0o600)
	if err != nil {
		return fmt.Errorf("journal %s: %w", j.dir, err)
	}
	line := append(rec[:len(rec):len(rec)], '\n')
	_, werr := f.Write(line)
	var size int64
	if fi, err := f.Stat(); err == nil {
		size = fi.Size()
	}
	if cerr := f.Close(); werr == nil {
		werr = cerr
	}
	if werr != nil {
		return fmt.Errorf("journal %s: %w", j.dir, werr)
	}
	if size > j.max {
		next, err := os.OpenFile(j.segment(seq+1), os.O_WRONLY|os.O_CREATE|unix.O_CLOEXEC, 0o600)
		if err != nil {
			return fmt.Errorf("journal %s: next segment: %w", j.dir, err)
		}
		next.Close()
		for _, old := range seqs {
			if old <= seq+1-Keep {
				os.Remove(j.segment(old))
			}
		}
	}
	return nil
}

// ReadOptions says where a Read starts and whether it follows.
type ReadOptions struct {
	// FromStart replays the records still kept (journal.1, then journal) before new
	// ones; otherwise Read starts at the current end.
	FromStart bool
	// Follow keeps reading new records until ctx ends or fn returns an error; otherwise
	// Read returns at the end of what is written.
	Follow bool
}

// ErrStop may be returned by a Read callback to end the read without an error.
var ErrStop = errors.New("journal: stop")

// Read calls fn with each record, in the order they were appended; the record is valid
// only during the call. It returns nil when fn returns ErrStop, at the end of the journal
// without Follow, or when ctx ends while following.
func (j *Journal) Read(ctx context.Context, opts ReadOptions, fn func([]byte) error) error {
	fail := func(err error) error { return fmt.Errorf("journal %s: %w", j.dir, err) }
	var w *dirwatch.Watch
	if opts.Follow {
		w = dirwatch.New(j.dir) // before the first listing: no append between the two goes unseen
		defer w.Close()
	}
	seqs, err := j.segments()
	if err != nil {
		return fail(err)
	}
	r := &reader{fn: fn}
	seq, f := 0, (*os.File)(nil)
	defer func() {
		if f != nil {
			f.Close()
		}
	}()
	if len(seqs) > 0 {
		seq = seqs[0]
		if !opts.FromStart {
			seq = seqs[len(seqs)-1]
		}
		if f, err = openSegment(j.segment(seq)); err != nil {
			return fail(err)
		}
		if f != nil && !opts.FromStart {
			if _, err := f.Seek(0, io.SeekEnd); err != nil {
				return fail(err)
			}
		}
	}
	for {
		if f != nil {
			if err := r.drain(f); err != nil {
				return stopped(err)
			}
		}
		// A later segment means this one is complete: read what was appended to it
		// since the last drain, then go on with the next segment that still exists.
		seqs, err := j.segments()
		if err != nil {
			return fail(err)
		}
		i := slices.IndexFunc(seqs, func(n int) bool { return n > seq })
		if i >= 0 {
			if f != nil {
				if err := r.drain(f); err != nil {
					return stopped(err)
				}
				f.Close()
			}
			r.partial = r.partial[:0]
			seq = seqs[i]
			if f, err = openSegment(j.segment(seq)); err != nil {
				return fail(err)
			}
			continue
		}
		if !opts.Follow || ctx.Err() != nil {
			return nil
		}
		w.Wait(ctx, time.Second)
		if ctx.Err() != nil {
			return nil
		}
	}
}

func stopped(err error) error {
	if errors.Is(err, ErrStop) {
		return nil
	}
	return err
}

// openSegment opens a segment, or returns a nil file when it was removed meanwhile.
func openSegment(path string) (*os.File, error) {
	f, err := os.Open(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	return f, err
}

// reader splits what it reads into lines, keeping a partly read last line for later.
type reader struct {
	fn      func([]byte) error
	partial []byte
	buf     [32 << 10]byte
}

func (r *reader) drain(f *os.File) error {
	for {
		n, err := f.Read(r.buf[:])
		data := r.buf[:n]
		for len(data) > 0 {
			i := bytes.IndexByte(data, '\n')
			if i < 0 {
				r.partial = append(r.partial, data...)
				break
			}
			line := data[:i]
			if len(r.partial) > 0 {
				line = append(r.partial, line...)
				r.partial = r.partial[:0]
			}
			if len(line) > 0 {
				if err := r.fn(line); err != nil {
					return err
				}
			}
			data = data[i+1:]
		}
		if err == io.EOF || n == 0 {
			return nil
		}
		if err != nil {
			return err
		}
	}
}
