package main

import (
	"encoding/json"
	"os"
	"regexp"
	"strings"
	"testing"
)

// TestCLIFormats: ps and images take docker's --format (a template per row, "table
// ..." with its header, "json"); docker container ls/inspect/prune, rename and update
// work as docker's.
func TestCLIFormats(t *testing.T) {
	c := newCLI(t)
	withBusybox(t, c)
	c.ok("run", "-d", "--name", "fmt", "--network", "none", "-l", "b=2", "-l", "a=1", "busybox", "sleep", "60")
	if out := c.ok("ps", "--format", "{{.Names}}|{{.Image}}|{{.Command}}|{{.Labels}}|{{.State}}"); out != "fmt|busybox|\"sleep 60\"|a=1,b=2|running\n" {
		t.Errorf("ps --format = %q", out)
	}
	out := c.ok("ps", "--format", `table {{.Names}}\t{{.Status}}`)
	if !regexp.MustCompile(`^NAMES\s+STATUS\nfmt\s+Up `).MatchString(out) {
		t.Errorf("ps --format table = %q", out)
	}
	var row map[string]string
	if err := json.Unmarshal([]byte(c.ok("ps", "--format", "json")), &row); err != nil || row["Names"] != "fmt" || len(row["ID"]) != 12 {
		t.Errorf("ps --format json: %v %v", row, err)
	}
	c.expect(1, "", "", "template parsing error", "ps", "--format", "{{.Names")
	if out := c.ok("images", "--format", "{{.Repository}}:{{.Tag}}"); out != "busybox:latest\n" {
		t.Errorf("images --format = %q", out)
	}
	if out := c.ok("images", "--format", `table {{.Repository}}\t{{.Tag}}`); !regexp.MustCompile(`^REPOSITORY\s+TAG\nbusybox\s+latest\n$`).MatchString(out) {
		t.Errorf("images --format table = %q", out)
	}

	// docker container ...
	if out := c.ok("container", "ls", "--format", "{{.Names}}"); out != "fmt\n" {
		t.Errorf("container ls = %q", out)
	}
	if out := c.ok("container", "inspect", "-f", "{{.State.Running}}", "fmt"); out != "true\n" {
		t.Errorf("container inspect = %q", out)
	}
	c.expect(125, "", "", `unknown command "bogus"`, "container", "bogus")

	// rename and update.
	c.ok("rename", "fmt", "fmt2")
	if out := c.ok("ps", "--format", "{{.Names}}"); out != "fmt2\n" {
		t.Errorf("after rename, ps = %q", out)
	}
	c.expect(1, "", "", "No such container: fmt", "rename", "fmt", "x")
	c.ok("update", "--memory", "48m", "--pids-limit", "40", "--restart", "on-failure:3", "fmt2")
	if out := c.ok("inspect", "-f", "{{.HostConfig.Memory}} {{.HostConfig.PidsLimit}} {{.HostConfig.RestartPolicy.Name}} {{.HostConfig.RestartPolicy.MaximumRetryCount}}", "fmt2"); out != "50331648 40 on-failure 3\n" {
		t.Errorf("after update, inspect = %q", out)
	}
	c.expect(1, "", "", "you must provide one or more flags", "update", "fmt2")

	// docker container prune removes the stopped ones only.
	c.ok("run", "--name", "done", "--network", "none", "busybox", "true")
	out = c.ok("container", "prune", "-f")
	if !strings.Contains(out, "Deleted Containers:") || !strings.Contains(out, "Total reclaimed space:") {
		t.Errorf("container prune = %q", out)
	}
	if out := c.ok("ps", "-a", "--format", "{{.Names}}"); out != "fmt2\n" {
		t.Errorf("after prune, ps -a = %q", out)
	}
	c.ok("rm", "-f", "fmt2")
}

// TestCLIRunKernelFlags: --shm-size, --sysctl, --group-add, --label-file and
// --cpu-shares reach the container; a sysctl that would change the host is refused
// before anything runs.
func TestCLIRunKernelFlags(t *testing.T) {
	c := newCLI(t)
	withBusybox(t, c)
	labels := t.TempDir() + "/labels"
	if err := os.WriteFile(labels, []byte("team=a\n# comment\nbare\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	out := c.ok("run", "--name", "k", "--network", "none", "--shm-size", "16m", "--sysctl", "net.ipv4.ip_unprivileged_port_start=80",
		"--sysctl", "kernel.shmmax=1234567", "--group-add", "10", "--label-file", labels, "-l", "team=b", "-c", "512",
		"busybox", "sh", "-c", "df -k /dev/shm | tail -1; cat /proc/sys/net/ipv4/ip_unprivileged_port_start /proc/sys/kernel/shmmax; id -G")
	f := strings.Fields(out)
	if len(f) < 9 || f[1] != "16384" || f[6] != "80" || f[7] != "1234567" || f[9] != "10" {
		t.Errorf("inside the container: %q", out)
	}
	if got := c.ok("inspect", "-f", `{{.HostConfig.ShmSize}} {{.HostConfig.CpuShares}} {{index .Config.Labels "team"}} {{index .Config.Labels "bare"}}|`, "k"); got != "16777216 512 b |\n" {
		t.Errorf("inspect = %q", got)
	}
	c.ok("rm", "k")
	c.expect(125, "", "", `"kernel.panic" is not namespaced`, "run", "--rm", "--network", "none", "--sysctl", "kernel.panic=1", "busybox", "true")
	c.expect(125, "", "", "needs a network namespace", "run", "--rm", "--network", "host", "--sysctl", "net.ipv4.ip_forward=1", "busybox", "true")
	if out := c.ok("ps", "-a", "-q"); out != "" {
		t.Errorf("refused runs left containers: %q", out)
	}
}

// TestCLIAddHostDNS: --add-host and --dns, --dns-search, --dns-option reach the
// container's /etc/hosts and /etc/resolv.conf; a malformed --add-host is refused.
func TestCLIAddHostDNS(t *testing.T) {
	c := newCLI(t)
	withBusybox(t, c)
	out := c.ok("run", "--rm", "--network", "none", "--add-host", "db:10.1.2.3", "--add-host", "six:::1",
		"--dns", "10.0.0.53", "--dns-search", "example.test", "--dns-option", "ndots:2", "busybox", "cat", "/etc/hosts", "/etc/resolv.conf")
	for _, want := range []string{"10.1.2.3\tdb\n", "::1\tsix\n", "nameserver 10.0.0.53\n", "search example.test\n", "options ndots:2\n"} {
		if !strings.Contains(out, want) {
			t.Errorf("container lacks %q:\n%s", want, out)
		}
	}
	c.expect(125, "", "", `ExtraHosts[0] "nocolon"`, "run", "--rm", "--network", "none", "--add-host", "nocolon", "busybox", "true")
	c.expect(125, "", "", "host-gateway needs a network", "run", "--rm", "--network", "none", "--add-host", "gw:host-gateway", "busybox", "true")
}

// TestCLIExitCodes: docker's exit status outside run: 125 for a bad command line, 1 for
// a command that fails (here on missing objects), whatever the engine's error.
func TestCLIExitCodes(t *testing.T) {
	c := newCLI(t)
	c.expect(125, "", "", "unknown flag: --bogus", "ps", "--bogus")
	c.expect(125, "", "", `unknown command "bogus"`, "bogus")
	c.expect(125, "", "", `invalid argument "lots" for "--memory"`, "create", "--memory", "lots", "busybox")
	c.expect(1, "", "", "image not found", "tag", "no/such:image", "other:1")
	c.expect(1, "", "", "image not found", "push", "no/such:image")
	c.expect(1, "", "", "network not found", "network", "inspect", "nosuchnet")
	c.expect(1, "", "", "requires at least 1 arg", "rm")
	c.expect(1, "", "", "is not a timestamp or a duration", "events", "--since", "bogus")
	// Groups refuse what they do not have; docker's other spellings reach the commands.
	c.expect(125, "", "", `unknown command "bogus" for "skiff image"`, "image", "bogus")
	c.expect(125, "", "", `unknown command "bogus" for "skiff network"`, "network", "bogus")
	c.expect(0, "", "Manage networks", "", "network")
	c.expect(0, "", "Containers: 0\n", "", "system", "info")
	c.expect(1, "", "", "accepts between 1 and 2 arg(s)", "image", "import")
	c.expect(0, "", "", "", "system", "events", "--since", "1s", "--until", "1s")
	// network prune asks first, as docker's does.
	c.ok("network", "create", "unusednet")
	c.expect(0, "n\n", "Are you sure you want to continue? [y/N]", "", "network", "prune")
	c.expect(0, "", "unusednet\n", "", "network", "inspect", "--format", "{{.Name}}", "unusednet")
	// inspect of networks and volumes has docker's shape and takes -f.
	if out := c.ok("network", "inspect", "-f", `{{.Driver}} {{(index .IPAM.Config 0).Subnet}} {{index .Options "com.docker.network.bridge.name"}}`, "unusednet"); !regexp.MustCompile(`^bridge \d+\.\d+\.\d+\.\d+/\d+ \S+\n$`).MatchString(out) {
		t.Errorf("network inspect -f: %q", out)
	}
	c.expect(1, "", "unusednet\n", "network not found", "network", "inspect", "-f", "{{.Name}}", "unusednet", "nosuchnet")
	c.ok("volume", "create", "fmtvol")
	c.expect(0, "", "fmtvol local\n", "", "volume", "inspect", "--format", "{{.Name}} {{.Driver}}", "fmtvol")
	c.ok("volume", "rm", "fmtvol")
	c.expect(0, "", "Deleted Networks:\nunusednet\n", "", "network", "prune", "-f")
}
