package registry

import (
	"crypto/tls"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
)

// guard is the RoundTripper under every registry request. It refuses plain HTTP to
// registries that are neither loopback nor marked insecure (ggcr alone would also try HTTP
// for RFC 1918 addresses and *.local), skips TLS verification only for insecure ones, and
// bounds manifest bodies to MaxManifestSize.
type guard struct {
	base     http.RoundTripper
	insecure http.RoundTripper // base with InsecureSkipVerify, for WithInsecure hosts
	allowed  map[string]bool
}

func (o *options) httpTransport() http.RoundTripper {
	base := o.transport
	if base == nil {
		base = http.DefaultTransport.(*http.Transport).Clone()
	}
	g := &guard{base: base, insecure: base, allowed: o.insecure}
	if t, ok := base.(*http.Transport); ok && len(o.insecure) > 0 {
		c := t.Clone()
		if c.TLSClientConfig == nil {
			c.TLSClientConfig = &tls.Config{}
		}
		c.TLSClientConfig.InsecureSkipVerify = true //nolint:gosec // only for hosts the caller marked insecure
		g.insecure = c
	}
	return g
}

func (o *options) isInsecure(host string) bool {
	if o.insecure[host] {
		return true
	}
	if h, _, err := net.SplitHostPort(host); err == nil {
		return o.insecure[h]
	}
	return false
}

func isLoopback(hostname string) bool {
	if hostname == "localhost" {
		return true
	}
	ip := net.ParseIP(hostname)
	return ip != nil && ip.IsLoopback()
}

func (g *guard) RoundTrip(req *http.Request) (*http.Response, error) {
	host := req.URL.Host
	allowed := g.allowed[host] || g.allowed[req.URL.Hostname()]
	if req.URL.Scheme == "http" && !allowed && !isLoopback(req.URL.Hostname()) {
		return nil, fmt.Errorf("%w: %s (pass it to WithInsecure to allow)", ErrInsecureRegistry, host)
	}
	rt := g.base
	if allowed {
		rt = g.insecure
	}
	resp, err := rt.RoundTrip(req)
	if err != nil || req.Method != http.MethodGet || !strings.Contains(req.URL.Path, "/manifests/") {
		return resp, err
	}
	if resp.ContentLength > MaxManifestSize {
		resp.Body.Close()
		return nil, fmt.Errorf("%w: %s: %d bytes, limit %d", ErrManifestTooLarge, req.URL.Redacted(), resp.ContentLength, MaxManifestSize)
	}
	resp.Body = &limitBody{rc: resp.Body, left: MaxManifestSize, url: req.URL.Redacted()}
	return resp, nil
}

// limitBody fails a read that goes past the manifest bound (for chunked bodies).
type limitBody struct {
	rc   io.ReadCloser
	left int64
	url  string
}

func (l *limitBody) Read(p []byte) (int, error) {
	if l.left <= 0 {
		// Probe one byte: exactly at the limit is fine.
		var b [1]byte
		n, err := l.rc.Read(b[:])
		if n > 0 {
			return 0, fmt.Errorf("%w: %s: more than %d bytes", ErrManifestTooLarge, l.url, MaxManifestSize)
		}
		return 0, err
	}
	if int64(len(p)) > l.left {
		p = p[:l.left]
	}
	n, err := l.rc.Read(p)
	l.left -= int64(n)
	return n, err
}

func (l *limitBody) Close() error { return l.rc.Close() }
