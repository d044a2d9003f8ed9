package main

import (
	"encoding/json"
	"maps"
	"slices"
	"strings"

	"github.com/skiffrt/skiff"
	"github.com/skiffrt/skiff/examples/internal/dockeropts"
)

// hostConfigFields keeps every field of a create request's HostConfig, also those
// skiffd does not act on, so that inspect echoes what the client sent as Docker does.
type hostConfigFields = map[string]json.RawMessage

// UnmarshalJSON decodes the fields skiffd uses and keeps all of them.
func (h *hostConfig) UnmarshalJSON(b []byte) error {
	type plain hostConfig
	if err := json.Unmarshal(b, (*plain)(h)); err != nil {
		return err
	}
	return json.Unmarshal(b, &h.all)
}

// MarshalJSON writes every field the request had, the used ones as decoded.
func (h hostConfig) MarshalJSON() ([]byte, error) {
	type plain hostConfig
	known, err := json.Marshal(plain(h))
	if err != nil {
		return nil, err
	}
	out := hostConfigFields{}
	if err := json.Unmarshal(known, &out); err != nil {
		return nil, err
	}
	for k, v := range h.all {
		if _, ok := out[k]; !ok {
			out[k] = v
		}
	}
	return json.Marshal(out)
}

// hostConfigDefaults are the HostConfig fields Docker's inspect always shows, as it
// shows them for a container that did not set them.
func hostConfigDefaults() map[string]any {
	return map[string]any{
		"ContainerIDFile": "", "LogConfig": map[string]any{"Type": "json-file", "Config": map[string]string{}},
		"VolumeDriver": "", "VolumesFrom": nil, "CgroupnsMode": "private", "Dns": []string{}, "DnsOptions": []string{},
		"DnsSearch": []string{}, "ExtraHosts": nil, "GroupAdd": nil, "IpcMode": "private", "Cgroup": "", "Links": nil,
		"OomScoreAdj": 0, "PidMode": "", "PublishAllPorts": false, "SecurityOpt": nil, "UTSMode": "", "UsernsMode": "",
		"ShmSize": 67108864, "Runtime": "runc", "Isolation": "", "CpusetCpus": "", "CpusetMems": "", "BlkioWeight": 0,
		"BlkioWeightDevice": []any{}, "BlkioDeviceReadBps": []any{}, "BlkioDeviceWriteBps": []any{},
		"BlkioDeviceReadIOps": []any{}, "BlkioDeviceWriteIOps": []any{}, "CpuRealtimePeriod": 0, "CpuRealtimeRuntime": 0,
		"Devices": []any{}, "DeviceCgroupRules": nil, "DeviceRequests": nil, "MemoryReservation": 0,
		"MemorySwappiness": nil, "OomKillDisable": nil, "Ulimits": nil, "CpuCount": 0, "CpuPercent": 0,
		"IOMaximumIOps": 0, "IOMaximumBandwidth": 0, "MaskedPaths": nil, "ReadonlyPaths": nil, "Tmpfs": nil,
		"Mounts": nil, "ConsoleSize": []uint{0, 0}, "CgroupParent": "", "Annotations": nil,
	}
}

// inspectHostConfig is HostConfig as inspect shows it: what the client sent, Docker's
// defaults for the rest, and the limits and restart policy as they apply now (changed
// by docker update).
func inspectHostConfig(c *skiff.Container, st skiff.State, hc hostConfig) map[string]any {
	out := hostConfigDefaults()
	for k, v := range hc.all {
		out[k] = v
	}
	cfg := c.Config()
	res := st.Resources
	maps.Copy(out, map[string]any{
		"Binds": hc.Binds, "NetworkMode": st.Network, "PortBindings": hc.PortBindings, "AutoRemove": hc.AutoRemove,
		"Memory": res.MemoryLimit, "MemorySwap": res.MemorySwap, "CpuShares": res.CPUShares, "PidsLimit": nil,
		"NanoCpus": 0, "CpuQuota": res.CPUQuota, "CpuPeriod": res.CPUPeriod,
		"Privileged": hc.Privileged, "CapAdd": hc.CapAdd, "CapDrop": hc.CapDrop, "Init": hc.Init,
		"ReadonlyRootfs": hc.ReadonlyRootfs, "RestartPolicy": restartPolicy(dockeropts.RestartPolicy(cfg.RestartPolicy)),
	})
	var links []string
	if json.Unmarshal(hc.all["Links"], &links) == nil && len(links) > 0 {
		// Those the container still has (docker rm --link removes one).
		kept := make([]string, 0, len(links))
		for _, l := range legacyLinks(links, st.Name) {
			alias := l[strings.LastIndexByte(l, '/')+1:]
			if slices.ContainsFunc(cfg.Links, func(cl skiff.Link) bool { return cl.Alias == alias }) {
				kept = append(kept, l)
			}
		}
		out["Links"] = nil
		if len(kept) > 0 {
			out["Links"] = kept
		}
	}
	if res.PidsLimit > 0 {
		out["PidsLimit"] = res.PidsLimit
	}
	if cfg.ShmSize > 0 {
		out["ShmSize"] = cfg.ShmSize
	}
	if len(cfg.Sysctls) > 0 {
		out["Sysctls"] = cfg.Sysctls
	}
	if len(cfg.GroupAdd) > 0 {
		out["GroupAdd"] = cfg.GroupAdd
	}
	if len(cfg.ExtraHosts) > 0 {
		out["ExtraHosts"] = cfg.ExtraHosts
	}
	if len(cfg.DNS) > 0 {
		out["Dns"] = cfg.DNS
	}
	if hc.NanoCpus > 0 && res.CPUPeriod > 0 { // asked for as --cpus: shown so, as Docker does
		out["NanoCpus"] = res.CPUQuota * 1e9 / int64(res.CPUPeriod)
		out["CpuQuota"], out["CpuPeriod"] = 0, 0
	}
	if res.MemorySwap == 0 && res.MemoryLimit > 0 {
		out["MemorySwap"] = res.MemoryLimit // what applies: no swap beyond the memory limit
	}
	return out
}

// legacyLinks renders HostConfig.Links ("name[:alias]") as Docker's inspect shows
// them: "/name:/container/alias".
func legacyLinks(links []string, container string) []string {
	out := make([]string, 0, len(links))
	for _, l := range links {
		name, alias, ok := strings.Cut(l, ":")
		if !ok {
			alias = name
		}
		out = append(out, "/"+strings.TrimPrefix(name, "/")+":/"+container+"/"+strings.TrimPrefix(alias, "/"))
	}
	return out
}
