package main

import (
	"archive/tar"
	"bufio"
	"compress/gzip"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"

	"github.com/skiffrt/skiff/builder"
)

// build runs a classic-builder build (DOCKER_BUILDKIT=0): the body is the context as
// a tar (possibly without its trailer), uncompressed or gzipped (docker compose v2
// always gzips it, as docker build --compress), the answer a JSON stream.
func (d *daemon) build(w http.ResponseWriter, r *http.Request) error {
	q := r.URL.Query()
	dir, err := os.MkdirTemp("", "skiffd-build-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	if err := untar(decompress(r.Body), dir); err != nil {
		return errorf(http.StatusBadRequest, "build context: %v", err)
	}
	opts := builderOptions(q.Get("dockerfile"), dir)
	opts.Tags = q["t"]
	opts.Target = q.Get("target")
	opts.NoCache = boolQuery(r, "nocache")
	opts.Platform = q.Get("platform")
	if v := q.Get("buildargs"); v != "" {
		args := map[string]*string{}
		if err := json.Unmarshal([]byte(v), &args); err != nil {
			return errorf(http.StatusBadRequest, "invalid buildargs: %v", err)
		}
		opts.BuildArgs = map[string]string{}
		for k, v := range args {
			if v != nil {
				opts.BuildArgs[k] = *v
			} else if env, ok := os.LookupEnv(k); ok {
				opts.BuildArgs[k] = env
			}
		}
	}
	if v := q.Get("labels"); v != "" {
		json.Unmarshal([]byte(v), &opts.Labels)
	}
	if v := q.Get("networkmode"); v == "host" || v == "none" {
		opts.Network = v
	}
	quiet := boolQuery(r, "q")
	p := progressStream{startStream(w, "application/json")}
	say := func(s string) {
		if !quiet {
			p.send(map[string]any{"stream": s})
		}
	}
	opts.Progress = func(e builder.Event) {
		switch e.Kind {
		case builder.StepStarted:
			say(fmt.Sprintf("Step %d/%d : %s\n", e.Step, e.Steps, e.Instruction))
		case builder.StepDone:
			if e.Cached {
				say(" ---> Using cache\n")
			}
		}
	}
	if !quiet {
		opts.Output = writerFunc(func(b []byte) (int, error) { say(string(b)); return len(b), nil })
	}
	im, err := d.e.Build(r.Context(), opts)
	if err != nil {
		code := 1
		var se *builder.StepError
		if errors.As(err, &se) && se.ExitCode > 0 {
			code = se.ExitCode
		}
		msg := err.Error()
		p.send(map[string]any{"errorDetail": map[string]any{"code": code, "message": msg}, "error": msg})
		return nil
	}
	p.send(map[string]any{"aux": map[string]string{"ID": im.ID.String()}})
	if quiet {
		p.send(map[string]any{"stream": im.ID.String() + "\n"})
		return nil
	}
	say("Successfully built " + im.ID.Encoded()[:12] + "\n")
	for _, t := range opts.Tags {
		say("Successfully tagged " + t + "\n")
	}
	return nil
}

type writerFunc func([]byte) (int, error)

func (f writerFunc) Write(p []byte) (int, error) { return f(p) }

func builderOptions(dockerfile, dir string) builder.Options {
	if dockerfile == "" {
		dockerfile = "Dockerfile"
	}
	return builder.Options{ContextDir: dir, Dockerfile: dockerfile}
}

// decompress returns r, gunzipped when it starts with gzip's magic number.
func decompress(r io.Reader) io.Reader {
	br := bufio.NewReader(r)
	if magic, _ := br.Peek(2); len(magic) == 2 && magic[0] == 0x1f && magic[1] == 0x8b {
		zr, err := gzip.NewReader(br)
		if err != nil {
			return errReader{err}
		}
		return zr
	}
	return br
}

type errReader struct{ err error }

func (e errReader) Read([]byte) (int, error) { return 0, e.err }

// untar extracts a build context into dir; every name stays inside dir. A tar cut
// off before its trailer (docker build -f-) ends cleanly.
func untar(r io.Reader, dir string) error {
	tr := tar.NewReader(r)
	for {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return err
		}
		name := filepath.Clean("/" + h.Name)
		target := filepath.Join(dir, name)
		if name == "/" {
			continue
		}
		switch h.Typeflag {
		case tar.TypeDir:
			if err := os.MkdirAll(target, os.FileMode(h.Mode)&0o7777|0o700); err != nil {
				return err
			}
		case tar.TypeReg:
			os.MkdirAll(filepath.Dir(target), 0o755)
			f, err := os.OpenFile(target, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, os.FileMode(h.Mode)&0o7777)
			if err != nil {
				return err
			}
			_, err = io.Copy(f, tr)
			f.Close()
			if err != nil {
				return err
			}
		case tar.TypeSymlink:
			if strings.HasPrefix(h.Linkname, "/") || strings.Contains(h.Linkname, "..") {
				continue // the builder resolves COPY sources in the context root anyway
			}
			os.MkdirAll(filepath.Dir(target), 0o755)
			os.Symlink(h.Linkname, target)
		}
	}
}
