package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"net/http"

	"github.com/skiffrt/skiff"
	"github.com/skiffrt/skiff/examples/internal/dockeropts"
)

func (d *daemon) volumeRoutes(h func(string, apiFunc)) {
	h("GET /volumes", func(w http.ResponseWriter, r *http.Request) error {
		vols, err := d.volumeList(r.Context())
		if err != nil {
			return err
		}
		return writeJSON(w, http.StatusOK, map[string]any{"Volumes": nonNil(vols), "Warnings": []string{}})
	})
	h("POST /volumes/create", d.volumeCreate)
	h("GET /volumes/{name}", d.volumeInspect)
	h("DELETE /volumes/{name}", d.volumeRemove)
	h("POST /volumes/prune", d.volumePrune)
}

func volumeError(name string, err error) error {
	switch {
	case errors.Is(err, skiff.ErrVolumeNotFound):
		return errorf(http.StatusNotFound, "get %s: no such volume", name)
	case errors.Is(err, skiff.ErrVolumeInUse):
		return errorf(http.StatusConflict, "remove %s: volume is in use - %v", name, err)
	case errors.Is(err, skiff.ErrVolumeExists):
		return errorf(http.StatusConflict, "%v", err)
	}
	return err
}

// volumeJSON is the volume as Docker shows it.
func volumeJSON(v *skiff.Volume) map[string]any { return dockeropts.VolumeInspect(v) }

func (d *daemon) volumeList(ctx context.Context) ([]map[string]any, error) {
	vols, err := d.e.Volumes(ctx)
	if err != nil {
		return nil, err
	}
	var out []map[string]any
	for _, v := range vols {
		out = append(out, volumeJSON(v))
	}
	return out, nil
}

func (d *daemon) volumeCreate(w http.ResponseWriter, r *http.Request) error {
	var req struct {
		Name   string
		Driver string
		Labels map[string]string
	}
	if err := decodeBody(r, &req); err != nil {
		return err
	}
	if req.Driver != "" && req.Driver != "local" {
		return errorf(http.StatusBadRequest, "volume driver %q is not supported (local only)", req.Driver)
	}
	if req.Name == "" {
		b := make([]byte, 32)
		rand.Read(b)
		req.Name = hex.EncodeToString(b)
	}
	v, err := d.e.CreateVolume(r.Context(), req.Name, req.Labels)
	if err != nil {
		return volumeError(req.Name, err)
	}
	return writeJSON(w, http.StatusCreated, volumeJSON(v))
}

func (d *daemon) volumeInspect(w http.ResponseWriter, r *http.Request) error {
	name := r.PathValue("name")
	v, err := d.e.Volume(r.Context(), name)
	if err != nil {
		return volumeError(name, err)
	}
	return writeJSON(w, http.StatusOK, volumeJSON(v))
}

func (d *daemon) volumeRemove(w http.ResponseWriter, r *http.Request) error {
	name := r.PathValue("name")
	if err := d.e.RemoveVolume(r.Context(), name, skiff.RemoveVolumeOptions{Force: boolQuery(r, "force")}); err != nil {
		return volumeError(name, err)
	}
	return noContent(w)
}

func (d *daemon) volumePrune(w http.ResponseWriter, r *http.Request) error {
	f, err := filters(r)
	if err != nil {
		return err
	}
	all := false
	for _, v := range f["all"] {
		all = all || v == "true" || v == "1"
	}
	names, err := d.e.PruneVolumes(r.Context(), skiff.VolumePrune{All: all})
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, map[string]any{"VolumesDeleted": nonNil(names), "SpaceReclaimed": 0})
}
