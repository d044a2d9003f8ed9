package skiff_test

import (
	"archive/tar"
	"bytes"
	"context"
	"errors"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/skiffrt/skiff"
	"github.com/skiffrt/skiff/builder"
	"github.com/skiffrt/skiff/internal/testutil"
)

// buildContext writes files into a fresh dir and returns it.
func buildContext(t *testing.T, files map[string]string) string {
	t.Helper()
	dir := t.TempDir()
	for name, content := range files {
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

func tarOf(files map[string]string) string {
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for name, content := range files {
		tw.WriteHeader(&tar.Header{Name: name, Mode: 0o640, Size: int64(len(content)), Uid: 7, Gid: 8, ModTime: time.Unix(1e9, 0)})
		tw.Write([]byte(content))
	}
	tw.Close()
	return buf.String()
}

// serve starts an HTTP server on 127.0.0.1 serving files, stopped on cleanup.
func serve(t *testing.T, files map[string]string) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		data, ok := files[r.URL.Path]
		if !ok {
			http.NotFound(w, r)
			return
		}
		w.Write([]byte(data))
	})}
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })
	return "http://" + ln.Addr().String()
}

func TestBuildEveryInstruction(t *testing.T) {
	e := newEngine(t)
	busybox(t, e)
	url := serve(t, map[string]string{"/remote.txt": "from the web\n"})
	dir := buildContext(t, map[string]string{
		"data.txt":    "1\n2\n3\n",
		"site/a.html": "a", "site/b.html": "b", "site/notes.md": "md",
		"bundle.tar": tarOf(map[string]string{"inner/x": "x\n"}),
		"Dockerfile": `# syntax=docker/dockerfile:1
ARG BASE=busybox
FROM $BASE
ARG GREETING=hello
ENV APP=/app PATH=/app/bin:$PATH
LABEL org.example.name=demo version="1.0"
MAINTAINER someone
WORKDIR $APP
COPY data.txt ./
COPY --chmod=0755 <<EOF bin/hello
#!/bin/sh
echo "hello from \$APP"
EOF
COPY --chown=app:app --exclude=*.md site/ www/
ADD bundle.tar /opt/
ADD ` + url + `/remote.txt /opt/remote.txt
RUN wc -l < data.txt > count && echo $GREETING > greeting && rm /etc/motd
SHELL ["/bin/sh", "-ec"]
RUN echo "$0 $-" > shell
USER app
RUN id -u > /tmp/uid
USER root
EXPOSE 8080 53/udp
VOLUME ["/data"]
STOPSIGNAL SIGTERM
HEALTHCHECK --interval=30s --retries=2 CMD hello
ONBUILD RUN echo triggered > /onbuild
ENTRYPOINT ["/bin/sh", "-c"]
CMD ["hello; cat count greeting shell /tmp/uid www/a.html /opt/inner/x /opt/remote.txt; ls www; ls -n www/b.html | cut -c1-30; test -e /etc/motd || echo no motd"]
`,
	})
	var events []string
	img, err := e.Build(context.Background(), skiff.BuildOptions{
		ContextDir: dir, Tags: []string{"demo:1", "demo:latest"}, BuildArgs: map[string]string{"GREETING": "hi"},
		Labels:   map[string]string{"built-by": "test"},
		Progress: func(ev skiff.BuildEvent) { events = append(events, ev.String()) },
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(events) == 0 {
		t.Errorf("no progress events")
	}
	out, stderr, st := run(t, e, skiff.ContainerConfig{Image: "demo:1"})
	want := "hello from /app\n3\nhi\n/bin/sh ce\n1000\na" + "x\nfrom the web\na.html\nb.html\n" +
		"-rw-r--r--    1 1000     1000 \nno motd\n"
	if out != want || st.Code != 0 {
		t.Errorf("run demo:1: exit %d, stdout\n%q\nwant\n%q\nstderr %s", st.Code, out, want, stderr)
	}
	c := img.Config.Config
	checks := map[string]bool{
		"labels":      c.Labels["org.example.name"] == "demo" && c.Labels["version"] == "1.0" && c.Labels["built-by"] == "test",
		"author":      img.Config.Author == "someone",
		"workdir":     c.WorkingDir == "/app",
		"user":        c.User == "root",
		"ports":       len(c.ExposedPorts) == 2,
		"volumes":     len(c.Volumes) == 1,
		"stopsignal":  c.StopSignal == "SIGTERM",
		"healthcheck": c.Healthcheck != nil && c.Healthcheck.Retries == 2 && strings.Join(c.Healthcheck.Test, " ") == "CMD-SHELL hello",
		"shell":       strings.Join(c.Shell, " ") == "/bin/sh -ec",
		"onbuild":     len(c.OnBuild) == 1,
		"entrypoint":  strings.Join(c.Entrypoint, " ") == "/bin/sh -c",
	}
	for name, ok := range checks {
		if !ok {
			t.Errorf("config %s wrong: %+v", name, img.Config)
		}
	}
	var layers int
	for _, h := range img.Config.History {
		if !h.EmptyLayer {
			layers++
		}
	}
	if layers != len(img.Layers) || len(img.Layers) != 3+8 {
		t.Errorf("%d layers, %d non-empty history entries; want 11 each", len(img.Layers), layers)
	}
	if _, err := e.Image(context.Background(), "demo:latest"); err != nil {
		t.Errorf("second tag: %v", err)
	}

	// ONBUILD triggers run in a build FROM the image.
	if _, err := e.Build(context.Background(), skiff.BuildOptions{DockerfileContent: []byte("FROM demo:1\n"), Tags: []string{"child"}}); err != nil {
		t.Fatal(err)
	}
	out, _, _ = run(t, e, skiff.ContainerConfig{Image: "child", Entrypoint: []string{"cat", "/onbuild"}})
	if out != "triggered\n" {
		t.Errorf("ONBUILD: %q", out)
	}
}

func TestBuildMultiStageScratch(t *testing.T) {
	e := newEngine(t)
	busybox(t, e)
	df := `FROM busybox AS tools
RUN mkdir -p /out/bin && cp /bin/busybox /out/bin/ && echo made > /out/made
FROM busybox AS never
RUN exit 99
FROM scratch
COPY --from=tools /out/ /
ENTRYPOINT ["/bin/busybox"]
CMD ["cat", "/made"]
`
	img, err := e.Build(context.Background(), skiff.BuildOptions{DockerfileContent: []byte(df), Tags: []string{"tiny"}})
	if err != nil {
		t.Fatal(err)
	}
	if len(img.Layers) != 1 {
		t.Errorf("%d layers, want 1", len(img.Layers))
	}
	out, _, st := run(t, e, skiff.ContainerConfig{Image: "tiny"})
	if out != "made\n" || st.Code != 0 {
		t.Errorf("run tiny: %q exit %d", out, st.Code)
	}
}

func TestBuildCacheHitAndMiss(t *testing.T) {
	e := newEngine(t)
	busybox(t, e)
	dir := buildContext(t, map[string]string{
		"a.txt": "a", "ignored.txt": "x", ".dockerignore": "ignored.txt\n",
		"Dockerfile": "FROM busybox\nRUN echo base > /base\nCOPY . /ctx/\nRUN ls -A /ctx > /listing\n",
	})
	build := func() int {
		ran := 0
		opts := skiff.BuildOptions{ContextDir: dir, Tags: []string{"cached"}, Progress: func(ev skiff.BuildEvent) {
			if ev.Kind == builder.StepDone && !ev.Cached && strings.HasPrefix(ev.Instruction, "RUN") {
				ran++
			}
		}}
		if _, err := e.Build(context.Background(), opts); err != nil {
			t.Fatal(err)
		}
		return ran
	}
	if n := build(); n != 2 {
		t.Errorf("first build ran %d RUN steps, want 2", n)
	}
	first, _ := e.Image(context.Background(), "cached")
	start := time.Now()
	if n := build(); n != 0 {
		t.Errorf("rebuild ran %d RUN steps, want 0", n)
	}
	t.Logf("cached rebuild: %v", time.Since(start))
	second, _ := e.Image(context.Background(), "cached")
	if first.Digest != second.Digest {
		t.Errorf("cached rebuild changed the digest: %s → %s", first.Digest, second.Digest)
	}
	// An ignored file does not bust the cache; a copied one does, from its step on.
	os.WriteFile(filepath.Join(dir, "ignored.txt"), []byte("changed"), 0o644)
	if n := build(); n != 0 {
		t.Errorf("after changing an ignored file: %d RUN steps ran, want 0", n)
	}
	os.WriteFile(filepath.Join(dir, "a.txt"), []byte("changed"), 0o644)
	if n := build(); n != 1 {
		t.Errorf("after changing a.txt: %d RUN steps ran, want 1", n)
	}
	out, _, _ := run(t, e, skiff.ContainerConfig{Image: "cached", Cmd: []string{"cat", "/listing", "/ctx/a.txt"}})
	if out != ".dockerignore\nDockerfile\na.txt\nchanged" {
		t.Errorf("listing %q", out)
	}
}

func TestBuildReproducible(t *testing.T) {
	dir := buildContext(t, map[string]string{"f": "content",
		"Dockerfile": "FROM busybox\nCOPY f /f\nRUN echo x > /x && mkdir /d\nENV A=b\n"})
	epoch := time.Unix(1700000000, 0)
	var digests []string
	for range 2 {
		e := newEngine(t)
		busybox(t, e)
		img, err := e.Build(context.Background(), skiff.BuildOptions{ContextDir: dir, SourceDateEpoch: epoch, Tags: []string{"r"}})
		if err != nil {
			t.Fatal(err)
		}
		digests = append(digests, img.Digest.String())
		if !img.Config.Created.Time.Equal(epoch) {
			t.Errorf("created %v, want %v", img.Config.Created, epoch)
		}
		time.Sleep(1100 * time.Millisecond) // a later build would show in any unclamped mtime
	}
	if digests[0] != digests[1] {
		t.Errorf("two builds with SOURCE_DATE_EPOCH: %s != %s", digests[0], digests[1])
	}
}

func TestBuildFailureNamesLineAndLeavesNothing(t *testing.T) {
	e := newEngine(t)
	busybox(t, e)
	before, _ := e.Images().List(context.Background())
	layersBefore, _ := e.Layers().List()
	df := "FROM busybox\nRUN echo fine > /fine\n# comment\nRUN echo to stdout; echo oops >&2; exit 42\nRUN echo never\n"
	_, err := e.Build(context.Background(), skiff.BuildOptions{DockerfileContent: []byte(df), Tags: []string{"broken"}})
	var se *builder.StepError
	if !errors.As(err, &se) || se.Line != 4 || se.ExitCode != 42 || !errors.Is(err, builder.ErrRunFailed) {
		t.Fatalf("error %v: want a StepError at line 4, exit code 42", err)
	}
	for _, s := range []string{"Dockerfile:4", "exit code 42", "oops", "to stdout"} {
		if !strings.Contains(err.Error(), s) {
			t.Errorf("error %q lacks %q", err, s)
		}
	}
	after, _ := e.Images().List(context.Background())
	layersAfter, _ := e.Layers().List()
	if len(after) != len(before) || len(layersAfter) != len(layersBefore) {
		t.Errorf("failed build changed the store: images %d → %d, layers %d → %d", len(before), len(after), len(layersBefore), len(layersAfter))
	}
	// A command that does not exist.
	_, err = e.Build(context.Background(), skiff.BuildOptions{DockerfileContent: []byte("FROM busybox\nRUN [\"/nope\"]\n")})
	if !errors.As(err, &se) || se.Line != 2 {
		t.Errorf("missing command: %v", err)
	}
	// Cancelled mid-RUN.
	ctx, cancel := context.WithTimeout(context.Background(), 500*time.Millisecond)
	defer cancel()
	_, err = e.Build(ctx, skiff.BuildOptions{DockerfileContent: []byte("FROM busybox\nRUN sleep 30\n")})
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("cancelled build: %v", err)
	}
	layersAfter, _ = e.Layers().List()
	if len(layersAfter) != len(layersBefore) {
		t.Errorf("cancelled build left layers: %d → %d", len(layersBefore), len(layersAfter))
	}
}

func TestBuildPushPull(t *testing.T) {
	addr := testutil.StartRegistry(t)
	e := newEngine(t)
	base := addr + "/lib/busybox:latest"
	testutil.PushImage(t, base, testutil.Busybox(t))
	ref := addr + "/app/built:1"
	df := "FROM " + base + "\nRUN echo shipped > /msg\nCMD [\"cat\", \"/msg\"]\n"
	img, err := e.Build(context.Background(), skiff.BuildOptions{DockerfileContent: []byte(df), Tags: []string{ref}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.Images().Push(context.Background(), ref); err != nil {
		t.Fatal(err)
	}
	fresh := newEngine(t)
	pulled, err := fresh.Pull(context.Background(), ref)
	if err != nil {
		t.Fatal(err)
	}
	if pulled.Digest != img.Digest {
		t.Errorf("pulled %s, pushed %s", pulled.Digest, img.Digest)
	}
	out, _, _ := run(t, fresh, skiff.ContainerConfig{Image: ref})
	if out != "shipped\n" {
		t.Errorf("run pulled image: %q", out)
	}
}
