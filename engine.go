package skiff

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"

	"golang.org/x/sync/errgroup"

	godigest "github.com/opencontainers/go-digest"
	"github.com/opencontainers/image-spec/identity"

	"github.com/skiffrt/skiff/netbridge"
	"github.com/skiffrt/skiff/overlay"
	"github.com/skiffrt/skiff/registry"
)

// DefaultRoot is the engine root used when WithRoot is not given.
const DefaultRoot = "/var/lib/skiff"

// Engine is one Skiff state root: its image store, its unpacked layers and its
// containers. Several Engines (in one process or in several) may share a root; every
// write that others read is atomic and guarded by file locks.
type Engine struct {
	root         string
	log          *slog.Logger
	images       *registry.Store
	layers       *overlay.Store
	insecure     []string
	cgroupParent string
	net          *netbridge.Manager
	ctrs         containerStore // <root>/containers
	vols         *volumeStore   // <root>/volumes
	netTable     string
	netBridge    string
	rootless     bool      // in a user namespace (InitRootless): no cgroups, no bridges
	warm         *warmPool // WithWarmInit (warm.go)
}

type options struct {
	root         string
	log          *slog.Logger
	insecure     []string
	cgroupParent string
	netTable     string
	netBridge    string
	warm         bool
}

// Option configures an Engine.
type Option func(*options)

// WithRoot sets the engine's state root. Default: DefaultRoot (/var/lib/skiff).
func WithRoot(dir string) Option { return func(o *options) { o.root = dir } }

// WithLogger sets the logger for engine events. Default: slog.Default().
func WithLogger(l *slog.Logger) Option { return func(o *options) { o.log = l } }

// WithInsecureRegistries lets the engine talk plain HTTP to these registry hosts
// ("host" or "host:port"). localhost, 127.0.0.1 and ::1 are always allowed. Default: none.
func WithInsecureRegistries(hosts ...string) Option {
	return func(o *options) { o.insecure = append(o.insecure, hosts...) }
}

// WithCgroupParent sets the cgroup under which every container's cgroup is created
// (its own directory "<parent>/<container id>"). Default: "skiff".
func WithCgroupParent(name string) Option { return func(o *options) { o.cgroupParent = name } }

// WithNetworkNames sets the names of the kernel objects the engine's networks own: the
// nftables table holding its NAT rules and the bridge of the default network. Engines on
// different roots of one host must use different names. Default: "skiff", "skiff0".
func WithNetworkNames(table, defaultBridge string) Option {
	return func(o *options) { o.netTable, o.netBridge = table, defaultBridge }
}

// New opens (creating if needed) the engine root and returns an Engine on it.
func New(opts ...Option) (*Engine, error) {
	o := options{root: DefaultRoot, log: slog.Default(), cgroupParent: "skiff",
		netTable: netbridge.DefaultTable, netBridge: netbridge.DefaultBridge}
	for _, opt := range opts {
		opt(&o)
	}
	root, err := filepath.Abs(o.root)
	if err != nil {
		return nil, fmt.Errorf("engine root %q: %w", o.root, err)
	}
	for _, d := range []string{root, filepath.Join(root, "containers")} {
		if err := os.MkdirAll(d, 0o711); err != nil {
			return nil, fmt.Errorf("engine root: %w", err)
		}
	}
	images, err := registry.Open(filepath.Join(root, "images"))
	if err != nil {
		return nil, fmt.Errorf("engine root %s: %w", root, err)
	}
	rootless := Rootless()
	var layerOpts []overlay.Option
	if rootless {
		layerOpts = append(layerOpts, overlay.WithUserXattr())
	}
	layers, err := overlay.NewStore(filepath.Join(root, "layers"), layerOpts...)
	if err != nil {
		return nil, fmt.Errorf("engine root %s: %w", root, err)
	}
	net, err := netbridge.New(filepath.Join(root, "network"),
		netbridge.WithLogger(o.log), netbridge.WithTable(o.netTable), netbridge.WithDefaultBridge(o.netBridge))
	if err != nil {
		return nil, fmt.Errorf("engine root %s: %w", root, err)
	}
	ctrs := containerStore{dir: filepath.Join(root, "containers")}
	e := &Engine{
		ctrs:         ctrs,
		vols:         &volumeStore{dir: filepath.Join(root, "volumes"), rootLock: filepath.Join(root, ".lock"), ctrs: ctrs, log: o.log},
		net:          net,
		netTable:     o.netTable,
		netBridge:    o.netBridge,
		root:         root,
		log:          o.log,
		images:       images,
		layers:       layers,
		insecure:     o.insecure,
		cgroupParent: o.cgroupParent,
		rootless:     rootless,
	}
	if o.warm {
		if e.warm, err = startWarm(); err != nil {
			return nil, fmt.Errorf("engine root %s: warm init: %w", root, err)
		}
	}
	return e, nil
}

// Root returns the engine's state root directory.
func (e *Engine) Root() string { return e.root }

// Images returns the engine's image store (an OCI image layout under Root()/images).
func (e *Engine) Images() *registry.Store { return e.images }

// Layers returns the engine's store of unpacked layers (Root()/layers).
func (e *Engine) Layers() *overlay.Store { return e.layers }

// Pull fetches ref from its registry into the image store and unpacks its layers, so
// that containers of it start without further I/O. Options are those of
// registry.Store.Pull; the engine adds its insecure registries.
func (e *Engine) Pull(ctx context.Context, ref string, opts ...registry.Option) (*registry.Image, error) {
	e.heal(ctx)
	// Layers unpack while they download: the stream is verified against its diff ID
	// by the layer store before the layer becomes visible.
	unpack := func(ctx context.Context, l registry.Layer, chain godigest.Digest, tar io.Reader) error {
		if e.layers.Has(chain) {
			return nil
		}
		return e.layers.Unpack(ctx, chain, l.DiffID, tar)
	}
	all := append([]registry.Option{registry.WithInsecure(e.insecure...), registry.WithUnpack(unpack)}, opts...)
	had := e.layerSet() // a failed pull removes the layers it unpacked
	img, err := e.images.Pull(ctx, ref, all...)
	if err != nil {
		return nil, e.failedPull(ctx, err, had)
	}
	if err := e.unpack(ctx, img); err != nil {
		return nil, e.failed(ctx, err)
	}
	e.emit(EventImage, "pull", ref, map[string]string{"name": ref})
	return img, nil
}

// Tag gives the stored image src the name dst (docker tag).
func (e *Engine) Tag(ctx context.Context, src, dst string) error {
	if err := e.images.Tag(ctx, src, dst); err != nil {
		return err
	}
	if img, err := e.images.Image(ctx, dst); err == nil {
		name := dst
		if n, err := registry.Normalize(dst); err == nil {
			name = n
		}
		e.emit(EventImage, "tag", img.ID.String(), map[string]string{"name": name})
	}
	return nil
}

// Image finds an image in the local store by name, digest or ID (prefix). It wraps
// registry.ErrImageNotFound when there is none.
func (e *Engine) Image(ctx context.Context, ref string) (*registry.Image, error) {
	return e.images.Image(ctx, ref)
}

// chainIDs returns the chain ID of each layer of img, bottom to top.
func chainIDs(img *registry.Image) []godigest.Digest {
	diffIDs := make([]godigest.Digest, len(img.Layers))
	for i, l := range img.Layers {
		diffIDs[i] = l.DiffID
	}
	return identity.ChainIDs(diffIDs)
}

// unpack makes sure every layer of img is unpacked in the layer store. Layers unpack
// concurrently: each goes into its own directory, independent of the others.
func (e *Engine) unpack(ctx context.Context, img *registry.Image) error {
	chains := chainIDs(img)
	g, ctx := errgroup.WithContext(ctx)
	g.SetLimit(4)
	for i, l := range img.Layers {
		chain := chains[i]
		if e.layers.Has(chain) {
			continue
		}
		g.Go(func() error {
			rc, err := e.images.OpenLayer(ctx, l)
			if err != nil {
				return fmt.Errorf("image %s: layer %s: %w", img.Name, l.Digest, err)
			}
			defer rc.Close()
			if err := e.layers.Unpack(ctx, chain, l.DiffID, rc); err != nil {
				return fmt.Errorf("image %s: layer %s: %w", img.Name, l.Digest, err)
			}
			return nil
		})
	}
	return g.Wait()
}
