package main

import (
	"strings"
	"testing"
)

// TestLegacyLinks: docker run --link gives the linking container the linked one's
// name in /etc/hosts and the link variables; inspect shows the link as Docker does;
// docker rm --link /web2/db removes it (DELETE /containers/web2/db?link=1), an unknown
// link is not found.
func TestLegacyLinks(t *testing.T) {
	e := newEnv(t)
	img := e.busybox()
	t.Cleanup(func() { e.run("rm", "-f", "db", "web2") })
	e.ok("run", "-d", "--name", "db", "-e", "SECRET=s3", "--expose", "6379", img, "sleep", "600")
	out := e.ok("run", "--rm", "--name", "web", "--link", "db:store", img,
		"sh", "-c", "echo $STORE_NAME $STORE_ENV_SECRET; grep -c 'store .* db$' /etc/hosts")
	if out != "/web/store s3\n1\n" {
		t.Errorf("docker run --link db:store: %q", out)
	}
	e.ok("run", "-d", "--name", "web2", "--link", "db", img, "sleep", "600")
	if out := e.ok("inspect", "-f", "{{.HostConfig.Links}}", "web2"); out != "[/db:/web2/db]\n" {
		t.Errorf("inspect HostConfig.Links: %q", out)
	}
	if out := e.ok("exec", "web2", "grep", "-cw", "db", "/etc/hosts"); out != "1\n" {
		t.Errorf("hosts of web2 list db %q times", out)
	}
	e.ok("rm", "--link", "/web2/db")
	if out, _, _ := e.run("exec", "web2", "grep", "-cw", "db", "/etc/hosts"); strings.TrimSpace(out) != "0" {
		t.Errorf("hosts of web2 after docker rm --link list db %q times", out)
	}
	if out := e.ok("inspect", "-f", "{{.HostConfig.Links}}", "web2"); out != "[]\n" {
		t.Errorf("inspect HostConfig.Links after rm --link: %q", out)
	}
	if _, stderr, code := e.run("rm", "--link", "/web2/db"); code == 0 || !strings.Contains(stderr, "No such link") {
		t.Errorf("docker rm --link of a removed link: exit %d, %q", code, stderr)
	}
}
