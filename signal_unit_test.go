package skiff

import (
	"errors"
	"syscall"
	"testing"
)

func TestParseSignal(t *testing.T) {
	for in, want := range map[string]syscall.Signal{
		"":        syscall.SIGTERM, // docker kill's default is KILL, but stop's TERM: callers pick
		"TERM":    syscall.SIGTERM,
		"SIGTERM": syscall.SIGTERM,
		"sigkill": syscall.SIGKILL,
		"hup":     syscall.SIGHUP,
		"USR1":    syscall.SIGUSR1,
		"9":       syscall.SIGKILL,
		"1":       syscall.SIGHUP,
		"64":      syscall.Signal(64),
		"RTMIN+3": syscall.Signal(37),
	} {
		got, err := ParseSignal(in)
		if err != nil || got != want {
			t.Errorf("ParseSignal(%q) = %d, %v; want %d", in, got, err, want)
		}
	}
	for _, in := range []string{"0", "-1", "-9", "65", "1000", "NOPE", "SIG", "TERM9", " TERM"} {
		if got, err := ParseSignal(in); !errors.Is(err, ErrInvalidConfig) {
			t.Errorf("ParseSignal(%q) = %d, %v; want ErrInvalidConfig", in, got, err)
		}
	}
}
