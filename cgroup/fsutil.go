package cgroup

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"golang.org/x/sys/unix"
)

// checkPath validates a cgroup path: absolute, clean, not the root.
func checkPath(path string) error {
	if path == "" || path[0] != '/' || filepath.Clean(path) != path || path == "/" {
		return fmt.Errorf("%w: %q (want an absolute, clean path below the root, e.g. /skiff/abc)", ErrInvalidPath, path)
	}
	return nil
}

// writeFile writes value into an existing control file (no O_CREATE: a missing file is a
// missing controller, not something to create).
func writeFile(file, value string) error {
	f, err := os.OpenFile(file, os.O_WRONLY, 0)
	if err != nil {
		return err
	}
	_, err = f.WriteString(value)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return err
}

func readFile(file string) (string, error) {
	b, err := os.ReadFile(file)
	if err != nil {
		return "", err
	}
	return string(bytes.TrimSpace(b)), nil
}

// readKV returns the value of key in a "key value" per line file (memory.events,
// memory.oom_control, cgroup.events, cpu.stat).
func readKV(file, key string) (uint64, bool, error) {
	b, err := os.ReadFile(file)
	if err != nil {
		return 0, false, err
	}
	sc := bufio.NewScanner(bytes.NewReader(b))
	for sc.Scan() {
		k, v, ok := strings.Cut(sc.Text(), " ")
		if !ok || k != key {
			continue
		}
		n, err := strconv.ParseUint(strings.TrimSpace(v), 10, 64)
		if err != nil {
			return 0, false, fmt.Errorf("%s: bad %q line %q: %w", file, key, sc.Text(), err)
		}
		return n, true, nil
	}
	return 0, false, nil
}

// readPids parses a cgroup.procs file.
func readPids(file string) ([]int, error) {
	b, err := os.ReadFile(file)
	if err != nil {
		return nil, err
	}
	var pids []int
	for _, f := range strings.Fields(string(b)) {
		pid, err := strconv.Atoi(f)
		if err != nil {
			return nil, fmt.Errorf("%s: bad pid %q: %w", file, f, err)
		}
		pids = append(pids, pid)
	}
	return pids, nil
}

// readPidsRecursive reads cgroup.procs of dir and of every cgroup below it.
func readPidsRecursive(dir string) ([]int, error) {
	var all []int
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			if errors.Is(err, fs.ErrNotExist) && p != dir {
				return nil // a child cgroup vanished while walking
			}
			return err
		}
		if !d.IsDir() {
			return nil
		}
		pids, err := readPids(filepath.Join(p, "cgroup.procs"))
		if err != nil && !(errors.Is(err, fs.ErrNotExist) && p != dir) {
			return err
		}
		all = append(all, pids...)
		return nil
	})
	return all, err
}

// addProc writes pid into file (a cgroup.procs), retrying EINVAL: the kernel returns it
// for a task that is still being created (TASK_NEW), as runc and containerd know.
func addProc(file string, pid int) error {
	if pid <= 0 {
		return fmt.Errorf("invalid pid %d", pid)
	}
	var err error
	for i := 0; i < 5; i++ {
		if err = writeFile(file, strconv.Itoa(pid)); !errors.Is(err, unix.EINVAL) {
			return err
		}
		time.Sleep(20 * time.Millisecond)
	}
	return err
}

// rmdirAll removes the cgroup directory dir and the cgroups below it, deepest first.
// A missing dir is not an error. EBUSY (tasks still leaving) is retried until deadline; if
// processes remain then, the error wraps ErrNotEmpty.
func rmdirAll(dir string, deadline time.Time) error {
	entries, err := os.ReadDir(dir)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	for _, e := range entries {
		if e.IsDir() {
			if err := rmdirAll(filepath.Join(dir, e.Name()), deadline); err != nil {
				return err
			}
		}
	}
	delay := 2 * time.Millisecond
	for {
		err := unix.Rmdir(dir)
		if err == nil || errors.Is(err, unix.ENOENT) {
			return nil
		}
		if !errors.Is(err, unix.EBUSY) && !errors.Is(err, unix.EAGAIN) {
			return &fs.PathError{Op: "rmdir", Path: dir, Err: err}
		}
		if time.Now().After(deadline) {
			perr := &fs.PathError{Op: "rmdir", Path: dir, Err: err}
			if pids, _ := readPids(filepath.Join(dir, "cgroup.procs")); len(pids) > 0 {
				return fmt.Errorf("%w: pids %v: %w", ErrNotEmpty, pids, perr)
			}
			return perr
		}
		time.Sleep(delay)
		delay = min(2*delay, 50*time.Millisecond)
	}
}

// mkdirTracked creates dir and its missing parents (below the hierarchy root), returning
// the directories it made, deepest last, so that a failed New can remove exactly those.
func mkdirTracked(root, dir string) ([]string, error) {
	rel, err := filepath.Rel(root, dir)
	if err != nil || rel == "." || strings.HasPrefix(rel, "..") {
		return nil, fmt.Errorf("%w: %s is not below %s", ErrInvalidPath, dir, root)
	}
	var made []string
	cur := root
	for _, part := range strings.Split(rel, string(filepath.Separator)) {
		cur = filepath.Join(cur, part)
		err := os.Mkdir(cur, 0o755)
		if err == nil {
			made = append(made, cur)
			continue
		}
		if errors.Is(err, fs.ErrExist) {
			continue
		}
		removeDirs(made)
		return nil, err
	}
	return made, nil
}

// missingDirs lists dir and its ancestors below root that do not exist yet, outermost
// first: what a MkdirAll of dir would create.
func missingDirs(root, dir string) []string {
	var missing []string
	for d := dir; d != root && len(d) > len(root); d = filepath.Dir(d) {
		if _, err := os.Lstat(d); err == nil {
			break
		}
		missing = append([]string{d}, missing...)
	}
	return missing
}

// removeDirs removes dirs deepest (last) first, ignoring errors: cleanup of a failed New.
// It never recurses: a parent that another New filled meanwhile stays (rmdir fails).
func removeDirs(dirs []string) {
	for i := len(dirs) - 1; i >= 0; i-- {
		_ = unix.Rmdir(dirs[i])
	}
}

// poll calls check until it reports done, ctx is done, or check fails. nudge, if not nil,
// is called before each retry (e.g. to re-write the desired freezer state).
func poll(ctx context.Context, check func() (bool, error), nudge func() error) error {
	delay := 500 * time.Microsecond
	for {
		done, err := check()
		if err != nil || done {
			return err
		}
		t := time.NewTimer(delay)
		select {
		case <-ctx.Done():
			t.Stop()
			return ctx.Err()
		case <-t.C:
		}
		delay = min(2*delay, 20*time.Millisecond)
		if nudge != nil {
			if err := nudge(); err != nil {
				return err
			}
		}
	}
}

// notSupported wraps err (typically ENOENT for a control file) with ErrNotSupported.
func notSupported(err error) error {
	if errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("%w: %w", ErrNotSupported, err)
	}
	return err
}

// apply writes settings in order. resolve maps a setting to its host file, or returns an
// error wrapping ErrNotSupported when its controller is absent. Optional settings whose
// controller or file is absent are skipped. When the kernel refuses a write with EINVAL and
// the next setting belongs to the same controller, the pair is written in the other order
// (memory.limit_in_bytes must stay <= memsw; cfs period vs quota).
func apply(op, path string, settings []Setting, resolve func(Setting) (string, error)) error {
	for i := 0; i < len(settings); i++ {
		s := settings[i]
		file, err := resolve(s)
		if err != nil {
			if s.Optional && errors.Is(err, ErrNotSupported) {
				continue
			}
			return newErr(op, path, s.Controller+"/"+s.File, err)
		}
		err = writeFile(file, s.Value)
		if err == nil || (s.Optional && errors.Is(err, fs.ErrNotExist)) {
			continue
		}
		if errors.Is(err, unix.EINVAL) && i+1 < len(settings) && settings[i+1].Controller == s.Controller {
			next := settings[i+1]
			if nfile, nerr := resolve(next); nerr == nil {
				werr := writeFile(nfile, next.Value)
				if werr == nil || (next.Optional && errors.Is(werr, fs.ErrNotExist)) {
					if err = writeFile(file, s.Value); err == nil {
						i++
						continue
					}
				}
			}
		}
		var pe *fs.PathError
		if errors.As(err, &pe) {
			err = pe.Err // the Error names the file already
		}
		return newErr(op, path, file, fmt.Errorf("write %q: %w", s.Value, notSupported(err)))
	}
	return nil
}
