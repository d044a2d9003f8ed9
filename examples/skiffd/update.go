package main

import (
	"errors"
	"net/http"
	"strings"

	"github.com/skiffrt/skiff"
	"github.com/skiffrt/skiff/examples/internal/dockeropts"
)

func (d *daemon) updateRoutes(h func(string, apiFunc)) {
	h("POST /containers/{id}/update", d.containerUpdate)
}

// containerUpdate changes a container's limits and restart policy (docker update).
func (d *daemon) containerUpdate(w http.ResponseWriter, r *http.Request) error {
	c, err := d.container(r.Context(), r.PathValue("id"))
	if err != nil {
		return err
	}
	var body struct {
		Memory, MemorySwap, NanoCpus, CpuQuota, CpuPeriod, CpuShares int64
		PidsLimit                                                    *int64
		RestartPolicy                                                *struct {
			Name              string
			MaximumRetryCount int
		}
	}
	if err := decodeBody(r, &body); err != nil {
		return err
	}
	var u skiff.UpdateConfig
	res := &u.Resources
	res.MemoryLimit, res.MemorySwap = body.Memory, body.MemorySwap
	if body.NanoCpus > 0 {
		if body.CpuQuota > 0 || body.CpuPeriod > 0 {
			return errorf(http.StatusBadRequest, "Conflicting options: CPU Quota cannot be updated as NanoCPUs has already been set")
		}
		res.CPUQuota, res.CPUPeriod = dockeropts.CPUQuota(body.NanoCpus)
	} else {
		res.CPUQuota, res.CPUPeriod = body.CpuQuota, uint64(max(body.CpuPeriod, 0))
	}
	res.CPUShares = uint64(max(body.CpuShares, 0))
	if body.PidsLimit != nil {
		res.PidsLimit = *body.PidsLimit
		if res.PidsLimit == 0 {
			res.PidsLimit = -1 // Docker: 0 or -1 means unlimited
		}
	}
	if p := body.RestartPolicy; p != nil && p.Name != "" {
		u.RestartPolicy = &skiff.RestartPolicy{Name: p.Name, MaximumRetryCount: p.MaximumRetryCount}
	}
	if err := c.Update(r.Context(), u); err != nil {
		if errors.Is(err, skiff.ErrInvalidConfig) {
			return errorf(http.StatusBadRequest, "Cannot update container %s: %v", c.ID(), err)
		}
		return err
	}
	return writeJSON(w, http.StatusOK, map[string]any{"Warnings": []string{}})
}

// containerRename gives a container a new name (docker rename).
func (d *daemon) containerRename(w http.ResponseWriter, r *http.Request) error {
	c, err := d.container(r.Context(), r.PathValue("id"))
	if err != nil {
		return err
	}
	name := strings.TrimPrefix(r.URL.Query().Get("name"), "/")
	if name == "" {
		return errorf(http.StatusBadRequest, "Neither old nor new names may be empty")
	}
	if err := c.Rename(r.Context(), name); err != nil {
		switch {
		case errors.Is(err, skiff.ErrNameInUse):
			return errorf(http.StatusConflict, "Error when allocating new name: Conflict. The container name %q is already in use.", "/"+name)
		case errors.Is(err, skiff.ErrInvalidConfig):
			return errorf(http.StatusBadRequest, "Error when allocating new name: %v", err)
		}
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}
