package skiff

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"

	"github.com/skiffrt/skiff/cgroup"
	"github.com/skiffrt/skiff/netbridge"
	"github.com/skiffrt/skiff/overlay"
)

// remover takes what is left of a container whose processes are gone off the host:
// its network endpoints, its root filesystem mount, its cgroup, its directory and, on
// request, its anonymous volumes. Container.Delete uses it after its state checks, and
// the monitor of a --rm container uses it directly (it has no Engine).
type remover struct {
	ctrs containerStore
	vols *volumeStore
	net  *netbridge.Manager
	log  *slog.Logger
}

func (e *Engine) remover() remover {
	return remover{ctrs: e.ctrs, vols: e.vols, net: e.net, log: e.log}
}

// remove releases container st's host resources and removes its directory. cg may be
// nil (no cgroup to remove). On error the directory is kept, so a later Delete (or
// Check) finishes the job.
func (r remover) remove(ctx context.Context, st *State, cg cgroup.Manager, volumes bool) error {
	dir := r.ctrs.path(st.ID)
	var errs []error
	if st.Network != NetworkNone && st.Network != NetworkHost && r.net != nil { // those have no endpoints
		if err := detachNetwork(ctx, r.net, r.ctrs, r.log, st.ID); err != nil {
			errs = append(errs, err)
		}
	}
	if err := overlay.Unmount(filepath.Join(dir, "merged")); err != nil {
		errs = append(errs, err)
	}
	if cg != nil {
		if err := cg.Delete(); err != nil {
			errs = append(errs, err)
		}
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("remove container %s: %w", shortID(st.ID), err)
	}
	var vols []string
	if volumes {
		vols = r.vols.containerVolumes(st.ID)
	}
	if err := r.ctrs.remove(st.ID); err != nil {
		return fmt.Errorf("remove container %s: %w", shortID(st.ID), err)
	}
	r.log.Debug("container removed", "id", shortID(st.ID))
	recordEvent(r.ctrs.root(), EventContainer, "destroy", st.ID, containerEventAttrs(st))
	if err := r.vols.removeAnonymous(vols); err != nil {
		return fmt.Errorf("remove container %s: %w", shortID(st.ID), err)
	}
	return nil
}

// detachNetwork removes every endpoint of container id and updates its neighbours'
// /etc/hosts.
func detachNetwork(ctx context.Context, net *netbridge.Manager, ctrs containerStore, log *slog.Logger, id string) error {
	neighbors, _ := net.Neighbors(ctx, id)
	if _, err := net.DetachAll(ctx, id); err != nil {
		return err
	}
	refreshHosts(ctx, net, ctrs, log, neighbors...)
	return nil
}

// refreshHosts rewrites the /etc/hosts of the containers ids in place from their
// networks' current members.
func refreshHosts(ctx context.Context, net *netbridge.Manager, ctrs containerStore, log *slog.Logger, ids ...string) {
	for _, n := range ids {
		hosts, err := net.HostsFor(ctx, n)
		if err != nil {
			continue
		}
		path := filepath.Join(ctrs.path(n), "hosts")
		if _, err := os.Stat(path); err != nil {
			continue
		}
		if err := netbridge.WriteInPlace(path, hosts); err != nil {
			log.Warn("update hosts file", "container", shortID(n), "err", err)
		}
	}
}
