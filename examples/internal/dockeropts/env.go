package dockeropts

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"strings"
)

// ExpandEnv completes each bare KEY of docker's -e KEY from lookup (os.LookupEnv for
// the host's environment); a KEY that lookup does not know is dropped, as Docker
// drops it. KEY=VALUE entries pass unchanged.
func ExpandEnv(kvs []string, lookup func(string) (string, bool)) []string {
	var out []string
	for _, kv := range kvs {
		if !strings.Contains(kv, "=") {
			v, set := lookup(kv)
			if !set {
				continue
			}
			kv += "=" + v
		}
		out = append(out, kv)
	}
	return out
}

// ParseEnvFile reads docker's --env-file format: KEY=VALUE lines, # comments and
// blank lines skipped, leading blanks trimmed, a bare KEY completed by lookup.
func ParseEnvFile(r io.Reader, lookup func(string) (string, bool)) ([]string, error) {
	var lines []string
	sc := bufio.NewScanner(r)
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimLeft(sc.Text(), " \t")
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		if k, _, _ := strings.Cut(line, "="); k == "" || strings.ContainsAny(k, " \t") {
			return nil, fmt.Errorf("line %d: invalid variable name %q", n, k)
		}
		lines = append(lines, line)
	}
	if err := sc.Err(); err != nil {
		return nil, err
	}
	return ExpandEnv(lines, lookup), nil
}

// ReadLabelFile reads a --label-file: the --env-file format, a bare KEY being a label
// with an empty value.
func ReadLabelFile(path string) ([]string, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	labels, err := ParseEnvFile(f, func(string) (string, bool) { return "", true })
	if err != nil {
		return nil, fmt.Errorf("label file %s: %w", path, err)
	}
	return labels, nil
}

// ReadEnvFile reads the --env-file at path, bare keys from the host's environment.
func ReadEnvFile(path string) ([]string, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	env, err := ParseEnvFile(f, os.LookupEnv)
	if err != nil {
		return nil, fmt.Errorf("env file %s: %w", path, err)
	}
	return env, nil
}

// ParseLabels parses -l key=value entries (a bare key has an empty value); nil when
// there are none.
func ParseLabels(kvs []string) map[string]string {
	if len(kvs) == 0 {
		return nil
	}
	out := make(map[string]string, len(kvs))
	for _, kv := range kvs {
		k, v, _ := strings.Cut(kv, "=")
		out[k] = v
	}
	return out
}

// ParseSecurityOpt parses docker's --security-opt (also HostConfig.SecurityOpt); only
// no-new-privileges is supported. It reports whether no_new_privs is asked for.
func ParseSecurityOpt(opts []string) (noNewPrivileges bool, err error) {
	for _, o := range opts {
		switch o {
		case "no-new-privileges", "no-new-privileges:true", "no-new-privileges=true":
			noNewPrivileges = true
		case "no-new-privileges:false", "no-new-privileges=false":
			noNewPrivileges = false
		default:
			return false, fmt.Errorf("invalid --security-opt %q: only no-new-privileges is supported", o)
		}
	}
	return noNewPrivileges, nil
}
