package dockeropts

import (
	"fmt"
	"strconv"
	"strings"
)

// RestartPolicy is docker's --restart (HostConfig.RestartPolicy): Name is "no",
// "always", "unless-stopped" or "on-failure", MaximumRetryCount the N of
// on-failure:N (0: no limit).
type RestartPolicy struct {
	Name              string
	MaximumRetryCount int
}

// ParseRestartPolicy parses --restart no|always|unless-stopped|on-failure[:N]; the
// empty string is "no".
func ParseRestartPolicy(s string) (RestartPolicy, error) {
	name, count, hasCount := strings.Cut(s, ":")
	p := RestartPolicy{Name: name}
	switch name {
	case "":
		p.Name = "no"
	case "no", "always", "unless-stopped":
		if hasCount {
			return p, fmt.Errorf("invalid restart policy %q: maximum retry count can only be used with 'on-failure'", s)
		}
	case "on-failure":
		if hasCount {
			n, err := strconv.Atoi(count)
			if err != nil || n < 0 {
				return p, fmt.Errorf("invalid restart policy %q: maximum retry count must be a positive integer", s)
			}
			p.MaximumRetryCount = n
		}
	default:
		return p, fmt.Errorf("invalid restart policy %q: want no, always, unless-stopped or on-failure[:N]", s)
	}
	return p, nil
}
