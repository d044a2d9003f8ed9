package namespace

import (
	"strings"
	"testing"
)

// TestCheckProto: an init refuses a parent of another protocol version, naming both.
func TestCheckProto(t *testing.T) {
	if err := checkProto(&syncMsg{Type: msgGo, Proto: protoVersion}); err != nil {
		t.Errorf("same version: %v", err)
	}
	for _, v := range []int{0, protoVersion + 1} {
		err := checkProto(&syncMsg{Type: msgGo, Proto: v})
		if err == nil || !strings.Contains(err.Error(), "protocol version") {
			t.Errorf("parent version %d: %v, want a refusal naming the versions", v, err)
		}
	}
	// writeMsg stamps the version on the messages that start a child's work.
	var b strings.Builder
	if err := writeMsg(&b, &syncMsg{Type: msgExec}); err != nil || !strings.Contains(b.String(), `"proto":1`) {
		t.Errorf("writeMsg(exec) = %q, %v", b.String(), err)
	}
}
