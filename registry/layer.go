package registry

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"os"

	"github.com/google/go-containerregistry/pkg/v1/types"
	"github.com/klauspost/compress/gzip"
	"github.com/klauspost/compress/zstd"
)

var (
	gzipMagic = []byte{0x1f, 0x8b}
	zstdMagic = []byte{0x28, 0xb5, 0x2f, 0xfd}
)

// OpenLayer returns the UNCOMPRESSED tar stream of a stored layer blob, whatever its
// compression: gzip, zstd or none, by media type (and by magic bytes for a media type it
// does not know). The blob's digest was verified when it was stored; the caller verifies the
// stream against l.DiffID (overlay.Store.Unpack does). Close the result.
func (s *Store) OpenLayer(ctx context.Context, l Layer) (io.ReadCloser, error) {
	if err := checkDigest(l.Digest); err != nil {
		return nil, fmt.Errorf("registry: open layer: %w", err)
	}
	f, err := os.Open(s.blobPath(l.Digest))
	if err != nil {
		return nil, fmt.Errorf("registry: open layer %s: %w", l.Digest, err)
	}
	rc, err := decompress(f, types.MediaType(l.MediaType))
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("registry: open layer %s: %w", l.Digest, err)
	}
	return rc, nil
}

// decompress wraps f (closed by the result) in the decompressor mediaType calls for.
func decompress(f io.ReadCloser, mediaType types.MediaType) (io.ReadCloser, error) {
	br := bufio.NewReaderSize(f, 1<<20)
	kind := ""
	switch mediaType {
	case types.DockerLayer, types.DockerForeignLayer, types.OCILayer, types.OCIRestrictedLayer:
		kind = "gzip"
	case types.OCILayerZStd:
		kind = "zstd"
	case types.DockerUncompressedLayer, types.OCIUncompressedLayer, types.OCIUncompressedRestrictedLayer:
		kind = "tar"
	default:
		head, _ := br.Peek(4)
		switch {
		case bytes.HasPrefix(head, gzipMagic):
			kind = "gzip"
		case bytes.HasPrefix(head, zstdMagic):
			kind = "zstd"
		default:
			kind = "tar"
		}
	}
	switch kind {
	case "gzip":
		zr, err := gzip.NewReader(br)
		if err != nil {
			return nil, fmt.Errorf("gzip: %w", err)
		}
		return &stack{Reader: zr, closers: []func() error{zr.Close, f.Close}}, nil
	case "zstd":
		zr, err := zstd.NewReader(br, zstd.WithDecoderConcurrency(1), zstd.WithDecoderLowmem(false))
		if err != nil {
			return nil, fmt.Errorf("zstd: %w", err)
		}
		return &stack{Reader: zr, closers: []func() error{func() error { zr.Close(); return nil }, f.Close}}, nil
	}
	return &stack{Reader: br, closers: []func() error{f.Close}}, nil
}

// stack is a reader whose Close closes each layer of a decompression stack.
type stack struct {
	io.Reader
	closers []func() error
}

func (s *stack) Close() error {
	var first error
	for _, c := range s.closers {
		if err := c(); err != nil && first == nil {
			first = err
		}
	}
	return first
}
