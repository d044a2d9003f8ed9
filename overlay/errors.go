package overlay

import (
	"github.com/skiffrt/skiff/errdefs"
	"github.com/skiffrt/skiff/internal/exhausted"
)

var (
	// ErrDiffIDMismatch means the sha256 of an unpacked tar stream is not the
	// diffID the caller expected. The wrapping error names both digests.
	ErrDiffIDMismatch = errdefs.New(errdefs.ErrDataLoss, "layer diffID mismatch")
	// ErrUnsafePath means a tar entry name or hardlink target leaves the layer
	// root (e.g. "../etc/passwd"). The wrapping error names the entry.
	ErrUnsafePath = errdefs.New(errdefs.ErrInvalidArgument, "unsafe path in layer")
	// ErrLayerNotFound means no unpacked layer exists for a chainID.
	ErrLayerNotFound = errdefs.New(errdefs.ErrNotFound, "layer not found")
	// ErrInvalidDigest means a chainID or diffID is not a valid digest (chainIDs
	// must be sha256).
	ErrInvalidDigest = errdefs.New(errdefs.ErrInvalidArgument, "invalid digest")
	// ErrUnsupportedEntry means a tar entry has a type Unpack cannot create.
	ErrUnsupportedEntry = errdefs.New(errdefs.ErrInvalidArgument, "unsupported tar entry")
	// ErrNoSpace means Unpack found the store's file system full; the message names
	// the directory the layer was unpacked into and the entry. No layer and no temp
	// dir is left.
	ErrNoSpace = exhausted.ErrNoSpace
	// ErrTooManyFiles means Unpack ran out of file descriptors; the message names
	// what it could not open.
	ErrTooManyFiles = exhausted.ErrTooManyFiles
)
