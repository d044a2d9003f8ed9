// Package jsonlog writes a container's output in the format of Docker's json-file log
// driver: one JSON object a line, {"log": the line with its newline, "stream":
// "stdout" or "stderr", "time": RFC 3339 with nanoseconds}. The engine's monitor and
// the small waiter (namespace.ExecWaiter) both write container logs through it.
package jsonlog

import (
	"bufio"
	"encoding/json"
	"io"
	"sync"
	"time"
)

// MaxLine is the longest piece of a line that goes into one entry: a longer line is
// logged in MaxLine pieces.
const MaxLine = 16 << 10

type entry struct {
	Log    string    `json:"log"`
	Stream string    `json:"stream"`
	Time   time.Time `json:"time"`
}

// Writer appends entries to a log; entries of concurrent streams never interleave
// inside a line.
type Writer struct {
	mu sync.Mutex
	w  io.Writer
}

// New returns a Writer appending to w (a file opened O_APPEND).
func New(w io.Writer) *Writer { return &Writer{w: w} }

// Write logs p as one stdout entry.
func (w *Writer) Write(p []byte) (int, error) { return w.WriteLine("stdout", p) }

// WriteLine logs p as one entry of stream, timed now.
func (w *Writer) WriteLine(stream string, p []byte) (int, error) {
	line, err := json.Marshal(entry{Log: string(p), Stream: stream, Time: time.Now().UTC()})
	if err != nil {
		return 0, err
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	if _, err := w.w.Write(append(line, '\n')); err != nil {
		return 0, err
	}
	return len(p), nil
}

// CopyFrom logs r line by line (long lines in MaxLine pieces) as stream, until r
// ends or fails.
func (w *Writer) CopyFrom(stream string, r io.Reader) {
	br := bufio.NewReaderSize(r, MaxLine)
	for {
		line, err := br.ReadSlice('\n')
		if len(line) > 0 {
			w.WriteLine(stream, line)
		}
		if err != nil && err != bufio.ErrBufferFull {
			return
		}
	}
}
