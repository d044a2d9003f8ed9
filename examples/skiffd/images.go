package main

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/google/go-containerregistry/pkg/authn"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote/transport"

	"github.com/skiffrt/skiff"
	"github.com/skiffrt/skiff/registry"
)

func (d *daemon) imageRoutes(h func(string, apiFunc)) {
	h("GET /images/json", d.imageList)
	h("POST /images/create", d.imagePull)
	h("GET /images/{rest...}", d.imageGet)
	h("POST /images/{rest...}", d.imagePost)
	h("DELETE /images/{rest...}", d.imageRemove)
	h("POST /build", d.build)
	h("POST /auth", d.login)
}

func repoTagsDigests(im *registry.Image) (tags, digests []string) {
	tags, digests = []string{}, []string{}
	for _, n := range im.Names {
		if strings.Contains(n, "@") {
			digests = append(digests, registry.Familiar(n))
			continue
		}
		tags = append(tags, registry.Familiar(n))
		if i := strings.LastIndex(n, ":"); i > strings.LastIndex(n, "/") {
			dg := registry.Familiar(n[:i]) + "@" + im.Digest.String()
			if !slices.Contains(digests, dg) {
				digests = append(digests, dg)
			}
		}
	}
	return tags, digests
}

func imageSummary(im *registry.Image) map[string]any {
	tags, digests := repoTagsDigests(im)
	labels := im.Config.Config.Labels
	if labels == nil {
		labels = map[string]string{}
	}
	return map[string]any{
		"Id": im.ID.String(), "ParentId": "", "RepoTags": tags, "RepoDigests": digests,
		"Created": im.Config.Created.Unix(), "Size": im.Size, "SharedSize": -1,
		"Labels": labels, "Containers": -1,
	}
}

func parsePlatform(s string) (v1.Platform, error) {
	p, err := v1.ParsePlatform(s)
	if err != nil {
		return v1.Platform{}, errorf(http.StatusBadRequest, "invalid platform %q: %v", s, err)
	}
	return *p, nil
}

func (d *daemon) imageList(w http.ResponseWriter, r *http.Request) error {
	f, err := filters(r)
	if err != nil {
		return err
	}
	imgs, err := d.e.Images().List(r.Context())
	if err != nil {
		return err
	}
	seen := map[string]bool{}
	out := []map[string]any{}
	for _, im := range imgs {
		if seen[im.ID.String()] {
			continue
		}
		seen[im.ID.String()] = true
		sum := imageSummary(im)
		if refs := f["reference"]; len(refs) > 0 {
			var kept []string
			for _, tag := range sum["RepoTags"].([]string) {
				for _, ref := range refs {
					if tag == ref || strings.HasPrefix(tag, ref+":") {
						kept = append(kept, tag)
						break
					}
				}
			}
			if len(kept) == 0 {
				continue
			}
			sum["RepoTags"] = kept
			var digests []string
			for _, dg := range sum["RepoDigests"].([]string) {
				for _, tag := range kept {
					if strings.HasPrefix(dg, tag[:strings.LastIndex(tag, ":")]+"@") {
						digests = append(digests, dg)
						break
					}
				}
			}
			sum["RepoDigests"] = nonNil(digests)
		}
		out = append(out, sum)
	}
	return writeJSON(w, http.StatusOK, out)
}

// registryAuth decodes X-Registry-Auth (base64url JSON) into a keychain option.
func registryAuth(r *http.Request) []registry.Option {
	v := r.Header.Get("X-Registry-Auth")
	if v == "" {
		return nil
	}
	data, err := base64.URLEncoding.DecodeString(v)
	if err != nil {
		data, err = base64.RawURLEncoding.DecodeString(strings.TrimRight(v, "="))
	}
	if err != nil {
		return nil
	}
	var ac struct {
		Username, Password, Auth, ServerAddress string
		IdentityToken                           string `json:"identitytoken"`
		RegistryToken                           string `json:"registrytoken"`
	}
	if json.Unmarshal(data, &ac) != nil || (ac.Username == "" && ac.Auth == "" && ac.IdentityToken == "" && ac.RegistryToken == "") {
		return nil
	}
	a := authn.FromConfig(authn.AuthConfig{Username: ac.Username, Password: ac.Password, Auth: ac.Auth,
		IdentityToken: ac.IdentityToken, RegistryToken: ac.RegistryToken})
	return []registry.Option{registry.WithKeychain(staticKeychain{a})}
}

type staticKeychain struct{ a authn.Authenticator }

func (k staticKeychain) Resolve(authn.Resource) (authn.Authenticator, error) { return k.a, nil }

// progressStream is a JSON-lines progress stream (pull, push, build).
type progressStream struct{ s *streamWriter }

func (p progressStream) send(m map[string]any) {
	data, _ := json.Marshal(m)
	p.s.Write(append(data, '\r', '\n'))
}

func (p progressStream) status(id, status string) {
	m := map[string]any{"status": status}
	if id != "" {
		m["id"] = id
	}
	p.send(m)
}

func (p progressStream) fail(err error) {
	msg := message(err)
	p.send(map[string]any{"errorDetail": map[string]any{"message": msg}, "error": msg})
}

// progressFunc turns registry events into docker's per-layer messages.
func (p progressStream) progressFunc(verb string) func(registry.Progress) {
	last := map[string]registry.State{}
	return func(ev registry.Progress) {
		if strings.Contains(ev.MediaType, "manifest") || strings.Contains(ev.MediaType, "config") || strings.Contains(ev.MediaType, "index") {
			return
		}
		id := ev.Digest.Encoded()
		if len(id) > 12 {
			id = id[:12]
		}
		if last[id] == ev.State && ev.State != registry.Downloading {
			return
		}
		last[id] = ev.State
		switch ev.State {
		case registry.Waiting:
			if verb == "push" {
				p.status(id, "Preparing")
			} else {
				p.status(id, "Pulling fs layer")
			}
		case registry.Downloading:
			word := "Downloading"
			if verb == "push" {
				word = "Pushing"
			}
			p.send(map[string]any{"status": word, "id": id,
				"progressDetail": map[string]int64{"current": ev.Done, "total": ev.Total}})
		case registry.Exists:
			if verb == "push" {
				p.status(id, "Layer already exists")
			} else {
				p.status(id, "Already exists")
			}
		case registry.Done:
			if verb == "push" {
				p.status(id, "Pushed")
			} else {
				p.status(id, "Pull complete")
			}
		case registry.Failed:
			p.status(id, "Failed")
		}
	}
}

func (d *daemon) imagePull(w http.ResponseWriter, r *http.Request) error {
	q := r.URL.Query()
	from, tag := q.Get("fromImage"), q.Get("tag")
	if from == "" {
		if q.Has("fromSrc") {
			return d.imageImport(w, r)
		}
		return errorf(http.StatusBadRequest, "fromImage or fromSrc is required")
	}
	ref := from
	switch {
	case strings.HasPrefix(tag, "sha256:"):
		ref += "@" + tag
	case tag != "":
		ref += ":" + tag
	}
	norm, err := registry.Normalize(ref)
	if err != nil {
		return errorf(http.StatusBadRequest, "invalid reference format: %s", ref)
	}
	opts := append(registryAuth(r), registry.WithInsecure(d.insecure...))
	if p := q.Get("platform"); p != "" {
		pl, err := parsePlatform(p)
		if err != nil {
			return err
		}
		opts = append(opts, registry.WithPlatform(pl))
	}
	p := progressStream{startStream(w, "application/json")}
	tagName := tag
	if tagName == "" {
		tagName = "latest"
	}
	p.status(tagName, "Pulling from "+strings.TrimPrefix(shortRepo(norm), ""))
	opts = append(opts, registry.WithProgress(p.progressFunc("pull")))
	im, err := d.e.Pull(r.Context(), norm, opts...)
	if err != nil {
		d.log.Info("pull failed", "ref", norm, "err", err)
		p.fail(fmt.Errorf("pull %s: %w", ref, err))
		return nil
	}
	p.status("", "Digest: "+im.Digest.String())
	p.status("", "Status: Downloaded newer image for "+registry.Familiar(norm))
	return nil
}

// shortRepo is the repository of a normalized reference, as docker prints it in
// "Pulling from library/busybox".
func shortRepo(norm string) string {
	repo := norm
	if i := strings.Index(repo, "@"); i >= 0 {
		repo = repo[:i]
	} else if i := strings.LastIndex(repo, ":"); i > strings.LastIndex(repo, "/") {
		repo = repo[:i]
	}
	if i := strings.Index(repo, "/"); i >= 0 && strings.ContainsAny(repo[:i], ".:") {
		if repo[:i] == "docker.io" {
			return repo[i+1:]
		}
	}
	return repo
}

func (d *daemon) imageGet(w http.ResponseWriter, r *http.Request) error {
	rest := r.PathValue("rest")
	name, ok := strings.CutSuffix(rest, "/json")
	if !ok {
		if n, ok := strings.CutSuffix(rest, "/history"); ok {
			return d.imageHistory(w, r, n)
		}
		if n, ok := strings.CutSuffix(rest, "/get"); ok {
			return d.imageSave(w, r, []string{n})
		}
		return errorf(http.StatusNotFound, "page not found")
	}
	im, err := d.e.Image(r.Context(), name)
	if err != nil {
		return imageError(name, err)
	}
	tags, digests := repoTagsDigests(im)
	layers := []string{}
	for _, l := range im.Layers {
		layers = append(layers, l.DiffID.String())
	}
	cfg := im.Config.Config
	return writeJSON(w, http.StatusOK, map[string]any{
		"Id": im.ID.String(), "RepoTags": tags, "RepoDigests": digests, "Parent": "", "Comment": "",
		"Created": im.Config.Created.Format(time.RFC3339Nano), "DockerVersion": "", "Author": im.Config.Author,
		"Config": map[string]any{
			"Hostname": "", "User": cfg.User, "Env": cfg.Env, "Cmd": cfg.Cmd, "Entrypoint": cfg.Entrypoint,
			"WorkingDir": cfg.WorkingDir, "Labels": cfg.Labels, "ExposedPorts": cfg.ExposedPorts,
			"Volumes": cfg.Volumes, "StopSignal": cfg.StopSignal, "OnBuild": cfg.OnBuild,
		},
		"Architecture": im.Platform.Architecture, "Variant": im.Platform.Variant, "Os": im.Platform.OS,
		"Size": im.Size, "GraphDriver": map[string]any{"Name": "overlay", "Data": map[string]string{}},
		"RootFS":   map[string]any{"Type": "layers", "Layers": layers},
		"Metadata": map[string]any{"LastTagTime": "0001-01-01T00:00:00Z"},
	})
}

func (d *daemon) imageHistory(w http.ResponseWriter, r *http.Request, name string) error {
	im, err := d.e.Image(r.Context(), name)
	if err != nil {
		return imageError(name, err)
	}
	out := []map[string]any{}
	steps := im.History()
	for i := len(steps) - 1; i >= 0; i-- { // newest first
		s := steps[i]
		id, tags := "<missing>", []string(nil)
		if i == len(steps)-1 {
			id, tags = im.ID.String(), im.Names
		}
		var size int64 // the layer's stored (compressed) size
		if s.Layer != nil {
			size = s.Layer.Size
		}
		var created int64
		if !s.Created.IsZero() {
			created = s.Created.Unix()
		}
		out = append(out, map[string]any{"Id": id, "Created": created, "CreatedBy": s.CreatedBy,
			"Tags": tags, "Size": size, "Comment": s.Comment})
	}
	return writeJSON(w, http.StatusOK, out)
}

func (d *daemon) imagePost(w http.ResponseWriter, r *http.Request) error {
	rest := r.PathValue("rest")
	if name, ok := strings.CutSuffix(rest, "/tag"); ok {
		return d.imageTag(w, r, name)
	}
	if name, ok := strings.CutSuffix(rest, "/push"); ok {
		return d.imagePush(w, r, name)
	}
	return errorf(http.StatusNotFound, "page not found")
}

func (d *daemon) imageTag(w http.ResponseWriter, r *http.Request, src string) error {
	repo, tag := r.URL.Query().Get("repo"), r.URL.Query().Get("tag")
	if tag == "" {
		// As Docker: repo may carry the tag itself ("user/app:v1").
		if i := strings.LastIndexByte(repo, ':'); i > 0 && !strings.Contains(repo[i:], "/") {
			repo, tag = repo[:i], repo[i+1:]
		} else {
			tag = "latest"
		}
	}
	if _, err := d.e.Image(r.Context(), src); err != nil {
		return imageError(src, err)
	}
	if err := d.e.Tag(r.Context(), src, repo+":"+tag); err != nil {
		return err
	}
	w.WriteHeader(http.StatusCreated)
	return nil
}

func (d *daemon) imagePush(w http.ResponseWriter, r *http.Request, name string) error {
	ref := name
	if tag := r.URL.Query().Get("tag"); tag != "" {
		ref += ":" + tag
	}
	if _, err := d.e.Image(r.Context(), ref); err != nil {
		return imageError(ref, err)
	}
	p := progressStream{startStream(w, "application/json")}
	p.status("", "The push refers to repository ["+name+"]")
	opts := append(registryAuth(r), registry.WithProgress(p.progressFunc("push")))
	dg, err := d.e.Push(r.Context(), ref, opts...)
	if err != nil {
		p.fail(fmt.Errorf("push %s: %w", ref, err))
		return nil
	}
	tag := r.URL.Query().Get("tag")
	if tag == "" {
		tag = "latest"
	}
	p.status("", fmt.Sprintf("%s: digest: %s size: %d", tag, dg, 0))
	p.send(map[string]any{"aux": map[string]any{"Tag": tag, "Digest": dg.String()}})
	return nil
}

func (d *daemon) imageRemove(w http.ResponseWriter, r *http.Request) error {
	name := r.PathValue("rest")
	rm, err := d.e.RemoveImage(r.Context(), name, skiff.RemoveImageOptions{Force: boolQuery(r, "force")})
	if err != nil {
		if errors.Is(err, skiff.ErrImageInUse) {
			var iu *skiff.ImageInUseError
			if errors.As(err, &iu) {
				return errorf(http.StatusConflict, "%s", iu.Error())
			}
			return errorf(http.StatusConflict, "%v", err)
		}
		return imageError(name, err)
	}
	out := []map[string]string{}
	for _, n := range rm.Untagged {
		out = append(out, map[string]string{"Untagged": registry.Familiar(n)})
	}
	for _, dg := range rm.Deleted {
		out = append(out, map[string]string{"Deleted": dg.String()})
	}
	return writeJSON(w, http.StatusOK, out)
}

// login checks credentials against the registry (docker login). Like dockerd it
// stores nothing: the CLI keeps them and sends them with each pull and push.
func (d *daemon) login(w http.ResponseWriter, r *http.Request) error {
	var ac struct{ Username, Password, ServerAddress string }
	if err := decodeBody(r, &ac); err != nil {
		return err
	}
	host := strings.TrimPrefix(strings.TrimPrefix(ac.ServerAddress, "https://"), "http://")
	host = strings.TrimSuffix(strings.TrimSuffix(host, "/v1/"), "/")
	if host == "" {
		host = "index.docker.io"
	}
	if err := d.e.CheckLogin(r.Context(), host, ac.Username, ac.Password); err != nil {
		var terr *transport.Error
		if errors.Is(err, registry.ErrUnauthorized) && errors.As(err, &terr) {
			return errorf(http.StatusUnauthorized, "login attempt to %s failed with status: %d %s", host, terr.StatusCode, http.StatusText(terr.StatusCode))
		}
		return errorf(http.StatusInternalServerError, "login to %s: %v", host, err)
	}
	return writeJSON(w, http.StatusOK, map[string]string{"Status": "Login Succeeded", "IdentityToken": ""})
}
