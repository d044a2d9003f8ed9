package builder

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"hash"
	"os"
	"path/filepath"
	"time"

	"github.com/opencontainers/go-digest"

	"github.com/skiffrt/skiff/registry"
)

// A cache key is a sha256 over the parent's key and the parts of a step.
type keyer struct{ h hash.Hash }

func newKey(parent string) *keyer {
	k := &keyer{h: sha256.New()}
	k.add(parent)
	return k
}

// add hashes each part with its length, so part boundaries are unambiguous.
func (k *keyer) add(parts ...string) *keyer {
	for _, p := range parts {
		fmt.Fprintf(k.h, "%d:%s;", len(p), p)
	}
	return k
}

func (k *keyer) sum() string { return hex.EncodeToString(k.h.Sum(nil)) }

// cacheEntry is what the build cache records for a filesystem step.
type cacheEntry struct {
	Layer     registry.Layer `json:"layer"`
	Created   time.Time      `json:"created"`
	CreatedBy string         `json:"created_by"`
}

func (b *Builder) keyPath(key string) string {
	return filepath.Join(b.cfg.CacheDir, "keys", key[:2], key+".json")
}

// lookup returns the cached result of the step with this key, if the entry
// and its blob exist.
func (b *Builder) lookup(key string) (*cacheEntry, string, bool) {
	data, err := os.ReadFile(b.keyPath(key))
	if err != nil {
		return nil, "", false
	}
	var e cacheEntry
	if err := json.Unmarshal(data, &e); err != nil || e.Layer.Digest.Validate() != nil {
		return nil, "", false
	}
	blob := b.blobPath(e.Layer.Digest)
	if fi, err := os.Stat(blob); err != nil || fi.Size() != e.Layer.Size {
		return nil, "", false
	}
	return &e, blob, true
}

// record stores the result of a step under its key (temp file + rename).
func (b *Builder) record(key string, e cacheEntry) error {
	data, err := json.Marshal(e)
	if err != nil {
		return err
	}
	dir := filepath.Dir(b.keyPath(key))
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return err
	}
	tmp, err := os.CreateTemp(dir, ".tmp-key-")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), b.keyPath(key))
}

// digestKey turns an image digest into a key root.
func digestKey(d digest.Digest) string { return "image:" + d.String() }
