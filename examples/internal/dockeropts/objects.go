package dockeropts

import (
	"time"

	"github.com/skiffrt/skiff"
	"github.com/skiffrt/skiff/netbridge"
)

// NetworkInspect is a network as Docker's network inspect (and list) shows it. driver
// is "bridge" for the engine's networks, "host" or "null" for the built-in ones (which
// have no subnet); eps are the bridge's endpoints, listed under Containers (nil for a
// list entry, which Docker leaves empty).
func NetworkInspect(n netbridge.Network, driver string, eps []netbridge.Endpoint) map[string]any {
	containers := map[string]any{}
	for _, ep := range eps {
		containers[ep.ContainerID] = map[string]any{"Name": ep.Name, "EndpointID": ep.ID(),
			"MacAddress": ep.MAC, "IPv4Address": ep.Address.String(), "IPv6Address": ""}
	}
	labels := n.Labels
	if labels == nil {
		labels = map[string]string{}
	}
	ipam := map[string]any{"Driver": "default", "Options": nil, "Config": []map[string]any{}}
	opts := map[string]string{}
	created := "0001-01-01T00:00:00Z"
	if driver == "bridge" {
		pool := map[string]any{"Subnet": n.Subnet.String(), "Gateway": n.Gateway.String()}
		if n.IPRange.IsValid() {
			pool["IPRange"] = n.IPRange.String()
		}
		if len(n.AuxAddresses) > 0 {
			aux := map[string]string{}
			for k, a := range n.AuxAddresses {
				aux[k] = a.String()
			}
			pool["AuxiliaryAddresses"] = aux
		}
		ipam["Config"] = []map[string]any{pool}
		opts["com.docker.network.bridge.name"] = n.Bridge
		created = n.Created.Format(time.RFC3339Nano)
	}
	return map[string]any{
		"Name": n.Name, "Id": n.ID, "Created": created, "Scope": "local",
		"Driver": driver, "EnableIPv4": true, "EnableIPv6": false, "Internal": n.Internal, "Attachable": false,
		"Ingress": false, "ConfigFrom": map[string]string{"Network": ""}, "ConfigOnly": false,
		"IPAM": ipam, "Options": opts, "Labels": labels, "Containers": containers,
	}
}

// VolumeInspect is a volume as Docker's volume inspect (and list) shows it.
func VolumeInspect(v *skiff.Volume) map[string]any {
	labels := v.Labels
	if labels == nil {
		labels = map[string]string{}
	}
	return map[string]any{"Name": v.Name, "Driver": "local", "Mountpoint": v.Mountpoint, "Scope": "local",
		"CreatedAt": v.CreatedAt.Format("2006-01-02T15:04:05Z07:00"), "Labels": labels, "Options": map[string]string{}}
}
