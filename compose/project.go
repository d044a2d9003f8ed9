package compose

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strconv"
	"strings"

	"github.com/compose-spec/compose-go/v2/types"

	"github.com/skiffrt/skiff"
	"github.com/skiffrt/skiff/errdefs"
	"github.com/skiffrt/skiff/netbridge"
)

// ErrNoContainer is returned when a service has no container to act on (exec, logs of
// a service that is not up).
var ErrNoContainer = errdefs.New(errdefs.ErrNotFound, "no such service container")

// Project is a loaded Compose project bound to the engine that runs it. Its methods
// are docker compose's commands. A Project holds no state of its own: what runs is
// found through the labels on the engine's containers, networks and volumes, so any
// process on the same engine root (or docker compose through skiffd) sees the same
// application.
type Project struct {
	e        *skiff.Engine
	p        *types.Project
	log      *slog.Logger
	progress func(Event)
}

// Option configures a Project.
type Option func(*Project)

// WithLogger sets the logger of debug events. Default: slog.Default().
func WithLogger(l *slog.Logger) Option { return func(p *Project) { p.log = l } }

// WithProgress receives an Event for each object Up or Down creates, starts, stops or
// removes (docker compose's "✔ Container app-web-1  Started" lines).
func WithProgress(fn func(Event)) Option { return func(p *Project) { p.progress = fn } }

// Event reports one step of Up or Down.
type Event struct {
	// Kind is "Network", "Volume", "Image" or "Container".
	Kind string
	// Name is the object's engine name.
	Name string
	// Status is what happened: "Created", "Built", "Pulled", "Started", "Healthy",
	// "Running", "Stopped", "Removed".
	Status string
}

// New binds project p to engine e.
func New(e *skiff.Engine, p *types.Project, opts ...Option) *Project {
	pr := &Project{e: e, p: p, log: slog.Default()}
	for _, o := range opts {
		o(pr)
	}
	return pr
}

// Name is the project's name.
func (p *Project) Name() string { return p.p.Name }

// Spec is the loaded Compose model (docker compose config prints it).
func (p *Project) Spec() *types.Project { return p.p }

func (p *Project) report(kind, name, status string) {
	p.log.Debug("compose", "kind", kind, "name", name, "status", status)
	if p.progress != nil {
		p.progress(Event{Kind: kind, Name: name, Status: status})
	}
}

// ServiceContainer is one container of the project, as docker compose ps lists it.
type ServiceContainer struct {
	// Container is the engine's container.
	Container *skiff.Container
	// Name, Service and Number are its name, service and replica number.
	Name    string
	Service string
	Number  int
	// State is its engine state.
	State skiff.State
	// Ports are its published ports, with the host ports chosen for HostPort 0.
	Ports []netbridge.PortMapping
}

// Containers returns the project's containers (of the given services, or all),
// sorted by service and number. The engine's labels decide, not the file: containers
// of services removed from the file are listed too.
func (p *Project) Containers(ctx context.Context, services ...string) ([]ServiceContainer, error) {
	all, err := p.e.Containers(ctx)
	if err != nil {
		return nil, fmt.Errorf("compose %s: %w", p.p.Name, err)
	}
	var out []ServiceContainer
	for _, c := range all {
		st := c.State()
		if st.Labels[LabelProject] != p.p.Name || st.Labels[LabelOneoff] == "True" {
			continue
		}
		svc := st.Labels[LabelService]
		if len(services) > 0 && !slices.Contains(services, svc) {
			continue
		}
		n, _ := strconv.Atoi(st.Labels[LabelNumber])
		sc := ServiceContainer{Container: c, Name: st.Name, Service: svc, Number: n, State: st, Ports: st.Ports}
		if st.Status == skiff.StatusRunning || st.Status == skiff.StatusPaused {
			if eps, err := c.Endpoints(ctx); err == nil {
				var ports []netbridge.PortMapping
				for _, ep := range eps {
					ports = append(ports, ep.Ports...)
				}
				if len(ports) > 0 {
					sc.Ports = ports
				}
			}
		}
		out = append(out, sc)
	}
	slices.SortFunc(out, func(a, b ServiceContainer) int {
		if c := strings.Compare(a.Service, b.Service); c != 0 {
			return c
		}
		return a.Number - b.Number
	})
	return out, nil
}

// Container returns replica index (from 1) of service: docker compose exec --index.
func (p *Project) Container(ctx context.Context, service string, index int) (*skiff.Container, error) {
	cs, err := p.Containers(ctx, service)
	if err != nil {
		return nil, err
	}
	for _, c := range cs {
		if c.Number == index {
			return c.Container, nil
		}
	}
	return nil, fmt.Errorf("%w: service %s of project %s, replica %d", ErrNoContainer, service, p.p.Name, index)
}

// networks returns the engine networks of the project (by label).
func (p *Project) networks(ctx context.Context) ([]netbridge.Network, error) {
	nets, err := p.e.Networks().Networks(ctx)
	if err != nil {
		return nil, err
	}
	var out []netbridge.Network
	for _, n := range nets {
		if n.Labels[LabelProject] == p.p.Name {
			out = append(out, n)
		}
	}
	return out, nil
}

func isNotFound(err error) bool { return errors.Is(err, errdefs.ErrNotFound) }
