package main

import (
	"strings"
	"testing"
)

// TestCLILinks: run --link gives the linking container the linked one's name in
// /etc/hosts and the link variables; rm --link CONTAINER/ALIAS removes a link.
func TestCLILinks(t *testing.T) {
	c := newCLI(t)
	withBusybox(t, c)
	t.Cleanup(func() { c.run("", "rm", "-f", "db", "web2") })
	c.ok("run", "-d", "--name", "db", "-e", "SECRET=s3", "busybox", "sleep", "600")
	out := c.ok("run", "--rm", "--name", "web", "--link", "db:store", "busybox",
		"sh", "-c", "echo $STORE_NAME $STORE_ENV_SECRET; grep -c 'store .* db$' /etc/hosts")
	if out != "/web/store s3\n1\n" {
		t.Errorf("run --link db:store: %q", out)
	}
	c.ok("run", "-d", "--name", "web2", "--link", "db", "busybox", "sleep", "600")
	if out := c.ok("exec", "web2", "grep", "-cw", "db", "/etc/hosts"); out != "1\n" {
		t.Errorf("hosts of web2 list db %q times", out)
	}
	if out := c.ok("rm", "--link", "/web2/db"); out != "/web2/db\n" {
		t.Errorf("rm --link: %q", out)
	}
	if out, _, _ := c.run("", "exec", "web2", "grep", "-cw", "db", "/etc/hosts"); strings.TrimSpace(out) != "0" {
		t.Errorf("hosts of web2 after rm --link list db %q times", out)
	}
	c.expect(1, "", "", "link not found", "rm", "--link", "web2/db")
}
