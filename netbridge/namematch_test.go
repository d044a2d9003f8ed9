package netbridge

import (
	"regexp"
	"strings"
	"testing"
)

// The hand-written name matcher accepts exactly what the regexp it replaces accepts.
func TestValidNameMatchesRegexp(t *testing.T) {
	re := regexp.MustCompile(`^[a-zA-Z0-9][a-zA-Z0-9_.-]{0,63}$`)
	cases := []string{"", "a", "Z", "0", "bridge", "my-net_1.2", "-x", "_x", ".x", "..", "a/b", "a b",
		"a\n", "\na", "é", "aé", "a:b", strings.Repeat("a", 64), strings.Repeat("a", 65), "a" + strings.Repeat("-", 63)}
	for c := 0; c < 256; c++ {
		cases = append(cases, string(rune(c)), "a"+string([]byte{byte(c)}), string([]byte{byte(c)})+"a")
	}
	for _, s := range cases {
		if got, want := validName.MatchString(s), re.MatchString(s); got != want {
			t.Errorf("validName.MatchString(%q) = %v, regexp says %v", s, got, want)
		}
	}
}

func FuzzValidName(f *testing.F) {
	re := regexp.MustCompile(`^[a-zA-Z0-9][a-zA-Z0-9_.-]{0,63}$`)
	f.Add("bridge")
	f.Add("-x")
	f.Fuzz(func(t *testing.T, s string) {
		if got, want := validName.MatchString(s), re.MatchString(s); got != want {
			t.Errorf("validName.MatchString(%q) = %v, regexp says %v", s, got, want)
		}
	})
}
