package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"sync"

	"github.com/skiffrt/skiff"
	"github.com/skiffrt/skiff/errdefs"
	"github.com/skiffrt/skiff/registry"
)

// apiVersion is the Docker Engine API version skiffd speaks (that of docker 28.2).
const (
	apiVersion    = "1.50"
	minAPIVersion = "1.24"
	engineVersion = "0.1.0"
)

// daemon is the state of one skiffd: the engine, and what only this process knows:
// exec instances. Everything about containers — the docker request each was created
// from, --rm, exits, restarts — is the library's, recorded with their state, so a
// restarted skiffd finds it all again.
type daemon struct {
	ctx      context.Context
	e        *skiff.Engine
	log      *slog.Logger
	insecure []string // registries reached over plain HTTP

	mu    sync.Mutex
	execs map[string]*execInstance // by exec ID
}

func newDaemon(ctx context.Context, e *skiff.Engine, log *slog.Logger, insecure []string) (*daemon, error) {
	d := &daemon{ctx: ctx, e: e, log: log, insecure: insecure, execs: map[string]*execInstance{}}
	return d, nil
}

// apiFunc is a handler that may fail before it has written anything.
type apiFunc func(w http.ResponseWriter, r *http.Request) error

var versionPrefix = regexp.MustCompile(`^/v[0-9][0-9.]*/`)

// handler routes the API. Every path may carry a /v1.xx prefix.
func (d *daemon) handler() http.Handler {
	mux := http.NewServeMux()
	h := func(pattern string, f apiFunc) {
		mux.HandleFunc(pattern, func(w http.ResponseWriter, r *http.Request) {
			if err := f(w, r); err != nil {
				writeError(w, err)
			}
		})
	}
	d.systemRoutes(h)
	d.imageRoutes(h)
	d.containerRoutes(h)
	d.streamRoutes(h)
	d.execRoutes(h)
	d.networkRoutes(h)
	d.volumeRoutes(h)
	d.introspectionRoutes(h)
	d.eventRoutes(h)
	d.imageArchiveRoutes(h)
	d.updateRoutes(h)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if loc := versionPrefix.FindStringIndex(r.URL.Path); loc != nil {
			r.URL.Path = r.URL.Path[loc[1]-1:]
			r.URL.RawPath = ""
		}
		d.log.Debug("request", "method", r.Method, "path", r.URL.Path, "query", r.URL.RawQuery)
		w.Header().Set("Api-Version", apiVersion)
		w.Header().Set("Ostype", "linux")
		w.Header().Set("Server", "Skiff/"+engineVersion+" (linux)")
		w.Header().Set("Docker-Experimental", "false")
		mux.ServeHTTP(w, r)
	})
}

// apiError is an error with the HTTP status and message the CLI shows.
type apiError struct {
	status int
	msg    string
}

func (e *apiError) Error() string { return e.msg }

func errorf(status int, format string, args ...any) error {
	return &apiError{status: status, msg: fmt.Sprintf(format, args...)}
}

// containerError turns a library error about the container ref into the daemon's.
func containerError(ref string, err error) error {
	if errors.Is(err, skiff.ErrNotFound) {
		return errorf(http.StatusNotFound, "No such container: %s", ref)
	}
	return err
}

// imageError turns a library error about the image ref into the daemon's.
func imageError(ref string, err error) error {
	if errors.Is(err, registry.ErrImageNotFound) {
		return errorf(http.StatusNotFound, "No such image: %s", ref)
	}
	return err
}

// statusOf maps an error to its HTTP status: the daemon's own apiError, else the
// library error's class (errdefs). A command that cannot be run is the request's
// fault (400), whatever the class of the cause it wraps.
func statusOf(err error) int {
	var ae *apiError
	switch {
	case errors.As(err, &ae):
		return ae.status
	case errors.Is(err, skiff.ErrCommandNotFound), errors.Is(err, skiff.ErrCommandNotExecutable):
		return http.StatusBadRequest
	}
	return errdefs.HTTPStatus(err)
}

// message is the text the CLI prints; it carries the words the CLI maps to exit codes
// 127 and 126 (see docker-engine-api.md §6).
func message(err error) string {
	msg := err.Error()
	switch {
	case errors.Is(err, skiff.ErrCommandNotFound) && !strings.Contains(msg, "no such file or directory"):
		msg += ": executable file not found in $PATH"
	case errors.Is(err, skiff.ErrCommandNotExecutable) && !strings.Contains(msg, "permission denied"):
		msg += ": permission denied"
	}
	return msg
}

func writeError(w http.ResponseWriter, err error) {
	writeJSON(w, statusOf(err), map[string]string{"message": message(err)})
}

// writeJSON writes v with the exact Content-Type the CLI wants.
func writeJSON(w http.ResponseWriter, status int, v any) error {
	data, err := json.Marshal(v)
	if err != nil {
		return err
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Content-Length", strconv.Itoa(len(data)+1))
	w.WriteHeader(status)
	w.Write(append(data, '\n'))
	return nil
}

func noContent(w http.ResponseWriter) error {
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func decodeBody(r *http.Request, v any) error {
	if r.Body == nil || r.ContentLength == 0 {
		return nil
	}
	if err := json.NewDecoder(r.Body).Decode(v); err != nil && !errors.Is(err, io.EOF) {
		return errorf(http.StatusBadRequest, "invalid JSON body: %v", err)
	}
	return nil
}

func boolQuery(r *http.Request, key string) bool {
	v := r.URL.Query().Get(key)
	b, _ := strconv.ParseBool(v)
	return b || v == "1"
}

// filters decodes the filters query: {"key":{"value":true}} (or the old {"key":["value"]}).
func filters(r *http.Request) (map[string][]string, error) {
	out := map[string][]string{}
	raw := r.URL.Query().Get("filters")
	if raw == "" {
		return out, nil
	}
	var m map[string]json.RawMessage
	if err := json.Unmarshal([]byte(raw), &m); err != nil {
		return nil, errorf(http.StatusBadRequest, "invalid filters %q: %v", raw, err)
	}
	for k, v := range m {
		var set map[string]bool
		if json.Unmarshal(v, &set) == nil {
			for val, ok := range set {
				if ok {
					out[k] = append(out[k], val)
				}
			}
			continue
		}
		var list []string
		if err := json.Unmarshal(v, &list); err != nil {
			return nil, errorf(http.StatusBadRequest, "invalid filter %q", k)
		}
		out[k] = append(out[k], list...)
	}
	return out, nil
}

// streamWriter writes a chunked response and flushes after every write.
type streamWriter struct {
	mu sync.Mutex
	w  http.ResponseWriter
	rc *http.ResponseController
}

func startStream(w http.ResponseWriter, contentType string) *streamWriter {
	w.Header().Set("Content-Type", contentType)
	w.WriteHeader(http.StatusOK)
	rc := http.NewResponseController(w)
	rc.Flush()
	return &streamWriter{w: w, rc: rc}
}

func (s *streamWriter) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	n, err := s.w.Write(p)
	if err == nil {
		err = s.rc.Flush()
	}
	return n, err
}

// hijack upgrades the request's connection to a raw stream (attach, exec start): it
// answers 101 UPGRADED itself and returns the connection and its buffered reader.
func hijack(w http.ResponseWriter, multiplexed bool) (net.Conn, *bufio.Reader, error) {
	conn, rw, err := http.NewResponseController(w).Hijack()
	if err != nil {
		return nil, nil, err
	}
	ct := "application/vnd.docker.raw-stream"
	if multiplexed {
		ct = "application/vnd.docker.multiplexed-stream"
	}
	fmt.Fprintf(rw, "HTTP/1.1 101 UPGRADED\r\nContent-Type: %s\r\nConnection: Upgrade\r\nUpgrade: tcp\r\n\r\n", ct)
	if err := rw.Flush(); err != nil {
		conn.Close()
		return nil, nil, err
	}
	return conn, rw.Reader, nil
}

// Stream types of the 8-byte frame header (stdcopy).
const (
	streamStdin  = 0
	streamStdout = 1
	streamStderr = 2
)

// framer writes stdout/stderr to one connection: framed with the 8-byte header when
// the container has no terminal, raw when it has one. Safe for concurrent use.
type framer struct {
	mu  sync.Mutex
	w   io.Writer
	raw bool
}

func (f *framer) write(stream byte, p []byte) error {
	if len(p) == 0 {
		return nil
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.raw {
		_, err := f.w.Write(p)
		return err
	}
	hdr := [8]byte{stream}
	n := len(p)
	hdr[4], hdr[5], hdr[6], hdr[7] = byte(n>>24), byte(n>>16), byte(n>>8), byte(n)
	if _, err := f.w.Write(hdr[:]); err != nil {
		return err
	}
	_, err := f.w.Write(p)
	return err
}

// stream returns an io.Writer for one stream type of f.
func (f *framer) stream(t byte) io.Writer { return framerStream{f, t} }

type framerStream struct {
	f *framer
	t byte
}

func (s framerStream) Write(p []byte) (int, error) {
	if err := s.f.write(s.t, p); err != nil {
		return 0, err
	}
	return len(p), nil
}
