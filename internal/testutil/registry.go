package testutil

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// RegistryBinary is Debian's docker-registry (distribution 2.8), which
// StartRegistry runs.
const RegistryBinary = "/usr/bin/docker-registry"

// registryReadyTimeout bounds the wait for GET /v2/ to answer.
const registryReadyTimeout = 15 * time.Second

// StartRegistry starts Debian's docker-registry on 127.0.0.1 on a free port,
// with its storage in a temp dir, no auth and deletes enabled, waits until
// GET /v2/ answers (typically 50-150 ms), and returns its address
// "127.0.0.1:PORT". A t.Cleanup kills and reaps it. Without the binary the
// test is skipped (failed in CI); a registry that does not come up fails the
// test with its stderr. The registry speaks plain HTTP, which ggcr and the
// registry package allow for 127.0.0.1.
func StartRegistry(t testing.TB) string {
	t.Helper()
	return startRegistry(t, "")
}

// StartRegistryAuth is StartRegistry with HTTP basic auth: only user with
// password pass may pull or push (use remote.WithAuth(&authn.Basic{...})).
// The htpasswd file is made with `htpasswd -Bbn` (apache2-utils).
func StartRegistryAuth(t testing.TB, user, pass string) string {
	t.Helper()
	htpasswd := RequireBinary(t, "htpasswd")
	out, err := exec.Command(htpasswd, "-Bbn", user, pass).Output()
	if err != nil {
		t.Fatalf("htpasswd -Bbn %s: %v", user, err)
	}
	file := filepath.Join(t.TempDir(), "htpasswd")
	if err := os.WriteFile(file, bytes.TrimSpace(out), 0o600); err != nil {
		t.Fatalf("htpasswd: %v", err)
	}
	return startRegistry(t, fmt.Sprintf(`auth:
  htpasswd:
    realm: skiff-test
    path: %s
`, file))
}

// startRegistry runs the registry with auth, a YAML "auth:" section or "" for
// none, appended to its config.
func startRegistry(t testing.TB, auth string) string {
	t.Helper()
	_, err := os.Stat(RegistryBinary)
	Require(t, RegistryBinary+" (apt-get install docker-registry)", err == nil)
	dir := t.TempDir()
	storage := filepath.Join(dir, "storage")
	if err := os.Mkdir(storage, 0o755); err != nil {
		t.Fatalf("registry storage: %v", err)
	}
	var lastErr error
	for attempt := 0; attempt < 5; attempt++ {
		addr := fmt.Sprintf("127.0.0.1:%d", FreePort(t))
		config := filepath.Join(dir, "config.yml")
		if err := os.WriteFile(config, []byte(registryConfig(addr, storage, auth)), 0o644); err != nil {
			t.Fatalf("registry config: %v", err)
		}
		r, err := runRegistry(t.Context(), RegistryBinary, config, addr)
		if err == nil {
			t.Cleanup(func() {
				r.stop()
				if t.Failed() {
					t.Logf("docker-registry %s stderr:\n%s", addr, r.stderr.String())
				}
			})
			return addr
		}
		lastErr = err
		if !strings.Contains(err.Error(), "address already in use") {
			break
		}
	}
	t.Fatalf("start registry: %v", lastErr)
	return ""
}

func registryConfig(addr, storage, auth string) string {
	c := fmt.Sprintf(`version: 0.1
log:
  level: warn
  accesslog:
    disabled: true
storage:
  filesystem:
    rootdirectory: %s
  delete:
    enabled: true
  maintenance:
    uploadpurging:
      enabled: false
http:
  addr: %s
  secret: %s
`, storage, addr, RandomName("skiff-test-"))
	return c + auth
}

// registry is a running docker-registry process.
type registry struct {
	cmd    *exec.Cmd
	done   chan struct{} // closed when cmd.Wait returned
	stderr *syncBuffer
}

// runRegistry starts the registry and waits until GET /v2/ on addr answers
// (with any status), or the process exits, or the timeout passes.
func runRegistry(ctx context.Context, bin, config, addr string) (*registry, error) {
	r := &registry{
		cmd:    exec.Command(bin, "serve", config),
		done:   make(chan struct{}),
		stderr: &syncBuffer{},
	}
	r.cmd.Stdout = r.stderr
	r.cmd.Stderr = r.stderr
	if err := r.cmd.Start(); err != nil {
		return nil, fmt.Errorf("%s serve %s: %w", bin, config, err)
	}
	go func() { _ = r.cmd.Wait(); close(r.done) }()

	client := &http.Client{Timeout: time.Second}
	deadline := time.After(registryReadyTimeout)
	for {
		resp, err := client.Get("http://" + addr + "/v2/")
		if err == nil {
			resp.Body.Close()
			return r, nil
		}
		select {
		case <-r.done:
			return nil, fmt.Errorf("%s serve %s on %s exited (%v): %s", bin, config, addr, r.cmd.ProcessState, r.stderr.String())
		case <-deadline:
			r.stop()
			return nil, fmt.Errorf("%s on %s: GET /v2/ did not answer within %v: %v; stderr: %s", bin, addr, registryReadyTimeout, err, r.stderr.String())
		case <-ctx.Done():
			r.stop()
			return nil, fmt.Errorf("%s on %s: %w", bin, addr, ctx.Err())
		case <-time.After(10 * time.Millisecond):
		}
	}
}

// stop kills the registry and waits until it is reaped.
func (r *registry) stop() {
	_ = r.cmd.Process.Kill()
	<-r.done
}

// syncBuffer is a bytes.Buffer safe for a writing process and a reader.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}
