package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"time"

	specs "github.com/opencontainers/runtime-spec/specs-go"

	"github.com/skiffrt/skiff/cgroup"
)

// loadBundle reads bundle/config.json and makes root.path absolute (it is relative
// to the bundle in most specs).
func loadBundle(bundle string) (*specs.Spec, string, error) {
	abs, err := filepath.Abs(bundle)
	if err != nil {
		return nil, "", err
	}
	b, err := os.ReadFile(filepath.Join(abs, "config.json"))
	if err != nil {
		return nil, "", fmt.Errorf("read bundle config: %w", err)
	}
	var s specs.Spec
	if err := json.Unmarshal(b, &s); err != nil {
		return nil, "", fmt.Errorf("parse %s: %w", filepath.Join(abs, "config.json"), err)
	}
	if s.Root == nil || s.Root.Path == "" {
		return nil, "", fmt.Errorf("root.path is empty in %s", filepath.Join(abs, "config.json"))
	}
	if !filepath.IsAbs(s.Root.Path) {
		s.Root.Path = filepath.Join(abs, s.Root.Path)
	}
	// No linux.namespaces means none: the container shares the runtime's (without
	// a mount namespace it is chrooted into its rootfs in the runtime's, as with
	// runc); the namespace package reads a nil list as its defaults instead.
	if s.Linux == nil {
		s.Linux = &specs.Linux{}
	}
	if s.Linux.Namespaces == nil {
		s.Linux.Namespaces = []specs.LinuxNamespace{}
	}
	if s.Process == nil {
		return nil, "", fmt.Errorf("process is empty in %s", filepath.Join(abs, "config.json"))
	}
	if s.Hooks != nil && (len(s.Hooks.CreateContainer) > 0 || len(s.Hooks.StartContainer) > 0) {
		return nil, "", fmt.Errorf("hooks.createContainer and hooks.startContainer (run inside the container) are not supported by skiff-runc")
	}
	if s.Linux != nil && s.Linux.IntelRdt != nil {
		return nil, "", fmt.Errorf("linux.intelRdt is not supported by skiff-runc")
	}
	dropUnraisableAmbient(s.Process)
	if s.Process.ApparmorProfile != "" {
		slog.Warn("process.apparmorProfile ignored: AppArmor is not supported", "profile", s.Process.ApparmorProfile)
	}
	if s.Process.SelinuxLabel != "" {
		slog.Warn("process.selinuxLabel ignored: SELinux is not supported", "label", s.Process.SelinuxLabel)
	}
	return &s, abs, nil
}

// cgroupPath returns the cgroup of the spec: linux.cgroupsPath made absolute, or
// /<id> when it is empty (as runc; no parent is left behind by delete). A path in
// systemd's "slice:prefix:name" form is one directory name, as runc's cgroupfs driver
// takes it: containerd's CRI writes one for any pod whose cgroup parent ends in .slice.
func cgroupPath(s *specs.Spec, id string) (string, error) {
	p := ""
	if s.Linux != nil {
		p = s.Linux.CgroupsPath
	}
	if p == "" {
		return "/" + id, nil
	}
	return filepath.Clean("/" + p), nil
}

// toResources converts the spec's resources to what the cgroup package sets (memory,
// swap, pids, cpu quota/period/shares); others are logged and ignored.
func toResources(r *specs.LinuxResources) cgroup.Resources {
	var out cgroup.Resources
	if r == nil {
		return out
	}
	if m := r.Memory; m != nil {
		if m.Limit != nil && *m.Limit > 0 {
			out.MemoryLimit = *m.Limit
		}
		if m.Swap != nil && out.MemoryLimit > 0 {
			out.MemorySwap = *m.Swap
		}
	}
	if r.Pids != nil && r.Pids.Limit != nil {
		out.PidsLimit = *r.Pids.Limit
	}
	if c := r.CPU; c != nil {
		if c.Quota != nil && *c.Quota > 0 {
			out.CPUQuota = *c.Quota
		}
		if c.Period != nil {
			out.CPUPeriod = *c.Period
		}
		if c.Shares != nil {
			out.CPUShares = *c.Shares
		}
		if c.RealtimePeriod != nil || c.RealtimeRuntime != nil {
			slog.Debug("linux.resources.cpu: realtime limits ignored")
		}
	}
	if (r.BlockIO != nil && (r.BlockIO.Weight != nil || r.BlockIO.LeafWeight != nil || len(r.BlockIO.WeightDevice) > 0)) ||
		len(r.HugepageLimits) > 0 || r.Network != nil || len(r.Rdma) > 0 {
		slog.Debug("linux.resources: blockIO weights, hugepage, network and rdma limits ignored")
	}
	return out
}

// toExtra converts what runc also sets and cgroup.Resources lacks: the memory soft
// limit, swappiness, OOM killer switch, the cpuset and block I/O throttling.
func toExtra(r *specs.LinuxResources) cgroup.Extra {
	var e cgroup.Extra
	if r == nil {
		return e
	}
	if m := r.Memory; m != nil {
		if m.Reservation != nil && *m.Reservation > 0 {
			e.MemoryReservation = *m.Reservation
		}
		e.Swappiness = m.Swappiness
		e.DisableOOMKiller = m.DisableOOMKiller != nil && *m.DisableOOMKiller
	}
	if c := r.CPU; c != nil {
		e.CpusetCpus, e.CpusetMems = c.Cpus, c.Mems
	}
	if b := r.BlockIO; b != nil {
		for _, l := range []struct {
			kind string
			devs []specs.LinuxThrottleDevice
		}{
			{cgroup.ReadBps, b.ThrottleReadBpsDevice}, {cgroup.WriteBps, b.ThrottleWriteBpsDevice},
			{cgroup.ReadIOPS, b.ThrottleReadIOPSDevice}, {cgroup.WriteIOPS, b.ThrottleWriteIOPSDevice},
		} {
			for _, d := range l.devs {
				e.Throttle = append(e.Throttle, cgroup.ThrottleRule{Major: d.Major, Minor: d.Minor, Kind: l.kind, Rate: d.Rate})
			}
		}
	}
	return e
}

// defaultDeviceRules are the devices runc allows after a spec's own rules: mknod of
// any device, and the standard nodes (null, random, full, tty, zero, urandom, the
// pty slaves and ptmx).
var defaultDeviceRules = func() []cgroup.DeviceRule {
	n := func(v int64) *int64 { return &v }
	rules := []cgroup.DeviceRule{
		{Allow: true, Type: "c", Access: "m"},
		{Allow: true, Type: "b", Access: "m"},
		{Allow: true, Type: "c", Major: n(136), Access: "rwm"},
	}
	for _, d := range [][2]int64{{1, 3}, {1, 8}, {1, 7}, {5, 0}, {1, 5}, {1, 9}, {5, 2}} {
		rules = append(rules, cgroup.DeviceRule{Allow: true, Type: "c", Major: n(d[0]), Minor: n(d[1]), Access: "rwm"})
	}
	return rules
}()

// deviceRules returns the devices cgroup rules of s as runc applies them: the
// linux.resources.devices rules in order, then defaultDeviceRules, then one allow
// rule per linux.devices node. Without linux.resources.devices rules it returns none
// (the cgroup keeps its parent's rules).
func deviceRules(s *specs.Spec) []cgroup.DeviceRule {
	if s.Linux == nil || s.Linux.Resources == nil || len(s.Linux.Resources.Devices) == 0 {
		return nil
	}
	var out []cgroup.DeviceRule
	for _, d := range s.Linux.Resources.Devices {
		out = append(out, cgroup.DeviceRule{Allow: d.Allow, Type: d.Type, Major: d.Major, Minor: d.Minor, Access: d.Access})
	}
	out = append(out, defaultDeviceRules...)
	for _, d := range s.Linux.Devices {
		typ := d.Type
		switch typ {
		case "u":
			typ = "c"
		case "p":
			continue // a fifo: no device rule
		}
		major, minor := d.Major, d.Minor
		out = append(out, cgroup.DeviceRule{Allow: true, Type: typ, Major: &major, Minor: &minor, Access: "rwm"})
	}
	return out
}

// mergeResources overlays the fields set in upd on cur (runc update semantics).
func mergeResources(cur, upd *specs.LinuxResources) *specs.LinuxResources {
	if cur == nil {
		cur = &specs.LinuxResources{}
	}
	if upd.Memory != nil {
		if cur.Memory == nil {
			cur.Memory = &specs.LinuxMemory{}
		}
		if upd.Memory.Limit != nil {
			cur.Memory.Limit = upd.Memory.Limit
		}
		if upd.Memory.Swap != nil {
			cur.Memory.Swap = upd.Memory.Swap
		}
		if upd.Memory.Reservation != nil {
			cur.Memory.Reservation = upd.Memory.Reservation
		}
		if upd.Memory.Swappiness != nil {
			cur.Memory.Swappiness = upd.Memory.Swappiness
		}
	}
	if upd.Pids != nil {
		cur.Pids = upd.Pids
	}
	if upd.CPU != nil {
		if cur.CPU == nil {
			cur.CPU = &specs.LinuxCPU{}
		}
		if upd.CPU.Quota != nil {
			cur.CPU.Quota = upd.CPU.Quota
		}
		if upd.CPU.Period != nil {
			cur.CPU.Period = upd.CPU.Period
		}
		if upd.CPU.Shares != nil {
			cur.CPU.Shares = upd.CPU.Shares
		}
		if upd.CPU.Cpus != "" {
			cur.CPU.Cpus = upd.CPU.Cpus
		}
		if upd.CPU.Mems != "" {
			cur.CPU.Mems = upd.CPU.Mems
		}
	}
	return cur
}

// runHooks runs hooks in order with the state on stdin, as the runtime spec says;
// each gets its timeout (default none).
func runHooks(ctx context.Context, kind string, hooks []specs.Hook, st specs.State) error {
	if len(hooks) == 0 {
		return nil
	}
	in, err := json.Marshal(st)
	if err != nil {
		return err
	}
	for i, h := range hooks {
		hctx := ctx
		cancel := func() {}
		if h.Timeout != nil && *h.Timeout > 0 {
			hctx, cancel = context.WithTimeout(ctx, time.Duration(*h.Timeout)*time.Second)
		}
		args := h.Args
		if len(args) == 0 {
			args = []string{h.Path}
		}
		cmd := exec.CommandContext(hctx, h.Path, args[1:]...)
		cmd.Args[0] = args[0]
		cmd.Env = h.Env
		cmd.Stdin = bytes.NewReader(in)
		var out bytes.Buffer
		cmd.Stdout, cmd.Stderr = &out, &out
		err := cmd.Run()
		cancel()
		if err != nil {
			return fmt.Errorf("error running %s hook #%d: %w, stdout: %s", kind, i, err, strings.TrimSpace(out.String()))
		}
	}
	return nil
}

// dropUnraisableAmbient removes ambient capabilities that are not both permitted and
// inheritable: the kernel refuses to raise them, and runc only warns about them
// (runc spec's default config lists three such), so specs written for runc run.
func dropUnraisableAmbient(p *specs.Process) {
	c := p.Capabilities
	if c == nil || len(c.Ambient) == 0 {
		return
	}
	var keep []string
	for _, a := range c.Ambient {
		if slices.Contains(c.Permitted, a) && slices.Contains(c.Inheritable, a) {
			keep = append(keep, a)
		} else {
			slog.Debug("can't raise ambient capability: not in the permitted and inheritable sets", "capability", a)
		}
	}
	c.Ambient = keep
}
