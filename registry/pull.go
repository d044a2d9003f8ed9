package registry

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"sort"
	"strings"
	"syscall"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/remote/transport"

	"github.com/skiffrt/skiff/internal/exhausted"
)

// Pull fetches the image ref (a tag or digest reference; short names resolve on docker.io)
// from its registry into the store and names it ref (normalized) in index.json, replacing
// an earlier image of that name. For an image index it picks the manifest of the host
// platform, or the one of WithPlatform; none matching gives ErrPlatformNotFound listing the
// platforms the index has. Only the chosen platform's manifest is stored.
//
// Blobs the store has are not downloaded again; the others are downloaded concurrently
// (WithJobs), each verified against its digest while it streams to disk. Nothing becomes
// visible until every blob is verified, so a failed pull leaves index.json and the visible
// blobs as they were. Errors name the reference and wrap ErrImageNotFound (unknown tag or
// repository), ErrRegistryUnreachable (naming the address), ErrUnauthorized,
// ErrDigestMismatch, ErrManifestTooLarge or ErrInsecureRegistry; a registry's error response
// stays reachable as *transport.Error with errors.As.
//
// The CLI equivalent is `skopeo copy docker://REF oci:DIR:REF`.
func (s *Store) Pull(ctx context.Context, ref string, opts ...Option) (*Image, error) {
	o := makeOptions(opts)
	r, err := o.parseRemote(ref)
	if err != nil {
		return nil, fmt.Errorf("registry: pull: %w", err)
	}
	norm := normalized(r)
	reg := r.Context().RegistryStr()
	desc, err := remote.Get(r, o.remoteOptions(ctx)...)
	if err != nil {
		return nil, classify("pull", norm, reg, err)
	}
	img, err := o.resolve(norm, desc)
	if err != nil {
		return nil, classify("pull", norm, reg, err)
	}
	im, err := s.ingest(ctx, norm, img, o)
	if err != nil {
		return nil, classify("pull", norm, reg, err)
	}
	return im, nil
}

// parseRemote parses ref, marking its registry insecure for ggcr when the caller allowed it.
func (o *options) parseRemote(ref string) (name.Reference, error) {
	r, err := parseRef(ref)
	if err != nil {
		return nil, err
	}
	if o.isInsecure(r.Context().RegistryStr()) {
		return parseRef(ref, name.Insecure)
	}
	return r, nil
}

func (o *options) remoteOptions(ctx context.Context) []remote.Option {
	return append(o.transportOptions(ctx), remote.WithAuthFromKeychain(o.keychain))
}

// transportOptions are the remote options without credentials.
func (o *options) transportOptions(ctx context.Context) []remote.Option {
	return []remote.Option{
		remote.WithContext(ctx),
		remote.WithTransport(o.httpTransport()),
		remote.WithJobs(o.jobs),
		remote.WithUserAgent("skiff"),
		remote.WithRetryBackoff(remote.Backoff{Duration: 200 * time.Millisecond, Factor: 3, Jitter: 0.1, Steps: 3}),
	}
}

// resolve turns a fetched descriptor into the image to store: the image itself, or the
// wanted platform's image out of an index.
func (o *options) resolve(ref string, desc *remote.Descriptor) (v1.Image, error) {
	switch {
	case desc.MediaType.IsIndex():
		idx, err := desc.ImageIndex()
		if err != nil {
			return nil, err
		}
		im, err := idx.IndexManifest()
		if err != nil {
			return nil, err
		}
		d, err := pickPlatform(ref, im, o.platform)
		if err != nil {
			return nil, err
		}
		return idx.Image(d.Digest)
	case desc.MediaType.IsSchema1():
		return nil, fmt.Errorf("%w: %s (docker schema 1)", ErrUnsupportedMediaType, desc.MediaType)
	case desc.MediaType.IsImage():
		return desc.Image()
	}
	return nil, fmt.Errorf("%w: manifest %s: %q", ErrUnsupportedMediaType, desc.Digest, desc.MediaType)
}

// pickPlatform returns the first image manifest of im whose platform satisfies want.
func pickPlatform(ref string, im *v1.IndexManifest, want v1.Platform) (v1.Descriptor, error) {
	var have []string
	for _, d := range im.Manifests {
		if !d.MediaType.IsImage() || d.Platform == nil {
			continue
		}
		if d.Platform.OS == "unknown" { // attestation manifests (buildkit)
			continue
		}
		if d.Platform.Satisfies(want) {
			return d, nil
		}
		have = append(have, d.Platform.String())
	}
	sort.Strings(have)
	avail := strings.Join(have, ", ")
	if avail == "" {
		avail = "none"
	}
	return v1.Descriptor{}, fmt.Errorf("%w: %s has no image for %s (available: %s)", ErrPlatformNotFound, ref, want.String(), avail)
}

// platformOf is the platform an image config declares.
func platformOf(cfg *v1.ConfigFile) v1.Platform {
	return v1.Platform{OS: cfg.OS, Architecture: cfg.Architecture, Variant: cfg.Variant, OSVersion: cfg.OSVersion}
}

// classify wraps a pull/push error with the operation, the reference and a sentinel.
func classify(op, ref, reg string, err error) error {
	if err == nil {
		return nil
	}
	err = exhausted.Mark(err)
	prefix := "registry: " + op + " " + ref
	var terr *transport.Error
	if errors.As(err, &terr) {
		switch {
		case terr.StatusCode == http.StatusNotFound || hasCode(terr, transport.ManifestUnknownErrorCode, transport.NameUnknownErrorCode):
			return fmt.Errorf("%s: %w: %w", prefix, ErrImageNotFound, err)
		case terr.StatusCode == http.StatusUnauthorized || terr.StatusCode == http.StatusForbidden:
			return fmt.Errorf("%s: %w at registry %s: %w", prefix, ErrUnauthorized, reg, err)
		}
		return fmt.Errorf("%s: registry %s: %w", prefix, reg, err)
	}
	if isUnreachable(err) {
		return fmt.Errorf("%s: %w %s: %w", prefix, ErrRegistryUnreachable, reg, err)
	}
	if strings.HasPrefix(err.Error(), "registry: ") {
		return err // already ours, already naming the reference
	}
	return fmt.Errorf("%s: %w", prefix, err)
}

func hasCode(terr *transport.Error, codes ...transport.ErrorCode) bool {
	for _, d := range terr.Errors {
		for _, c := range codes {
			if d.Code == c {
				return true
			}
		}
	}
	return false
}

func isUnreachable(err error) bool {
	var dnsErr *net.DNSError
	var opErr *net.OpError
	switch {
	case errors.Is(err, syscall.ECONNREFUSED), errors.Is(err, syscall.EHOSTUNREACH),
		errors.Is(err, syscall.ENETUNREACH), errors.As(err, &dnsErr):
		return true
	case errors.As(err, &opErr) && opErr.Op == "dial":
		return true
	}
	var nerr net.Error
	return errors.As(err, &nerr) && nerr.Timeout() && !errors.Is(err, context.DeadlineExceeded)
}
