package main

import (
	"context"
	"net/http"
)

// The library has no volume API yet (volume.go is being written): volume endpoints
// answer 501 and the list is empty, so docker system df still works.
func (d *daemon) volumeRoutes(h func(string, apiFunc)) {
	notYet := func(w http.ResponseWriter, r *http.Request) error {
		return errorf(http.StatusNotImplemented, "volumes are not supported by this skiffd yet")
	}
	h("GET /volumes", func(w http.ResponseWriter, r *http.Request) error {
		vols, err := d.volumeList(r.Context())
		if err != nil {
			return err
		}
		return writeJSON(w, http.StatusOK, map[string]any{"Volumes": nonNil(vols), "Warnings": []string{}})
	})
	h("POST /volumes/create", notYet)
	h("GET /volumes/{name}", func(w http.ResponseWriter, r *http.Request) error {
		return errorf(http.StatusNotFound, "get %s: no such volume", r.PathValue("name"))
	})
	h("DELETE /volumes/{name}", notYet)
}

func (d *daemon) volumeList(ctx context.Context) ([]map[string]any, error) { return nil, nil }
