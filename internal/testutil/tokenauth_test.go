package testutil

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"net/http"
	"net/url"
	"reflect"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/remote/transport"
)

func TestRegistryToken(t *testing.T) {
	CheckLeaks(t, t.TempDir())
	const user, pass = "bob", "t0ken-pw"
	addr := StartRegistryToken(t, user, pass)

	// The registry challenges with Bearer, pointing at the token server.
	resp, err := http.Get("http://" + addr + "/v2/")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	chal := resp.Header.Get("WWW-Authenticate")
	if resp.StatusCode != http.StatusUnauthorized || !strings.HasPrefix(chal, "Bearer ") ||
		!strings.Contains(chal, `service="`+TokenService+`"`) {
		t.Fatalf("GET /v2/: %d, WWW-Authenticate %q", resp.StatusCode, chal)
	}
	realm := chal[strings.Index(chal, `realm="`)+len(`realm="`):]
	realm = realm[:strings.Index(realm, `"`)]
	if realm != "http://"+addr+"/token" {
		t.Errorf("realm %q, want http://%s/token (ggcr only follows a loopback realm on the registry's host:port)", realm, addr)
	}

	// The token server itself: wrong password 401, right one a JWT with the access claim.
	q := url.Values{"service": {TokenService}, "scope": {"repository:a/b:pull,push"}}
	get := func(u, p string) *http.Response {
		req, _ := http.NewRequestWithContext(t.Context(), http.MethodGet, realm+"?"+q.Encode(), nil)
		req.SetBasicAuth(u, p)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { resp.Body.Close() })
		return resp
	}
	if resp := get(user, "wrong"); resp.StatusCode != http.StatusUnauthorized {
		t.Errorf("token with a wrong password: %d, want 401", resp.StatusCode)
	}
	resp = get(user, pass)
	var body struct {
		Token       string `json:"token"`
		AccessToken string `json:"access_token"`
		ExpiresIn   int    `json:"expires_in"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&body); err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("token: %d, %v", resp.StatusCode, err)
	}
	if body.Token == "" || body.Token != body.AccessToken || body.ExpiresIn != 300 {
		t.Fatalf("token response %+v", body)
	}
	parts := strings.Split(body.Token, ".")
	if len(parts) != 3 {
		t.Fatalf("JWT has %d parts", len(parts))
	}
	raw, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		t.Fatal(err)
	}
	var claims struct {
		Iss, Sub, Aud string
		Access        []resourceActions
	}
	if err := json.Unmarshal(raw, &claims); err != nil {
		t.Fatal(err)
	}
	want := []resourceActions{{Type: "repository", Name: "a/b", Actions: []string{"pull", "push"}}}
	if claims.Iss != TokenIssuer || claims.Sub != user || claims.Aud != TokenService || !reflect.DeepEqual(claims.Access, want) {
		t.Errorf("claims %+v", claims)
	}

	// Through ggcr: push and pull with credentials, anonymous refused by the registry,
	// a wrong password refused by the token server.
	ref := addr + "/private/busybox:tok"
	auth := remote.WithAuth(&authn.Basic{Username: user, Password: pass})
	PushImage(t, ref, Busybox(t), auth)
	r, _ := name.ParseReference(ref, name.Insecure)
	if _, err := remote.Get(r, remote.WithContext(t.Context()), auth); err != nil {
		t.Fatalf("authenticated get: %v", err)
	}
	for _, a := range []authn.Authenticator{authn.Anonymous, &authn.Basic{Username: user, Password: "wrong"}} {
		_, err := remote.Get(r, remote.WithContext(t.Context()), remote.WithAuth(a))
		var terr *transport.Error
		if !errors.As(err, &terr) || terr.StatusCode != http.StatusUnauthorized {
			t.Errorf("get with %T: %v, want 401", a, err)
		}
	}
}

func TestTokenGrant(t *testing.T) {
	got := grant([]string{"repository:x/y:pull,push,bogus,pull registry:catalog:*", "repository:z:*"})
	want := []resourceActions{
		{Type: "repository", Name: "x/y", Actions: []string{"pull", "push"}},
		{Type: "repository", Name: "z", Actions: []string{"*"}},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("grant: %+v, want %+v", got, want)
	}
	if got := grant(nil); got == nil || len(got) != 0 {
		t.Errorf("grant(nil) = %#v, want empty non-nil (JSON [])", got)
	}
}
