package compose

import (
	"fmt"
	"math"
	"net/netip"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/compose-spec/compose-go/v2/types"

	"github.com/skiffrt/skiff"
	"github.com/skiffrt/skiff/netbridge"
)

// The labels Docker Compose puts on what it creates, and reads back.
const (
	LabelProject    = "com.docker.compose.project"
	LabelService    = "com.docker.compose.service"
	LabelNumber     = "com.docker.compose.container-number"
	LabelOneoff     = "com.docker.compose.oneoff"
	LabelNetwork    = "com.docker.compose.network"
	LabelVolume     = "com.docker.compose.volume"
	LabelWorkingDir = "com.docker.compose.project.working_dir"
	LabelFiles      = "com.docker.compose.project.config_files"
	LabelVersion    = "com.docker.compose.version"
	LabelDependsOn  = "com.docker.compose.depends_on"
	LabelImage      = "com.docker.compose.image"
	LabelConfigHash = "com.docker.compose.config-hash"
)

// composeVersion is the version label value: the Compose file format this package
// speaks, as docker compose writes its own version.
const composeVersion = "2.0.0"

// ContainerName is the name of replica n (from 1) of service s: container_name when
// set, else "<project>-<service>-<n>" as docker compose v2 names it.
func ContainerName(project string, s types.ServiceConfig, n int) string {
	if s.ContainerName != "" {
		return s.ContainerName
	}
	return fmt.Sprintf("%s-%s-%d", project, s.Name, n)
}

// ImageName is the image a service runs: its image:, else "<project>-<service>" for
// a service that is built.
func ImageName(project string, s types.ServiceConfig) string {
	if s.Image != "" {
		return s.Image
	}
	return project + "-" + s.Name
}

// serviceNetworks returns the project network keys a service joins, highest priority
// first (the first is the one it is created on).
func serviceNetworks(s types.ServiceConfig) []string {
	if len(s.Networks) == 0 {
		return nil
	}
	return s.NetworksByPriority()
}

// aliases are a container's names on network key: the service name, the container
// name and the declared aliases.
func aliases(s types.ServiceConfig, key, name string) []string {
	out := []string{s.Name, name}
	if nc := s.Networks[key]; nc != nil {
		out = append(out, nc.Aliases...)
	}
	slices.Sort(out)
	return slices.Compact(out)
}

// ContainerConfig describes replica n of service s of project p as a skiff container
// (detached), on network primary (the engine's name of the service's first network,
// "" for network_mode) with its aliases there; the caller connects the others.
func ContainerConfig(p *types.Project, s types.ServiceConfig, n int) (skiff.ContainerConfig, error) {
	name := ContainerName(p.Name, s, n)
	cfg := skiff.ContainerConfig{
		Image:          ImageName(p.Name, s),
		Name:           name,
		WorkingDir:     s.WorkingDir,
		User:           s.User,
		Hostname:       s.Hostname,
		Tty:            s.Tty,
		OpenStdin:      s.StdinOpen,
		Privileged:     s.Privileged,
		CapAdd:         s.CapAdd,
		CapDrop:        s.CapDrop,
		ReadonlyRootfs: s.ReadOnly,
		Detach:         true,
		Labels:         labels(p, s, n),
	}
	if s.Entrypoint != nil {
		cfg.Entrypoint = []string(s.Entrypoint)
	}
	if len(s.Command) > 0 {
		cfg.Cmd = []string(s.Command)
	}
	if s.Init != nil {
		cfg.Init = *s.Init
	}
	for _, k := range sortedKeys(s.Environment) {
		if v := s.Environment[k]; v != nil {
			cfg.Env = append(cfg.Env, k+"="+*v)
		}
	}
	for _, o := range s.SecurityOpt {
		if o == "no-new-privileges" || o == "no-new-privileges:true" || o == "no-new-privileges=true" {
			cfg.NoNewPrivileges = true
		}
	}
	cfg.Resources = skiff.Resources{MemoryLimit: int64(s.MemLimit), PidsLimit: s.PidsLimit}
	if s.MemSwapLimit > 0 {
		cfg.Resources.MemorySwap = int64(s.MemSwapLimit)
	}
	if s.CPUS > 0 {
		cfg.Resources.CPUPeriod = 100000
		cfg.Resources.CPUQuota = int64(math.Round(float64(s.CPUS) * 100000))
	}
	if s.CPUShares > 0 {
		cfg.Resources.CPUShares = uint64(s.CPUShares)
	}
	if s.Deploy != nil && s.Deploy.Resources.Limits != nil {
		l := s.Deploy.Resources.Limits
		if l.MemoryBytes > 0 && cfg.Resources.MemoryLimit == 0 {
			cfg.Resources.MemoryLimit = int64(l.MemoryBytes)
		}
		if l.Pids > 0 && cfg.Resources.PidsLimit == 0 {
			cfg.Resources.PidsLimit = l.Pids
		}
		if l.NanoCPUs > 0 && cfg.Resources.CPUQuota == 0 {
			cfg.Resources.CPUPeriod = 100000
			cfg.Resources.CPUQuota = int64(math.Round(float64(l.NanoCPUs) * 100000))
		}
	}
	cfg.Healthcheck = healthcheck(s.HealthCheck)
	rp, err := restartPolicy(s)
	if err != nil {
		return cfg, err
	}
	cfg.RestartPolicy = rp

	switch mode := s.NetworkMode; {
	case mode == "none" || mode == "host":
		cfg.Network = mode
	case mode != "":
		return cfg, fmt.Errorf("%w: service %s: network_mode %q: want none, host or networks:", ErrInvalidProject, s.Name, mode)
	default:
		if nets := serviceNetworks(s); len(nets) > 0 {
			nc, ok := p.Networks[nets[0]]
			if !ok {
				return cfg, fmt.Errorf("%w: service %s: undefined network %s", ErrInvalidProject, s.Name, nets[0])
			}
			cfg.Network = nc.Name
			cfg.Aliases = aliases(s, nets[0], name)
		}
	}
	for _, pc := range s.Ports {
		pm, err := portMapping(pc)
		if err != nil {
			return cfg, fmt.Errorf("%w: service %s: %w", ErrInvalidProject, s.Name, err)
		}
		cfg.Ports = append(cfg.Ports, pm)
	}
	for _, v := range s.Volumes {
		m, err := mount(p, v)
		if err != nil {
			return cfg, fmt.Errorf("%w: service %s: %w", ErrInvalidProject, s.Name, err)
		}
		cfg.Mounts = append(cfg.Mounts, m)
	}
	for _, t := range s.Tmpfs {
		target, _, _ := strings.Cut(t, ":")
		cfg.Mounts = append(cfg.Mounts, skiff.Mount{Type: skiff.MountTmpfs, Target: target})
	}
	return cfg, nil
}

// labels are the service's own labels plus Compose's.
func labels(p *types.Project, s types.ServiceConfig, n int) map[string]string {
	l := map[string]string{}
	for k, v := range s.Labels {
		l[k] = v
	}
	l[LabelProject] = p.Name
	l[LabelService] = s.Name
	l[LabelNumber] = strconv.Itoa(n)
	l[LabelOneoff] = "False"
	l[LabelVersion] = composeVersion
	l[LabelWorkingDir] = p.WorkingDir
	l[LabelFiles] = strings.Join(p.ComposeFiles, ",")
	l[LabelImage] = ImageName(p.Name, s)
	var deps []string
	for _, d := range sortedKeys(s.DependsOn) {
		dep := s.DependsOn[d]
		deps = append(deps, fmt.Sprintf("%s:%s:%t", d, dep.Condition, dep.Restart))
	}
	l[LabelDependsOn] = strings.Join(deps, ",")
	return l
}

// healthcheck turns healthcheck: into the engine's health check (nil: the image's).
func healthcheck(hc *types.HealthCheckConfig) *skiff.Healthcheck {
	if hc == nil {
		return nil
	}
	if hc.Disable {
		return &skiff.Healthcheck{Test: []string{"NONE"}}
	}
	h := &skiff.Healthcheck{Test: []string(hc.Test)}
	if len(h.Test) == 1 && h.Test[0] != "NONE" { // a bare string is run by the shell
		h.Test = []string{"CMD-SHELL", h.Test[0]}
	}
	dur := func(d *types.Duration) time.Duration {
		if d == nil {
			return 0
		}
		return time.Duration(*d)
	}
	h.Interval, h.Timeout = dur(hc.Interval), dur(hc.Timeout)
	h.StartPeriod, h.StartInterval = dur(hc.StartPeriod), dur(hc.StartInterval)
	if hc.Retries != nil {
		h.Retries = int(*hc.Retries)
	}
	return h
}

// restartPolicy turns restart: (or deploy.restart_policy) into the engine's policy.
func restartPolicy(s types.ServiceConfig) (skiff.RestartPolicy, error) {
	r := s.Restart
	if r == "" && s.Deploy != nil && s.Deploy.RestartPolicy != nil {
		switch rp := s.Deploy.RestartPolicy; rp.Condition {
		case "none":
			r = types.RestartPolicyNo
		case "any":
			r = types.RestartPolicyAlways
		case "on-failure":
			r = types.RestartPolicyOnFailure
			if rp.MaxAttempts != nil {
				r += ":" + strconv.FormatUint(*rp.MaxAttempts, 10)
			}
		}
	}
	name, count, _ := strings.Cut(r, ":")
	switch name {
	case "", types.RestartPolicyNo:
		return skiff.RestartPolicy{}, nil
	case types.RestartPolicyAlways:
		return skiff.RestartPolicy{Name: skiff.RestartAlways}, nil
	case types.RestartPolicyUnlessStopped:
		return skiff.RestartPolicy{Name: skiff.RestartUnlessStopped}, nil
	case types.RestartPolicyOnFailure:
		p := skiff.RestartPolicy{Name: skiff.RestartOnFailure}
		if count != "" {
			n, err := strconv.Atoi(count)
			if err != nil || n < 0 {
				return p, fmt.Errorf("%w: service %s: restart %q: bad retry count", ErrInvalidProject, s.Name, r)
			}
			p.MaximumRetryCount = n
		}
		return p, nil
	}
	return skiff.RestartPolicy{}, fmt.Errorf("%w: service %s: restart %q: want no, always, unless-stopped or on-failure[:N]", ErrInvalidProject, s.Name, r)
}

// portMapping turns one ports: entry into a published port.
func portMapping(pc types.ServicePortConfig) (netbridge.PortMapping, error) {
	pm := netbridge.PortMapping{Proto: pc.Protocol}
	if pc.Target == 0 || pc.Target > math.MaxUint16 {
		return pm, fmt.Errorf("port target %d: out of range", pc.Target)
	}
	pm.ContainerPort = uint16(pc.Target)
	if pc.Published != "" {
		if strings.Contains(pc.Published, "-") {
			return pm, fmt.Errorf("published port range %q: not supported", pc.Published)
		}
		n, err := strconv.ParseUint(pc.Published, 10, 16)
		if err != nil {
			return pm, fmt.Errorf("published port %q: %w", pc.Published, err)
		}
		pm.HostPort = uint16(n)
	}
	if pc.HostIP != "" {
		ip, err := netip.ParseAddr(pc.HostIP)
		if err != nil {
			return pm, fmt.Errorf("host_ip %q: %w", pc.HostIP, err)
		}
		if !ip.IsUnspecified() {
			pm.HostIP = ip
		}
	}
	return pm, nil
}

// mount turns one volumes: entry into a mount; named volumes get the project's name
// for them.
func mount(p *types.Project, v types.ServiceVolumeConfig) (skiff.Mount, error) {
	m := skiff.Mount{Target: v.Target, ReadOnly: v.ReadOnly}
	switch v.Type {
	case types.VolumeTypeVolume:
		m.Type = skiff.MountVolume
		if v.Source != "" {
			vc, ok := p.Volumes[v.Source]
			if !ok {
				return m, fmt.Errorf("undefined volume %s", v.Source)
			}
			m.Source = vc.Name
		}
	case types.VolumeTypeBind:
		m.Type = skiff.MountBind
		m.Source = v.Source
		if v.Bind != nil && v.Bind.Propagation != "" {
			m.Propagation = v.Bind.Propagation
		}
	case types.VolumeTypeTmpfs:
		m.Type = skiff.MountTmpfs
		if v.Tmpfs != nil {
			m.TmpfsSize = int64(v.Tmpfs.Size)
			m.TmpfsMode = v.Tmpfs.Mode
		}
	default:
		return m, fmt.Errorf("volume %s: type %q not supported", v.Target, v.Type)
	}
	return m, nil
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
