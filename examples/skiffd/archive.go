package main

import (
	"bufio"
	"compress/gzip"
	"encoding/base64"
	"encoding/json"
	"errors"
	"io"
	"net/http"

	"github.com/skiffrt/skiff"
)

// introspectionRoutes serve what reads or writes a container's files and processes:
// archive (docker cp), stats, top, changes (docker diff) and export.
func (d *daemon) introspectionRoutes(h func(string, apiFunc)) {
	h("HEAD /containers/{id}/archive", d.archiveHead)
	h("GET /containers/{id}/archive", d.archiveGet)
	h("PUT /containers/{id}/archive", d.archivePut)
	h("GET /containers/{id}/export", d.containerExport)
	h("GET /containers/{id}/changes", d.containerChanges)
	h("GET /containers/{id}/top", d.containerTop)
	h("GET /containers/{id}/stats", d.containerStats)
}

// archivePath reads the path query parameter, which Docker requires.
func archivePath(r *http.Request) (string, error) {
	p := r.URL.Query().Get("path")
	if p == "" {
		return "", errorf(http.StatusBadRequest, "path cannot be empty")
	}
	return p, nil
}

// pathError words a missing path as Docker does.
func pathError(ref, p string, err error) error {
	if errors.Is(err, skiff.ErrPathNotFound) {
		return errorf(http.StatusNotFound, "Could not find the file %s in container %s", p, ref)
	}
	return err
}

// setPathStat sets the X-Docker-Container-Path-Stat header: base64 of the JSON stat.
func setPathStat(w http.ResponseWriter, st skiff.PathStat) error {
	data, err := json.Marshal(st)
	if err != nil {
		return err
	}
	w.Header().Set("X-Docker-Container-Path-Stat", base64.StdEncoding.EncodeToString(data))
	return nil
}

// archiveTarget is the container reference, the path query and the container of an
// archive request.
func (d *daemon) archiveTarget(r *http.Request) (ref, path string, c *skiff.Container, err error) {
	ref = r.PathValue("id")
	if path, err = archivePath(r); err != nil {
		return "", "", nil, err
	}
	c, err = d.container(r.Context(), ref)
	return ref, path, c, err
}

func (d *daemon) archiveHead(w http.ResponseWriter, r *http.Request) error {
	ref, p, c, err := d.archiveTarget(r)
	if err != nil {
		return err
	}
	st, err := c.StatPath(r.Context(), p)
	if err != nil {
		return pathError(ref, p, err)
	}
	if err := setPathStat(w, st); err != nil {
		return err
	}
	w.WriteHeader(http.StatusOK)
	return nil
}

func (d *daemon) archiveGet(w http.ResponseWriter, r *http.Request) error {
	ref, p, c, err := d.archiveTarget(r)
	if err != nil {
		return err
	}
	rc, st, err := c.CopyFrom(r.Context(), p)
	if err != nil {
		return pathError(ref, p, err)
	}
	defer rc.Close()
	if err := setPathStat(w, st); err != nil {
		return err
	}
	w.Header().Set("Content-Type", "application/x-tar")
	w.WriteHeader(http.StatusOK)
	if _, err := io.Copy(w, rc); err != nil {
		d.log.Warn("archive stream ended early", "container", ref, "path", p, "err", err)
	}
	return nil
}

func (d *daemon) archivePut(w http.ResponseWriter, r *http.Request) error {
	ref, p, c, err := d.archiveTarget(r)
	if err != nil {
		return err
	}
	body, err := decompressed(r.Body)
	if err != nil {
		return errorf(http.StatusBadRequest, "archive: %v", err)
	}
	err = c.CopyTo(r.Context(), p, body, skiff.CopyToOptions{
		NoOverwriteDirNonDir: boolQuery(r, "noOverwriteDirNonDir"),
		CopyUIDGID:           boolQuery(r, "copyUIDGID"),
	})
	if err != nil {
		return pathError(ref, p, err)
	}
	w.WriteHeader(http.StatusOK)
	return nil
}

// decompressed reads a tar that may come gzip-compressed, as Docker accepts it.
func decompressed(r io.Reader) (io.Reader, error) {
	br := bufio.NewReader(r)
	magic, _ := br.Peek(2)
	if len(magic) == 2 && magic[0] == 0x1f && magic[1] == 0x8b {
		return gzip.NewReader(br)
	}
	return br, nil
}

func (d *daemon) containerExport(w http.ResponseWriter, r *http.Request) error {
	c, err := d.container(r.Context(), r.PathValue("id"))
	if err != nil {
		return err
	}
	rc, err := c.Export(r.Context())
	if err != nil {
		return err
	}
	defer rc.Close()
	w.Header().Set("Content-Type", "application/x-tar")
	w.WriteHeader(http.StatusOK)
	if _, err := io.Copy(w, rc); err != nil {
		d.log.Warn("export stream ended early", "container", r.PathValue("id"), "err", err)
	}
	return nil
}
