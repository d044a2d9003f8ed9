package main

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"net/http"
	"net/netip"
	"slices"
	"sort"
	"strconv"
	"strings"

	"github.com/skiffrt/skiff"
	"github.com/skiffrt/skiff/examples/internal/dockeropts"
	"github.com/skiffrt/skiff/netbridge"
)

func (d *daemon) networkRoutes(h func(string, apiFunc)) {
	h("GET /networks", d.networkList)
	h("POST /networks/create", d.networkCreate)
	h("POST /networks/prune", d.networkPrune)
	h("GET /networks/{id}", d.networkInspect)
	h("DELETE /networks/{id}", d.networkRemove)
	h("POST /networks/{id}/connect", d.networkConnect)
	h("POST /networks/{id}/disconnect", d.networkDisconnect)
}

// builtinNetworks are the modes that are not bridge networks of the manager, with
// their Docker drivers.
var builtinNetworks = []struct{ name, driver string }{{skiff.NetworkHost, "host"}, {skiff.NetworkNone, "null"}}

// builtinID is the stable ID shown for a built-in network.
func builtinID(name string) string {
	h := sha256.Sum256([]byte("skiff builtin network\x00" + name))
	return hex.EncodeToString(h[:])
}

// netView is one network as the API lists it: a bridge network of the manager or a
// built-in one.
type netView struct {
	n      netbridge.Network
	driver string
}

// json is the network as Docker shows it, with eps under Containers.
func (v netView) json(eps []netbridge.Endpoint) map[string]any {
	return dockeropts.NetworkInspect(v.n, v.driver, eps)
}

// networks lists every network: the manager's (the default bridge made if missing, as
// Docker always has it) and the built-in ones.
func (d *daemon) networks(ctx context.Context) ([]netView, error) {
	m := d.e.Networks()
	if _, err := m.Network(ctx, netbridge.DefaultNetwork); errors.Is(err, netbridge.ErrNetworkNotFound) {
		if _, err := m.CreateNetwork(ctx, netbridge.NetworkConfig{Name: netbridge.DefaultNetwork}); err != nil &&
			!errors.Is(err, netbridge.ErrNetworkExists) {
			return nil, err
		}
	}
	ns, err := m.Networks(ctx)
	if err != nil {
		return nil, err
	}
	out := make([]netView, 0, len(ns)+len(builtinNetworks))
	for _, n := range ns {
		out = append(out, netView{n: n, driver: "bridge"})
	}
	for _, b := range builtinNetworks {
		out = append(out, netView{n: netbridge.Network{Name: b.name, ID: builtinID(b.name)}, driver: b.driver})
	}
	return out, nil
}

// network finds the network ref names: ID, name or unique ID prefix, as Docker does.
func (d *daemon) network(ctx context.Context, ref string) (netView, error) {
	all, err := d.networks(ctx)
	if err != nil {
		return netView{}, err
	}
	for _, v := range all {
		if v.n.ID == ref || v.n.Name == ref {
			return v, nil
		}
	}
	var found []netView
	for _, v := range all {
		if ref != "" && strings.HasPrefix(v.n.ID, ref) {
			found = append(found, v)
		}
	}
	if len(found) == 1 {
		return found[0], nil
	}
	return netView{}, errorf(http.StatusNotFound, "network %s not found", ref)
}

// matchNetwork applies docker network ls filters: name (substring), id (prefix),
// label (key or key=value), driver, type (custom or builtin); networkList applies
// dangling (unused user networks).
func matchNetwork(f map[string][]string, v netView) bool {
	builtin := v.driver != "bridge" || v.n.Name == netbridge.DefaultNetwork
	typ := "custom"
	if builtin {
		typ = "builtin"
	}
	anyOf := func(want []string, ok func(string) bool) bool {
		return len(want) == 0 || slices.ContainsFunc(want, ok)
	}
	return anyOf(f["name"], func(w string) bool { return strings.Contains(v.n.Name, w) }) &&
		anyOf(f["id"], func(w string) bool { return strings.HasPrefix(v.n.ID, w) }) &&
		anyOf(f["driver"], func(w string) bool { return w == v.driver }) &&
		anyOf(f["type"], func(w string) bool { return w == typ }) &&
		anyOf(f["scope"], func(w string) bool { return w == "local" }) &&
		matchLabels(f["label"], v.n.Labels)
}

func (d *daemon) networkList(w http.ResponseWriter, r *http.Request) error {
	f, err := filters(r)
	if err != nil {
		return err
	}
	for k := range f {
		switch k {
		case "name", "id", "label", "driver", "type", "scope", "dangling":
		default:
			return errorf(http.StatusBadRequest, "invalid filter '%s'", k)
		}
	}
	all, err := d.networks(r.Context())
	if err != nil {
		return err
	}
	out := []map[string]any{}
	for _, v := range all {
		if !matchNetwork(f, v) {
			continue
		}
		if len(f["dangling"]) > 0 {
			// Dangling: a user network no container uses.
			want, err := strconv.ParseBool(f["dangling"][0])
			if err != nil {
				return errorf(http.StatusBadRequest, "invalid filter 'dangling=%s'", f["dangling"][0])
			}
			dangling := false
			if v.driver == "bridge" && v.n.Name != netbridge.DefaultNetwork {
				eps, err := d.e.Networks().Endpoints(r.Context(), v.n.ID)
				if err != nil {
					return err
				}
				dangling = len(eps) == 0
			}
			if dangling != want {
				continue
			}
		}
		out = append(out, v.json(nil))
	}
	return writeJSON(w, http.StatusOK, out)
}

func (d *daemon) networkCreate(w http.ResponseWriter, r *http.Request) error {
	var req struct {
		Name       string
		Driver     string
		EnableIPv6 *bool
		Internal   bool
		IPAM       struct {
			Config []struct {
				Subnet, Gateway, IPRange string
				AuxiliaryAddresses       map[string]string
			}
		}
		Labels  map[string]string
		Options map[string]string
	}
	if err := decodeBody(r, &req); err != nil {
		return err
	}
	if req.Name == "" {
		return errorf(http.StatusBadRequest, "network name must not be empty")
	}
	if req.Driver != "" && req.Driver != "bridge" {
		return errorf(http.StatusBadRequest, "network driver %q is not supported (bridge only)", req.Driver)
	}
	if req.EnableIPv6 != nil && *req.EnableIPv6 {
		return errorf(http.StatusBadRequest, "network %s: IPv6 is not supported (IPv4 bridge networks only)", req.Name)
	}
	if slices.Contains([]string{"host", "none", "default", netbridge.DefaultNetwork}, req.Name) {
		return errorf(http.StatusForbidden, "operation is not permitted on predefined %s network", req.Name)
	}
	cfg := netbridge.NetworkConfig{Name: req.Name, Labels: req.Labels, Internal: req.Internal,
		Bridge: req.Options["com.docker.network.bridge.name"]} // docker network create -o (compose's driver_opts)
	if len(req.IPAM.Config) > 1 {
		return errorf(http.StatusBadRequest, "network %s: one IPv4 subnet only", req.Name)
	}
	if len(req.IPAM.Config) == 1 && req.IPAM.Config[0].Subnet != "" {
		p, err := netip.ParsePrefix(req.IPAM.Config[0].Subnet)
		if err != nil {
			return errorf(http.StatusBadRequest, "invalid subnet %q", req.IPAM.Config[0].Subnet)
		}
		cfg.Subnet = p
	}
	if len(req.IPAM.Config) == 1 {
		pool := req.IPAM.Config[0]
		var err error
		if pool.Gateway != "" {
			if cfg.Gateway, err = netip.ParseAddr(pool.Gateway); err != nil {
				return errorf(http.StatusBadRequest, "invalid gateway %q", pool.Gateway)
			}
		}
		if pool.IPRange != "" {
			if cfg.IPRange, err = netip.ParsePrefix(pool.IPRange); err != nil {
				return errorf(http.StatusBadRequest, "invalid ip range %q", pool.IPRange)
			}
		}
		for name, a := range pool.AuxiliaryAddresses {
			ip, err := netip.ParseAddr(a)
			if err != nil {
				return errorf(http.StatusBadRequest, "invalid auxiliary address %s=%q", name, a)
			}
			if cfg.AuxAddresses == nil {
				cfg.AuxAddresses = map[string]netip.Addr{}
			}
			cfg.AuxAddresses[name] = ip
		}
	}
	n, err := d.e.CreateNetwork(r.Context(), cfg)
	if errors.Is(err, netbridge.ErrNetworkExists) && !strings.Contains(err.Error(), "bridge ") {
		return errorf(http.StatusConflict, "network with name %s already exists", req.Name)
	}
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusCreated, map[string]string{"Id": n.ID, "Warning": ""})
}

// summaryNetworks is a container's NetworkSettings.Networks, as docker ps lists it.
func summaryNetworks(ctx context.Context, c *skiff.Container) map[string]any {
	out := map[string]any{}
	if eps, err := c.Endpoints(ctx); err == nil {
		for _, ep := range eps {
			out[ep.Network] = dockeropts.EndpointJSON(ep)
		}
	}
	return out
}

// onNetworks applies docker ps --filter network=NAME|ID: the container is on one of want.
func onNetworks(ctx context.Context, c *skiff.Container, want []string) bool {
	if len(want) == 0 {
		return true
	}
	eps, err := c.Endpoints(ctx)
	if err != nil {
		return false
	}
	for _, ep := range eps {
		for _, w := range want {
			if w == ep.Network || w == ep.NetworkID || (len(w) >= 12 && strings.HasPrefix(ep.NetworkID, w)) {
				return true
			}
		}
	}
	return false
}

func (d *daemon) networkInspect(w http.ResponseWriter, r *http.Request) error {
	v, err := d.network(r.Context(), r.PathValue("id"))
	if err != nil {
		return err
	}
	var eps []netbridge.Endpoint
	if v.driver == "bridge" {
		if eps, err = d.e.Networks().Endpoints(r.Context(), v.n.ID); err != nil {
			return err
		}
	}
	return writeJSON(w, http.StatusOK, v.json(eps))
}

func (d *daemon) networkRemove(w http.ResponseWriter, r *http.Request) error {
	v, err := d.network(r.Context(), r.PathValue("id"))
	if err != nil {
		return err
	}
	if v.driver != "bridge" || v.n.Name == netbridge.DefaultNetwork {
		return errorf(http.StatusForbidden, "%s is a pre-defined network and cannot be removed", v.n.Name)
	}
	if err := d.e.RemoveNetwork(r.Context(), v.n.ID); err != nil {
		if errors.Is(err, netbridge.ErrNetworkInUse) {
			return errorf(http.StatusForbidden, "error while removing network: network %s id %s has active endpoints", v.n.Name, v.n.ID)
		}
		return err
	}
	return noContent(w)
}

// networkPrune removes the user networks no container uses (docker network prune);
// label filters (label, label!) narrow it.
func (d *daemon) networkPrune(w http.ResponseWriter, r *http.Request) error {
	f, err := filters(r)
	if err != nil {
		return err
	}
	m := d.e.Networks()
	deleted := []string{}
	if len(f["label"]) == 0 && len(f["label!"]) == 0 {
		removed, err := d.e.PruneNetworks(r.Context())
		if err != nil && len(removed) == 0 {
			return err
		}
		deleted = append(deleted, removed...)
	} else {
		ns, err := m.Networks(r.Context())
		if err != nil {
			return err
		}
		for _, n := range ns {
			if n.Name == netbridge.DefaultNetwork || !matchLabels(f["label"], n.Labels) ||
				(len(f["label!"]) > 0 && matchLabels(f["label!"], n.Labels)) {
				continue
			}
			if err := d.e.RemoveNetwork(r.Context(), n.ID); err == nil {
				deleted = append(deleted, n.Name)
			}
		}
	}
	sort.Strings(deleted)
	return writeJSON(w, http.StatusOK, map[string]any{"NetworksDeleted": deleted})
}

type connectRequest struct {
	Container      string
	EndpointConfig *endpointConfig
	Force          bool
}

func (d *daemon) networkConnect(w http.ResponseWriter, r *http.Request) error {
	var req connectRequest
	if err := decodeBody(r, &req); err != nil {
		return err
	}
	v, err := d.network(r.Context(), r.PathValue("id"))
	if err != nil {
		return err
	}
	if v.driver != "bridge" {
		return errorf(http.StatusBadRequest, "container cannot be disconnected from host network or connected to host network")
	}
	c, err := d.container(r.Context(), req.Container)
	if err != nil {
		return err
	}
	opts, err := req.EndpointConfig.options()
	if err != nil {
		return err
	}
	if _, err := c.ConnectWith(r.Context(), v.n.ID, opts); err != nil {
		if errors.Is(err, netbridge.ErrEndpointExists) {
			return errorf(http.StatusForbidden, "endpoint with name %s already exists in network %s", c.Name(), v.n.Name)
		}
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
	v, err := d.network(r.Context(), r.PathValue("id"))
	if err != nil {
		return err
	}
	c, err := d.container(r.Context(), req.Container)
	if err != nil {
		return err
	}
	if v.driver != "bridge" {
		return errorf(http.StatusBadRequest, "container cannot be disconnected from host network or connected to host network")
	}
	if err := c.Disconnect(r.Context(), v.n.ID); err != nil {
		if errors.Is(err, netbridge.ErrEndpointNotFound) {
			return errorf(http.StatusForbidden, "container %s is not connected to network %s", req.Container, v.n.Name)
		}
		return err
	}
	w.WriteHeader(http.StatusOK)
	return nil
}

// endpointConfig is one network's entry of a create or connect request.
type endpointConfig struct {
	Aliases    []string
	IPAMConfig *struct{ IPv4Address string }
	Links      []string // "container[:alias]", shown by inspect
}

// options turns the entry into the library's, refusing an address that is not IPv4.
func (ec *endpointConfig) options() (skiff.ConnectOptions, error) {
	var o skiff.ConnectOptions
	if ec == nil {
		return o, nil
	}
	o.Aliases = ec.Aliases
	if ec.IPAMConfig != nil && ec.IPAMConfig.IPv4Address != "" {
		ip, err := netip.ParseAddr(ec.IPAMConfig.IPv4Address)
		if err != nil || !ip.Is4() {
			return o, errorf(http.StatusBadRequest, "invalid IPv4 address: %s", ec.IPAMConfig.IPv4Address)
		}
		o.IP = ip
	}
	return o, nil
}

// endpointNames are a create request's networks: NetworkingConfig.EndpointsConfig keyed
// by network name or ID, each with its aliases and address.
type endpointNames = map[string]*endpointConfig

// primaryNetwork picks the network a container is created on, as Docker does:
// HostConfig.NetworkMode when it names one, else the first (by name) network of
// EndpointsConfig, else the default bridge; and the aliases EndpointsConfig gives it.
func primaryNetwork(mode string, eps endpointNames) (network string, aliases []string) {
	switch mode {
	case "", "default":
		network = skiff.NetworkBridge
		if keys := endpointKeys(eps); len(keys) > 0 {
			network = keys[0]
		}
	default:
		network = mode
	}
	for key, ep := range eps {
		if ep != nil && (key == network || key == mode || (key == "default" && network == skiff.NetworkBridge)) {
			aliases = append(aliases, ep.Aliases...)
		}
	}
	return network, aliases
}

// primaryAddress is the address EndpointsConfig asks for on the network a container
// is created on (docker run --ip), if any.
func primaryAddress(mode string, eps endpointNames) (netip.Addr, error) {
	network, _ := primaryNetwork(mode, eps)
	for key, ep := range eps {
		if key == network || key == mode || key == "default" {
			if o, err := ep.options(); err != nil || o.IP.IsValid() {
				return o.IP, err
			}
		}
	}
	return netip.Addr{}, nil
}

// endpointKeys returns the networks EndpointsConfig names, sorted; "default" stands
// for the container's own network and is left out.
func endpointKeys(eps endpointNames) []string {
	var keys []string
	for k := range eps {
		if k != "default" {
			keys = append(keys, k)
		}
	}
	sort.Strings(keys)
	return keys
}

// connectEndpoints gives a just-created container the address EndpointsConfig asks for
// on the network it was created on, and attaches it to the other networks listed
// there, each with its aliases and address (Docker attaches every listed network). On
// error the container is removed again.
func (d *daemon) connectEndpoints(ctx context.Context, c *skiff.Container, req *createRequest) error {
	primary, _ := primaryNetwork(req.HostConfig.NetworkMode, req.NetworkingConfig.EndpointsConfig)
	if primary == skiff.NetworkHost || primary == skiff.NetworkNone {
		return nil
	}
	ip, err := primaryAddress(req.HostConfig.NetworkMode, req.NetworkingConfig.EndpointsConfig)
	if err == nil && ip.IsValid() {
		err = c.SetIP(ctx, ip)
	}
	for _, key := range endpointKeys(req.NetworkingConfig.EndpointsConfig) {
		if err != nil {
			break
		}
		if key == primary || key == req.HostConfig.NetworkMode {
			continue
		}
		var opts skiff.ConnectOptions
		if opts, err = req.NetworkingConfig.EndpointsConfig[key].options(); err != nil {
			break
		}
		if _, err = c.ConnectWith(ctx, key, opts); errors.Is(err, netbridge.ErrEndpointExists) {
			err = nil
		}
	}
	if err != nil {
		c.Delete(context.WithoutCancel(ctx), skiff.WithForce())
	}
	return err
}
