package dockerfile

import (
	"slices"
	"strings"
)

type flagKind int

const (
	boolFlag flagKind = iota
	stringFlag
	stringsFlag
)

// flagSpec declares the flags an instruction takes.
type flagSpec map[string]flagKind

// flagValues holds parsed flags: the last value of a bool or string flag,
// every value of a repeatable one.
type flagValues struct {
	used map[string][]string
}

func (f flagValues) str(name string) string {
	v := f.used[name]
	if len(v) == 0 {
		return ""
	}
	return v[len(v)-1]
}

func (f flagValues) isSet(name string) bool { _, ok := f.used[name]; return ok }

func (f flagValues) boolean(name string) bool { return f.str(name) == "true" }

func (f flagValues) optBool(name string) *bool {
	if !f.isSet(name) {
		return nil
	}
	b := f.boolean(name)
	return &b
}

func (f flagValues) strs(name string) []string { return f.used[name] }

// parseFlags checks flags ("--name=value") against spec.
func parseFlags(flags []string, spec flagSpec) (flagValues, error) {
	fv := flagValues{used: map[string][]string{}}
	for _, a := range flags {
		if a == "--" {
			break
		}
		if !strings.HasPrefix(a, "--") {
			return fv, errorf(ErrInvalidFlag, "arg should start with -- : %s", a)
		}
		name, value, hasValue := strings.Cut(a, "=")
		key := name[2:]
		kind, ok := spec[key]
		if !ok {
			msg := "unknown flag: " + name
			names := make([]string, 0, len(spec))
			for k := range spec {
				names = append(names, k)
			}
			if s := suggest(key, names, true); s != "" {
				msg += " (did you mean " + s + "?)"
			}
			return fv, errorf(ErrUnknownFlag, "%s", msg)
		}
		if _, dup := fv.used[key]; dup && kind != stringsFlag {
			return fv, errorf(ErrInvalidFlag, "duplicate flag specified: %s", name)
		}
		switch kind {
		case boolFlag:
			if hasValue && value == "" {
				return fv, errorf(ErrInvalidFlag, "missing a value on flag: %s", name)
			}
			switch strings.ToLower(value) {
			case "true", "":
				value = "true"
			case "false":
				value = "false"
			default:
				return fv, errorf(ErrInvalidFlag, "expecting boolean value for flag %s, not: %s", name, value)
			}
		default:
			if !hasValue {
				return fv, errorf(ErrInvalidFlag, "missing a value on flag: %s", name)
			}
		}
		fv.used[key] = append(fv.used[key], value)
	}
	return fv, nil
}

// suggest returns the option closest to val (edit distance below 3), or "".
func suggest(val string, options []string, caseSensitive bool) string {
	orig := val
	if !caseSensitive {
		val = strings.ToLower(val)
	}
	slices.Sort(options)
	best, bestDist := "", 3
	for _, o := range options {
		if !caseSensitive {
			o = strings.ToLower(o)
		}
		if o == val {
			return ""
		}
		if d := levenshtein(val, o); d < bestDist {
			best, bestDist = o, d
		}
	}
	if best != "" && !caseSensitive && orig != strings.ToLower(orig) {
		best = strings.ToUpper(best)
	}
	return best
}

func levenshtein(a, b string) int {
	ra, rb := []rune(a), []rune(b)
	prev := make([]int, len(rb)+1)
	cur := make([]int, len(rb)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(ra); i++ {
		cur[0] = i
		for j := 1; j <= len(rb); j++ {
			cost := 1
			if ra[i-1] == rb[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(rb)]
}
