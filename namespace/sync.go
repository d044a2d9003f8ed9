package namespace

import (
	"context"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"io"
	"os"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"
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
	Chroot bool `json:"chroot,omitempty"`
	// Filter is Spec's seccomp profile compiled by the parent (which compiles it
	// anyway, to validate it): Spec travels without it, so the child neither decodes
	// nor compiles it again.
	Filter *wireFilter `json:"filter,omitempty"`
	Err    *childError `json:"err,omitempty"`
}

// wireFilter is a compiled seccomp filter on the sync socket.
type wireFilter struct {
	Prog  []byte  `json:"prog"` // the instructions, 8 bytes each in host order
	Flags uintptr `json:"flags,omitempty"`
}

// toWire returns f for the sync socket; nil for nil.
func (f *seccompFilter) toWire() *wireFilter {
	if f == nil {
		return nil
	}
	b := make([]byte, 0, 8*len(f.prog))
	for _, ins := range f.prog {
		b = binary.NativeEndian.AppendUint16(b, ins.Code)
		b = append(b, ins.Jt, ins.Jf)
		b = binary.NativeEndian.AppendUint32(b, ins.K)
	}
	return &wireFilter{Prog: b, Flags: f.flags}
}

// filter returns the filter w carries; nil for nil.
func (w *wireFilter) filter() (*seccompFilter, error) {
	if w == nil {
		return nil, nil
	}
	if len(w.Prog) == 0 || len(w.Prog)%8 != 0 {
		return nil, fmt.Errorf("linux.seccomp: compiled filter of %d bytes", len(w.Prog))
	}
	f := &seccompFilter{prog: make([]unix.SockFilter, len(w.Prog)/8), flags: w.Flags}
	for i := range f.prog {
		b := w.Prog[8*i:]
		f.prog[i] = unix.SockFilter{Code: binary.NativeEndian.Uint16(b), Jt: b[2], Jf: b[3], K: binary.NativeEndian.Uint32(b[4:])}
	}
	return f, nil
}

// goMessage is the "go" message of spec: the spec without its seccomp profile, which
// travels compiled (filter, from validate).
func goMessage(spec *specs.Spec, filter *seccompFilter, fifo string, chroot bool) *syncMsg {
	if filter != nil && spec.Linux != nil && spec.Linux.Seccomp != nil {
		s, l := *spec, *spec.Linux
		l.Seccomp = nil
		s.Linux = &l
		spec = &s
	}
	return &syncMsg{Type: msgGo, Spec: spec, Fifo: fifo, Chroot: chroot, Filter: filter.toWire()}
}

// execSpec is the spec of an msgExec as it is written: only the process. Encoding a
// *specs.Spec would first build the encoders of every type the spec type reaches
// (all platforms, all resources), whatever the value holds.
type execSpec struct {
	Process *specs.Process `json:"process"`
}

func writeMsg(w io.Writer, m *syncMsg) error {
	if m.Type == msgGo || m.Type == msgExec {
		m.Proto = protoVersion
	}
	var v any = m
	if m.Type == msgExec && m.Spec != nil {
		// The same JSON as m, with the spec encoded through the narrow view.
		type wire syncMsg
		v = &struct {
			*wire
			Spec *execSpec `json:"spec,omitempty"`
		}{(*wire)(m), &execSpec{Process: m.Spec.Process}}
	}
	b, err := json.Marshal(v)
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
