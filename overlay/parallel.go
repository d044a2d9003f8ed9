package overlay

import (
	"archive/tar"
	"fmt"
	"runtime"
	"sync"

	"golang.org/x/sys/unix"
)

// Small regular files are the bulk of a layer's entries and each costs a
// handful of syscalls, most of them waiting on the file system (inode
// allocation, journal). The extractor reads them from the stream in order,
// then hands creation and writing to a pool of writers.
//
// Ordering rules that keep the result identical to a sequential unpack:
//   - a writer only ever creates a brand-new name (O_CREAT|O_EXCL); a file
//     whose name exists already is done in order, after a barrier;
//   - no two in-flight operations target one (directory inode, name);
//     every entry the extractor handles itself first waits if its name is
//     in flight;
//   - anything that removes (replacing a directory, a whiteout over a
//     file), links (a hard link's target may be in flight) or finishes the
//     layer (directory times, publish) waits for all writers first.
const (
	smallFileMax = 128 << 10 // bytes; larger files are written in order, streaming
	writerQueue  = 32        // queued jobs (each holds at most smallFileMax bytes)
)

// parallelWrites turns the writers on (tests compare against sequential).
var parallelWrites = true

type entryKey struct {
	dirIno uint64
	name   string
}

type fileJob struct {
	dirfd int // owned by the job
	base  string
	hdr   *tar.Header
	data  *[]byte
	key   entryKey
}

type writers struct {
	jobs    chan *fileJob
	pending sync.WaitGroup // jobs queued or running
	done    sync.WaitGroup // writer goroutines

	mu   sync.Mutex
	busy map[entryKey]int
	err  error

	bufs [len(bufClasses)]sync.Pool
}

// bufClasses are the buffer sizes for file data, so a 1 KiB file does not pin
// a 128 KiB buffer while queued.
var bufClasses = [...]int{4 << 10, 16 << 10, 64 << 10, smallFileMax}

func bufClass(size int64) int {
	for i, c := range bufClasses {
		if size <= int64(c) {
			return i
		}
	}
	panic("overlay: file too big for a writer buffer")
}

// getBuf returns a buffer of at least size bytes (size ≤ smallFileMax).
func (w *writers) getBuf(size int64) *[]byte {
	c := bufClass(size)
	if b, ok := w.bufs[c].Get().(*[]byte); ok {
		return b
	}
	b := make([]byte, bufClasses[c])
	return &b
}

func (w *writers) putBuf(b *[]byte) {
	w.bufs[bufClass(int64(cap(*b)))].Put(b)
}

func newWriters() *writers {
	n := max(4, min(16, 2*runtime.GOMAXPROCS(0)))
	w := &writers{jobs: make(chan *fileJob, writerQueue), busy: map[entryKey]int{}}
	for range n {
		w.done.Add(1)
		go w.run()
	}
	return w
}

func (w *writers) run() {
	defer w.done.Done()
	for j := range w.jobs {
		err := writeFile(j)
		unix.Close(j.dirfd)
		w.putBuf(j.data)
		w.mu.Lock()
		if err != nil && w.err == nil {
			w.err = fmt.Errorf("tar entry %q: %w", j.hdr.Name, err)
		}
		if w.busy[j.key]--; w.busy[j.key] == 0 {
			delete(w.busy, j.key)
		}
		w.mu.Unlock()
		w.pending.Done()
	}
}

// writeFile creates a new regular file and gives it its data and metadata.
func writeFile(j *fileJob) error {
	fd, err := unix.Openat(j.dirfd, j.base, unix.O_WRONLY|unix.O_CREAT|unix.O_EXCL|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0o600)
	if err != nil {
		return err
	}
	werr := writeAll(fd, (*j.data)[:j.hdr.Size])
	if werr == nil {
		werr = fileMeta(fd, j.hdr)
	}
	if cerr := unix.Close(fd); werr == nil && cerr != nil {
		werr = cerr
	}
	if werr != nil {
		return werr
	}
	return setTimes(j.dirfd, j.base, j.hdr.AccessTime, j.hdr.ModTime)
}

// submit queues a job; the caller has checked its name is not busy.
func (w *writers) submit(j *fileJob) {
	w.mu.Lock()
	w.busy[j.key]++
	w.mu.Unlock()
	w.pending.Add(1)
	w.jobs <- j
}

// isBusy reports whether an in-flight job targets key.
func (w *writers) isBusy(key entryKey) bool {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.busy[key] > 0
}

// failed returns the first writer error, if any.
func (w *writers) failed() error {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.err
}

// barrier waits until every queued job is done and returns the first error.
func (w *writers) barrier() error {
	w.pending.Wait()
	return w.failed()
}

// stop waits for the jobs and ends the writers.
func (w *writers) stop() error {
	err := w.barrier()
	close(w.jobs)
	w.done.Wait()
	return err
}
