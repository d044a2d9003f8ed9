package compose

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"maps"
	"net/netip"
	"slices"

	"github.com/compose-spec/compose-go/v2/graph"
	"github.com/compose-spec/compose-go/v2/types"

	"github.com/skiffrt/skiff"
	"github.com/skiffrt/skiff/netbridge"
)

// UpOptions are docker compose up's.
type UpOptions struct {
	// Services limits Up to these services and what they depend on. Default: all.
	Services []string
	// Build builds every service with a build: section before starting it (--build);
	// without it a service is built only when its image is missing.
	Build bool
	// Scale overrides the replica count of services (--scale SERVICE=N).
	Scale map[string]int
}

// Up creates and starts the project (docker compose up -d): its networks and named
// volumes when missing, the images of build: services (through Engine.Build) and
// pulls of missing ones, then the containers of each service in dependency order,
// as many as its scale; replicas above the scale are removed. Containers already
// running are left running, stopped ones are started again.
func (p *Project) Up(ctx context.Context, opts UpOptions) error {
	proj := p.p
	if len(opts.Services) > 0 {
		var err error
		if proj, err = proj.WithSelectedServices(opts.Services); err != nil {
			return fmt.Errorf("%w: %w", ErrInvalidProject, err)
		}
	}
	if len(opts.Scale) > 0 { // scale this run only: the loaded model stays as it is
		cp := *proj
		cp.Services = maps.Clone(proj.Services)
		proj = &cp
	}
	for name, n := range opts.Scale {
		s, ok := proj.Services[name]
		if !ok {
			return fmt.Errorf("%w: --scale %s: no such service", ErrInvalidProject, name)
		}
		if s.Deploy != nil {
			d := *s.Deploy
			s.Deploy = &d
		}
		s.SetScale(n)
		proj.Services[name] = s
	}
	if err := p.ensureNetworks(ctx, proj); err != nil {
		return err
	}
	if err := p.ensureVolumes(ctx, proj); err != nil {
		return err
	}
	if err := p.ensureImages(ctx, proj, opts.Build); err != nil {
		return err
	}
	return graph.InDependencyOrder(ctx, proj, func(ctx context.Context, name string, s types.ServiceConfig) error {
		if err := p.awaitDependencies(ctx, proj, s); err != nil {
			return err
		}
		return p.ensureService(ctx, proj, s)
	}, graph.WithMaxConcurrency(1))
}

// ensureNetworks creates the project's networks its services use.
func (p *Project) ensureNetworks(ctx context.Context, proj *types.Project) error {
	used := map[string]bool{}
	for _, s := range proj.Services {
		for k := range s.Networks {
			used[k] = true
		}
	}
	for _, key := range slices.Sorted(maps.Keys(used)) {
		nc, ok := proj.Networks[key]
		if !ok {
			return fmt.Errorf("%w: undefined network %s", ErrInvalidProject, key)
		}
		if _, err := p.e.Networks().Network(ctx, nc.Name); err == nil {
			continue
		} else if !isNotFound(err) || bool(nc.External) {
			return fmt.Errorf("compose %s: network %s: %w", proj.Name, nc.Name, err)
		}
		cfg := netbridge.NetworkConfig{Name: nc.Name, Internal: nc.Internal, Labels: map[string]string{}}
		maps.Copy(cfg.Labels, nc.Labels)
		cfg.Labels[LabelProject] = proj.Name
		cfg.Labels[LabelNetwork] = key
		cfg.Labels[LabelVersion] = composeVersion
		if b := nc.DriverOpts["com.docker.network.bridge.name"]; b != "" {
			cfg.Bridge = b
		}
		if len(nc.Ipam.Config) > 0 {
			ic := nc.Ipam.Config[0]
			var err error
			if ic.Subnet != "" {
				if cfg.Subnet, err = netip.ParsePrefix(ic.Subnet); err != nil {
					return fmt.Errorf("%w: network %s: subnet %q: %w", ErrInvalidProject, key, ic.Subnet, err)
				}
			}
			if ic.Gateway != "" {
				if cfg.Gateway, err = netip.ParseAddr(ic.Gateway); err != nil {
					return fmt.Errorf("%w: network %s: gateway %q: %w", ErrInvalidProject, key, ic.Gateway, err)
				}
			}
			if ic.IPRange != "" {
				if cfg.IPRange, err = netip.ParsePrefix(ic.IPRange); err != nil {
					return fmt.Errorf("%w: network %s: ip_range %q: %w", ErrInvalidProject, key, ic.IPRange, err)
				}
			}
		}
		if _, err := p.e.CreateNetwork(ctx, cfg); err != nil {
			return fmt.Errorf("compose %s: %w", proj.Name, err)
		}
		p.report("Network", nc.Name, "Created")
	}
	return nil
}

// ensureVolumes creates the project's named volumes that are missing.
func (p *Project) ensureVolumes(ctx context.Context, proj *types.Project) error {
	for _, key := range slices.Sorted(maps.Keys(proj.Volumes)) {
		vc := proj.Volumes[key]
		if _, err := p.e.Volume(ctx, vc.Name); err == nil {
			continue
		} else if !isNotFound(err) || bool(vc.External) {
			return fmt.Errorf("compose %s: volume %s: %w", proj.Name, vc.Name, err)
		}
		labels := map[string]string{}
		maps.Copy(labels, vc.Labels)
		labels[LabelProject] = proj.Name
		labels[LabelVolume] = key
		labels[LabelVersion] = composeVersion
		if _, err := p.e.CreateVolume(ctx, vc.Name, labels); err != nil {
			return fmt.Errorf("compose %s: %w", proj.Name, err)
		}
		p.report("Volume", vc.Name, "Created")
	}
	return nil
}

// ensureImages builds the build: services (all with force, else those whose image is
// missing) and pulls the missing images of the others.
func (p *Project) ensureImages(ctx context.Context, proj *types.Project, force bool) error {
	for _, name := range proj.ServiceNames() {
		s := proj.Services[name]
		ref := ImageName(proj.Name, s)
		_, err := p.e.Image(ctx, ref)
		if err != nil && !isNotFound(err) {
			return fmt.Errorf("compose %s: service %s: %w", proj.Name, name, err)
		}
		missing := err != nil
		switch {
		case s.Build != nil && (force || missing):
			if err := p.build(ctx, s, ref); err != nil {
				return err
			}
			p.report("Image", ref, "Built")
		case missing && s.Image != "":
			if _, err := p.e.Pull(ctx, ref); err != nil {
				return fmt.Errorf("compose %s: service %s: %w", proj.Name, name, err)
			}
			p.report("Image", ref, "Pulled")
		case missing:
			return fmt.Errorf("%w: service %s has neither image nor build", ErrInvalidProject, name)
		}
	}
	return nil
}

// build builds service s's image as ref through the engine's builder.
func (p *Project) build(ctx context.Context, s types.ServiceConfig, ref string) error {
	b := s.Build
	opts := skiff.BuildOptions{
		ContextDir: b.Context,
		Dockerfile: b.Dockerfile,
		Tags:       append([]string{ref}, b.Tags...),
		Target:     b.Target,
		NoCache:    b.NoCache,
		Labels:     b.Labels,
		Network:    b.Network,
		BuildArgs:  map[string]string{},
	}
	if b.DockerfileInline != "" {
		opts.DockerfileContent = []byte(b.DockerfileInline)
	}
	if len(b.Platforms) > 0 {
		opts.Platform = b.Platforms[0]
	}
	for k, v := range b.Args {
		if v != nil {
			opts.BuildArgs[k] = *v
		}
	}
	if _, err := p.e.Build(ctx, opts); err != nil {
		return fmt.Errorf("compose %s: build service %s: %w", p.p.Name, s.Name, err)
	}
	return nil
}

// ensureService brings service s to its scale: existing replicas are started when
// stopped, missing ones created and started, extra ones removed.
func (p *Project) ensureService(ctx context.Context, proj *types.Project, s types.ServiceConfig) error {
	have, err := p.Containers(ctx, s.Name)
	if err != nil {
		return err
	}
	scale := s.GetScale()
	byNumber := map[int]ServiceContainer{}
	for _, c := range have {
		if c.Number < 1 || c.Number > scale {
			if err := p.remove(ctx, c, stopTimeout(s), false); err != nil {
				return err
			}
			continue
		}
		byNumber[c.Number] = c
	}
	for n := 1; n <= scale; n++ {
		c, ok := byNumber[n]
		if ok {
			want, err := p.configHash(ctx, proj, s, n)
			if err != nil {
				return err
			}
			if c.State.Labels[LabelConfigHash] != want { // the file or the image changed
				if err := p.remove(ctx, c, stopTimeout(s), false); err != nil {
					return err
				}
				p.report("Container", c.Name, "Recreate")
				ok = false
			}
		}
		if ok {
			switch c.State.Status {
			case skiff.StatusRunning, skiff.StatusPaused:
				p.report("Container", c.Name, "Running")
			default:
				if err := c.Container.Start(ctx); err != nil {
					return fmt.Errorf("compose %s: start %s: %w", proj.Name, c.Name, err)
				}
				p.report("Container", c.Name, "Started")
			}
			continue
		}
		if err := p.createReplica(ctx, proj, s, n); err != nil {
			return err
		}
	}
	return nil
}

// createReplica creates, connects and starts replica n of s; on failure it removes
// what it made.
func (p *Project) createReplica(ctx context.Context, proj *types.Project, s types.ServiceConfig, n int) (err error) {
	cfg, err := ContainerConfig(proj, s, n)
	if err != nil {
		return err
	}
	if cfg.Labels[LabelConfigHash], err = p.configHash(ctx, proj, s, n); err != nil {
		return err
	}
	if img, err := p.e.Image(ctx, cfg.Image); err == nil {
		cfg.Labels[LabelImage] = img.ID.String() // as docker compose: the image it runs
	}
	c, err := p.e.Create(ctx, cfg)
	if err != nil {
		return fmt.Errorf("compose %s: create %s: %w", proj.Name, cfg.Name, err)
	}
	defer func() {
		if err != nil {
			_ = c.Delete(context.WithoutCancel(ctx), skiff.WithForce())
		}
	}()
	p.report("Container", cfg.Name, "Created")
	if cfg.Network != skiff.NetworkNone && cfg.Network != skiff.NetworkHost {
		for _, key := range serviceNetworks(s)[1:] {
			nc := proj.Networks[key]
			opts := skiff.ConnectOptions{Aliases: aliases(s, key, cfg.Name)}
			if snc := s.Networks[key]; snc != nil && snc.Ipv4Address != "" {
				if opts.IP, err = netip.ParseAddr(snc.Ipv4Address); err != nil {
					return fmt.Errorf("%w: service %s: ipv4_address %q: %w", ErrInvalidProject, s.Name, snc.Ipv4Address, err)
				}
			}
			if _, err := c.ConnectWith(ctx, nc.Name, opts); err != nil {
				return fmt.Errorf("compose %s: %w", proj.Name, err)
			}
		}
	}
	if err := c.Start(ctx); err != nil {
		return fmt.Errorf("compose %s: start %s: %w", proj.Name, cfg.Name, err)
	}
	p.report("Container", cfg.Name, "Started")
	return nil
}

// configHash is what replica n of s is created from: its container config and the ID
// of its image, hashed. A container whose label differs is recreated by Up, as docker
// compose recreates a container when the file or the image changed.
func (p *Project) configHash(ctx context.Context, proj *types.Project, s types.ServiceConfig, n int) (string, error) {
	cfg, err := ContainerConfig(proj, s, n)
	if err != nil {
		return "", err
	}
	img, err := p.e.Image(ctx, cfg.Image)
	if err != nil {
		return "", fmt.Errorf("compose %s: service %s: %w", proj.Name, s.Name, err)
	}
	cfg.Labels[LabelImage] = img.ID.String()
	b, err := json.Marshal(cfg)
	if err != nil {
		return "", err
	}
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:]), nil
}
