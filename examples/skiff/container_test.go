package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/creack/pty"

	"github.com/skiffrt/skiff"
	"github.com/skiffrt/skiff/internal/testutil"
)

// withBusybox stores the test busybox image in the CLI's root as busybox:latest.
func withBusybox(t *testing.T, c *cli) {
	t.Helper()
	e, err := skiff.New(skiff.WithRoot(c.root))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.Images().Write(context.Background(), "busybox:latest", testutil.Busybox(t)); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		// Whatever a failed test left running.
		out, _, _ := c.run("", "ps", "-aq", "--no-trunc")
		for _, id := range strings.Fields(out) {
			c.run("", "rm", "-f", id)
		}
	})
}

// expect runs args and checks the exit code and that stdout (and stderr) contain the
// wanted strings.
func (c *cli) expect(code int, stdin string, wantOut, wantErr string, args ...string) string {
	c.t.Helper()
	out, errOut, got := c.run(stdin, args...)
	if got != code || !strings.Contains(out, wantOut) || !strings.Contains(errOut, wantErr) {
		c.t.Errorf("skiff %s: exit %d (want %d)\nstdout: %q (want %q)\nstderr: %q (want %q)",
			strings.Join(args, " "), got, code, out, wantOut, errOut, wantErr)
	}
	return out
}

func TestCLIRunExitCodesAndFlags(t *testing.T) {
	c := newCLI(t)
	withBusybox(t, c)
	c.expect(0, "", "hi\n", "", "run", "--rm", "--network", "none", "busybox", "echo", "hi")
	c.expect(3, "", "", "", "run", "--rm", "--network", "none", "busybox", "sh", "-c", "exit 3")
	c.expect(127, "", "", "not found", "run", "--rm", "--network", "none", "busybox", "nosuch")
	c.expect(126, "", "", "not executable", "run", "--rm", "--network", "none", "busybox", "/etc/motd")
	c.expect(125, "", "", "", "run", "--rm", "--network", "none", "--memory", "lots", "busybox", "true")
	c.expect(0, "piped\n", "piped\n", "", "run", "--rm", "-i", "--network", "none", "busybox", "cat")
	// Without -i the container's stdin is empty.
	c.expect(0, "piped\n", "0\n", "", "run", "--rm", "--network", "none", "busybox", "sh", "-c", "wc -c")

	envFile := filepath.Join(t.TempDir(), "env")
	os.WriteFile(envFile, []byte("# comment\nB=from-file\n\n"), 0o644)
	c.expect(0, "", "a from-file\n/tmp\n65534:65534\nbox\nno-new-privs\n1024 1024\n", "", "run", "--rm", "--network", "none",
		"-e", "A=a", "--env-file", envFile, "-w", "/tmp", "-u", "65534:65534", "--hostname", "box",
		"--security-opt", "no-new-privileges", "--ulimit", "nofile=1024:1024", "busybox",
		"sh", "-c", `echo $A $B; pwd; echo $(id -u):$(id -g); hostname; grep -q 'NoNewPrivs:.1' /proc/self/status && echo no-new-privs; echo $(ulimit -Sn) $(ulimit -Hn)`)
	c.expect(0, "", "entry: x\n", "", "run", "--rm", "--network", "none", "--entrypoint", "echo", "busybox", "entry:", "x")
	c.expect(0, "", "rc=1\n", "", "run", "--rm", "--network", "none", "--read-only", "busybox", "sh", "-c", "touch /x 2>/dev/null; echo rc=$?")
	c.expect(0, "", "Seccomp:\t0\n", "", "run", "--rm", "--network", "none", "--privileged", "busybox", "grep", "^Seccomp:", "/proc/self/status")
	c.expect(0, "", "CapEff:\t00000000a80405fb\n", "", "run", "--rm", "--network", "none", "--cap-drop", "NET_RAW", "busybox", "grep", "CapEff", "/proc/self/status")
	c.expect(0, "", "init\n", "", "run", "--rm", "--network", "none", "--init", "busybox", "sh", "-c", "[ $$ != 1 ] && echo init")
	c.expect(0, "", "limited\n", "", "run", "--rm", "--network", "none", "--cpus", "1.5", "--pids-limit", "50", "--memory", "64m",
		"--memory-swap", "128m", "--label", "a=b", "busybox", "echo", "limited")

	// Mounts: tmpfs with size and mode, ro and rw binds, a propagation suffix.
	c.expect(0, "", "tmpfs 8192\n700\n", "", "run", "--rm", "--network", "none", "--tmpfs", "/scratch:size=8m,mode=700", "busybox",
		"sh", "-c", "df -k /scratch | tail -1 | awk '{print $1, $2}'; stat -c %a /scratch")
	host := t.TempDir()
	c.expect(0, "", "rc=1\n", "", "run", "--rm", "--network", "none", "-v", host+":/h:ro", "busybox", "sh", "-c", "echo x > /h/f 2>/dev/null; echo rc=$?")
	c.expect(0, "", "shared:", "", "run", "--rm", "--network", "none", "-v", host+":/h:rw,rshared", "busybox", "sh", "-c", "echo x > /h/f; grep ' /h ' /proc/self/mountinfo")
	if b, err := os.ReadFile(filepath.Join(host, "f")); err != nil || string(b) != "x\n" {
		t.Errorf("rw bind: host file %q %v", b, err)
	}
	c.expect(0, "", "ro\n", "", "run", "--rm", "--network", "none", "--mount", "type=bind,source="+host+",target=/h,readonly", "busybox",
		"sh", "-c", "grep ' /h ' /proc/self/mountinfo | grep -o ' ro,' | tr -d ' ,'")
	c.expect(125, "", "", "invalid volume specification", "run", "--rm", "--network", "none", "-v", "/x:ro", "busybox", "true")
}

func TestCLIDetachedLifecycleAndVolumes(t *testing.T) {
	c := newCLI(t)
	withBusybox(t, c)
	id := strings.TrimSpace(c.expect(0, "", "", "", "run", "-d", "--name", "web", "--network", "none", "-v", "data:/opt/dir", "busybox",
		"sh", "-c", "echo started; cat /opt/dir/c; sleep 0.2; echo oops >&2; while true; do sleep 0.1; done"))
	if !regexp.MustCompile(`^[0-9a-f]{64}$`).MatchString(id) {
		t.Fatalf("run -d printed %q, want the container ID", id)
	}
	c.expect(0, "", "web", "", "ps")
	if out := c.ok("ps"); !regexp.MustCompile(`(?m)^` + id[:12] + `\s+busybox\s+.*\sUp .*\sweb$`).MatchString(out) {
		t.Errorf("ps:\n%s", out)
	}
	c.expect(0, "", id+"\n", "", "ps", "-q", "--no-trunc")
	waitFor(t, func() bool {
		out, errOut, _ := c.run("", "logs", "web")
		return out == "started\nc\n" && errOut == "oops\n"
	})
	c.expect(0, "", "c\n", "oops\n", "logs", "--tail", "2", "web")
	if out := c.ok("logs", "-t", "web"); !regexp.MustCompile(`^\d{4}-\d\d-\d\dT\S+Z started\n`).MatchString(out) {
		t.Errorf("logs -t: %q", out)
	}
	c.expect(0, "", "", "", "logs", "--since", "1h", "web")
	c.expect(0, "", "1 "+id[:12]+"\n/opt/dir\nc\n", "", "exec", "-e", "X=1", "-w", "/opt/dir", "web", "sh", "-c", "echo $X $(hostname); pwd; ls")
	c.expect(126, "", "", "not found", "exec", "web", "nosuch")
	c.expect(5, "", "", "", "exec", "web", "sh", "-c", "exit 5")
	c.expect(0, "", "web\n", "", "pause", "web")
	c.expect(0, "", "(Paused)", "", "ps")
	c.expect(0, "", "web\n", "", "unpause", "web")
	c.expect(1, "", "", "container is running", "rm", "web")
	c.expect(1, "", "", "volume is in use", "volume", "rm", "data")

	// logs -f follows until the container ends.
	follow := exec.Command(skiffBin(t), "--root", c.root, "logs", "-f", "web")
	var fout bytes.Buffer
	follow.Stdout = &fout
	if err := follow.Start(); err != nil {
		t.Fatal(err)
	}
	c.expect(0, "", "web\n", "", "stop", "-t", "1", "web")
	done := make(chan error, 1)
	go func() { done <- follow.Wait() }()
	select {
	case err := <-done:
		if err != nil || fout.String() != "started\nc\n" {
			t.Errorf("logs -f: %q %v", fout.String(), err)
		}
	case <-time.After(10 * time.Second):
		follow.Process.Kill()
		t.Errorf("logs -f did not end with the container")
	}
	c.expect(0, "", "137\n", "", "wait", "web")
	if out := c.ok("ps", "-a", "--filter", "status=exited"); !strings.Contains(out, "Exited (137)") || !strings.Contains(out, "web") {
		t.Errorf("ps -a --filter status=exited:\n%s", out)
	}
	if out := c.ok("ps", "--filter", "status=running"); strings.Contains(out, "web") {
		t.Errorf("ps --filter status=running shows the stopped container:\n%s", out)
	}
	c.expect(0, "", "web\n", "", "rm", "web")
	c.expect(1, "", "", "Error response from daemon: No such container: web\n", "rm", "web")
	c.expect(1, "", "", "Error response from daemon: No such container: web\n", "stop", "web")

	// The volume outlived the container, seeded from the image and kept.
	c.expect(0, "", "data\n", "", "volume", "ls", "-q")
	var vols []skiff.Volume
	if err := json.Unmarshal([]byte(c.ok("volume", "inspect", "data")), &vols); err != nil || len(vols) != 1 || vols[0].Name != "data" || vols[0].Driver != "local" {
		t.Errorf("volume inspect: %+v %v", vols, err)
	}
	c.expect(0, "", "c\nm\nmine\n", "", "run", "--rm", "--network", "none", "-v", "data:/opt/dir", "busybox", "sh", "-c", "echo mine > /opt/dir/m; ls /opt/dir; cat /opt/dir/m")
	c.expect(0, "", "data\n", "", "volume", "rm", "data")
	c.expect(1, "", "", "no such volume", "volume", "inspect", "data")
	c.expect(0, "", "named\n", "", "volume", "create", "--label", "a=b", "named")
	c.expect(0, "", "", "", "run", "--network", "none", "--name", "anon", "-v", "/opt/dir", "busybox", "true")
	if out := c.ok("volume", "ls", "-q"); len(strings.Fields(out)) != 2 {
		t.Errorf("volume ls after an anonymous volume: %q", out)
	}
	c.expect(0, "", "anon\n", "", "rm", "-v", "anon")
	c.expect(0, "", "named\n", "", "volume", "ls", "-q")
	c.expect(0, "", "Deleted Volumes:\nnamed\n", "", "volume", "prune", "-a", "-f")

	// create + start -a: the exit status and output of the container.
	cid := strings.TrimSpace(c.ok("create", "--network", "none", "--name", "later", "busybox", "sh", "-c", "echo created-out; exit 5"))
	c.expect(0, "", "later", "", "ps", "-a", "--filter", "status=created")
	c.expect(5, "", "created-out\n", "", "start", "-a", cid[:12])
	c.expect(0, "", "later\n", "", "rm", "later")
	c.expect(0, "", "", "", "run", "-d", "--rm", "--network", "none", "--name", "gone", "busybox", "true")
	waitFor(t, func() bool { out, _, _ := c.run("", "ps", "-aq"); return out == "" })
}

func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		if cond() {
			return
		}
	}
	t.Fatalf("condition not met within 10s")
}

// ptyTerm is the user's side of a pseudo-terminal running a skiff command.
type ptyTerm struct {
	t    *testing.T
	ptmx *os.File
	cmd  *exec.Cmd
	mu   sync.Mutex
	out  bytes.Buffer
	done chan struct{}
}

func (c *cli) startTerm(rows, cols uint16, args ...string) *ptyTerm {
	c.t.Helper()
	cmd := exec.Command(skiffBin(c.t), append([]string{"--root", c.root}, args...)...)
	ptmx, err := pty.StartWithSize(cmd, &pty.Winsize{Rows: rows, Cols: cols})
	if err != nil {
		c.t.Fatal(err)
	}
	tm := &ptyTerm{t: c.t, ptmx: ptmx, cmd: cmd, done: make(chan struct{})}
	go func() {
		defer close(tm.done)
		buf := make([]byte, 4096)
		for {
			n, err := ptmx.Read(buf)
			tm.mu.Lock()
			tm.out.Write(buf[:n])
			tm.mu.Unlock()
			if err != nil {
				return
			}
		}
	}()
	c.t.Cleanup(func() { cmd.Process.Kill(); ptmx.Close() })
	return tm
}

// expect waits until the terminal shows re (in what it printed so far).
func (tm *ptyTerm) expect(re string) {
	tm.t.Helper()
	r := regexp.MustCompile(re)
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		tm.mu.Lock()
		ok := r.MatchString(tm.out.String())
		tm.mu.Unlock()
		if ok {
			return
		}
	}
	tm.mu.Lock()
	defer tm.mu.Unlock()
	tm.t.Fatalf("terminal never showed %q; it shows %q", re, tm.out.String())
}

func (tm *ptyTerm) wait() int {
	tm.t.Helper()
	err := tm.cmd.Wait()
	select {
	case <-tm.done:
	case <-time.After(5 * time.Second):
	}
	if ee, ok := err.(*exec.ExitError); ok {
		return ee.ExitCode()
	}
	if err != nil {
		tm.t.Fatal(err)
	}
	return 0
}

// TestCLITerminal: run -it and exec -it through a real pseudo-terminal: the shell in
// the container has a terminal of the user's size, follows a resize (SIGWINCH), and
// raw mode passes control characters to it.
func TestCLITerminal(t *testing.T) {
	c := newCLI(t)
	withBusybox(t, c)
	tm := c.startTerm(30, 100, "run", "-it", "--rm", "--network", "none", "--name", "tty", "busybox", "sh")
	io.WriteString(tm.ptmx, "stty size; tty; echo $((6*7))x\r")
	tm.expect(`30 100\r\n/dev/pts/\d+\r\n42x`)
	if err := pty.Setsize(tm.ptmx, &pty.Winsize{Rows: 40, Cols: 120}); err != nil {
		t.Fatal(err)
	}
	time.Sleep(200 * time.Millisecond) // SIGWINCH to skiff, then TIOCSWINSZ on the container's terminal
	io.WriteString(tm.ptmx, "stty size\r")
	tm.expect(`40 120\r\n`)

	// exec -it into it, from a second terminal.
	ex := c.startTerm(25, 80, "exec", "-it", "tty", "sh")
	io.WriteString(ex.ptmx, "stty size; echo in-exec-$((1+1))\r")
	ex.expect(`25 80\r\n.*in-exec-2`)
	io.WriteString(ex.ptmx, "sleep 30\r")
	time.Sleep(200 * time.Millisecond)
	io.WriteString(ex.ptmx, "\x03") // ^C in raw mode goes to the container's terminal
	io.WriteString(ex.ptmx, "exit 4\r")
	if code := ex.wait(); code != 4 {
		t.Errorf("exec -it: exit %d, want 4", code)
	}

	io.WriteString(tm.ptmx, "exit 7\r")
	if code := tm.wait(); code != 7 {
		t.Errorf("run -it: exit %d, want 7", code)
	}
	if out := c.ok("ps", "-aq"); out != "" {
		t.Errorf("run -it --rm left %q", out)
	}
	// -it without a terminal is refused, as docker does.
	c.expect(1, "", "", "the input device is not a TTY", "run", "-it", "--rm", "--network", "none", "busybox", "true")
}
