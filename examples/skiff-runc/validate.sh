#!/usr/bin/env bash
# Runs the OCI runtime-spec validation suite (github.com/opencontainers/runtime-tools
# v0.9.0, built from the Go module proxy in a temp module) against skiff-runc and runc
# on one busybox rootfs, and prints the cases runc passes that skiff-runc does not,
# and the totals. Root only. Usage: examples/skiff-runc/validate.sh [TEST...]
# (default: every validation program). Exit status 1 when skiff-runc fails a case that
# runc passes, other than the known ones listed in KNOWN below.
set -euo pipefail
here=$(cd "$(dirname "$0")/../.." && pwd)
# Cases runc passes here and skiff-runc does not (see README), both by timing, for
# either runtime: pidfile kills a container running `true` and fails when `true`
# exited first; killsig signals a shell right after start, and a signal that comes
# before its trap is installed is dropped (pid 1 of a pid namespace), so it waits for
# a 10 s sleep (on this loaded 2-core VM runc failed 1 and skiff-runc 3 of 18).
KNOWN='pidfile: create with '"'"'--pid-file'"'"' option works
killsig: `kill` operation MUST send the specified signal to the container process'

# In a private mount namespace: runc run without a mount namespace (a case of the
# suite) mounts into the caller's, and the harness never unmounts it.
if [ -z "${SKIFF_VALIDATE_NS:-}" ]; then
	export SKIFF_VALIDATE_NS=1
	exec unshare -m --propagation private "$0" "$@"
fi

command -v runc >/dev/null && command -v busybox >/dev/null || { echo "validate.sh: needs runc and busybox-static" >&2; exit 1; }
work=$(mktemp -d /tmp/skiff-validate.XXXXXX)
cleanup() {
	# Unmount what a runtime left below $work (in this namespace) before removing it.
	awk -v w="$work/" 'index($2, w) == 1 { print $2 }' /proc/self/mounts | sort -r | xargs -r -n1 umount -l
	rm -rf "$work"
}
trap cleanup EXIT
(cd "$here" && CGO_ENABLED=0 go build -o "$work/skiff-runc" ./examples/skiff-runc)
cd "$work"
export TMPDIR=$work/tmp # the harness's bundles (/tmp/ocitest*) go away with $work
mkdir -p "$TMPDIR"
go mod init validate >/dev/null 2>&1
printf '//go:build tools\n\npackage tools\n\nimport _ "github.com/opencontainers/runtime-tools/validation/util"\n' >tools.go
# v0.9.0 predates runtime-spec 1.1's pointer fields and selinux 1.9's API.
GOFLAGS=-mod=mod go get github.com/opencontainers/runtime-tools@v0.9.0 \
	github.com/opencontainers/runtime-spec@v1.0.2-0.20190207185410-29686dbc5559 \
	github.com/opencontainers/selinux@v1.8.0 >/dev/null 2>&1
GOFLAGS=-mod=mod go build -o bin/ github.com/opencontainers/runtime-tools/validation/...
CGO_ENABLED=0 GOFLAGS=-mod=mod go build -o runtimetest github.com/opencontainers/runtime-tools/cmd/runtimetest

mkdir -p rfs/bin rfs/proc rfs/dev rfs/sys rfs/tmp rfs/etc rfs/root
cp "$(command -v busybox)" rfs/bin/busybox
for a in $(busybox --list); do [ "$a" = busybox ] || ln -sf busybox "rfs/bin/$a"; done
echo 'root:x:0:0:root:/root:/bin/sh' >rfs/etc/passwd
echo 'root:x:0:' >rfs/etc/group
tar -C rfs -czf "rootfs-$(go env GOARCH).tar.gz" .

tests=("$@")
[ ${#tests[@]} -gt 0 ] || tests=($(ls bin))
for rt in skiff-runc runc; do
	bin=$work/skiff-runc
	[ $rt = runc ] && bin=$(command -v runc)
	mkdir -p "out-$rt"
	for t in "${tests[@]}"; do
		# A program that exits non-zero failed as a whole (e.g. the runtime accepted
		# what it must refuse): none of its lines count as passed.
		RUNTIME=$bin timeout 120 "bin/$t" >"out-$rt/$t.tap" 2>"out-$rt/$t.err" || : >"out-$rt/$t.tap"
	done
done
norm() { grep '^ok' "$1" 2>/dev/null | sed 's/ *#.*//; s/^ok [0-9]* - //' | sort || true; }
missing=$work/missing
: >"$missing"
for t in "${tests[@]}"; do
	comm -23 <(norm "out-runc/$t.tap") <(norm "out-skiff-runc/$t.tap") | sed "s/^/$t: /" >>"$missing"
done
for rt in skiff-runc runc; do
	printf '%-11s ok %5d  not ok %4d\n' "$rt" "$(cat out-$rt/*.tap | grep -c '^ok')" "$(cat out-$rt/*.tap | grep -c '^not ok')"
done
unexpected=$(grep -vxF "$KNOWN" "$missing" || true)
echo "runc passes, skiff-runc does not (known):"
grep -xF "$KNOWN" "$missing" | sed 's/^/  /' || true
if [ -n "$unexpected" ]; then
	echo "runc passes, skiff-runc does not (NEW):"
	echo "$unexpected" | sed 's/^/  /'
	# Why, per program (a program that failed as a whole counts none of its cases).
	for t in $(echo "$unexpected" | cut -d: -f1 | sort -u); do
		echo "--- $t: skiff-runc's stderr (last 20 lines), then its not-ok lines"
		tail -n 20 "out-skiff-runc/$t.err" 2>/dev/null | sed 's/^/  /'
		grep '^not ok' "out-skiff-runc/$t.tap" 2>/dev/null | head -n 20 | sed 's/^/  /' || true
	done
	echo "validate.sh: $(echo "$unexpected" | wc -l) case(s) runc passes and skiff-runc does not (listed above)"
	exit 1
fi
