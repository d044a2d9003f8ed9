package namespace

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// Message types on the sync socket (see the protocol in doc.go).
const (
	msgGo    = "go"    // parent → init: the spec; BeforeInit is done
	msgReady = "ready" // init → parent: created, waiting on the exec fifo
	msgError = "error" // init → parent: setup or execve failed
	msgExec  = "exec"  // parent → exec helper: the process to run
)

// protoVersion is the version of this protocol. It changes with any change of the
// messages' meaning, so that an init binary of another Skiff version (SetInitBinary)
// is refused rather than misread.
const protoVersion = 1

// syncMsg is one JSON message on the sync socket.
type syncMsg struct {
	Type string `json:"type"`
	// Proto is the parent's protoVersion, in the messages that start the child's work
	// (msgGo, msgExec).
	Proto int         `json:"proto,omitempty"`
	Spec  *specs.Spec `json:"spec,omitempty"`
	// Fifo is the host path of the exec fifo; init opens it before pivot_root.
	Fifo string `json:"fifo,omitempty"`
	// Chroot says init has no mount namespace of its own (cloned without
	// CLONE_NEWNS): it must chroot, never pivot_root, in its creator's. Sent apart
	// from Spec, whose empty Linux.Namespaces list does not survive JSON.
	Chroot bool        `json:"chroot,omitempty"`
	Err    *childError `json:"err,omitempty"`
}

func writeMsg(w io.Writer, m *syncMsg) error {
	if m.Type == msgGo || m.Type == msgExec {
		m.Proto = protoVersion
	}
	b, err := json.Marshal(m)
	if err != nil {
		return err
	}
	_, err = w.Write(append(b, '\n'))
	return err
}

// checkProto refuses a message m of a parent that speaks another protocol version.
func checkProto(m *syncMsg) error {
	if m.Proto != protoVersion {
		exe, _ := os.Readlink("/proc/self/exe")
		return fmt.Errorf("init binary %s speaks protocol version %d, its parent %d: build both from the same Skiff version",
			exe, protoVersion, m.Proto)
	}
	return nil
}

// readMsg reads one message; io.EOF means the peer closed the socket (or exec'd).
func readMsg(d *json.Decoder) (*syncMsg, error) {
	var m syncMsg
	if err := d.Decode(&m); err != nil {
		if err == io.EOF || err == io.ErrUnexpectedEOF {
			return nil, io.EOF
		}
		return nil, fmt.Errorf("sync socket: %w", err)
	}
	return &m, nil
}

// syncReply is the outcome of one readMsg.
type syncReply struct {
	m   *syncMsg
	err error
}

// awaitMsg reads p's next message from the sync socket, the read's own outcome (io.EOF
// included) in the reply. If ctx ends first it kills the child, which ends the read,
// waits for the read to return and returns ctx.Err().
func (p *Process) awaitMsg(ctx context.Context) (syncReply, error) {
	ch := make(chan syncReply, 1)
	go func() {
		m, err := readMsg(p.syncDec)
		ch <- syncReply{m, err}
	}()
	select {
	case r := <-ch:
		return r, nil
	case <-ctx.Done():
		_ = p.cmd.Process.Kill()
		<-ch
		return syncReply{}, ctx.Err()
	}
}
