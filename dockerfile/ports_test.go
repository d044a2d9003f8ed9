package dockerfile

import (
	"reflect"
	"testing"
)

func TestParsePorts(t *testing.T) {
	got, err := ParsePorts([]string{"80", "53/UDP", "8000-8002/tcp", "127.0.0.1:8080:80", "9/sctp"})
	want := []string{"80/tcp", "53/udp", "8000/tcp", "8001/tcp", "8002/tcp", "80/tcp", "9/sctp"}
	if err != nil || !reflect.DeepEqual(got, want) {
		t.Fatalf("ParsePorts = %q, %v; want %q", got, err, want)
	}
	for _, bad := range []string{"http", "80/icmp", "70000", "90-80", "nope:80", ""} {
		if _, err := ParsePorts([]string{bad}); err == nil {
			t.Errorf("ParsePorts(%q) accepted", bad)
		}
	}
}
