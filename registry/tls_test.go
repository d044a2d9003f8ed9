package registry

import (
	"errors"
	"io"
	"log"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/name"
	ggcrregistry "github.com/google/go-containerregistry/pkg/registry"
	"github.com/google/go-containerregistry/pkg/v1/remote"
)

func startTLSRegistry(t *testing.T) (*httptest.Server, string) {
	t.Helper()
	srv := httptest.NewTLSServer(ggcrregistry.New(ggcrregistry.Logger(log.New(io.Discard, "", 0))))
	t.Cleanup(srv.Close)
	host := strings.TrimPrefix(srv.URL, "https://")
	r, _ := name.ParseReference(host + "/test/app:v1")
	if err := remote.Write(r, randomImage(t, 1, nil), remote.WithTransport(srv.Client().Transport)); err != nil {
		t.Fatal(err)
	}
	return srv, host
}

func TestPullTLS(t *testing.T) {
	ctx := ctxT(t)
	srv, host := startTLSRegistry(t)
	s := openStore(t)
	// A transport trusting the test CA: verified HTTPS.
	im, err := s.Pull(ctx, host+"/test/app:v1", WithTransport(srv.Client().Transport))
	if err != nil {
		t.Fatal(err)
	}
	validateStored(t, s, im)
}

func TestPullInsecureSkipsVerify(t *testing.T) {
	ctx := ctxT(t)
	_, host := startTLSRegistry(t)
	s := openStore(t)
	// Without trust the certificate is refused (and http is refused by the TLS server)…
	if _, err := s.Pull(ctx, host+"/test/app:v1"); err == nil {
		t.Fatal("pull from an untrusted TLS registry succeeded")
	}
	// …unless the registry is marked insecure, as docker's insecure-registries does.
	im, err := s.Pull(ctx, host+"/test/app:v1", WithInsecure(host))
	if err != nil {
		t.Fatal(err)
	}
	validateStored(t, s, im)
	if errors.Is(err, ErrInsecureRegistry) {
		t.Fatal(err)
	}
}
