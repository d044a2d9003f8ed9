package dockeropts

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/skiffrt/skiff"
	"github.com/skiffrt/skiff/netbridge"
)

// ContainerStatus is State.Status as Docker names it: "restarting" while a restart
// policy's restart is under way.
func ContainerStatus(st skiff.State) string {
	if st.Status == skiff.StatusExited && st.Restarting {
		return "restarting"
	}
	return string(st.Status)
}

// InspectTime is a time as Docker's inspect shows it: RFC 3339 with nanoseconds, the
// zero time as "0001-01-01T00:00:00Z".
func InspectTime(t time.Time) string {
	if t.IsZero() {
		return "0001-01-01T00:00:00Z"
	}
	return t.Format(time.RFC3339Nano)
}

// EndpointJSON is a container's entry in NetworkSettings.Networks.
func EndpointJSON(ep netbridge.Endpoint) map[string]any {
	aliases := ep.Aliases
	if aliases == nil {
		aliases = []string{}
	}
	var dns []string
	if ep.Network != netbridge.DefaultNetwork {
		dns = append(dns, ep.Name)
		if len(ep.ContainerID) >= 12 && ep.ContainerID[:12] != ep.Name {
			dns = append(dns, ep.ContainerID[:12])
		}
		dns = append(dns, ep.Aliases...)
	}
	var ipam any
	if ep.RequestedIP.IsValid() {
		ipam = map[string]string{"IPv4Address": ep.RequestedIP.String()}
	}
	return map[string]any{
		"IPAMConfig": ipam, "Links": nil, "Aliases": aliases, "MacAddress": ep.MAC, "DriverOpts": nil,
		"GwPriority": 0, "NetworkID": ep.NetworkID, "EndpointID": ep.ID(), "Gateway": ep.Gateway.String(),
		"IPAddress": ep.IP().String(), "IPPrefixLen": ep.Address.Bits(), "IPv6Gateway": "",
		"GlobalIPv6Address": "", "GlobalIPv6PrefixLen": 0, "DNSNames": dns,
	}
}

// InspectMounts is the container's Mounts as inspect shows them, from its recorded
// config: anonymous volumes by the names the engine gave them.
func InspectMounts(ctx context.Context, e *skiff.Engine, c *skiff.Container) []map[string]any {
	out := []map[string]any{}
	cfg := c.Config()
	var named []string
	for _, m := range cfg.Mounts {
		if m.Type == skiff.MountVolume && m.Source != "" {
			named = append(named, m.Source)
		}
	}
	var anonymous []string
	for _, v := range c.Volumes() {
		if !slices.Contains(named, v) {
			anonymous = append(anonymous, v)
		}
	}
	for _, m := range cfg.Mounts {
		entry := map[string]any{"Type": m.Type, "Source": m.Source, "Destination": m.Target, "RW": !m.ReadOnly,
			"Mode": "", "Propagation": ""}
		switch m.Type {
		case skiff.MountBind:
			entry["Propagation"] = m.Propagation
			if m.Propagation == "" {
				entry["Propagation"] = "rprivate"
			}
		case skiff.MountVolume:
			name := m.Source
			if name == "" && len(anonymous) > 0 {
				name, anonymous = anonymous[0], anonymous[1:]
			}
			entry["Name"], entry["Driver"], entry["Mode"] = name, "local", "z"
			entry["Source"] = ""
			if v, err := e.Volume(ctx, name); err == nil {
				entry["Source"] = v.Mountpoint
			}
		case skiff.MountTmpfs:
			entry["Source"] = ""
		}
		out = append(out, entry)
	}
	return out
}

// InspectState is State as Docker's container inspect shows it.
func InspectState(st skiff.State) map[string]any {
	state := map[string]any{
		"Status": ContainerStatus(st), "Running": st.Status == skiff.StatusRunning || st.Status == skiff.StatusPaused,
		"Paused": st.Status == skiff.StatusPaused, "Restarting": st.Restarting, "OOMKilled": st.OOMKilled, "Dead": false,
		"Pid": st.Pid, "ExitCode": st.ExitCode, "Error": "", "StartedAt": InspectTime(st.Started), "FinishedAt": InspectTime(st.Finished),
	}
	if h := st.Health; h != nil {
		log := make([]map[string]any, 0, len(h.Log))
		for _, r := range h.Log {
			log = append(log, map[string]any{"Start": InspectTime(r.Start), "End": InspectTime(r.End), "ExitCode": r.ExitCode, "Output": r.Output})
		}
		state["Health"] = map[string]any{"Status": h.Status, "FailingStreak": h.FailingStreak, "Log": log}
	}
	return state
}

// ContainerInspect is a container as `docker container inspect` shows it, built from
// what the library recorded (the skiff CLI's view; skiffd echoes the create request
// a client sent instead). Under "Skiff" is the library's own State, whole.
func ContainerInspect(ctx context.Context, e *skiff.Engine, c *skiff.Container) map[string]any {
	st := c.State()
	cfg := c.Config()
	var path string
	args := []string{}
	if len(st.Cmd) > 0 {
		path, args = st.Cmd[0], append(args, st.Cmd[1:]...)
	}
	exposed := map[string]struct{}{}
	ports := map[string][]map[string]string{}
	bindings := map[string][]map[string]string{}
	networks := map[string]any{}
	ipAddr, gateway, mac := "", "", ""
	if eps, err := c.Endpoints(ctx); err == nil {
		for _, ep := range eps {
			networks[ep.Network] = EndpointJSON(ep)
			if ipAddr == "" {
				ipAddr, gateway, mac = ep.IP().String(), ep.Gateway.String(), ep.MAC
			}
			for _, p := range ep.Ports {
				key := fmt.Sprintf("%d/%s", p.ContainerPort, protoOf(p))
				host := "0.0.0.0"
				if p.HostIP.IsValid() {
					host = p.HostIP.String()
				}
				ports[key] = append(ports[key], map[string]string{"HostIp": host, "HostPort": fmt.Sprint(p.HostPort)})
			}
		}
	}
	for _, p := range cfg.Ports {
		key := fmt.Sprintf("%d/%s", p.ContainerPort, protoOf(p))
		exposed[key] = struct{}{}
		host := ""
		if p.HostIP.IsValid() {
			host = p.HostIP.String()
		}
		hostPort := ""
		if p.HostPort != 0 {
			hostPort = fmt.Sprint(p.HostPort)
		}
		bindings[key] = append(bindings[key], map[string]string{"HostIp": host, "HostPort": hostPort})
		if _, ok := ports[key]; !ok {
			ports[key] = nil
		}
	}
	var binds []string
	for _, m := range cfg.Mounts {
		if m.Type == skiff.MountBind {
			b := m.Source + ":" + m.Target
			if m.ReadOnly {
				b += ":ro"
			}
			binds = append(binds, b)
		}
	}
	policy := RestartPolicy(cfg.RestartPolicy)
	if policy.Name == "" {
		policy.Name = "no"
	}
	res := st.Resources
	hostConfig := map[string]any{
		"Binds": binds, "NetworkMode": st.Network, "PortBindings": bindings, "RestartPolicy": policy,
		"AutoRemove": st.AutoRemove, "Privileged": cfg.Privileged, "ReadonlyRootfs": cfg.ReadonlyRootfs, "Init": cfg.Init,
		"Memory": res.MemoryLimit, "MemorySwap": res.MemorySwap, "CpuShares": res.CPUShares,
		"CpuQuota": res.CPUQuota, "CpuPeriod": res.CPUPeriod, "PidsLimit": nil, "Ulimits": cfg.Ulimits,
		"ShmSize": cmp.Or(cfg.ShmSize, 64<<20), "Sysctls": cfg.Sysctls, "GroupAdd": cfg.GroupAdd,
		"ExtraHosts": cfg.ExtraHosts, "Dns": cfg.DNS, "DnsSearch": cfg.DNSSearch, "DnsOptions": cfg.DNSOptions,
	}
	if res.PidsLimit > 0 {
		hostConfig["PidsLimit"] = res.PidsLimit
	}
	if res.CPUPeriod > 0 && res.CPUQuota > 0 {
		hostConfig["NanoCpus"] = res.CPUQuota * 1e9 / int64(res.CPUPeriod)
	}
	config := map[string]any{
		"Hostname": st.Hostname, "User": cfg.User, "Tty": cfg.Tty, "OpenStdin": cfg.OpenStdin,
		"Env": cfg.Env, "Cmd": cfg.Cmd, "Entrypoint": cfg.Entrypoint, "Image": st.Image, "WorkingDir": cfg.WorkingDir,
		"Labels": st.Labels, "ExposedPorts": exposed, "StopSignal": st.StopSignal,
	}
	if cfg.Healthcheck != nil {
		config["Healthcheck"] = cfg.Healthcheck
	}
	if cfg.StopTimeout != nil {
		config["StopTimeout"] = int(cfg.StopTimeout.Seconds())
	}
	return map[string]any{
		"Id": st.ID, "Created": InspectTime(st.Created), "Path": path, "Args": args, "Name": "/" + st.Name,
		"State": InspectState(st), "Image": st.ImageID, "RestartCount": st.RestartCount,
		"Driver": "overlay", "Platform": "linux", "HostConfig": hostConfig, "Config": config,
		"Mounts": InspectMounts(ctx, e, c),
		"NetworkSettings": map[string]any{"Ports": ports, "Networks": networks, "IPAddress": ipAddr,
			"Gateway": gateway, "MacAddress": mac},
		"Skiff": st,
	}
}

func protoOf(p netbridge.PortMapping) string {
	if p.Proto == "" {
		return "tcp"
	}
	return p.Proto
}
