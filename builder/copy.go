package builder

import (
	"context"
	"crypto/sha256"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"net/url"
	"os"
	"path"
	"strings"
	"syscall"
	"time"

	"github.com/moby/patternmatcher"
	"github.com/opencontainers/go-digest"

	"github.com/skiffrt/skiff/dockerfile"
)

// copyStep is a COPY or ADD after expansion.
type copyStep struct {
	add      bool
	sources  []string
	contents []dockerfile.SourceContent
	dest     string
	from     string
	chown    string
	chmod    string
	excludes []string
	unpack   *bool
	checksum string
}

func copyStepOf(in dockerfile.Instruction) (*copyStep, error) {
	switch c := in.(type) {
	case *dockerfile.CopyInstruction:
		if c.Parents {
			return nil, fmt.Errorf("%w: COPY --parents", ErrUnsupported)
		}
		return &copyStep{sources: c.Sources, contents: c.Contents, dest: c.Dest, from: c.From,
			chown: c.Chown, chmod: c.Chmod, excludes: c.Exclude}, nil
	case *dockerfile.AddInstruction:
		return &copyStep{add: true, sources: c.Sources, contents: c.Contents, dest: c.Dest,
			chown: c.Chown, chmod: c.Chmod, excludes: c.Exclude, unpack: c.Unpack, checksum: c.Checksum}, nil
	}
	return nil, fmt.Errorf("not a copy: %s", in.Keyword())
}

// synth is a source that is not a file of a tree: a heredoc body or a
// downloaded URL.
type synth struct {
	name string
	m    meta
	open func() (io.ReadCloser, error)
	hash string
}

func isURL(s string) bool {
	return strings.HasPrefix(s, "http://") || strings.HasPrefix(s, "https://")
}

// fetch downloads an ADD URL into a temp file under dir.
func fetch(ctx context.Context, dir, rawURL, checksum string) (*synth, func(), error) {
	u, err := url.Parse(rawURL)
	if err != nil {
		return nil, nil, fmt.Errorf("ADD %s: %w", rawURL, err)
	}
	if strings.HasSuffix(u.Path, ".git") {
		return nil, nil, fmt.Errorf("%w: ADD of a git repository (%s)", ErrUnsupported, rawURL)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, rawURL, nil)
	if err != nil {
		return nil, nil, err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, nil, fmt.Errorf("ADD %s: %w", rawURL, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, nil, fmt.Errorf("ADD %s: %w: HTTP status %s", rawURL, ErrSourceNotFound, resp.Status)
	}
	f, err := os.CreateTemp(dir, ".tmp-add-")
	if err != nil {
		return nil, nil, err
	}
	done := func() { f.Close(); os.Remove(f.Name()) }
	h := sha256.New()
	if _, err := io.Copy(io.MultiWriter(f, h), resp.Body); err != nil {
		done()
		return nil, nil, fmt.Errorf("ADD %s: %w", rawURL, err)
	}
	sum := digest.NewDigestFromBytes(digest.SHA256, h.Sum(nil))
	if checksum != "" && checksum != sum.String() {
		done()
		return nil, nil, fmt.Errorf("ADD %s: checksum mismatch: want %s, got %s", rawURL, checksum, sum)
	}
	mtime := time.Unix(0, 0)
	if lm, err := http.ParseTime(resp.Header.Get("Last-Modified")); err == nil {
		mtime = lm
	}
	name := path.Base(u.Path)
	if name == "/" || name == "." || name == "" {
		name = "index.html"
	}
	s := &synth{
		name: name,
		m:    meta{mode: 0o600, mtime: mtime},
		open: func() (io.ReadCloser, error) { return os.Open(f.Name()) },
		hash: sum.String() + " " + mtime.String(),
	}
	return s, done, nil
}

// copier applies one COPY/ADD to a mounted snapshot.
type copier struct {
	step    *copyStep
	workdir string
	src     *tree
	srcs    []source // matched sources (nil: match in src now)
	synths  []*synth
	excl    *patternmatcher.PatternMatcher
}

// destination returns the absolute destination and whether it must be a
// directory.
func (c *copier) destination(count int, wildcard bool) (string, bool) {
	d := c.step.dest
	asDir := strings.HasSuffix(d, "/") || d == "." || d == ".." || count > 1 || wildcard
	if !path.IsAbs(d) {
		wd := c.workdir
		if wd == "" {
			wd = "/"
		}
		d = path.Join(wd, d)
	}
	return path.Clean(d), asDir
}

func (c *copier) run(rootfs string) error {
	w := &fsWriter{root: rootfs}
	if c.step.chown != "" {
		uid, gid, err := resolveChown(rootfs, c.step.chown)
		if err != nil {
			return err
		}
		w.chown, w.uid, w.gid = true, uid, gid
	}
	if c.step.chmod != "" {
		m, err := parseChmod(c.step.chmod)
		if err != nil {
			return err
		}
		w.hasChmod, w.chmod = true, m
	}
	srcs, wildcard := c.srcs, false
	for _, p := range c.step.sources {
		if hasWildcard(p) {
			wildcard = true
		}
	}
	if srcs == nil && c.src != nil {
		for _, p := range c.step.sources {
			if isURL(p) {
				continue
			}
			m, err := c.src.match(p)
			if err != nil {
				return err
			}
			srcs = append(srcs, m...)
		}
	}
	dest, asDir := c.destination(len(srcs)+len(c.synths), wildcard)
	if asDir {
		if _, err := w.mkdirAll(dest); err != nil {
			return err
		}
	}
	// fileTarget returns the parent dir (host) and name a single file goes to.
	fileTarget := func(name string) (string, string, error) {
		if asDir || w.isDir(dest) {
			h, err := w.mkdirAll(dest)
			return h, name, err
		}
		h, err := w.mkdirAll(path.Dir(dest))
		return h, path.Base(dest), err
	}
	for _, s := range c.synths {
		parent, name, err := fileTarget(s.name)
		if err != nil {
			return err
		}
		if err := w.place(parent, name, s.m, s.open); err != nil {
			return err
		}
	}
	for _, s := range srcs {
		err := c.src.walk(s, c.excl, func(e entry) error {
			m := metaOf(e.info, c.src.keepOwner)
			if m.mode&fs.ModeSymlink != 0 {
				t, err := os.Readlink(e.host)
				if err != nil {
					return err
				}
				m.linkname = t
			}
			open := func() (io.ReadCloser, error) { return os.OpenFile(e.host, os.O_RDONLY|syscall.O_NOFOLLOW, 0) }
			if e.sub == "." {
				if e.info.IsDir() {
					_, err := w.mkdirAll(dest)
					return err
				}
				if c.step.add && (c.step.unpack == nil || *c.step.unpack) && e.info.Mode().IsRegular() {
					if ok, err := extractArchive(w, e.host, dest); ok || err != nil {
						return err
					}
				}
				parent, name, err := fileTarget(path.Base(s.rel))
				if err != nil {
					return err
				}
				return w.place(parent, name, m, open)
			}
			target := path.Join(dest, e.sub)
			parent, err := w.resolve(path.Dir(target))
			if err == nil {
				if fi, serr := os.Lstat(parent); serr != nil || !fi.IsDir() {
					parent, err = w.mkdirAll(path.Dir(target))
				}
			}
			if err != nil {
				return err
			}
			return w.place(parent, path.Base(target), m, open)
		})
		if err != nil {
			return fmt.Errorf("%s: %w", s.rel, err)
		}
	}
	return w.finish()
}
