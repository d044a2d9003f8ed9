package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"io"
	"net/http"
	"strconv"
	"sync"

	"github.com/skiffrt/skiff"
	"github.com/skiffrt/skiff/examples/internal/dockeropts"
)

// execInstance is one docker exec: created by POST /containers/{id}/exec, run by
// POST /exec/{id}/start, read by GET /exec/{id}/json. Kept in memory only.
type execInstance struct {
	ID          string
	ContainerID string
	Config      execConfig

	mu       sync.Mutex
	running  bool
	exitCode *int
	pid      int
	proc     *skiff.ExecProcess
}

type execConfig struct {
	User         string
	Privileged   bool
	Tty          bool
	AttachStdin  bool
	AttachStdout bool
	AttachStderr bool
	Env          []string
	Cmd          []string
	WorkingDir   string
	ConsoleSize  *[2]uint
	DetachKeys   string
}

func (d *daemon) execRoutes(h func(string, apiFunc)) {
	h("POST /containers/{id}/exec", d.execCreate)
	h("POST /exec/{id}/start", d.execStart)
	h("GET /exec/{id}/json", d.execInspect)
	h("POST /exec/{id}/resize", d.execResize)
}

func (d *daemon) execCreate(w http.ResponseWriter, r *http.Request) error {
	ref := r.PathValue("id")
	c, err := d.container(r.Context(), ref)
	if err != nil {
		return err
	}
	var cfg execConfig
	if err := decodeBody(r, &cfg); err != nil {
		return err
	}
	if len(cfg.Cmd) == 0 {
		return errorf(http.StatusBadRequest, "No exec command specified")
	}
	if _, err := dockeropts.ParseDetachKeys(cfg.DetachKeys); err != nil {
		return errorf(http.StatusBadRequest, "%v", err)
	}
	st := c.State()
	if st.Status == skiff.StatusPaused {
		return errorf(http.StatusConflict, "container %s is paused, unpause the container before exec", ref)
	}
	if st.Status != skiff.StatusRunning {
		return errorf(http.StatusConflict, "container %s is not running", st.ID)
	}
	b := make([]byte, 32)
	rand.Read(b)
	ex := &execInstance{ID: hex.EncodeToString(b), ContainerID: st.ID, Config: cfg}
	d.mu.Lock()
	d.execs[ex.ID] = ex
	d.mu.Unlock()
	return writeJSON(w, http.StatusCreated, map[string]string{"Id": ex.ID})
}

func (d *daemon) execInstance(id string) (*execInstance, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	ex := d.execs[id]
	if ex == nil {
		return nil, errorf(http.StatusNotFound, "No such exec instance: %s", id)
	}
	return ex, nil
}

func (d *daemon) execStart(w http.ResponseWriter, r *http.Request) error {
	ex, err := d.execInstance(r.PathValue("id"))
	if err != nil {
		return err
	}
	var body struct {
		Detach      bool
		Tty         bool
		ConsoleSize *[2]uint
	}
	if err := decodeBody(r, &body); err != nil {
		return err
	}
	ex.mu.Lock()
	if ex.running || ex.exitCode != nil {
		ex.mu.Unlock()
		return errorf(http.StatusConflict, "exec %s has already been started", ex.ID)
	}
	ex.running = true
	ex.mu.Unlock()
	c, err := d.container(r.Context(), ex.ContainerID)
	if err != nil {
		return err
	}
	// The process has a terminal when the exec was created with one; the stream is
	// raw when the start asks for it, multiplexed otherwise (as Docker frames it).
	tty, raw := ex.Config.Tty, body.Tty
	size := ex.Config.ConsoleSize
	if body.ConsoleSize != nil {
		size = body.ConsoleSize
	}
	cfg := skiff.ExecConfig{Cmd: ex.Config.Cmd, Env: ex.Config.Env, User: ex.Config.User, WorkingDir: ex.Config.WorkingDir}
	ctx := context.WithoutCancel(r.Context())
	if body.Detach {
		p, err := d.runExec(ctx, c, cfg, tty, size)
		if err != nil {
			ex.finish(exitCodeOf(err))
			return err
		}
		ex.started(p)
		go func() { code, _ := p.Wait(); ex.finish(code) }()
		w.Header().Set("Content-Length", "0")
		w.WriteHeader(http.StatusOK)
		return nil
	}
	conn, br, err := hijack(w, !raw)
	if err != nil {
		ex.finish(126)
		return nil
	}
	defer conn.Close()
	awaitPeerRead(conn)
	f := &framer{w: conn, raw: raw}
	detached := make(chan struct{})
	if ex.Config.AttachStdin {
		cfg.Stdin = br
		if tty { // the detach keys end the session, not the process
			keys, _ := dockeropts.ParseDetachKeys(ex.Config.DetachKeys)
			cfg.Stdin = &detachingReader{r: &dockeropts.DetachReader{R: br, Keys: keys}, detached: detached}
		}
	}
	if ex.Config.AttachStdout {
		cfg.Stdout = f.stream(streamStdout)
	}
	if ex.Config.AttachStderr {
		cfg.Stderr = f.stream(streamStderr)
	}
	p, err := d.runExec(ctx, c, cfg, tty, size)
	if err != nil {
		f.write(streamStderr, []byte(message(err)+"\n"))
		ex.finish(exitCodeOf(err)) // before the stream closes: the CLI asks at once
		return nil
	}
	ex.started(p)
	waited := make(chan struct{})
	go func() {
		code, err := p.Wait()
		if err != nil {
			code = 126
		}
		ex.finish(code)
		close(waited)
	}()
	select {
	case <-waited:
	case <-detached: // the process goes on; its exit is still recorded
	}
	return nil
}

// exitCodeOf is the exit code of an exec that could not start: 126, as Docker's exec
// gives also for a command that is not found (its run gives 127).
func exitCodeOf(err error) int { return 126 }

// detachingReader closes detached when the client typed the detach keys.
type detachingReader struct {
	r        io.Reader
	detached chan struct{}
	once     sync.Once
}

func (d *detachingReader) Read(p []byte) (int, error) {
	n, err := d.r.Read(p)
	if errors.Is(err, dockeropts.ErrDetached) {
		d.once.Do(func() { close(d.detached) })
		return n, io.EOF
	}
	return n, err
}

func (ex *execInstance) started(p *skiff.ExecProcess) {
	ex.mu.Lock()
	ex.proc, ex.pid = p, p.Pid()
	ex.mu.Unlock()
}

func (ex *execInstance) finish(code int) {
	ex.mu.Lock()
	ex.running = false
	ex.exitCode = &code
	ex.mu.Unlock()
}

func (d *daemon) execInspect(w http.ResponseWriter, r *http.Request) error {
	ex, err := d.execInstance(r.PathValue("id"))
	if err != nil {
		return err
	}
	ex.mu.Lock()
	defer ex.mu.Unlock()
	var code any
	if ex.exitCode != nil {
		code = *ex.exitCode
	}
	args := []string{}
	if len(ex.Config.Cmd) > 1 {
		args = ex.Config.Cmd[1:]
	}
	return writeJSON(w, http.StatusOK, map[string]any{
		"ID": ex.ID, "Running": ex.running, "ExitCode": code, "ContainerID": ex.ContainerID, "Pid": ex.pid,
		"OpenStdin": ex.Config.AttachStdin, "OpenStdout": ex.Config.AttachStdout, "OpenStderr": ex.Config.AttachStderr,
		"CanRemove": false, "DetachKeys": ex.Config.DetachKeys,
		"ProcessConfig": map[string]any{"tty": ex.Config.Tty, "entrypoint": ex.Config.Cmd[0], "arguments": args,
			"privileged": ex.Config.Privileged, "user": ex.Config.User},
	})
}

func (d *daemon) execResize(w http.ResponseWriter, r *http.Request) error {
	ex, err := d.execInstance(r.PathValue("id"))
	if err != nil {
		return err
	}
	resizeExec(ex, r)
	w.WriteHeader(http.StatusOK)
	return nil
}

// runExec starts the exec's process, with a terminal when tty.
func (d *daemon) runExec(ctx context.Context, c *skiff.Container, cfg skiff.ExecConfig, tty bool, size *[2]uint) (*skiff.ExecProcess, error) {
	var ts *skiff.TerminalSize
	if tty {
		ts = &skiff.TerminalSize{Rows: 24, Cols: 80}
		if size != nil && size[0] > 0 && size[1] > 0 {
			ts = &skiff.TerminalSize{Rows: uint16(size[0]), Cols: uint16(size[1])}
		}
	}
	cfg.Terminal = ts
	return c.Exec(ctx, cfg)
}

func resizeExec(ex *execInstance, r *http.Request) {
	h, _ := strconv.Atoi(r.URL.Query().Get("h"))
	w, _ := strconv.Atoi(r.URL.Query().Get("w"))
	ex.mu.Lock()
	p := ex.proc
	ex.mu.Unlock()
	if p != nil && h > 0 && w > 0 && ex.Config.Tty {
		p.Resize(uint16(h), uint16(w))
	}
}
