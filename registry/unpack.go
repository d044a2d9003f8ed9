package registry

import (
	"context"
	"fmt"
	"io"
	"os"

	"github.com/google/go-containerregistry/pkg/v1/types"
	"github.com/opencontainers/go-digest"
)

// unpackJob is one WithUnpack call for one layer.
type unpackJob struct {
	fn      UnpackFunc
	layer   Layer
	chainID digest.Digest
}

// fromStream decompresses the compressed bytes arriving on pr and hands them to fn. It
// always consumes pr to the end (or closes it with fn's error, which fails the writer).
func (u *unpackJob) fromStream(ctx context.Context, pr *io.PipeReader) error {
	err := u.run(ctx, pr)
	if err != nil {
		pr.CloseWithError(err)
		return err
	}
	io.Copy(io.Discard, pr)
	return nil
}

// fromFile hands fn the decompressed content of a blob on disk.
func (u *unpackJob) fromFile(ctx context.Context, path string) error {
	f, err := os.Open(path)
	if err != nil {
		return fmt.Errorf("layer %s: %w", u.layer.Digest, err)
	}
	defer f.Close()
	return u.run(ctx, f)
}

func (u *unpackJob) run(ctx context.Context, r io.Reader) error {
	rc, err := decompress(io.NopCloser(r), types.MediaType(u.layer.MediaType))
	if err != nil {
		return fmt.Errorf("layer %s: %w", u.layer.Digest, err)
	}
	defer rc.Close()
	if err := u.fn(ctx, u.layer, u.chainID, rc); err != nil {
		return &unpackError{digest: u.layer.Digest, err: err}
	}
	// Drain what fn left so the tee (and the gzip trailer check) completes.
	if _, err := io.Copy(io.Discard, rc); err != nil {
		return fmt.Errorf("layer %s: %w", u.layer.Digest, err)
	}
	return nil
}

// unpackError is a failure of the caller's UnpackFunc: not retried, and reported in
// preference to the download error it causes.
type unpackError struct {
	digest digest.Digest
	err    error
}

func (e *unpackError) Error() string { return fmt.Sprintf("layer %s: %v", e.digest, e.err) }
func (e *unpackError) Unwrap() error { return e.err }
