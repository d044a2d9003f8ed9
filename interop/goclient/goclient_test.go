// Package goclient drives skiffd with Docker's official Go client
// (github.com/docker/docker/client): events, stats, archive, exec and its inspect, top,
// changes, wait.
package goclient

import (
	"archive/tar"
	"bytes"
	"context"
	"encoding/json"
	"io"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/events"
	"github.com/docker/docker/api/types/filters"
	"github.com/docker/docker/api/types/image"
	"github.com/docker/docker/client"
	"github.com/docker/docker/pkg/stdcopy"

	"github.com/skiffrt/skiff/interop/harness"
)

func TestMain(m *testing.M) {
	harness.Init()
	m.Run()
}

func TestGoClient(t *testing.T) {
	env := harness.Start(t)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	cli, err := client.NewClientWithOpts(client.WithHost(env.Host), client.WithAPIVersionNegotiation())
	if err != nil {
		t.Fatal(err)
	}
	defer cli.Close()
	if _, err := cli.Ping(ctx); err != nil {
		t.Fatal(err)
	}

	// Events from now on, of containers named "gc".
	evCtx, evCancel := context.WithCancel(ctx)
	defer evCancel()
	msgs, errs := cli.Events(evCtx, events.ListOptions{Filters: filters.NewArgs(
		filters.Arg("type", "container"), filters.Arg("container", "gc"))})

	rc, err := cli.ImagePull(ctx, env.Busybox, image.PullOptions{})
	if err != nil {
		t.Fatal(err)
	}
	io.Copy(io.Discard, rc)
	rc.Close()

	created, err := cli.ContainerCreate(ctx, &container.Config{Image: env.Busybox, Cmd: []string{"sh", "-c", "echo started; exec sleep 300"}},
		&container.HostConfig{}, nil, nil, "gc")
	if err != nil {
		t.Fatal(err)
	}
	id := created.ID
	t.Cleanup(func() { cli.ContainerRemove(context.Background(), id, container.RemoveOptions{Force: true}) })

	// Archive before start: a file put into a created container is there when it runs.
	var tb bytes.Buffer
	tw := tar.NewWriter(&tb)
	tw.WriteHeader(&tar.Header{Name: "put.txt", Mode: 0o640, Size: 4, Uid: 1000, Gid: 1000})
	tw.Write([]byte("put\n"))
	tw.Close()
	// Without CopyUIDGID the tar's owners are kept (with it, the container's user owns
	// the files, as Docker does).
	if err := cli.CopyToContainer(ctx, id, "/tmp", &tb, container.CopyToContainerOptions{}); err != nil {
		t.Fatal(err)
	}
	if err := cli.ContainerStart(ctx, id, container.StartOptions{}); err != nil {
		t.Fatal(err)
	}

	st, err := cli.ContainerStatPath(ctx, id, "/tmp/put.txt")
	if err != nil || st.Name != "put.txt" || st.Size != 4 || st.Mode.Perm() != 0o640 {
		t.Errorf("stat /tmp/put.txt = %+v, %v", st, err)
	}
	rd, pst, err := cli.CopyFromContainer(ctx, id, "/tmp/put.txt")
	if err != nil {
		t.Fatal(err)
	}
	tr := tar.NewReader(rd)
	h, err := tr.Next()
	if err != nil || h.Name != "put.txt" || h.Uid != 1000 || pst.Size != 4 {
		t.Errorf("copy from container: header %+v, stat %+v, %v", h, pst, err)
	}
	rd.Close()
	if _, _, err := cli.CopyFromContainer(ctx, id, "/no/such"); !client.IsErrNotFound(err) {
		t.Errorf("copy of a missing path: %v, want not found", err)
	}

	// Exec with inspect.
	ex, err := cli.ContainerExecCreate(ctx, id, container.ExecOptions{Cmd: []string{"sh", "-c", "echo execd; exit 7"}, AttachStdout: true, AttachStderr: true})
	if err != nil {
		t.Fatal(err)
	}
	att, err := cli.ContainerExecAttach(ctx, ex.ID, container.ExecAttachOptions{})
	if err != nil {
		t.Fatal(err)
	}
	var out, serr bytes.Buffer
	stdcopy.StdCopy(&out, &serr, att.Reader)
	att.Close()
	if out.String() != "execd\n" {
		t.Errorf("exec output %q (stderr %q)", out.String(), serr.String())
	}
	var ins container.ExecInspect
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		if ins, err = cli.ContainerExecInspect(ctx, ex.ID); err != nil || !ins.Running {
			break
		}
	}
	if err != nil || ins.Running || ins.ExitCode != 7 || ins.ContainerID != id {
		t.Errorf("exec inspect = %+v, %v", ins, err)
	}

	// Stats, one-shot and streamed.
	sr, err := cli.ContainerStatsOneShot(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	var stats container.StatsResponse
	err = json.NewDecoder(sr.Body).Decode(&stats)
	sr.Body.Close()
	if err != nil || stats.MemoryStats.Usage == 0 || stats.PidsStats.Current == 0 || stats.CPUStats.CPUUsage.TotalUsage == 0 {
		t.Errorf("one-shot stats = %+v, %v", stats, err)
	}
	sr, err = cli.ContainerStats(ctx, id, true)
	if err != nil {
		t.Fatal(err)
	}
	dec := json.NewDecoder(sr.Body)
	var first, second container.StatsResponse
	if err := dec.Decode(&first); err != nil {
		t.Fatal(err)
	}
	if err := dec.Decode(&second); err != nil {
		t.Fatal(err)
	}
	sr.Body.Close()
	if second.PreCPUStats.CPUUsage.TotalUsage != first.CPUStats.CPUUsage.TotalUsage || !second.Read.After(first.Read) {
		t.Errorf("streamed stats: precpu %d, previous cpu %d", second.PreCPUStats.CPUUsage.TotalUsage, first.CPUStats.CPUUsage.TotalUsage)
	}

	top, err := cli.ContainerTop(ctx, id, nil)
	if err != nil || len(top.Processes) == 0 || !strings.Contains(strings.Join(top.Processes[0], " "), "sleep") {
		t.Errorf("top = %+v, %v", top, err)
	}
	changes, err := cli.ContainerDiff(ctx, id)
	if err != nil || !strings.Contains(toJSON(changes), "/tmp/put.txt") {
		t.Errorf("diff = %s, %v", toJSON(changes), err)
	}

	if err := cli.ContainerKill(ctx, id, "KILL"); err != nil {
		t.Fatal(err)
	}
	waitC, waitErr := cli.ContainerWait(ctx, id, container.WaitConditionNotRunning)
	select {
	case w := <-waitC:
		if w.StatusCode != 137 {
			t.Errorf("wait = %+v", w)
		}
	case err := <-waitErr:
		t.Fatal(err)
	}

	var seen []string
	timeout := time.After(10 * time.Second)
	for !slices.Contains(seen, "die") {
		select {
		case m := <-msgs:
			seen = append(seen, string(m.Action))
			if m.Actor.ID != id || m.Actor.Attributes["name"] != "gc" {
				t.Errorf("event %+v", m)
			}
		case err := <-errs:
			t.Fatalf("events: %v (seen %q)", err, seen)
		case <-timeout:
			t.Fatalf("events seen %q, want create, start, kill, die", seen)
		}
	}
	if got := strings.Join(seen, "|"); !strings.HasPrefix(got, "create|start|exec_create: sh -c echo execd; exit 7|exec_start: sh -c echo execd; exit 7|exec_die|") || !strings.HasSuffix(got, "kill|die") {
		t.Errorf("events = %q", got)
	}
}

func toJSON(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}
