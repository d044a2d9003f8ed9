package main

import (
	"net/http"
	"net/netip"
	"strings"
	"time"

	"github.com/skiffrt/skiff/netbridge"
)

func (d *daemon) networkRoutes(h func(string, apiFunc)) {
	h("GET /networks", d.networkList)
	h("POST /networks/create", d.networkCreate)
	h("GET /networks/{id}", d.networkInspect)
	h("DELETE /networks/{id}", d.networkRemove)
	h("POST /networks/{id}/connect", d.networkConnect)
	h("POST /networks/{id}/disconnect", d.networkDisconnect)
}

func networkJSON(n *netbridge.Network, containers map[string]any) map[string]any {
	if containers == nil {
		containers = map[string]any{}
	}
	return map[string]any{
		"Name": n.Name, "Id": n.ID, "Created": n.Created.Format(time.RFC3339Nano), "Scope": "local",
		"Driver": "bridge", "EnableIPv6": false, "Internal": false, "Attachable": false, "Ingress": false,
		"IPAM": map[string]any{"Driver": "default", "Options": map[string]string{},
			"Config": []map[string]string{{"Subnet": n.Subnet.String(), "Gateway": n.Gateway.String()}}},
		"Options": map[string]string{"com.docker.network.bridge.name": n.Bridge}, "Labels": map[string]string{},
		"Containers": containers,
	}
}

// builtinNetworks are the modes that are not bridge networks of the manager.
var builtinNetworks = []string{"host", "none"}

func (d *daemon) networkList(w http.ResponseWriter, r *http.Request) error {
	ns, err := d.e.Networks().Networks(r.Context())
	if err != nil {
		return err
	}
	out := []map[string]any{}
	hasDefault := false
	for i := range ns {
		hasDefault = hasDefault || ns[i].Name == netbridge.DefaultNetwork
		out = append(out, networkJSON(&ns[i], nil))
	}
	if !hasDefault {
		out = append(out, map[string]any{"Name": netbridge.DefaultNetwork, "Id": netbridge.DefaultNetwork, "Driver": "bridge", "Scope": "local"})
	}
	for _, n := range builtinNetworks {
		out = append(out, map[string]any{"Name": n, "Id": n, "Driver": n, "Scope": "local"})
	}
	return writeJSON(w, http.StatusOK, out)
}

func (d *daemon) network(r *http.Request, ref string) (*netbridge.Network, error) {
	n, err := d.e.Networks().Network(r.Context(), ref)
	if err == nil {
		return n, nil
	}
	ns, lerr := d.e.Networks().Networks(r.Context())
	if lerr == nil {
		for i := range ns {
			if strings.HasPrefix(ns[i].ID, ref) {
				return &ns[i], nil
			}
		}
	}
	return nil, errorf(http.StatusNotFound, "network %s not found", ref)
}

func (d *daemon) networkCreate(w http.ResponseWriter, r *http.Request) error {
	var req struct {
		Name   string
		Driver string
		IPAM   struct{ Config []struct{ Subnet string } }
	}
	if err := decodeBody(r, &req); err != nil {
		return err
	}
	if req.Driver != "" && req.Driver != "bridge" {
		return errorf(http.StatusBadRequest, "network driver %q is not supported (bridge only)", req.Driver)
	}
	cfg := netbridge.NetworkConfig{Name: req.Name}
	if len(req.IPAM.Config) > 0 && req.IPAM.Config[0].Subnet != "" {
		p, err := netip.ParsePrefix(req.IPAM.Config[0].Subnet)
		if err != nil {
			return errorf(http.StatusBadRequest, "invalid subnet %q", req.IPAM.Config[0].Subnet)
		}
		cfg.Subnet = p
	}
	n, err := d.e.Networks().CreateNetwork(r.Context(), cfg)
	if err != nil {
		if strings.Contains(err.Error(), "exists") {
			return errorf(http.StatusConflict, "network with name %s already exists", req.Name)
		}
		return err
	}
	return writeJSON(w, http.StatusCreated, map[string]string{"Id": n.ID, "Warning": ""})
}

func (d *daemon) networkInspect(w http.ResponseWriter, r *http.Request) error {
	n, err := d.network(r, r.PathValue("id"))
	if err != nil {
		return err
	}
	containers := map[string]any{}
	if eps, err := d.e.Networks().Endpoints(r.Context(), n.Name); err == nil {
		for _, ep := range eps {
			containers[ep.ContainerID] = map[string]any{"Name": ep.Name, "MacAddress": ep.MAC, "IPv4Address": ep.Address.String()}
		}
	}
	return writeJSON(w, http.StatusOK, networkJSON(n, containers))
}

func (d *daemon) networkRemove(w http.ResponseWriter, r *http.Request) error {
	n, err := d.network(r, r.PathValue("id"))
	if err != nil {
		return err
	}
	if err := d.e.Networks().RemoveNetwork(r.Context(), n.Name); err != nil {
		if strings.Contains(err.Error(), "in use") || strings.Contains(err.Error(), "endpoints") {
			return errorf(http.StatusConflict, "error while removing network: %v", err)
		}
		return err
	}
	return noContent(w)
}

type connectRequest struct {
	Container      string
	EndpointConfig *struct{ Aliases []string }
	Force          bool
}

func (d *daemon) networkConnect(w http.ResponseWriter, r *http.Request) error {
	var req connectRequest
	if err := decodeBody(r, &req); err != nil {
		return err
	}
	c, err := d.container(r.Context(), req.Container)
	if err != nil {
		return err
	}
	var aliases []string
	if req.EndpointConfig != nil {
		aliases = req.EndpointConfig.Aliases
	}
	if _, err := c.Connect(r.Context(), r.PathValue("id"), aliases...); err != nil {
		return err
	}
	w.WriteHeader(http.StatusOK)
	return nil
}

func (d *daemon) networkDisconnect(w http.ResponseWriter, r *http.Request) error {
	var req connectRequest
	if err := decodeBody(r, &req); err != nil {
		return err
	}
	c, err := d.container(r.Context(), req.Container)
	if err != nil {
		return err
	}
	if err := c.Disconnect(r.Context(), r.PathValue("id")); err != nil {
		return err
	}
	w.WriteHeader(http.StatusOK)
	return nil
}
