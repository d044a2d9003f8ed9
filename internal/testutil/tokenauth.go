package testutil

import (
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/subtle"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"math/big"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// The service and issuer names StartRegistryToken configures in the registry
// and puts in the tokens (aud and iss).
const (
	TokenService = "skiff-test"
	TokenIssuer  = "skiff-test-issuer"
)

// tokenTTL is the lifetime of an issued token (expires_in).
const tokenTTL = 300 * time.Second

// StartRegistryToken is StartRegistry with Docker registry token auth: it
// generates an RSA key and a self-signed certificate in a temp dir, starts an
// in-process token server (httptest on 127.0.0.1) and Debian's docker-registry
// configured with `auth: token` (realm http://ADDR/token, service
// TokenService, issuer TokenIssuer, rootcertbundle the certificate), and
// returns ADDR ("127.0.0.1:PORT").
//
// ADDR is the token server's listener, which answers /token itself and
// reverse-proxies everything else to the registry: since v0.22 ggcr refuses a
// Bearer realm on a loopback or private IP address unless it has the
// registry's own host:port (SSRF guard), so realm and registry share one
// address here.
//
// The token server answers GET /token?service=...&scope=... (and the OAuth2
// POST form with grant_type=password): HTTP basic auth with user and pass
// gets an RS256 JWT granting the pull, push and delete actions asked for on
// any repository; no credentials gets a token granting nothing (as Docker Hub
// does for a private repository, so the registry then answers 401); wrong
// credentials get 401 from the token server itself. The JWT header carries
// the certificate in x5c, which distribution 2.8 verifies against its
// rootcertbundle. Clients such as ggcr follow the registry's Bearer challenge
// to the token server by themselves: use remote.WithAuth(&authn.Basic{...})
// or a docker config.json. Both servers stop on cleanup.
func StartRegistryToken(t testing.TB, user, pass string) string {
	t.Helper()
	_, err := os.Stat(RegistryBinary)
	Require(t, RegistryBinary+" (apt-get install docker-registry)", err == nil)
	ts, certFile := newTokenServer(t, user, pass)
	front := httptest.NewServer(ts)
	t.Cleanup(front.Close)
	regAddr := startRegistry(t, fmt.Sprintf(`auth:
  token:
    realm: %s/token
    service: %s
    issuer: %s
    rootcertbundle: %s
`, front.URL, TokenService, TokenIssuer, certFile))
	ts.registry.Store(httputil.NewSingleHostReverseProxy(&url.URL{Scheme: "http", Host: regAddr}))
	return front.Listener.Addr().String()
}

// tokenServer issues registry tokens signed by key, whose certificate (DER)
// is cert, on /token, and passes every other request to registry.
type tokenServer struct {
	user, pass string
	key        *rsa.PrivateKey
	cert       []byte
	registry   atomic.Pointer[httputil.ReverseProxy]
}

// newTokenServer makes the signing key and its self-signed certificate, writes
// the certificate as PEM into a temp dir and returns the server and that file.
func newTokenServer(t testing.TB, user, pass string) (*tokenServer, string) {
	t.Helper()
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatalf("token server: rsa key: %v", err)
	}
	serial, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 62))
	if err != nil {
		t.Fatalf("token server: serial: %v", err)
	}
	now := time.Now()
	tmpl := &x509.Certificate{
		SerialNumber:          serial,
		Subject:               pkix.Name{CommonName: TokenIssuer},
		NotBefore:             now.Add(-time.Hour),
		NotAfter:              now.Add(24 * time.Hour),
		KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		BasicConstraintsValid: true,
		IsCA:                  true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatalf("token server: certificate: %v", err)
	}
	file := filepath.Join(t.TempDir(), "token-cert.pem")
	if err := os.WriteFile(file, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o644); err != nil {
		t.Fatalf("token server: %v", err)
	}
	return &tokenServer{user: user, pass: pass, key: key, cert: der}, file
}

// resourceActions is one entry of a token's access claim.
type resourceActions struct {
	Type    string   `json:"type"`
	Name    string   `json:"name"`
	Actions []string `json:"actions"`
}

func (s *tokenServer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.URL.Path != "/token" {
		if p := s.registry.Load(); p != nil {
			p.ServeHTTP(w, r)
			return
		}
		http.Error(w, "registry not started yet", http.StatusServiceUnavailable)
		return
	}
	var service, user, pass string
	var scopes []string
	var hasCreds bool
	switch r.Method {
	case http.MethodGet:
		q := r.URL.Query()
		service, scopes = q.Get("service"), q["scope"]
		user, pass, hasCreds = r.BasicAuth()
	case http.MethodPost:
		if err := r.ParseForm(); err != nil {
			tokenError(w, http.StatusBadRequest, "UNSUPPORTED", err.Error())
			return
		}
		if gt := r.PostForm.Get("grant_type"); gt != "password" {
			tokenError(w, http.StatusBadRequest, "UNSUPPORTED", "grant_type "+gt+" not supported")
			return
		}
		service, scopes = r.PostForm.Get("service"), r.PostForm["scope"]
		user, pass, hasCreds = r.PostForm.Get("username"), r.PostForm.Get("password"), true
	default:
		tokenError(w, http.StatusMethodNotAllowed, "UNSUPPORTED", r.Method+" not allowed")
		return
	}
	if service != TokenService {
		tokenError(w, http.StatusBadRequest, "DENIED", fmt.Sprintf("unknown service %q", service))
		return
	}
	subject := ""
	if hasCreds {
		if subtle.ConstantTimeCompare([]byte(user), []byte(s.user)) != 1 ||
			subtle.ConstantTimeCompare([]byte(pass), []byte(s.pass)) != 1 {
			w.Header().Set("WWW-Authenticate", `Basic realm="`+TokenService+`"`)
			tokenError(w, http.StatusUnauthorized, "UNAUTHORIZED", "authentication required")
			return
		}
		subject = user
	}
	access := []resourceActions{}
	if subject != "" {
		access = grant(scopes)
	}
	tok, err := s.sign(subject, access)
	if err != nil {
		tokenError(w, http.StatusInternalServerError, "UNKNOWN", err.Error())
		return
	}
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(map[string]any{
		"token":        tok,
		"access_token": tok,
		"expires_in":   int(tokenTTL / time.Second),
		"issued_at":    time.Now().UTC().Format(time.RFC3339),
	})
}

// grant returns the repository actions among pull, push, delete and * that
// the scopes ("repository:NAME:ACTIONS", several per parameter separated by
// spaces) ask for.
func grant(scopes []string) []resourceActions {
	var out []resourceActions
	for _, param := range scopes {
		for _, sc := range strings.Fields(param) {
			typ, rest, ok := strings.Cut(sc, ":")
			i := strings.LastIndex(rest, ":")
			if !ok || i < 0 || typ != "repository" {
				continue
			}
			ra := resourceActions{Type: typ, Name: rest[:i], Actions: []string{}}
			for _, a := range strings.Split(rest[i+1:], ",") {
				if slices.Contains([]string{"pull", "push", "delete", "*"}, a) && !slices.Contains(ra.Actions, a) {
					ra.Actions = append(ra.Actions, a)
				}
			}
			out = append(out, ra)
		}
	}
	if out == nil {
		out = []resourceActions{}
	}
	return out
}

// sign makes the compact RS256 JWT for subject with the access claim.
func (s *tokenServer) sign(subject string, access []resourceActions) (string, error) {
	header, err := json.Marshal(map[string]any{
		"typ": "JWT",
		"alg": "RS256",
		"x5c": []string{base64.StdEncoding.EncodeToString(s.cert)},
	})
	if err != nil {
		return "", err
	}
	now := time.Now()
	jti := make([]byte, 16)
	if _, err := rand.Read(jti); err != nil {
		return "", err
	}
	claims, err := json.Marshal(map[string]any{
		"iss":    TokenIssuer,
		"sub":    subject,
		"aud":    TokenService,
		"exp":    now.Add(tokenTTL).Unix(),
		"nbf":    now.Add(-time.Second).Unix(),
		"iat":    now.Unix(),
		"jti":    base64.RawURLEncoding.EncodeToString(jti),
		"access": access,
	})
	if err != nil {
		return "", err
	}
	signed := base64.RawURLEncoding.EncodeToString(header) + "." + base64.RawURLEncoding.EncodeToString(claims)
	sum := sha256.Sum256([]byte(signed))
	sig, err := rsa.SignPKCS1v15(rand.Reader, s.key, crypto.SHA256, sum[:])
	if err != nil {
		return "", fmt.Errorf("sign token: %w", err)
	}
	return signed + "." + base64.RawURLEncoding.EncodeToString(sig), nil
}

// tokenError writes a registry-style JSON error.
func tokenError(w http.ResponseWriter, status int, code, msg string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(map[string]any{
		"errors": []map[string]string{{"code": code, "message": msg}},
	})
}
