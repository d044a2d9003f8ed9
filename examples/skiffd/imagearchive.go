package main

import (
	"errors"
	"io"
	"net/http"
	"strconv"
	"strings"

	v1 "github.com/google/go-containerregistry/pkg/v1"

	"github.com/skiffrt/skiff"
	"github.com/skiffrt/skiff/builder"
	"github.com/skiffrt/skiff/registry"
)

func (d *daemon) imageArchiveRoutes(h func(string, apiFunc)) {
	h("POST /commit", d.commit)
	h("GET /distribution/{rest...}", d.distributionInspect)
	h("POST /containers/prune", d.containerPrune)
	h("POST /images/prune", d.imagePrune)
	h("POST /build/prune", d.buildPrune)
	h("GET /images/get", func(w http.ResponseWriter, r *http.Request) error {
		return d.imageSave(w, r, r.URL.Query()["names"])
	})
	h("POST /images/load", d.imageLoad)
}

// imageSave streams the images as one docker-archive tar (docker save).
func (d *daemon) imageSave(w http.ResponseWriter, r *http.Request, names []string) error {
	if len(names) == 0 {
		return errorf(http.StatusBadRequest, "no image names given")
	}
	for _, n := range names {
		if _, err := d.e.Image(r.Context(), n); err != nil {
			return imageError(n, err)
		}
	}
	w.Header().Set("Content-Type", "application/x-tar")
	w.WriteHeader(http.StatusOK)
	if err := d.e.SaveImages(r.Context(), w, names...); err != nil {
		d.log.Warn("save", "images", names, "err", err) // the status is sent: cut the stream
		panic(http.ErrAbortHandler)
	}
	return nil
}

// imageLoad stores the images of a docker-archive tar (docker load).
func (d *daemon) imageLoad(w http.ResponseWriter, r *http.Request) error {
	names, err := d.e.LoadImages(r.Context(), r.Body)
	if err != nil && len(names) == 0 {
		if errors.Is(err, skiff.ErrInvalidArchive) {
			return errorf(http.StatusBadRequest, "%v", err)
		}
		return err
	}
	p := progressStream{startStream(w, "application/json")}
	for _, n := range names {
		p.send(map[string]any{"stream": "Loaded image: " + n + "\n"})
	}
	if err != nil {
		p.fail(err)
	}
	return nil
}

// imagePrune removes dangling images, or with dangling=false every unused one.
func (d *daemon) imagePrune(w http.ResponseWriter, r *http.Request) error {
	f, err := filters(r)
	if err != nil {
		return err
	}
	var opts skiff.PruneImagesOptions
	for k, vs := range f {
		switch k {
		case "dangling":
			for _, v := range vs {
				b, err := strconv.ParseBool(v)
				if err != nil {
					return errorf(http.StatusBadRequest, "invalid filter 'dangling=%s'", v)
				}
				opts.All = !b
			}
		default:
			return errorf(http.StatusBadRequest, "invalid filter '%s' (only dangling is supported)", k)
		}
	}
	rep, err := d.e.PruneImages(r.Context(), opts)
	if err != nil {
		return err
	}
	deleted := []map[string]string{}
	for _, n := range rep.Images {
		if !strings.Contains(n, "@") {
			deleted = append(deleted, map[string]string{"Untagged": registry.Familiar(n)})
		}
	}
	for _, id := range rep.ImageIDs {
		deleted = append(deleted, map[string]string{"Deleted": id.String()})
	}
	return writeJSON(w, http.StatusOK, map[string]any{"ImagesDeleted": deleted, "SpaceReclaimed": rep.Reclaimed})
}

// containerPrune removes every exited container.
func (d *daemon) containerPrune(w http.ResponseWriter, r *http.Request) error {
	f, err := filters(r)
	if err != nil {
		return err
	}
	for k := range f {
		return errorf(http.StatusBadRequest, "invalid filter '%s' (filters of container prune are not supported)", k)
	}
	rep, err := d.e.PruneContainers(r.Context())
	if err != nil {
		return err
	}
	ids := rep.Containers
	if ids == nil {
		ids = []string{}
	}
	return writeJSON(w, http.StatusOK, map[string]any{"ContainersDeleted": ids, "SpaceReclaimed": rep.Reclaimed})
}

// buildPrune empties the build cache (docker builder prune).
func (d *daemon) buildPrune(w http.ResponseWriter, r *http.Request) error {
	rep, err := d.e.PruneBuildCache(r.Context())
	if err != nil {
		return err
	}
	caches := []string{}
	for _, l := range rep.BuildCache {
		caches = append(caches, l.String())
	}
	return writeJSON(w, http.StatusOK, map[string]any{"CachesDeleted": caches, "SpaceReclaimed": rep.Reclaimed})
}

// commit makes an image of a container's changes (docker commit).
func (d *daemon) commit(w http.ResponseWriter, r *http.Request) error {
	q := r.URL.Query()
	ref := q.Get("container")
	c, err := d.container(r.Context(), ref)
	if err != nil {
		return err
	}
	var body struct {
		Cmd        []string
		Entrypoint []string
		Env        []string
		WorkingDir string
		User       string
		Labels     map[string]string
	}
	if err := decodeBody(r, &body); err != nil {
		return err
	}
	opts := skiff.CommitOptions{Changes: q["changes"], Message: q.Get("comment"), Author: q.Get("author")}
	if p := q.Get("pause"); p != "" {
		b, err := strconv.ParseBool(p)
		if err != nil {
			return errorf(http.StatusBadRequest, "invalid pause value %q", p)
		}
		opts.NoPause = !b
	}
	for _, ch := range opts.Changes {
		if err := builder.ApplyChanges(&v1.ConfigFile{}, []string{ch}); err != nil {
			return errorf(http.StatusBadRequest, "%v", err)
		}
	}
	// The body's fields override the image config as --change would.
	for _, e := range body.Env {
		opts.Changes = append(opts.Changes, "ENV "+strings.Replace(e, "=", " ", 1))
	}
	if body.Cmd != nil {
		opts.Changes = append(opts.Changes, "CMD "+jsonArray(body.Cmd))
	}
	if body.Entrypoint != nil {
		opts.Changes = append(opts.Changes, "ENTRYPOINT "+jsonArray(body.Entrypoint))
	}
	if body.WorkingDir != "" {
		opts.Changes = append(opts.Changes, "WORKDIR "+body.WorkingDir)
	}
	if body.User != "" {
		opts.Changes = append(opts.Changes, "USER "+body.User)
	}
	for k, v := range body.Labels {
		opts.Changes = append(opts.Changes, "LABEL "+strconv.Quote(k)+"="+strconv.Quote(v))
	}
	if repo := q.Get("repo"); repo != "" {
		opts.Ref = repo
		if tag := q.Get("tag"); tag != "" {
			opts.Ref += ":" + tag
		}
		if _, err := registry.Normalize(opts.Ref); err != nil {
			return errorf(http.StatusBadRequest, "invalid reference format: %s", opts.Ref)
		}
	}
	img, err := c.Commit(r.Context(), opts)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusCreated, map[string]string{"Id": img.ID.String()})
}

func jsonArray(s []string) string {
	q := make([]string, len(s))
	for i, a := range s {
		q[i] = strconv.Quote(a)
	}
	return "[" + strings.Join(q, ",") + "]"
}

// distributionInspect asks the registry for an image's descriptor and platforms.
func (d *daemon) distributionInspect(w http.ResponseWriter, r *http.Request) error {
	name, ok := strings.CutSuffix(r.PathValue("rest"), "/json")
	if !ok || name == "" {
		return errorf(http.StatusNotFound, "page not found")
	}
	if _, err := registry.Normalize(name); err != nil {
		return errorf(http.StatusBadRequest, "invalid reference format: %s", name)
	}
	ri, err := d.e.InspectRemote(r.Context(), name, registryAuth(r)...)
	if err != nil {
		switch {
		case errors.Is(err, registry.ErrUnauthorized):
			return errorf(http.StatusUnauthorized, "%v", err)
		case errors.Is(err, registry.ErrImageNotFound):
			return errorf(http.StatusNotFound, "%v", err)
		}
		return err
	}
	platforms := []map[string]any{}
	for _, p := range ri.Platforms {
		m := map[string]any{"architecture": p.Architecture, "os": p.OS}
		if p.Variant != "" {
			m["variant"] = p.Variant
		}
		platforms = append(platforms, m)
	}
	return writeJSON(w, http.StatusOK, map[string]any{
		"Descriptor": map[string]any{"mediaType": ri.MediaType, "digest": ri.Digest.String(), "size": ri.Size},
		"Platforms":  platforms,
	})
}

// imageImport makes an image of a root filesystem tar in the body (docker import,
// POST /images/create?fromSrc=-).
func (d *daemon) imageImport(w http.ResponseWriter, r *http.Request) error {
	q := r.URL.Query()
	if src := q.Get("fromSrc"); src != "-" {
		return errorf(http.StatusBadRequest, "fromSrc %q: only - (the request body) is supported", src)
	}
	ref := q.Get("repo")
	if ref == "" {
		return errorf(http.StatusBadRequest, "repo is required to import an image")
	}
	if tag := q.Get("tag"); tag != "" {
		ref += ":" + tag
	}
	if _, err := registry.Normalize(ref); err != nil {
		return errorf(http.StatusBadRequest, "invalid reference format: %s", ref)
	}
	cf := v1.ConfigFile{}
	if err := builder.ApplyChanges(&cf, q["changes"]); err != nil {
		return errorf(http.StatusBadRequest, "%v", err)
	}
	img, err := d.e.Import(r.Context(), ref, io.NopCloser(r.Body), cf.Config)
	if err != nil {
		return err
	}
	p := progressStream{startStream(w, "application/json")}
	p.send(map[string]any{"status": img.ID.String()})
	return nil
}
