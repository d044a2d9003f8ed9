package namespace

import (
	"encoding/json"
	"fmt"
	"io"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// Message types on the sync socket (see the protocol in doc.go).
const (
	msgGo    = "go"    // parent → init: the spec; BeforeInit is done
	msgReady = "ready" // init → parent: created, waiting on the exec fifo
	msgError = "error" // init → parent: setup or execve failed
	msgExec  = "exec"  // parent → exec helper: the process to run
)

// syncMsg is one JSON message on the sync socket.
type syncMsg struct {
	Type string      `json:"type"`
	Spec *specs.Spec `json:"spec,omitempty"`
	// Fifo is the host path of the exec fifo; init opens it before pivot_root.
	Fifo string      `json:"fifo,omitempty"`
	Err  *childError `json:"err,omitempty"`
}

func writeMsg(w io.Writer, m *syncMsg) error {
	b, err := json.Marshal(m)
	if err != nil {
		return err
	}
	_, err = w.Write(append(b, '\n'))
	return err
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
