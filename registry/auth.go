package registry

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"os"
	"path/filepath"

	"github.com/docker/cli/cli/config"
	"github.com/docker/cli/cli/config/configfile"
	"github.com/docker/cli/cli/config/types"
	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/remote/transport"
)

// Login checks user and password against the registry host ("127.0.0.1:5000",
// "docker.io", ...) and, only when the registry accepts them, stores them in the docker
// config.json — $DOCKER_CONFIG/config.json or ~/.docker/config.json, through its credential
// helper if it names one — where Pull and Push (authn.DefaultKeychain) and docker itself
// find them. Like `docker login`. Wrong credentials give an error wrapping ErrUnauthorized
// that names the registry, and nothing is stored. WithInsecure and WithTransport apply.
func Login(ctx context.Context, host, user, password string, opts ...Option) error {
	if err := CheckLogin(ctx, host, user, password, opts...); err != nil {
		return err
	}
	reg, err := makeOptions(opts).registry(host)
	if err != nil {
		return fmt.Errorf("registry: login %s: %w", host, err)
	}
	cf, err := loadDockerConfig()
	if err != nil {
		return fmt.Errorf("registry: login %s: %w", host, err)
	}
	key := authKey(reg)
	ac := types.AuthConfig{Username: user, Password: password, ServerAddress: key}
	if cf.CredentialsStore == "" && cf.CredentialHelpers[key] == "" {
		// Plain config.json entry (what docker's file store does, minus its stderr warning:
		// a library does not print).
		if cf.AuthConfigs == nil {
			cf.AuthConfigs = map[string]types.AuthConfig{}
		}
		cf.AuthConfigs[key] = ac
	} else if err := cf.GetCredentialsStore(key).Store(ac); err != nil {
		return fmt.Errorf("registry: login %s: store credentials with helper: %w", host, err)
	}
	if err := cf.Save(); err != nil {
		return fmt.Errorf("registry: login %s: %w", host, err)
	}
	return nil
}

// CheckLogin checks user and password against the registry host and stores nothing (what
// a daemon does for `docker login`: the client keeps the credentials). Wrong credentials
// give an error wrapping ErrUnauthorized that names the registry.
func CheckLogin(ctx context.Context, host, user, password string, opts ...Option) error {
	o := makeOptions(opts)
	reg, err := o.registry(host)
	if err != nil {
		return fmt.Errorf("registry: login %s: %w", host, err)
	}
	// Any request that needs auth will do; a repository that does not exist answers 404
	// (credentials accepted) or 401/403 (refused).
	probe := reg.Repo("skiff-login-check").Tag("latest")
	ropts := append(o.transportOptions(ctx), remote.WithAuth(&authn.Basic{Username: user, Password: password}))
	_, err = remote.Head(probe, ropts...)
	var terr *transport.Error
	switch {
	case err == nil:
	case errors.As(err, &terr) && (terr.StatusCode == http.StatusNotFound || hasCode(terr, transport.NameUnknownErrorCode, transport.ManifestUnknownErrorCode)):
	default:
		return classifyLogin(host, err)
	}
	return nil
}

// Logout removes the credentials for host from the docker config.json (and its credential
// helper). Like `docker logout`; not an error when there were none.
func Logout(host string) error {
	reg, err := makeOptions(nil).registry(host)
	if err != nil {
		return fmt.Errorf("registry: logout %s: %w", host, err)
	}
	cf, err := loadDockerConfig()
	if err != nil {
		return fmt.Errorf("registry: logout %s: %w", host, err)
	}
	key := authKey(reg)
	if err := cf.GetCredentialsStore(key).Erase(key); err != nil {
		return fmt.Errorf("registry: logout %s: %w", host, err)
	}
	return cf.Save()
}

func (o *options) registry(host string) (name.Registry, error) {
	if host == "" || host == dockerHub {
		host = name.DefaultRegistry
	}
	var nopts []name.Option
	if o.isInsecure(host) {
		nopts = append(nopts, name.Insecure)
	}
	reg, err := name.NewRegistry(host, nopts...)
	if err != nil {
		return name.Registry{}, fmt.Errorf("%w: registry %q: %v", ErrInvalidReference, host, err)
	}
	return reg, nil
}

// authKey is the config.json key docker (and authn.DefaultKeychain) uses for reg.
func authKey(reg name.Registry) string {
	if reg.RegistryStr() == name.DefaultRegistry {
		return authn.DefaultAuthKey
	}
	return reg.RegistryStr()
}

// loadDockerConfig reads the docker config.json the way authn.DefaultKeychain finds it:
// $DOCKER_CONFIG, else ~/.docker (read each time, unlike config.Dir).
func loadDockerConfig() (*configfile.ConfigFile, error) {
	dir := os.Getenv("DOCKER_CONFIG")
	if dir == "" {
		home, err := os.UserHomeDir()
		if err != nil {
			return nil, err
		}
		dir = filepath.Join(home, ".docker")
	}
	return config.Load(dir)
}

func classifyLogin(host string, err error) error {
	var terr *transport.Error
	if errors.As(err, &terr) && (terr.StatusCode == http.StatusUnauthorized || terr.StatusCode == http.StatusForbidden) {
		return fmt.Errorf("registry: login %s: %w at registry %s: %w", host, ErrUnauthorized, host, err)
	}
	if isUnreachable(err) {
		return fmt.Errorf("registry: login %s: %w %s: %w", host, ErrRegistryUnreachable, host, err)
	}
	return fmt.Errorf("registry: login %s: %w", host, err)
}
