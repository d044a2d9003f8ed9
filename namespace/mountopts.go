package namespace

import (
	"fmt"
	"strings"

	"golang.org/x/sys/unix"
)

// mountOpts is the parsed form of an OCI mount's options.
type mountOpts struct {
	flags     uintptr   // MS_* flags for mount(2)
	propFlags []uintptr // propagation changes, applied one by one after mounting
	data      string    // the rest, passed to the filesystem
}

// optFlags lists mount(8) options and their flags, as constants: a map would be built at
// package init, at every start of the binary.
var optFlags = [...]mountFlag{
	{"async", true, unix.MS_SYNCHRONOUS},
	{"atime", true, unix.MS_NOATIME},
	{"bind", false, unix.MS_BIND},
	{"defaults", false, 0},
	{"dev", true, unix.MS_NODEV},
	{"diratime", true, unix.MS_NODIRATIME},
	{"dirsync", false, unix.MS_DIRSYNC},
	{"exec", true, unix.MS_NOEXEC},
	{"mand", false, unix.MS_MANDLOCK},
	{"noatime", false, unix.MS_NOATIME},
	{"nodev", false, unix.MS_NODEV},
	{"nodiratime", false, unix.MS_NODIRATIME},
	{"noexec", false, unix.MS_NOEXEC},
	{"nomand", true, unix.MS_MANDLOCK},
	{"norelatime", true, unix.MS_RELATIME},
	{"nostrictatime", true, unix.MS_STRICTATIME},
	{"nosuid", false, unix.MS_NOSUID},
	{"rbind", false, unix.MS_BIND | unix.MS_REC},
	{"relatime", false, unix.MS_RELATIME},
	{"ro", false, unix.MS_RDONLY},
	{"rw", true, unix.MS_RDONLY},
	{"strictatime", false, unix.MS_STRICTATIME},
	{"suid", true, unix.MS_NOSUID},
	{"sync", false, unix.MS_SYNCHRONOUS},
}

var propFlags = map[string]uintptr{
	"private":     unix.MS_PRIVATE,
	"rprivate":    unix.MS_PRIVATE | unix.MS_REC,
	"shared":      unix.MS_SHARED,
	"rshared":     unix.MS_SHARED | unix.MS_REC,
	"slave":       unix.MS_SLAVE,
	"rslave":      unix.MS_SLAVE | unix.MS_REC,
	"unbindable":  unix.MS_UNBINDABLE,
	"runbindable": unix.MS_UNBINDABLE | unix.MS_REC,
}

// mountFlag is a mount option that sets (or, with clear, clears) a flag.
type mountFlag struct {
	name  string
	clear bool
	flag  uintptr
}

// optFlag looks a mount option up in optFlags.
func optFlag(opt string) (mountFlag, bool) {
	for _, f := range optFlags {
		if f.name == opt {
			return f, true
		}
	}
	return mountFlag{}, false
}

// parseMountOptions splits OCI mount options into flags, propagation and data, as
// mount(8) does.
func parseMountOptions(options []string) mountOpts {
	var o mountOpts
	var data []string
	for _, opt := range options {
		if f, ok := optFlag(opt); ok {
			if f.clear {
				o.flags &^= f.flag
			} else {
				o.flags |= f.flag
			}
			continue
		}
		if f, ok := propFlags[opt]; ok {
			o.propFlags = append(o.propFlags, f)
			continue
		}
		data = append(data, opt)
	}
	o.data = strings.Join(data, ",")
	return o
}

// mountError names the operation, source, target, type and flags of a failed mount.
type mountError struct {
	op, source, target, fstype string
	flags                      uintptr
	data                       string
	err                        error
}

func (e *mountError) Error() string {
	s := fmt.Sprintf("%s %s on %s", e.op, e.source, e.target)
	if e.fstype != "" {
		s += " type " + e.fstype
	}
	s += fmt.Sprintf(" flags %#x", e.flags)
	if e.data != "" {
		s += " data " + e.data
	}
	return s + ": " + e.err.Error()
}

func (e *mountError) Unwrap() error { return e.err }

// mount is mount(2) retried on EINTR, with an error naming everything.
func mount(source, target, fstype string, flags uintptr, data string) error {
	for {
		err := unix.Mount(source, target, fstype, flags, data)
		if err == unix.EINTR {
			continue
		}
		if err != nil {
			op := "mount"
			if flags&unix.MS_REMOUNT != 0 {
				op = "remount"
			} else if flags&unix.MS_BIND != 0 {
				op = "bind"
			}
			return &mountError{op: op, source: source, target: target, fstype: fstype, flags: flags, data: data, err: err}
		}
		return nil
	}
}
