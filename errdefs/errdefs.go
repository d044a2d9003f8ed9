// Package errdefs holds Skiff's error classes. Every sentinel error of the library (no
// such container, name in use, no such network, blob digest mismatch, ...) belongs to
// one class and unwraps to it, so a caller that does not care which noun was missing
// asks one question:
//
//	if errors.Is(err, errdefs.ErrNotFound) { ... } // container, image, volume, network
//
// The classes follow containerd's errdefs and map one to one to HTTP statuses (see
// HTTPStatus), which is how skiffd answers the Docker Engine API.
package errdefs

import "errors"

// HTTP statuses, as numbers: importing net/http for its constants would put the
// HTTP stack's package inits into every program that uses Skiff, the container init
// included.
const (
	statusOK                  = 200
	statusBadRequest          = 400
	statusUnauthorized        = 401
	statusForbidden           = 403
	statusNotFound            = 404
	statusConflict            = 409
	statusInternalServerError = 500
	statusNotImplemented      = 501
	statusServiceUnavailable  = 503
)

// The classes. Test with errors.Is; never compare error strings.
var (
	// ErrNotFound: the named object (container, image, volume, network, path) does
	// not exist.
	ErrNotFound = errors.New("not found")
	// ErrConflict: the object exists already, is in use, or is in a state that does
	// not allow the operation.
	ErrConflict = errors.New("conflict")
	// ErrInvalidArgument: the request is malformed: a config field, a reference, a
	// Dockerfile.
	ErrInvalidArgument = errors.New("invalid argument")
	// ErrUnavailable: a service the operation needs (a registry, the kernel feature)
	// cannot be reached or is not there.
	ErrUnavailable = errors.New("unavailable")
	// ErrUnauthorized: credentials are missing or wrong.
	ErrUnauthorized = errors.New("unauthorized")
	// ErrPermissionDenied: the caller may not do this (rootless limits, read-only
	// objects).
	ErrPermissionDenied = errors.New("permission denied")
	// ErrNotImplemented: Skiff does not support this feature.
	ErrNotImplemented = errors.New("not implemented")
	// ErrDataLoss: stored data is corrupt (a digest does not match).
	ErrDataLoss = errors.New("data loss")
	// ErrResourceExhausted: the host ran out of something the operation needs (space
	// on a file system, file descriptors); the same call succeeds once it is freed.
	ErrResourceExhausted = errors.New("resource exhausted")
)

// New returns a sentinel error with text msg that belongs to class: errors.Is(err,
// class) holds for it and for every error wrapping it.
func New(class error, msg string) error { return &classed{msg: msg, class: class} }

type classed struct {
	msg   string
	class error
}

func (e *classed) Error() string { return e.msg }
func (e *classed) Unwrap() error { return e.class }

// HTTPStatus maps an error to the HTTP status the Docker Engine API gives it: 404 for
// not found, 409 conflict, 400 invalid argument, 401, 403, 501, 503, and 500 for
// anything else, resource exhaustion included, as Docker answers a full disk (a nil
// error is 200).
func HTTPStatus(err error) int {
	switch {
	case err == nil:
		return statusOK
	case errors.Is(err, ErrNotFound):
		return statusNotFound
	case errors.Is(err, ErrConflict):
		return statusConflict
	case errors.Is(err, ErrInvalidArgument):
		return statusBadRequest
	case errors.Is(err, ErrUnauthorized):
		return statusUnauthorized
	case errors.Is(err, ErrPermissionDenied):
		return statusForbidden
	case errors.Is(err, ErrNotImplemented):
		return statusNotImplemented
	case errors.Is(err, ErrUnavailable):
		return statusServiceUnavailable
	}
	return statusInternalServerError
}
