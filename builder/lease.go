package builder

import (
	"os"

	"golang.org/x/sys/unix"
)

// A build holds Config.GCLock shared for its whole life, as a pull does while it writes:
// a garbage collection (which takes it exclusive) waits, so it never removes a layer a
// running build has unpacked but not yet named in an image. At the end the build lets
// go and removes its own unused layers only if it then gets the lock exclusive without
// waiting — that is, when no other build or pull, which might be using them, runs.

// lease takes path shared; the returned release is never nil.
func lease(path string) func() {
	if path == "" {
		return func() {}
	}
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return func() {}
	}
	for {
		err = unix.Flock(int(f.Fd()), unix.LOCK_SH)
		if err != unix.EINTR {
			break
		}
	}
	return func() { f.Close() }
}

// exclusiveNow takes path exclusive if nobody holds it; ok false means someone does.
func exclusiveNow(path string) (release func(), ok bool) {
	if path == "" {
		return func() {}, true
	}
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, false
	}
	if err := unix.Flock(int(f.Fd()), unix.LOCK_EX|unix.LOCK_NB); err != nil {
		f.Close()
		return nil, false
	}
	return func() { f.Close() }, true
}
