package main

import (
	"archive/tar"
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// api calls skiffd's Engine API directly, as a client library would.
func (e *env) api(method, path string, body io.Reader) (*http.Response, []byte) {
	e.t.Helper()
	c := &http.Client{Transport: &http.Transport{DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
		return (&net.Dialer{}).DialContext(ctx, "unix", e.sock)
	}}}
	req, err := http.NewRequest(method, "http://docker"+path, body)
	if err != nil {
		e.t.Fatal(err)
	}
	resp, err := c.Do(req)
	if err != nil {
		e.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(resp.Body)
	return resp, data
}

// TestDockerCLIImageArchive: docker save/load, import, commit, history, image and
// container prune, and distribution inspect, through skiffd.
func TestDockerCLIImageArchive(t *testing.T) {
	e := newEnv(t)
	img := e.busybox()
	dir := t.TempDir()

	t.Run("save load", func(t *testing.T) {
		e.ok("tag", img, "keep/box:1")
		tarPath := filepath.Join(dir, "box.tar")
		e.ok("save", "-o", tarPath, "keep/box:1")
		f, err := os.Open(tarPath)
		if err != nil {
			t.Fatal(err)
		}
		defer f.Close()
		var names []string
		tr := tar.NewReader(f)
		for {
			h, err := tr.Next()
			if err != nil {
				break
			}
			names = append(names, h.Name)
		}
		if !strings.Contains(strings.Join(names, " "), "manifest.json") {
			t.Fatalf("saved tar holds %q, no manifest.json", names)
		}
		e.ok("rmi", "keep/box:1")
		out := e.ok("load", "-i", tarPath)
		if !strings.Contains(out, "Loaded image: keep/box:1") {
			t.Errorf("docker load printed %q", out)
		}
		if out := e.ok("run", "--rm", "keep/box:1", "echo", "loaded"); out != "loaded\n" {
			t.Errorf("run of the loaded image = %q", out)
		}
		_, errs, code := e.runIn([]byte("not a tar"), "load")
		if code == 0 || !strings.Contains(errs, "invalid image archive") {
			t.Errorf("load of garbage: exit %d, %q", code, errs)
		}
	})

	t.Run("import commit history", func(t *testing.T) {
		var buf bytes.Buffer
		tw := tar.NewWriter(&buf)
		data := []byte("imported\n")
		tw.WriteHeader(&tar.Header{Name: "hello.txt", Mode: 0o644, Size: int64(len(data))})
		tw.Write(data)
		tw.Close()
		out := e.runOK(buf.Bytes(), "import", "--change", "CMD [\"/hello.txt\"]", "-", "imported/files:1")
		if !strings.HasPrefix(strings.TrimSpace(out), "sha256:") {
			t.Errorf("docker import printed %q", out)
		}
		if cmd := e.ok("image", "inspect", "-f", "{{json .Config.Cmd}}", "imported/files:1"); strings.TrimSpace(cmd) != `["/hello.txt"]` {
			t.Errorf("imported Cmd = %s", cmd)
		}

		e.ok("run", "--name", "tocommit", img, "sh", "-c", "echo committed > /made")
		e.ok("commit", "-m", "made a file", "-c", "ENV STAGE=two", "tocommit", "committed/box:1")
		if out := e.ok("run", "--rm", "committed/box:1", "sh", "-c", "cat /made; echo $STAGE"); out != "committed\ntwo\n" {
			t.Errorf("run of the committed image = %q", out)
		}
		hist := e.ok("history", "--no-trunc", "--format", "{{.Comment}}|{{.Size}}|{{.ID}}", "committed/box:1")
		if !regexp.MustCompile(`^made a file\|[1-9][0-9.]*k?B\|sha256:[0-9a-f]{64}\n`).MatchString(hist) {
			t.Errorf("history (the commit's step, with its layer's size, on top) = %q", hist)
		}
		if imp := e.ok("history", "--format", "{{.Comment}}|{{.CreatedSince}}", "imported/files:1"); !strings.HasPrefix(imp, "Imported from -|") || strings.Contains(imp, "N/A") {
			t.Errorf("history of an imported image = %q", imp)
		}
		e.ok("rm", "tocommit")
	})

	t.Run("prune", func(t *testing.T) {
		e.ok("run", "--name", "exited1", img, "true")
		id := strings.TrimSpace(e.ok("inspect", "-f", "{{.Id}}", "exited1"))
		out := e.ok("container", "prune", "-f")
		if !strings.Contains(out, id) {
			t.Errorf("container prune printed %q, want %s", out, id)
		}
		if _, _, code := e.run("inspect", "exited1"); code == 0 {
			t.Error("the exited container survived container prune")
		}
		e.ok("create", "--name", "keeper", img, "true") // its image is in use
		resp, body := e.api("POST", "/v1.43/images/prune?filters="+`{"dangling":["false"]}`, nil)
		var rep struct {
			ImagesDeleted  []map[string]string
			SpaceReclaimed int64
		}
		if resp.StatusCode != 200 || json.Unmarshal(body, &rep) != nil {
			t.Fatalf("images/prune: %d %s", resp.StatusCode, body)
		}
		if !strings.Contains(string(body), "imported/files:1") {
			t.Errorf("images/prune dangling=false kept the unused imported image: %s", body)
		}
		if _, _, code := e.run("image", "inspect", img); code != 0 {
			t.Errorf("images/prune removed %s, which a container uses", img)
		}
		e.ok("rm", "keeper")
		resp, body = e.api("POST", "/containers/prune?filters="+`{"until":["1h"]}`, nil)
		if resp.StatusCode != 400 {
			t.Errorf("containers/prune with an unsupported filter: %d %s", resp.StatusCode, body)
		}
	})

	t.Run("distribution", func(t *testing.T) {
		resp, body := e.api("GET", "/v1.43/distribution/"+img+"/json", nil)
		var di struct {
			Descriptor struct {
				MediaType string `json:"mediaType"`
				Digest    string `json:"digest"`
				Size      int64  `json:"size"`
			}
			Platforms []struct{ Architecture, OS string }
		}
		if resp.StatusCode != 200 || json.Unmarshal(body, &di) != nil {
			t.Fatalf("distribution: %d %s", resp.StatusCode, body)
		}
		if !strings.HasPrefix(di.Descriptor.Digest, "sha256:") || di.Descriptor.Size == 0 || len(di.Platforms) == 0 || di.Platforms[0].OS != "linux" {
			t.Errorf("distribution = %s", body)
		}
		resp, _ = e.api("GET", "/distribution/"+strings.Replace(img, "busybox", "nosuchimage", 1)+"/json", nil)
		if resp.StatusCode != 404 {
			t.Errorf("distribution of a missing image: %d", resp.StatusCode)
		}
	})
}

// runOK runs docker with stdin and fails the test unless it exits 0.
func (e *env) runOK(stdin []byte, args ...string) string {
	e.t.Helper()
	out, errs, code := e.runIn(stdin, args...)
	if code != 0 {
		e.t.Fatalf("docker %s: exit %d\nstdout: %s\nstderr: %s", strings.Join(args, " "), code, out, errs)
	}
	return out
}
