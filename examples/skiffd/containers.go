package main

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"net/http"
	"path"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/skiffrt/skiff"
	"github.com/skiffrt/skiff/examples/internal/dockeropts"
	"github.com/skiffrt/skiff/netbridge"
	"github.com/skiffrt/skiff/registry"
)

// createRequest is the body of POST /containers/create: a container config with the
// host config and networking config embedded (the fields skiffd understands).
type createRequest struct {
	Hostname     string
	User         string
	AttachStdin  bool
	AttachStdout bool
	AttachStderr bool
	ExposedPorts map[string]struct{}
	Tty          bool
	OpenStdin    bool
	StdinOnce    bool
	Env          []string
	Cmd          []string
	Entrypoint   []string
	Image        string
	Labels       map[string]string
	WorkingDir   string
	Volumes      map[string]struct{}
	StopSignal   string
	StopTimeout  *int
	Healthcheck  *skiff.Healthcheck
	HostConfig   hostConfig
	// NetworkingConfig.EndpointsConfig is keyed by network ("default" for the default).
	NetworkingConfig struct {
		EndpointsConfig map[string]*endpointConfig
	}
}

type hostConfig struct {
	Binds          []string
	PortBindings   map[string][]dockeropts.PortBinding
	AutoRemove     bool
	NetworkMode    string
	Memory         int64
	MemorySwap     int64
	NanoCpus       int64
	CpuShares      int64
	CpuQuota       int64
	CpuPeriod      int64
	PidsLimit      *int64
	Privileged     bool
	CapAdd         []string
	CapDrop        []string
	Init           *bool
	ReadonlyRootfs bool
	Tmpfs          map[string]string
	Ulimits        []struct {
		Name       string
		Soft, Hard int64
	}
	Mounts      []dockeropts.APIMount
	ConsoleSize [2]uint
	// PublishAllPorts publishes every exposed port (the image's and ExposedPorts) on a
	// free host port (docker run -P).
	PublishAllPorts bool
	SecurityOpt     []string
	RestartPolicy   dockeropts.RestartPolicy
	Links           []string // "container:alias" (or Docker's "/db:/web/alias")
	ShmSize         int64
	Sysctls         map[string]string
	GroupAdd        []string
	ExtraHosts      []string
	Dns             []string
	DnsSearch       []string
	DnsOptions      []string

	all hostConfigFields // every field the client sent (inspect.go)
}

// extensionKey names the docker create request that skiffd records with each
// container (ContainerConfig.Extensions), for inspect and attach.
const extensionKey = "skiffd/create-request"

// request returns the docker create request container c was made from; for a
// container another program made on the root (the skiff CLI), the request its
// recorded config amounts to.
func request(c *skiff.Container) *createRequest {
	cfg := c.Config()
	req := &createRequest{}
	if data := cfg.Extensions[extensionKey]; data != nil && json.Unmarshal(data, req) == nil {
		return req
	}
	req = &createRequest{
		Image: cfg.Image, Cmd: cfg.Cmd, Entrypoint: cfg.Entrypoint, Env: cfg.Env, WorkingDir: cfg.WorkingDir,
		User: cfg.User, Hostname: cfg.Hostname, Tty: cfg.Tty, OpenStdin: cfg.OpenStdin, Labels: cfg.Labels,
		HostConfig: hostConfig{
			AutoRemove: cfg.AutoRemove, NetworkMode: cfg.Network, Memory: cfg.Resources.MemoryLimit,
			MemorySwap: cfg.Resources.MemorySwap, Privileged: cfg.Privileged, CapAdd: cfg.CapAdd, CapDrop: cfg.CapDrop,
			ReadonlyRootfs: cfg.ReadonlyRootfs, RestartPolicy: dockeropts.RestartPolicy(cfg.RestartPolicy),
			ShmSize: cfg.ShmSize, Sysctls: cfg.Sysctls, GroupAdd: cfg.GroupAdd,
			ExtraHosts: cfg.ExtraHosts, Dns: cfg.DNS, DnsSearch: cfg.DNSSearch, DnsOptions: cfg.DNSOptions,
		},
	}
	if cfg.Init {
		req.HostConfig.Init = &cfg.Init
	}
	return req
}

func (d *daemon) containerRoutes(h func(string, apiFunc)) {
	h("POST /containers/create", d.containerCreate)
	h("GET /containers/json", d.containerList)
	h("GET /containers/{id}/json", d.containerInspect)
	h("DELETE /containers/{id}", d.containerDelete)
	h("DELETE /containers/{id}/{link}", d.containerLinkDelete)
	h("POST /containers/{id}/start", d.containerStart)
	h("POST /containers/{id}/wait", d.containerWait)
	h("POST /containers/{id}/stop", d.containerStop)
	h("POST /containers/{id}/kill", d.containerKill)
	h("POST /containers/{id}/restart", d.containerRestart)
	h("POST /containers/{id}/pause", d.containerPause)
	h("POST /containers/{id}/unpause", d.containerUnpause)
	h("POST /containers/{id}/resize", d.containerResize)
	h("POST /containers/{id}/rename", d.containerRename)
}

// toConfig turns the docker create request into the library's ContainerConfig.
func toConfig(req *createRequest, name string) (skiff.ContainerConfig, error) {
	hc := req.HostConfig
	cfg := skiff.ContainerConfig{
		Image: req.Image, Name: name, Cmd: req.Cmd, Env: req.Env, WorkingDir: req.WorkingDir,
		User: req.User, Hostname: req.Hostname, Tty: req.Tty, Privileged: hc.Privileged,
		CapAdd: hc.CapAdd, CapDrop: hc.CapDrop, ReadonlyRootfs: hc.ReadonlyRootfs, Labels: req.Labels,
		ShmSize: hc.ShmSize, Sysctls: hc.Sysctls, GroupAdd: hc.GroupAdd,
		ExtraHosts: hc.ExtraHosts, DNS: hc.Dns, DNSSearch: hc.DnsSearch, DNSOptions: hc.DnsOptions,
	}
	if req.Entrypoint != nil {
		cfg.Entrypoint = []string{}
		for _, s := range req.Entrypoint {
			if s != "" {
				cfg.Entrypoint = append(cfg.Entrypoint, s)
			}
		}
	}
	if hc.Init != nil {
		cfg.Init = *hc.Init
	}
	cfg.StopSignal = req.StopSignal
	for _, l := range hc.Links {
		name, alias, _ := strings.Cut(l, ":")
		if alias != "" {
			alias = path.Base(alias) // "/web/db" as docker inspect shows a link
		}
		link, err := skiff.ParseLink(strings.TrimPrefix(name, "/") + ":" + cmp.Or(alias, strings.TrimPrefix(name, "/")))
		if err != nil {
			return cfg, errorf(http.StatusBadRequest, "%v", err)
		}
		cfg.Links = append(cfg.Links, link)
	}
	if req.StopTimeout != nil {
		d := time.Duration(*req.StopTimeout) * time.Second // negative: no limit, as Docker
		cfg.StopTimeout = &d
	}
	for _, o := range hc.SecurityOpt {
		// Options Skiff does not implement (seccomp profiles, labels) are ignored.
		if nnp, err := dockeropts.ParseSecurityOpt([]string{o}); err == nil {
			cfg.NoNewPrivileges = nnp
		}
	}
	var err error
	cfg.Network, cfg.Aliases = primaryNetwork(hc.NetworkMode, req.NetworkingConfig.EndpointsConfig)
	if cfg.Ports, err = dockeropts.PortBindings(hc.PortBindings); err != nil {
		return cfg, errorf(http.StatusBadRequest, "%v", err)
	}
	for _, b := range hc.Binds {
		m, err := dockeropts.ParseVolume(b)
		if err == nil {
			err = dockeropts.CreateBindSource(m)
		}
		if err != nil {
			return cfg, errorf(http.StatusBadRequest, "%v", err)
		}
		cfg.Mounts = append(cfg.Mounts, m)
	}
	for _, am := range hc.Mounts {
		m, err := dockeropts.FromAPIMount(am)
		if err == nil {
			err = dockeropts.CheckBindSource(m)
		}
		if err != nil {
			return cfg, errorf(http.StatusBadRequest, "%v", err)
		}
		cfg.Mounts = append(cfg.Mounts, m)
	}
	tmpfs, err := dockeropts.TmpfsMounts(hc.Tmpfs)
	if err != nil {
		return cfg, errorf(http.StatusBadRequest, "%v", err)
	}
	cfg.Mounts = append(cfg.Mounts, tmpfs...)
	for _, u := range hc.Ulimits {
		rl, err := dockeropts.Ulimit(u.Name, u.Soft, u.Hard)
		if err != nil {
			return cfg, errorf(http.StatusBadRequest, "%v", err)
		}
		cfg.Ulimits = append(cfg.Ulimits, rl)
	}
	res := &cfg.Resources
	res.MemoryLimit = hc.Memory
	res.MemorySwap = hc.MemorySwap
	if hc.PidsLimit != nil && *hc.PidsLimit > 0 {
		res.PidsLimit = *hc.PidsLimit
	}
	if hc.CpuShares > 0 {
		res.CPUShares = uint64(hc.CpuShares)
	}
	if hc.NanoCpus > 0 {
		res.CPUQuota, res.CPUPeriod = dockeropts.CPUQuota(hc.NanoCpus)
	} else if hc.CpuQuota > 0 {
		res.CPUQuota = hc.CpuQuota
		res.CPUPeriod = uint64(hc.CpuPeriod)
	}
	// Every container runs under its monitor and outlives skiffd; an open stdin or a
	// terminal is reached through its attach socket. The monitor carries out --rm.
	cfg.Detach = true
	cfg.OpenStdin = req.OpenStdin
	cfg.AutoRemove = hc.AutoRemove
	cfg.RestartPolicy = skiff.RestartPolicy(hc.RestartPolicy)
	cfg.Healthcheck = req.Healthcheck
	data, err := json.Marshal(req)
	if err != nil {
		return cfg, err
	}
	cfg.Extensions = map[string][]byte{extensionKey: data}
	return cfg, nil
}

func (d *daemon) containerCreate(w http.ResponseWriter, r *http.Request) error {
	var req createRequest
	if err := decodeBody(r, &req); err != nil {
		return err
	}
	name := strings.TrimPrefix(r.URL.Query().Get("name"), "/")
	ctx := context.WithoutCancel(r.Context())
	if _, err := d.e.Image(ctx, req.Image); err != nil {
		if errors.Is(err, registry.ErrImageNotFound) {
			ref := req.Image
			if n, err := registry.Normalize(ref); err == nil {
				ref = registry.Familiar(n)
			}
			return errorf(http.StatusNotFound, "No such image: %s", ref)
		}
		return err
	}
	id, err := d.create(ctx, &req, name)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusCreated, map[string]any{"Id": id, "Warnings": []string{}})
}

// create makes a container from a docker create request and records the request.
func (d *daemon) create(ctx context.Context, req *createRequest, name string) (string, error) {
	cfg, err := toConfig(req, name)
	if err != nil {
		return "", err
	}
	if req.HostConfig.PublishAllPorts {
		im, err := d.e.Image(ctx, cfg.Image)
		if err != nil {
			return "", imageError(cfg.Image, err)
		}
		exposed := slices.Sorted(maps.Keys(im.Config.Config.ExposedPorts))
		exposed = append(exposed, slices.Sorted(maps.Keys(req.ExposedPorts))...)
		if cfg.Ports, err = dockeropts.PublishAll(cfg.Ports, exposed); err != nil {
			return "", errorf(http.StatusBadRequest, "%v", err)
		}
	}
	c, err := d.e.Create(ctx, cfg)
	if err != nil {
		if errors.Is(err, skiff.ErrNameInUse) {
			return "", errorf(http.StatusConflict, "Conflict. The container name \"/%s\" is already in use: %v", name, err)
		}
		return "", err
	}
	if err := d.connectEndpoints(ctx, c, req); err != nil {
		return "", err
	}
	if rows, cols := req.HostConfig.ConsoleSize[0], req.HostConfig.ConsoleSize[1]; req.Tty && rows > 0 && cols > 0 {
		c.Resize(uint16(rows), uint16(cols))
	}
	return c.ID(), nil
}

// container finds a container by the ref in the path, as the daemon's error says.
func (d *daemon) container(ctx context.Context, ref string) (*skiff.Container, error) {
	c, err := d.e.Container(ctx, ref)
	if err != nil {
		return nil, containerError(ref, err)
	}
	return c, nil
}

// ports lists the container's published ports in the API's form.
func (d *daemon) ports(ctx context.Context, c *skiff.Container) []map[string]any {
	out := []map[string]any{}
	eps, err := c.Endpoints(ctx)
	if err != nil {
		return out
	}
	for _, ep := range eps {
		for _, p := range ep.Ports {
			ip := "0.0.0.0"
			if p.HostIP.IsValid() {
				ip = p.HostIP.String()
			}
			proto := p.Proto
			if proto == "" {
				proto = "tcp"
			}
			out = append(out, map[string]any{"IP": ip, "PrivatePort": p.ContainerPort, "PublicPort": p.HostPort, "Type": proto})
		}
	}
	return out
}

func command(req *createRequest) string {
	args := append(append([]string{}, req.Entrypoint...), req.Cmd...)
	return strings.Join(args, " ")
}

func (d *daemon) containerSummary(ctx context.Context, c *skiff.Container) map[string]any {
	st := c.State()
	req := request(c)
	labels := st.Labels
	if labels == nil {
		labels = map[string]string{}
	}
	return map[string]any{
		"Id": st.ID, "Names": []string{"/" + st.Name}, "Image": st.Image, "ImageID": st.ImageID,
		"Command": command(req), "Created": st.Created.Unix(), "State": dockeropts.ContainerStatus(st),
		"Status": dockeropts.StatusText(st, time.Now()), "Ports": d.ports(ctx, c), "Labels": labels, "Mounts": dockeropts.InspectMounts(ctx, d.e, c),
		"HostConfig":      map[string]string{"NetworkMode": st.Network},
		"NetworkSettings": map[string]any{"Networks": summaryNetworks(ctx, c)},
	}
}

func (d *daemon) containerList(w http.ResponseWriter, r *http.Request) error {
	ctx := r.Context()
	f, err := filters(r)
	if err != nil {
		return err
	}
	cs, err := d.e.Containers(ctx)
	if err != nil {
		return err
	}
	all, size := boolQuery(r, "all"), boolQuery(r, "size")
	out := []map[string]any{}
	for i := len(cs) - 1; i >= 0; i-- { // newest first
		c := cs[i]
		st := c.State()
		if !all && len(f["status"]) == 0 && st.Status != skiff.StatusRunning && st.Status != skiff.StatusPaused && !st.Restarting {
			continue
		}
		if !matches(f["status"], dockeropts.ContainerStatus(st)) || !matchesName(f["name"], st.Name) ||
			!matchesPrefix(f["id"], st.ID) || !matchLabels(f["label"], st.Labels) || !onNetworks(ctx, c, f["network"]) ||
			!matches(f["health"], dockeropts.HealthFilterValue(st)) {
			continue
		}
		sum := d.containerSummary(ctx, c)
		if size {
			addSizes(ctx, c, sum)
		}
		out = append(out, sum)
	}
	if n, err := strconv.Atoi(r.URL.Query().Get("limit")); err == nil && n > 0 && n < len(out) {
		out = out[:n]
	}
	return writeJSON(w, http.StatusOK, out)
}

func matches(want []string, v string) bool {
	if len(want) == 0 {
		return true
	}
	for _, w := range want {
		if w == v {
			return true
		}
	}
	return false
}

// matchesName is docker's name filter: a regular expression (or substring) of the name.
func matchesName(want []string, name string) bool {
	if len(want) == 0 {
		return true
	}
	for _, w := range want {
		if re, err := regexp.Compile(w); err == nil && re.MatchString(name) || strings.Contains(name, w) {
			return true
		}
	}
	return false
}

func matchesPrefix(want []string, v string) bool {
	if len(want) == 0 {
		return true
	}
	for _, w := range want {
		if strings.HasPrefix(v, w) {
			return true
		}
	}
	return false
}

func matchLabels(want []string, labels map[string]string) bool {
	for _, w := range want {
		k, v, hasV := strings.Cut(w, "=")
		got, ok := labels[k]
		if !ok || hasV && got != v {
			return false
		}
	}
	return true
}

func (d *daemon) containerInspect(w http.ResponseWriter, r *http.Request) error {
	ctx := r.Context()
	ref := r.PathValue("id")
	c, err := d.container(ctx, ref)
	if err != nil {
		return err
	}
	st := c.State()
	req := request(c)
	var path string
	var args []string
	if im, err := d.e.Image(ctx, st.ImageID); err == nil {
		cmd := append(append([]string{}, im.Config.Config.Entrypoint...), im.Config.Config.Cmd...)
		if req.Entrypoint != nil {
			cmd = append(append([]string{}, req.Entrypoint...), req.Cmd...)
		} else if len(req.Cmd) > 0 {
			cmd = append(append([]string{}, im.Config.Config.Entrypoint...), req.Cmd...)
		}
		if len(cmd) > 0 {
			path, args = cmd[0], cmd[1:]
		}
	}
	ports := map[string][]map[string]string{}
	for _, p := range d.ports(ctx, c) {
		key := fmt.Sprintf("%d/%s", p["PrivatePort"], p["Type"])
		ports[key] = append(ports[key], map[string]string{"HostIp": p["IP"].(string), "HostPort": fmt.Sprint(p["PublicPort"])})
	}
	for p := range req.ExposedPorts {
		if _, ok := ports[p]; !ok {
			ports[p] = nil
		}
	}
	networks := map[string]any{}
	ipAddr := ""
	if eps, err := c.Endpoints(ctx); err == nil {
		for _, ep := range eps {
			entry := dockeropts.EndpointJSON(ep)
			if ec := req.NetworkingConfig.EndpointsConfig[ep.Network]; ec != nil && len(ec.Links) > 0 {
				entry["Links"] = ec.Links
			}
			networks[ep.Network] = entry
			if ipAddr == "" {
				ipAddr = ep.Address.Addr().String()
			}
		}
	}
	config := map[string]any{
		"Hostname": st.Hostname, "User": req.User, "AttachStdin": req.AttachStdin, "AttachStdout": req.AttachStdout,
		"AttachStderr": req.AttachStderr, "Tty": req.Tty, "OpenStdin": req.OpenStdin, "StdinOnce": req.StdinOnce,
		"Env": req.Env, "Cmd": req.Cmd, "Entrypoint": req.Entrypoint, "Image": st.Image, "WorkingDir": req.WorkingDir,
		"Labels": st.Labels, "ExposedPorts": req.ExposedPorts, "Volumes": req.Volumes, "StopSignal": req.StopSignal,
	}
	if req.StopTimeout != nil {
		config["StopTimeout"] = *req.StopTimeout
	}
	if h := c.Config().Healthcheck; h != nil { // merged with the image's, as Docker shows it
		config["Healthcheck"] = h
	}
	state := dockeropts.InspectState(st)
	hc := req.HostConfig
	out := map[string]any{
		"Id": st.ID, "Created": dockeropts.InspectTime(st.Created), "Path": path, "Args": nonNil(args), "Name": "/" + st.Name,
		"State": state,
		"Image": st.ImageID, "ResolvConfPath": "", "HostnamePath": "", "HostsPath": "", "LogPath": "",
		"RestartCount": st.RestartCount, "Driver": "overlay", "Platform": "linux", "MountLabel": "", "ProcessLabel": "", "AppArmorProfile": "",
		"HostConfig": inspectHostConfig(c, st, hc),
		"Config":     config, "Mounts": dockeropts.InspectMounts(ctx, d.e, c),
		"NetworkSettings": map[string]any{"Ports": ports, "Networks": networks, "IPAddress": ipAddr},
	}
	if boolQuery(r, "size") {
		addSizes(ctx, c, out)
	}
	return writeJSON(w, http.StatusOK, out)
}

// addSizes sets SizeRw and SizeRootFs, as Docker's list and inspect do when asked
// (size=1).
func addSizes(ctx context.Context, c *skiff.Container, out map[string]any) {
	if rw, rootfs, err := c.Size(ctx); err == nil {
		out["SizeRw"], out["SizeRootFs"] = rw, rootfs
	}
}

func (d *daemon) containerDelete(w http.ResponseWriter, r *http.Request) error {
	ref := r.PathValue("id")
	ctx := context.WithoutCancel(r.Context())
	c, err := d.container(ctx, ref)
	if err != nil {
		return err
	}
	if boolQuery(r, "link") {
		return errorf(http.StatusConflict, "Conflict, cannot remove the default link name of the container")
	}
	var opts []skiff.DeleteOption
	if boolQuery(r, "force") {
		opts = append(opts, skiff.WithForce())
	}
	if err := d.deleteContainer(ctx, c, opts...); err != nil {
		var se *skiff.StateError
		if errors.As(err, &se) {
			return errorf(http.StatusConflict, "cannot remove container %q: container is %s: stop the container before removing or force remove", ref, se.From)
		}
		return containerError(ref, err)
	}
	return noContent(w)
}

// containerLinkDelete removes a legacy link: DELETE /containers/web/db?link=1 (docker
// rm --link /web/db) removes the link alias db of container web. Without link=1 the
// path names no container, as for Docker.
func (d *daemon) containerLinkDelete(w http.ResponseWriter, r *http.Request) error {
	ref, alias := r.PathValue("id"), r.PathValue("link")
	if !boolQuery(r, "link") {
		return errorf(http.StatusNotFound, "No such container: %s/%s", ref, alias)
	}
	ctx := context.WithoutCancel(r.Context())
	c, err := d.container(ctx, ref)
	if err != nil {
		return err
	}
	if err := c.RemoveLink(ctx, alias); err != nil {
		if errors.Is(err, netbridge.ErrLinkNotFound) {
			return errorf(http.StatusNotFound, "No such link: /%s/%s", ref, alias)
		}
		return containerError(ref, err)
	}
	return noContent(w)
}

// deleteContainer removes c with the library.
func (d *daemon) deleteContainer(ctx context.Context, c *skiff.Container, opts ...skiff.DeleteOption) error {
	return c.Delete(ctx, opts...)
}

// restartPolicy is HostConfig.RestartPolicy as inspect shows it ("no" when unset).
func restartPolicy(p dockeropts.RestartPolicy) dockeropts.RestartPolicy {
	if p.Name == "" {
		p.Name = "no"
	}
	return p
}
