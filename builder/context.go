package builder

import (
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"strings"
	"syscall"

	securejoin "github.com/cyphar/filepath-securejoin"
	"github.com/moby/patternmatcher"
	"github.com/moby/patternmatcher/ignorefile"
)

// tree is a directory that COPY and ADD read sources from: the build
// context (filtered by its .dockerignore) or the root of a stage or image.
type tree struct {
	root   string                         // absolute, symlinks resolved
	ignore *patternmatcher.PatternMatcher // .dockerignore; nil for none
	// keepOwner keeps the files' owners (stage and image sources); context
	// files are owned by root:root unless --chown says otherwise.
	keepOwner bool
}

// loadContext opens the build context dir and reads its .dockerignore.
func loadContext(dir string) (*tree, error) {
	abs, err := filepath.Abs(dir)
	if err != nil {
		return nil, err
	}
	if abs, err = filepath.EvalSymlinks(abs); err != nil {
		return nil, fmt.Errorf("%w: context %s: %w", ErrInvalidOptions, dir, err)
	}
	t := &tree{root: abs}
	f, err := os.Open(filepath.Join(abs, ".dockerignore"))
	if errors.Is(err, fs.ErrNotExist) {
		return t, nil
	}
	if err != nil {
		return nil, err
	}
	defer f.Close()
	patterns, err := ignorefile.ReadAll(f)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", f.Name(), err)
	}
	if len(patterns) > 0 {
		if t.ignore, err = patternmatcher.New(patterns); err != nil {
			return nil, fmt.Errorf("%s: %w", f.Name(), err)
		}
	}
	return t, nil
}

// ignored reports whether rel (slash path relative to the root) is excluded
// by .dockerignore.
func (t *tree) ignored(rel string) bool {
	if t.ignore == nil || rel == "." {
		return false
	}
	m, err := t.ignore.MatchesOrParentMatches(rel)
	return err == nil && m
}

// source is one matched COPY/ADD source.
type source struct {
	rel  string      // path relative to the tree root, slash-separated, "." for the root
	real string      // rel with its symlinks resolved: what .dockerignore is checked against
	host string      // its path on the host, inside the tree root
	info fs.FileInfo // Lstat of host (symlinks in the source path are followed)
}

func hasWildcard(p string) bool { return strings.ContainsAny(p, "*?[") }

// match resolves one source pattern in the tree: a path (symlinks resolved
// inside the root, ".." never leaving it) or a wildcard pattern matched
// against every path of the tree.
func (t *tree) match(pattern string) ([]source, error) {
	clean := strings.TrimPrefix(path.Clean("/"+filepath.ToSlash(pattern)), "/")
	if clean == "" {
		clean = "."
	}
	if !hasWildcard(clean) {
		host, err := securejoin.SecureJoin(t.root, clean)
		if err != nil {
			return nil, fmt.Errorf("%w: %s: %w", ErrSourceNotFound, pattern, err)
		}
		fi, err := os.Lstat(host)
		real := t.relOf(host)
		// An ignored path is not in the context at all, also when a symlink leads to it.
		if err != nil || t.ignored(clean) && !fi.IsDir() || real != clean && t.ignored(real) {
			return nil, fmt.Errorf("%w: %s: not found in the build context or excluded by .dockerignore", ErrSourceNotFound, pattern)
		}
		return []source{{rel: clean, real: real, host: host, info: fi}}, nil
	}
	if _, err := path.Match(clean, ""); err != nil {
		return nil, fmt.Errorf("%w: %s: %w", ErrSourceNotFound, pattern, err)
	}
	var out []source
	err := filepath.WalkDir(t.root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(t.root, p)
		rel = filepath.ToSlash(rel)
		if rel == "." {
			return nil
		}
		if ok, _ := path.Match(clean, rel); !ok || t.ignored(rel) {
			return nil
		}
		fi, err := d.Info()
		if err != nil {
			return err
		}
		out = append(out, source{rel: rel, real: rel, host: p, info: fi})
		if d.IsDir() {
			return fs.SkipDir
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("%s: %w", pattern, err)
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("%w: %s: no file matches in the build context", ErrSourceNotFound, pattern)
	}
	return out, nil
}

// entry is one file met while walking a source.
type entry struct {
	sub  string // path relative to the source ("." for the source itself)
	host string
	info fs.FileInfo
}

// walk calls fn for the source and, for a directory, everything under it, in
// lexical order, parents first, skipping what .dockerignore or excludes
// (patterns relative to the source) leave out. A symlink given as the source
// itself is followed (inside the tree root); symlinks below are not.
func (t *tree) walk(src source, excludes *patternmatcher.PatternMatcher, fn func(e entry) error) error {
	if src.info.Mode()&fs.ModeSymlink != 0 {
		resolved, err := securejoin.SecureJoin(t.root, src.rel)
		if err != nil {
			return err
		}
		fi, err := os.Lstat(resolved)
		if err != nil {
			return fmt.Errorf("%w: %s: %w", ErrSourceNotFound, src.rel, err)
		}
		src.host, src.info, src.real = resolved, fi, t.relOf(resolved)
		if t.ignored(src.real) {
			return fmt.Errorf("%w: %s: not found in the build context or excluded by .dockerignore", ErrSourceNotFound, src.rel)
		}
	}
	if !src.info.IsDir() {
		return fn(entry{sub: ".", host: src.host, info: src.info})
	}
	return filepath.WalkDir(src.host, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		sub, _ := filepath.Rel(src.host, p)
		sub = filepath.ToSlash(sub)
		if sub != "." {
			skip := t.ignored(path.Join(src.real, sub))
			if !skip && excludes != nil {
				skip, _ = excludes.MatchesOrParentMatches(sub)
			}
			if skip {
				// An ignored dir is still walked when "!" patterns may
				// re-include something below it; it is then created only
				// as the parent of what is copied.
				if d.IsDir() && (t.ignore == nil || !t.ignore.Exclusions()) {
					return fs.SkipDir
				}
				return nil
			}
		}
		fi, err := d.Info()
		if err != nil {
			return err
		}
		return fn(entry{sub: sub, host: p, info: fi})
	})
}

// hashSources hashes what a COPY would copy from srcs: every path, its
// mode, size, mtime, link target and content.
func (t *tree) hashSources(k *keyer, srcs []source, excludes *patternmatcher.PatternMatcher) error {
	h := sha256.New()
	for _, s := range srcs {
		fmt.Fprintf(h, "src %q\n", s.rel)
		err := t.walk(s, excludes, func(e entry) error {
			fi := e.info
			fmt.Fprintf(h, "%q %o %d %d", e.sub, fi.Mode(), fi.Size(), fi.ModTime().UnixNano())
			if st, ok := fi.Sys().(*syscall.Stat_t); ok && t.keepOwner {
				fmt.Fprintf(h, " %d:%d", st.Uid, st.Gid)
			}
			switch {
			case fi.Mode()&fs.ModeSymlink != 0:
				target, err := os.Readlink(e.host)
				if err != nil {
					return err
				}
				fmt.Fprintf(h, " -> %q", target)
			case fi.Mode().IsRegular():
				f, err := os.OpenFile(e.host, os.O_RDONLY|syscall.O_NOFOLLOW, 0)
				if err != nil {
					return err
				}
				_, err = io.Copy(h, f)
				f.Close()
				if err != nil {
					return err
				}
			}
			h.Write([]byte{'\n'})
			return nil
		})
		if err != nil {
			return err
		}
	}
	k.add(fmt.Sprintf("%x", h.Sum(nil)))
	return nil
}

// relOf is host's slash path relative to the tree root ("." for the root itself).
func (t *tree) relOf(host string) string {
	rel, err := filepath.Rel(t.root, host)
	if err != nil {
		return host
	}
	return filepath.ToSlash(rel)
}
