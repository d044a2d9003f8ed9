package registry

import (
	"fmt"

	"github.com/skiffrt/skiff/errdefs"
	"github.com/skiffrt/skiff/internal/exhausted"

	"github.com/opencontainers/go-digest"
)

// Sentinel errors. Every error returned by this package that has one of these causes wraps
// it, so callers test with errors.Is. Errors coming from the registry keep ggcr's
// *transport.Error reachable with errors.As (status code, registry diagnostics).
var (
	// ErrImageNotFound: no such image, either in the store (Image, Tag, Remove) or in the
	// registry (Pull: unknown tag, digest or repository).
	ErrImageNotFound = errdefs.New(errdefs.ErrNotFound, "image not found")
	// ErrAmbiguous: an ID prefix matches more than one image.
	ErrAmbiguous = errdefs.New(errdefs.ErrInvalidArgument, "ambiguous image ID prefix")
	// ErrDigestMismatch: a blob's bytes do not hash to the digest (or size) that names it.
	// The concrete error is a *DigestError.
	ErrDigestMismatch = errdefs.New(errdefs.ErrDataLoss, "digest mismatch")
	// ErrPlatformNotFound: an image index has no manifest for the wanted platform. The
	// message lists the platforms it does have.
	ErrPlatformNotFound = errdefs.New(errdefs.ErrNotFound, "no matching platform")
	// ErrInvalidReference: a reference that does not parse (invalid characters, ...).
	ErrInvalidReference = errdefs.New(errdefs.ErrInvalidArgument, "invalid reference")
	// ErrUnsupportedMediaType: a manifest or layer media type this store does not handle
	// (schema 1 manifests, unknown layer compressions, ...).
	ErrUnsupportedMediaType = errdefs.New(errdefs.ErrInvalidArgument, "unsupported media type")
	// ErrManifestTooLarge: a manifest or index larger than MaxManifestSize.
	ErrManifestTooLarge = errdefs.New(errdefs.ErrInvalidArgument, "manifest too large")
	// ErrInsecureRegistry: plain HTTP to a registry that is neither loopback nor passed to
	// WithInsecure.
	ErrInsecureRegistry = errdefs.New(errdefs.ErrPermissionDenied, "plain http not allowed for registry")
	// ErrRegistryUnreachable: the registry could not be reached (connection refused, DNS,
	// timeout). The message names the address.
	ErrRegistryUnreachable = errdefs.New(errdefs.ErrUnavailable, "registry unreachable")
	// ErrUnauthorized: the registry refused the credentials (or their absence).
	ErrUnauthorized = errdefs.New(errdefs.ErrUnauthorized, "unauthorized")
	// ErrCorruptStore: the on-disk layout is damaged (unparsable index.json, missing
	// blob referenced by the index, ...).
	ErrCorruptStore = errdefs.New(errdefs.ErrDataLoss, "corrupt image store")
	// ErrNoSpace: a blob or index.json write found the store's file system full; the
	// message names the file. The store is left as it was (Pull, Write).
	ErrNoSpace = exhausted.ErrNoSpace
	// ErrTooManyFiles: the process ran out of file descriptors; the message names the
	// file it could not open. The store is left as it was.
	ErrTooManyFiles = exhausted.ErrTooManyFiles
)

// DigestError reports a blob whose content did not match its descriptor: the reference
// it was fetched for, the digest wanted and the digest of the bytes got, and the sizes.
// Its message names the digests; the errors that wrap it name the reference.
type DigestError struct {
	Ref      string        // the image reference being pulled or written
	Want     digest.Digest // the digest the manifest names
	Got      digest.Digest // the digest of the bytes read ("" if the read stopped early)
	WantSize int64         // expected size from the descriptor (-1 unknown)
	Read     int64         // bytes actually read
	Err      error         // underlying read error, if any
}

func (e *DigestError) Error() string {
	switch {
	case e.WantSize >= 0 && e.Read != e.WantSize:
		s := fmt.Sprintf("blob %s: size mismatch: want %d bytes, read %d", e.Want, e.WantSize, e.Read)
		if e.Err != nil {
			s += ": " + e.Err.Error()
		}
		return s
	default:
		return fmt.Sprintf("blob %s: digest mismatch: want %s, got %s after %d bytes", e.Want, e.Want, e.Got, e.Read)
	}
}

// Is makes errors.Is(err, ErrDigestMismatch) true.
func (e *DigestError) Is(target error) bool { return target == ErrDigestMismatch }

// Unwrap returns the underlying read error, if any.
func (e *DigestError) Unwrap() error { return e.Err }
