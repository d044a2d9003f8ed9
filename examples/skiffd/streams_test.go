package main

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"
)

// upgrade sends an API request that hijacks the connection (attach, exec start) and
// returns the connection after the 101 and the stream's content type.
func (e *env) upgrade(t *testing.T, path string, body any) (net.Conn, *bufio.Reader, string) {
	t.Helper()
	conn, err := net.Dial("unix", e.sock)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	var data []byte
	if body != nil {
		data, _ = json.Marshal(body)
	}
	fmt.Fprintf(conn, "POST %s HTTP/1.1\r\nHost: docker\r\nContent-Type: application/json\r\nContent-Length: %d\r\n"+
		"Connection: Upgrade\r\nUpgrade: tcp\r\n\r\n%s", path, len(data), data)
	conn.SetDeadline(time.Now().Add(20 * time.Second))
	br := bufio.NewReader(conn)
	resp, err := http.ReadResponse(br, nil)
	if err != nil {
		t.Fatalf("POST %s: %v", path, err)
	}
	if resp.StatusCode != http.StatusSwitchingProtocols {
		b, _ := io.ReadAll(resp.Body)
		t.Fatalf("POST %s: %s %s", path, resp.Status, b)
	}
	return conn, br, resp.Header.Get("Content-Type")
}

// frames reads a multiplexed stream to its end: the concatenated payload of each
// stream type.
func frames(t *testing.T, r io.Reader) map[byte]string {
	t.Helper()
	out := map[byte]string{}
	for {
		var hdr [8]byte
		if _, err := io.ReadFull(r, hdr[:]); err != nil {
			if !errors.Is(err, io.EOF) {
				t.Errorf("frame header: %v", err)
			}
			return out
		}
		p := make([]byte, binary.BigEndian.Uint32(hdr[4:]))
		if _, err := io.ReadFull(r, p); err != nil {
			t.Fatalf("frame: %v", err)
		}
		out[hdr[0]] += string(p)
	}
}

// readUntil reads r until want appears, or fails.
func readUntil(t *testing.T, r *bufio.Reader, want string) {
	t.Helper()
	var seen bytes.Buffer
	for !strings.Contains(seen.String(), want) {
		b, err := r.ReadByte()
		if err != nil {
			t.Fatalf("waiting for %q: %v after %q", want, err, seen.String())
		}
		seen.WriteByte(b)
	}
}

// TestExecStartFramingAndDetach: exec start frames its stream by the start's Tty
// (multiplexed when false, whatever the exec was created with); a missing command
// exits 126; the detach keys end an exec session with a terminal, not its process.
func TestExecStartFramingAndDetach(t *testing.T) {
	e := newEnv(t)
	img := e.busybox()
	id := strings.TrimSpace(e.ok("run", "-d", img, "sleep", "60"))
	exec := func(cfg map[string]any) string {
		var created struct{ Id string }
		if code := e.apiJSON("POST", "/containers/"+id+"/exec", cfg, &created); code != http.StatusCreated {
			t.Fatalf("exec create %v: %d", cfg, code)
		}
		return created.Id
	}
	for _, createTty := range []bool{false, true} {
		ex := exec(map[string]any{"Cmd": []string{"echo", "hi"}, "AttachStdout": true, "Tty": createTty})
		_, br, ct := e.upgrade(t, "/exec/"+ex+"/start", map[string]any{"Tty": false})
		if got := frames(t, br); ct != "application/vnd.docker.multiplexed-stream" || !strings.HasPrefix(got[1], "hi") {
			t.Errorf("exec created with Tty %v, started without: %s %q", createTty, ct, got)
		}
	}
	ex := exec(map[string]any{"Cmd": []string{"echo", "raw"}, "AttachStdout": true, "Tty": true})
	_, br, ct := e.upgrade(t, "/exec/"+ex+"/start", map[string]any{"Tty": true})
	if all, _ := io.ReadAll(br); ct != "application/vnd.docker.raw-stream" || string(all) != "raw\r\n" {
		t.Errorf("exec with a terminal: %s %q", ct, all)
	}

	ex = exec(map[string]any{"Cmd": []string{"nosuchcommand"}, "AttachStdout": true, "AttachStderr": true})
	_, br, _ = e.upgrade(t, "/exec/"+ex+"/start", map[string]any{})
	frames(t, br)
	var inspect struct {
		ExitCode *int
		Running  bool
	}
	e.apiJSON("GET", "/exec/"+ex+"/json", nil, &inspect)
	if inspect.ExitCode == nil || *inspect.ExitCode != 126 {
		t.Errorf("exec of a missing command: exit code %v, want 126", inspect.ExitCode)
	}

	ex = exec(map[string]any{"Cmd": []string{"sh"}, "AttachStdin": true, "AttachStdout": true, "Tty": true, "DetachKeys": "ctrl-x"})
	conn, br, _ := e.upgrade(t, "/exec/"+ex+"/start", map[string]any{"Tty": true})
	fmt.Fprint(conn, "echo mark-$((40+2))\n")
	readUntil(t, br, "mark-42")
	conn.Write([]byte{0x18})
	if _, err := io.Copy(io.Discard, br); err != nil {
		t.Errorf("after the detach keys: %v, want the end of the stream", err)
	}
	e.apiJSON("GET", "/exec/"+ex+"/json", nil, &inspect)
	if !inspect.Running {
		t.Errorf("exec after detaching: not running")
	}
	var bad map[string]any
	if code := e.apiJSON("POST", "/containers/"+id+"/exec", map[string]any{"Cmd": []string{"sh"}, "DetachKeys": "ctrl-1"}, &bad); code != http.StatusBadRequest {
		t.Errorf("exec create with bad detach keys: %d, want 400", code)
	}
	e.ok("rm", "-f", id)
}

// TestAttachLogsAndDetachKeys: attach with stream=0&logs=1 returns the log and ends;
// the detach keys (detachKeys, default ctrl-p,ctrl-q) end an attach to a container
// with a terminal and leave it running.
func TestAttachLogsAndDetachKeys(t *testing.T) {
	e := newEnv(t)
	img := e.busybox()
	id := strings.TrimSpace(e.ok("run", "-d", img, "sh", "-c", "echo out; echo err >&2"))
	e.ok("wait", id)
	// The stream comes after the client read the 101, not in the same read, even from
	// a client slow to read it: one that reads the headers through a buffer and the
	// stream from the socket (docker-py) loses nothing.
	conn, err := net.Dial("unix", e.sock)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	fmt.Fprintf(conn, "POST /containers/%s/attach?logs=1&stream=0&stdout=1 HTTP/1.1\r\nHost: docker\r\n"+
		"Connection: Upgrade\r\nUpgrade: tcp\r\n\r\n", id)
	time.Sleep(100 * time.Millisecond) // the slow client: the log is ready to go long before
	slow := bufio.NewReader(conn)
	if resp, err := http.ReadResponse(slow, nil); err != nil || resp.StatusCode != http.StatusSwitchingProtocols {
		t.Fatalf("attach: %v", err)
	}
	if n := slow.Buffered(); n != 0 {
		t.Errorf("%d bytes of the stream came in the read of the 101", n)
	}
	_, br, _ := e.upgrade(t, "/containers/"+id+"/attach?logs=1&stream=0&stdout=1&stderr=1", nil)
	if got := frames(t, br); got[1] != "out\n" || got[2] != "err\n" {
		t.Errorf("attach logs=1 stream=0: %q", got)
	}
	_, br, _ = e.upgrade(t, "/containers/"+id+"/attach?logs=0&stream=0&stdout=1", nil)
	if got := frames(t, br); len(got) != 0 {
		t.Errorf("attach logs=0 stream=0: %q, want nothing", got)
	}

	sh := strings.TrimSpace(e.ok("run", "-dit", img, "sh"))
	for _, keys := range []string{"", "ctrl-a,b"} {
		q := "stream=1&stdin=1&stdout=1"
		seq := "\x10\x11"
		if keys != "" {
			q += "&detachKeys=" + keys
			seq = "\x01b"
		}
		conn, br, _ := e.upgrade(t, "/containers/"+sh+"/attach?"+q, nil)
		fmt.Fprint(conn, "echo mark-$((40+2))\n")
		readUntil(t, br, "mark-42")
		conn.Write([]byte(seq))
		if _, err := io.Copy(io.Discard, br); err != nil {
			t.Errorf("after the detach keys %q: %v, want the end of the stream", keys, err)
		}
		if st := e.ok("inspect", "-f", "{{.State.Status}}", sh); st != "running\n" {
			t.Errorf("after detaching with %q: %s", keys, st)
		}
	}
	e.ok("rm", "-f", id, sh)
}
