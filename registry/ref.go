package registry

import (
	"fmt"
	"strings"

	"github.com/google/go-containerregistry/pkg/name"
)

// dockerHub is the registry name short references resolve to, spelled the way docker
// prints it (ggcr spells it "index.docker.io").
const dockerHub = "docker.io"

// Normalize returns the full form of an image reference, as stored in the layout's
// org.opencontainers.image.ref.name annotation: "busybox" →
// "docker.io/library/busybox:latest", "127.0.0.1:5000/busybox" →
// "127.0.0.1:5000/busybox:latest", "repo@sha256:…" stays a digest reference.
func Normalize(ref string) (string, error) {
	r, err := parseRef(ref)
	if err != nil {
		return "", err
	}
	return normalized(r), nil
}

// Familiar is a normalized name as docker prints it: "docker.io/library/busybox:latest"
// is "busybox:latest", "docker.io/user/app:1" is "user/app:1"; other registries' names
// stay whole.
func Familiar(normalized string) string {
	n := strings.TrimPrefix(normalized, dockerHub+"/library/")
	return strings.TrimPrefix(n, dockerHub+"/")
}

func parseRef(ref string, opts ...name.Option) (name.Reference, error) {
	if strings.TrimSpace(ref) == "" {
		return nil, fmt.Errorf("%w: empty reference", ErrInvalidReference)
	}
	r, err := name.ParseReference(ref, opts...)
	if err != nil {
		return nil, fmt.Errorf("%w: %q: %v", ErrInvalidReference, ref, err)
	}
	return r, nil
}

// normalized renders r with docker.io (not index.docker.io) as the hub's name.
func normalized(r name.Reference) string {
	repo := repoName(r.Context())
	switch r := r.(type) {
	case name.Digest:
		return repo + "@" + r.DigestStr()
	case name.Tag:
		return repo + ":" + r.TagStr()
	}
	return r.Name()
}

func repoName(repo name.Repository) string {
	reg := repo.RegistryStr()
	if reg == name.DefaultRegistry {
		reg = dockerHub
	}
	return reg + "/" + repo.RepositoryStr()
}
