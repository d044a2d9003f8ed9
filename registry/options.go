package registry

import (
	"context"
	"io"
	"net/http"
	"runtime"

	"github.com/google/go-containerregistry/pkg/authn"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/opencontainers/go-digest"
)

// MaxManifestSize bounds manifests and indexes read from a registry (4 MiB, like
// containerd and distribution). A larger one fails with ErrManifestTooLarge.
const MaxManifestSize = 4 << 20

// Option configures Pull and Push.
type Option func(*options)

type options struct {
	platform    v1.Platform
	platformSet bool
	insecure    map[string]bool
	keychain    authn.Keychain
	progress    func(Progress)
	jobs        int
	transport   http.RoundTripper
	unpack      UnpackFunc
}

func makeOptions(opts []Option) *options {
	o := &options{
		platform: HostPlatform(),
		insecure: map[string]bool{},
		keychain: authn.DefaultKeychain,
		jobs:     4,
	}
	for _, opt := range opts {
		opt(o)
	}
	return o
}

// HostPlatform is the platform Pull picks from an image index by default: runtime.GOOS
// and runtime.GOARCH (no variant, so any variant of the architecture matches).
func HostPlatform() v1.Platform {
	return v1.Platform{OS: runtime.GOOS, Architecture: runtime.GOARCH}
}

// WithPlatform picks p from an image index instead of HostPlatform(). Empty fields (such as
// Variant) match anything. With this option a plain (single-platform) image whose config
// names another OS/architecture is refused with ErrPlatformNotFound.
func WithPlatform(p v1.Platform) Option {
	return func(o *options) { o.platform, o.platformSet = p, true }
}

// WithInsecure allows plain HTTP (and unverified TLS) to the given registries ("host" or
// "host:port"). Default: plain HTTP only for localhost, 127.0.0.1 and ::1; every other
// registry must speak verified HTTPS.
func WithInsecure(hosts ...string) Option {
	return func(o *options) {
		for _, h := range hosts {
			o.insecure[h] = true
		}
	}
}

// WithKeychain sets where credentials come from. Default: authn.DefaultKeychain, i.e. the
// docker config.json ($DOCKER_CONFIG/config.json or ~/.docker/config.json) with its
// credential helpers; anonymous when it has nothing for the registry.
func WithKeychain(k authn.Keychain) Option {
	return func(o *options) { o.keychain = k }
}

// WithProgress calls fn with per-blob progress events. Calls are serialized (never two at
// once), so fn needs no locking; fn must not block for long. Default: no events.
func WithProgress(fn func(Progress)) Option {
	return func(o *options) { o.progress = fn }
}

// WithJobs sets how many blobs are transferred at once. Default 4.
func WithJobs(n int) Option {
	return func(o *options) {
		if n > 0 {
			o.jobs = n
		}
	}
}

// WithTransport sets the base HTTP transport (e.g. one trusting a test CA). Default: a clone
// of http.DefaultTransport. The insecure-registry guard and the manifest size bound wrap it.
func WithTransport(t http.RoundTripper) Option {
	return func(o *options) { o.transport = t }
}

// UnpackFunc receives the UNCOMPRESSED tar stream of one layer of an image being pulled,
// with the layer's chain ID. See WithUnpack.
type UnpackFunc func(ctx context.Context, l Layer, chainID digest.Digest, tar io.Reader) error

// WithUnpack makes Pull hand every layer of the image to fn as an uncompressed tar stream,
// so the caller can unpack while the download runs (download, verify, decompress and
// unpack overlap; no temp tarball). fn is called once per layer (per chain ID), for layers
// the store already has too (the stream then comes from the stored blob), concurrently for
// up to WithJobs layers and in no particular order, and always before the image is named in
// index.json: an error from fn fails the pull and leaves the store as it was.
//
// fn reads bytes before the download's digest check has finished, so it MUST verify the
// stream against l.DiffID (overlay.Store.Unpack does) and make its result visible only
// then: the diff ID comes from the config, whose digest is verified, so a matching stream
// is sound whatever the transport did. If fn returns before the end of the stream, the rest
// is drained. If a download is retried, fn is called again with a fresh stream. Default:
// none (layers are only stored; OpenLayer reads them later).
func WithUnpack(fn UnpackFunc) Option {
	return func(o *options) { o.unpack = fn }
}
