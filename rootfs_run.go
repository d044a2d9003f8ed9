package skiff

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	v1 "github.com/google/go-containerregistry/pkg/v1"

	"github.com/skiffrt/skiff/internal/lockfile"
	"github.com/skiffrt/skiff/namespace"
)

// runInRootfs runs one process in a throwaway container whose root filesystem is
// rootfs, a directory the caller has prepared and mounted (a build step's snapshot,
// say). cfg.Entrypoint and cfg.Cmd give the command, cfg.Env the whole environment
// (no image config applies), and cfg.Resources, User, WorkingDir, Hostname, Network
// (default: the bridge network) and the streams apply as in Create. /etc/hosts,
// /etc/hostname and /etc/resolv.conf are mounted only over files rootfs already has.
// Nothing of the container outlives the call; what the process writes stays in rootfs.
func (e *Engine) runInRootfs(ctx context.Context, rootfs string, cfg ContainerConfig) (_ ExitStatus, err error) {
	id := newID()
	dir := filepath.Join(e.root, "containers", ".run-"+id)
	// The step's lock is held for its life: Engine.Check (which scans under the root
	// lock) leaves a locked step alone and scraps an unlocked one (a build killed
	// mid-RUN). Made under the root lock, so Check never sees the dir unlocked.
	unlockRoot, err := e.lockRoot()
	if err != nil {
		return ExitStatus{}, err
	}
	if err := os.Mkdir(dir, 0o700); err != nil {
		unlockRoot()
		return ExitStatus{}, fmt.Errorf("run in %s: %w", rootfs, err)
	}
	defer os.RemoveAll(dir)
	lock, err := lockfile.Acquire(nil, filepath.Join(dir, "lock"), lockfile.Exclusive)
	unlockRoot()
	if err != nil {
		return ExitStatus{}, fmt.Errorf("run in %s: %w", rootfs, err)
	}
	defer lock.Unlock()
	hostname := cfg.Hostname
	if hostname == "" {
		hostname = id[:12]
	}
	if err := e.checkRootless(cfg); err != nil {
		return ExitStatus{}, err
	}
	spec, err := buildSpec(v1.Config{}, cfg, rootfs, hostname)
	if err != nil {
		return ExitStatus{}, err
	}
	plan := &netPlan{mode: networkMode(cfg.Network), dir: dir, id: id, host: hostname, onlyExisting: rootfs}
	if err := e.prepareNetwork(ctx, plan, spec); err != nil {
		return ExitStatus{}, err
	}
	e.rootlessSpec(spec)
	defer e.detachNetwork(context.WithoutCancel(ctx), id)
	cg, err := e.newCgroup("/"+strings.Trim(e.cgroupParent, "/")+"/"+id, cfg.Resources)
	if err != nil {
		return ExitStatus{}, fmt.Errorf("run in %s: %w", rootfs, err)
	}
	defer func() {
		cg.Kill()
		if derr := cg.Delete(); derr != nil && err == nil {
			err = derr
		}
	}()
	proc, err := namespace.Create(ctx, &namespace.Config{
		Spec: spec, StateDir: dir,
		Stdin: cfg.Stdin, Stdout: cfg.Stdout, Stderr: cfg.Stderr,
		BeforeInit: func(pid int) error {
			if err := cg.AddProc(pid); err != nil {
				return err
			}
			return e.attachNetwork(ctx, plan, pid)
		},
	})
	if err != nil {
		err = commandError(err)
		return ExitStatus{}, err
	}
	if err := proc.Start(); err != nil {
		proc.Signal(os.Kill)
		proc.Wait()
		return ExitStatus{}, err
	}
	done := make(chan struct{})
	go func() {
		select {
		case <-ctx.Done():
			cg.Kill()
		case <-done:
		}
	}()
	ws, err := proc.Wait()
	close(done)
	if err != nil {
		return ExitStatus{}, err
	}
	st := ExitStatus{Code: ws.Code}
	st.OOMKilled, _ = cg.OOMKilled()
	if ctx.Err() != nil {
		return st, ctx.Err()
	}
	return st, nil
}
