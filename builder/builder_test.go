package builder_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/skiffrt/skiff/builder"
)

func TestBuildRunCopyMetadata(t *testing.T) {
	e := newEnv(t)
	dir := t.TempDir()
	writeTree(t, dir, map[string]string{"data.txt": "1\n2\n3\n", "src/a.go": "a", "src/b.go": "b", "src/c.txt": "c", "src/sub/d.go": "d"})
	df := `FROM busybox
ARG GREETING=hello
ENV APP=/app
WORKDIR $APP
COPY data.txt ./
COPY --chown=1000:1000 --chmod=0600 src/*.go /code/
COPY --exclude=*.txt src /tree
RUN wc -l < data.txt > count && echo $GREETING > greeting && rm /etc/motd
SHELL ["/bin/sh", "-ec"]
RUN echo "shell is $0" > shell
LABEL a=b
EXPOSE 80 53/udp
VOLUME /data
USER app
STOPSIGNAL SIGINT
HEALTHCHECK --interval=5s CMD true
ONBUILD RUN echo child
ENTRYPOINT ["cat"]
CMD ["/app/count"]
`
	img, err := e.build(t, dir, df, builder.Options{Tags: []string{"test/app:1"}, BuildArgs: map[string]string{"GREETING": "hi"}})
	if err != nil {
		t.Fatal(err)
	}
	if img.Name != "docker.io/test/app:1" {
		t.Errorf("name %q", img.Name)
	}
	fs := imageFS(t, e.images, img)
	want := map[string]string{"/app/data.txt": "1\n2\n3\n", "/app/count": "3\n", "/app/greeting": "hi\n",
		"/code/a.go": "a", "/code/b.go": "b", "/tree/a.go": "a", "/tree/sub/d.go": "d", "/app/shell": "shell is /bin/sh\n"}
	for p, w := range want {
		if got, ok := fs[p]; !ok || got.data != w {
			t.Errorf("%s = %q (present %t), want %q", p, got.data, ok, w)
		}
	}
	for _, p := range []string{"/etc/motd", "/tree/c.txt", "/code/c.txt"} {
		if _, ok := fs[p]; ok {
			t.Errorf("%s present, want absent", p)
		}
	}
	if h := fs["/code/a.go"].hdr; h.Uid != 1000 || h.Gid != 1000 || h.Mode&0o7777 != 0o600 {
		t.Errorf("/code/a.go: owner %d:%d mode %o, want 1000:1000 0600", h.Uid, h.Gid, h.Mode)
	}
	if h := fs["/app/data.txt"].hdr; h.Uid != 0 || h.Mode&0o777 != 0o644 {
		t.Errorf("/app/data.txt: owner %d mode %o, want 0 0644", h.Uid, h.Mode)
	}
	c := img.Config.Config
	if strings.Join(c.Entrypoint, " ") != "cat" || strings.Join(c.Cmd, " ") != "/app/count" || c.WorkingDir != "/app" ||
		c.User != "app" || c.StopSignal != "SIGINT" || c.Labels["a"] != "b" || len(c.ExposedPorts) != 2 ||
		len(c.Volumes) != 1 || c.Healthcheck == nil || c.Healthcheck.Interval != 5*time.Second ||
		strings.Join(c.Shell, " ") != "/bin/sh -ec" || len(c.OnBuild) != 1 {
		t.Errorf("config %+v", c)
	}
	if _, ok := c.ExposedPorts["53/udp"]; !ok {
		t.Errorf("exposed ports %v", c.ExposedPorts)
	}
	var envOK bool
	for _, kv := range c.Env {
		envOK = envOK || kv == "APP=/app"
	}
	if !envOK {
		t.Errorf("env %v", c.Env)
	}
	// 3 busybox layers + 3 COPY + 2 RUN.
	if len(img.Layers) != 8 {
		t.Errorf("%d layers, want 8", len(img.Layers))
	}
	var empty, full int
	for _, h := range img.Config.History {
		if h.EmptyLayer {
			empty++
		} else {
			full++
		}
	}
	if full != len(img.Layers) {
		t.Errorf("history has %d non-empty entries for %d layers", full, len(img.Layers))
	}
	if e.runner.runs.Load() != 2 {
		t.Errorf("%d runs, want 2", e.runner.runs.Load())
	}

	// A child image runs the ONBUILD trigger.
	child, err := e.build(t, dir, "FROM test/app:1\n", builder.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if len(child.Layers) != 9 || len(child.Config.Config.OnBuild) != 0 {
		t.Errorf("child: %d layers, onbuild %v; want 9 and none", len(child.Layers), child.Config.Config.OnBuild)
	}
}

func TestBuildCache(t *testing.T) {
	e := newEnv(t)
	dir := t.TempDir()
	writeTree(t, dir, map[string]string{"a.txt": "a", "b.txt": "b"})
	df := "FROM busybox\nRUN echo one > /one\nCOPY a.txt /a\nRUN cat /a > /a2\nCOPY b.txt /b\n"
	first, err := e.build(t, dir, df, builder.Options{Tags: []string{"c:1"}})
	if err != nil {
		t.Fatal(err)
	}
	if n := e.runner.runs.Load(); n != 2 {
		t.Fatalf("first build ran %d commands, want 2", n)
	}
	var cached int
	second, err := e.build(t, dir, df, builder.Options{Tags: []string{"c:1"}, Progress: func(ev builder.Event) {
		if ev.Kind == builder.StepDone && ev.Cached {
			cached++
		}
	}})
	if err != nil {
		t.Fatal(err)
	}
	if n := e.runner.runs.Load(); n != 2 {
		t.Errorf("cached rebuild ran %d commands, want none", n-2)
	}
	if second.Digest != first.Digest {
		t.Errorf("cached rebuild digest %s, want %s", second.Digest, first.Digest)
	}
	if cached != 5 {
		t.Errorf("%d cached steps, want 5", cached)
	}
	// Changing a.txt rebuilds from its COPY on: one RUN runs again.
	os.WriteFile(filepath.Join(dir, "a.txt"), []byte("A"), 0o644)
	third, err := e.build(t, dir, df, builder.Options{Tags: []string{"c:1"}})
	if err != nil {
		t.Fatal(err)
	}
	if n := e.runner.runs.Load(); n != 3 {
		t.Errorf("after touching a.txt: %d runs, want 3", n)
	}
	if got := imageFS(t, e.images, third)["/a2"].data; got != "A" {
		t.Errorf("/a2 = %q, want A", got)
	}
	// --no-cache runs everything.
	if _, err := e.build(t, dir, df, builder.Options{NoCache: true}); err != nil {
		t.Fatal(err)
	}
	if n := e.runner.runs.Load(); n != 5 {
		t.Errorf("no-cache: %d runs, want 5", n)
	}
	// A changed build arg used by RUN misses; an unused one does not.
	df2 := "FROM busybox\nARG X=1\nARG Y=1\nRUN echo $X > /x\n"
	for _, c := range []struct {
		args map[string]string
		runs int32
	}{{nil, 6}, {map[string]string{"X": "1"}, 6}, {map[string]string{"X": "2"}, 7}} {
		if _, err := e.build(t, dir, df2, builder.Options{BuildArgs: c.args}); err != nil {
			t.Fatal(err)
		}
		if n := e.runner.runs.Load(); n != c.runs {
			t.Errorf("args %v: %d runs, want %d", c.args, n, c.runs)
		}
	}
}

func TestBuildMultiStage(t *testing.T) {
	e := newEnv(t)
	dir := t.TempDir()
	df := `FROM busybox AS build
RUN mkdir /out && echo built > /out/bin && chown 1000 /out/bin
FROM busybox AS unused
RUN exit 1
FROM scratch
COPY --from=build /out/ /
COPY --from=busybox /etc/motd /motd
CMD ["/bin"]
`
	img, err := e.build(t, dir, df, builder.Options{Tags: []string{"multi"}})
	if err != nil {
		t.Fatal(err)
	}
	fs := imageFS(t, e.images, img)
	if fs["/bin"].data != "built\n" || fs["/bin"].hdr.Uid != 1000 || fs["/motd"].data != "welcome\n" {
		t.Errorf("files: %v", fs)
	}
	if len(img.Layers) != 2 || len(fs) != 2 {
		t.Errorf("%d layers, %d files; want 2, 2", len(img.Layers), len(fs))
	}
	// Target picks a stage, and stops there.
	img, err = e.build(t, dir, df, builder.Options{Target: "build"})
	if err != nil {
		t.Fatal(err)
	}
	if len(img.Layers) != 4 {
		t.Errorf("target build: %d layers, want 4", len(img.Layers))
	}
	_, err = e.build(t, dir, df, builder.Options{Target: "nope"})
	if !errors.Is(err, builder.ErrStage) {
		t.Errorf("unknown target: %v, want ErrStage", err)
	}
}

func TestBuildErrors(t *testing.T) {
	e := newEnv(t)
	dir := t.TempDir()
	before, _ := e.layers.List()
	df := "FROM busybox\nRUN echo ok > /ok\n\nRUN echo some output; echo bad >&2; exit 3\n"
	_, err := e.build(t, dir, df, builder.Options{Tags: []string{"bad"}})
	var se *builder.StepError
	if !errors.As(err, &se) || !errors.Is(err, builder.ErrRunFailed) || se.Line != 4 || se.ExitCode != 3 {
		t.Fatalf("err %v, want a StepError at line 4 with exit code 3", err)
	}
	for _, s := range []string{"Dockerfile:4:", "exit code 3", "bad", "some output"} {
		if !strings.Contains(err.Error(), s) {
			t.Errorf("error %q lacks %q", err, s)
		}
	}
	after, _ := e.layers.List()
	if len(after) != len(before) {
		t.Errorf("failed build left layers: %d before, %d after", len(before), len(after))
	}
	if _, err := e.images.Image(context.Background(), "bad"); err == nil {
		t.Errorf("failed build stored an image")
	}
	_, err = e.build(t, dir, "FROM busybox\nCOPY missing /x\n", builder.Options{})
	if !errors.Is(err, builder.ErrSourceNotFound) || !strings.Contains(err.Error(), "Dockerfile:2:") {
		t.Errorf("missing source: %v", err)
	}
	_, err = e.build(t, dir, "FROM busybox\nFOO bar\n", builder.Options{})
	if err == nil || !strings.Contains(err.Error(), "Dockerfile:2") {
		t.Errorf("syntax error: %v", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := e.b.Build(ctx, builder.Options{ContextDir: dir, DockerfileContent: []byte("FROM busybox\nRUN true\n")}); !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled build: %v", err)
	}
}

func TestBuildContextRules(t *testing.T) {
	e := newEnv(t)
	dir := t.TempDir()
	writeTree(t, dir, map[string]string{
		".dockerignore": "*.log\nsecret/\n!keep.log\n",
		"a.log":         "no", "keep.log": "yes", "secret/key": "no", "dir/x": "x", "dir/y/z": "z", "one": "1",
	})
	os.Symlink("/etc/shadow", filepath.Join(dir, "escape"))
	df := `FROM busybox
COPY . /ctx/
COPY dir /d
COPY dir/ /e/
COPY one /f
COPY one /etc/
`
	img, err := e.build(t, dir, df, builder.Options{})
	if err != nil {
		t.Fatal(err)
	}
	fs := imageFS(t, e.images, img)
	for p, w := range map[string]string{"/ctx/keep.log": "yes", "/ctx/dir/y/z": "z", "/d/x": "x", "/d/y/z": "z",
		"/e/x": "x", "/f": "1", "/etc/one": "1"} {
		if fs[p].data != w {
			t.Errorf("%s = %q, want %q", p, fs[p].data, w)
		}
	}
	for _, p := range []string{"/ctx/a.log", "/ctx/secret/key", "/ctx/secret", "/d/dir"} {
		if _, ok := fs[p]; ok {
			t.Errorf("%s copied, want ignored", p)
		}
	}
	// The symlink resolves inside the context: /etc/shadow of the context, which does not exist.
	_, err = e.build(t, dir, "FROM busybox\nCOPY escape /esc\n", builder.Options{})
	if !errors.Is(err, builder.ErrSourceNotFound) {
		t.Errorf("symlink to /etc/shadow: %v, want ErrSourceNotFound", err)
	}
	_, err = e.build(t, dir, "FROM busybox\nCOPY a.log /\n", builder.Options{})
	if !errors.Is(err, builder.ErrSourceNotFound) {
		t.Errorf("ignored source: %v, want ErrSourceNotFound", err)
	}
}
