package registry

import (
	"context"
	"fmt"
	"os"
	"slices"
	"strings"
	"syscall"

	"github.com/opencontainers/go-digest"
)

// BlobUsage is one stored blob and the room it takes.
type BlobUsage struct {
	Digest digest.Digest
	Size   int64 // content length in bytes
	Disk   int64 // bytes allocated on disk (blocks), what removing it frees
}

// Blobs lists the store's blobs, sorted by digest, with their sizes: what `docker
// system df` counts. Temp files of writes in flight are not blobs and are left out.
func (s *Store) Blobs(ctx context.Context) ([]BlobUsage, error) {
	ents, err := os.ReadDir(s.blobDir())
	if err != nil {
		return nil, fmt.Errorf("registry: blobs in %s: %w", s.dir, err)
	}
	var out []BlobUsage
	for _, e := range ents {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		if strings.HasPrefix(e.Name(), tmpPrefix) || !e.Type().IsRegular() {
			continue
		}
		d := digest.NewDigestFromEncoded(digest.SHA256, e.Name())
		if checkDigest(d) != nil {
			continue // not ours
		}
		fi, err := e.Info()
		if err != nil {
			continue // removed meanwhile
		}
		disk := fi.Size()
		if st, ok := fi.Sys().(*syscall.Stat_t); ok {
			disk = st.Blocks * 512
		}
		out = append(out, BlobUsage{Digest: d, Size: fi.Size(), Disk: disk})
	}
	slices.SortFunc(out, func(a, b BlobUsage) int { return strings.Compare(string(a.Digest), string(b.Digest)) })
	return out, nil
}
