package cgroup

import (
	"fmt"
	"strconv"
	"strings"
)

// DeviceRule is one rule of the devices controller, applied in order as the OCI
// runtime spec's linux.resources.devices entries are: Allow false with Type "a" (or
// "") denies every device, then allow rules open single ones.
type DeviceRule struct {
	// Allow says whether the rule allows (devices.allow) or denies (devices.deny).
	Allow bool
	// Type is "c" (character), "b" (block) or "a" (all; "" too).
	Type string
	// Major and Minor are the device numbers; nil (or negative) means any ("*").
	Major, Minor *int64
	// Access is a subset of "rwm" (read, write, mknod); "" means "rwm".
	Access string
}

// String returns the rule as written to devices.allow or devices.deny: "c 1:3 rwm",
// "a".
func (r DeviceRule) String() string {
	typ := r.Type
	if typ == "" {
		typ = "a"
	}
	if typ == "a" {
		return "a"
	}
	num := func(n *int64) string {
		if n == nil || *n < 0 {
			return "*"
		}
		return strconv.FormatInt(*n, 10)
	}
	access := r.Access
	if access == "" {
		access = "rwm"
	}
	return typ + " " + num(r.Major) + ":" + num(r.Minor) + " " + access
}

func (r DeviceRule) validate() error {
	switch r.Type {
	case "", "a", "b", "c":
	default:
		return fmt.Errorf("%w: device rule type %q (want a, b or c)", ErrInvalidResources, r.Type)
	}
	if strings.Trim(r.Access, "rwm") != "" {
		return fmt.Errorf("%w: device rule access %q (want a subset of rwm)", ErrInvalidResources, r.Access)
	}
	return nil
}

// deviceSettings describes rules as writes to the v1 devices controller. Cgroup v2
// controls devices with an eBPF program, which this package does not load: rules
// there are refused with ErrNotSupported.
func deviceSettings(rules []DeviceRule, v2 bool) ([]Setting, error) {
	if len(rules) == 0 {
		return nil, nil
	}
	if v2 {
		return nil, fmt.Errorf("%w: device rules on cgroup v2 (an eBPF program)", ErrNotSupported)
	}
	out := make([]Setting, 0, len(rules))
	for _, r := range rules {
		if err := r.validate(); err != nil {
			return nil, err
		}
		f := "devices.deny"
		if r.Allow {
			f = "devices.allow"
		}
		out = append(out, Setting{"devices", f, r.String(), false})
	}
	return out, nil
}
