// The compiler emits x86_64 programs only (compileSeccomp refuses other
// architectures), and these tests name x86_64 syscall numbers.

//go:build amd64

package namespace

import (
	"encoding/binary"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/net/bpf"
	"golang.org/x/sys/unix"
)

// runFilter runs a compiled filter in x/net/bpf's VM on one seccomp_data.
func runFilter(t *testing.T, f *seccompFilter, arch, nr uint32, args ...uint64) uint32 {
	t.Helper()
	raw := make([]bpf.RawInstruction, len(f.prog))
	for i, in := range f.prog {
		raw[i] = bpf.RawInstruction{Op: in.Code, Jt: in.Jt, Jf: in.Jf, K: in.K}
	}
	insns, ok := bpf.Disassemble(raw)
	if !ok {
		t.Fatal("program does not disassemble")
	}
	vm, err := bpf.NewVM(insns)
	if err != nil {
		t.Fatal(err)
	}
	// The VM loads words big-endian (network order); the kernel loads seccomp_data
	// words in host order. Lay out each 32-bit word so both read the same values: on
	// x86_64 an argument's low word comes first.
	data := make([]byte, 64)
	binary.BigEndian.PutUint32(data[0:], nr)
	binary.BigEndian.PutUint32(data[4:], arch)
	for i, a := range args {
		binary.BigEndian.PutUint32(data[16+8*i:], uint32(a))
		binary.BigEndian.PutUint32(data[20+8*i:], uint32(a>>32))
	}
	out, err := vm.Run(data)
	if err != nil {
		t.Fatal(err)
	}
	return uint32(out)
}

func TestSeccompCompilerSemantics(t *testing.T) {
	e1, e2 := uint(1), uint(2)
	const big = 0x1_0000_0005
	prof := &specs.LinuxSeccomp{
		DefaultAction: specs.ActErrno, // EPERM
		Syscalls: []specs.LinuxSyscall{
			{Names: []string{"read", "write"}, Action: specs.ActAllow},
			{Names: []string{"openat"}, Action: specs.ActAllow, Args: []specs.LinuxSeccompArg{
				{Index: 0, Op: specs.OpEqualTo, Value: big}, {Index: 2, Op: specs.OpMaskedEqual, Value: 0xf0, ValueTwo: 0x10}}},
			{Names: []string{"close"}, Action: specs.ActErrno, ErrnoRet: &e1, Args: []specs.LinuxSeccompArg{
				{Index: 1, Op: specs.OpGreaterThan, Value: big}}},
			{Names: []string{"close"}, Action: specs.ActErrno, ErrnoRet: &e2, Args: []specs.LinuxSeccompArg{
				{Index: 1, Op: specs.OpLessEqual, Value: 3}}},
			{Names: []string{"close"}, Action: specs.ActLog},
			// Two comparisons of one argument: ORed (runc's behaviour).
			{Names: []string{"dup"}, Action: specs.ActAllow, Args: []specs.LinuxSeccompArg{
				{Index: 0, Op: specs.OpEqualTo, Value: 7}, {Index: 0, Op: specs.OpGreaterEqual, Value: 100}}},
			{Names: []string{"dup2"}, Action: specs.ActKillProcess, Args: []specs.LinuxSeccompArg{
				{Index: 0, Op: specs.OpNotEqual, Value: 1}, {Index: 1, Op: specs.OpLessThan, Value: big}}},
		},
	}
	f, err := compileSeccomp(prof)
	if err != nil {
		t.Fatal(err)
	}
	const x86 = unix.AUDIT_ARCH_X86_64
	allow, eperm, log := uint32(unix.SECCOMP_RET_ALLOW), uint32(unix.SECCOMP_RET_ERRNO|unix.EPERM), uint32(unix.SECCOMP_RET_LOG)
	for _, tc := range []struct {
		name string
		arch uint32
		nr   uint32
		args []uint64
		want uint32
	}{
		{"read", x86, unix.SYS_READ, nil, allow},
		{"write", x86, unix.SYS_WRITE, nil, allow},
		{"mkdir default", x86, unix.SYS_MKDIR, nil, eperm},
		{"i386 killed", unix.AUDIT_ARCH_I386, 3, nil, unix.SECCOMP_RET_KILL_PROCESS},
		{"x32 killed", x86, x32SyscallBit | unix.SYS_READ, nil, unix.SECCOMP_RET_KILL_PROCESS},
		{"openat both", x86, unix.SYS_OPENAT, []uint64{big, 0, 0x1f}, allow},
		{"openat low half only", x86, unix.SYS_OPENAT, []uint64{5, 0, 0x1f}, eperm},
		{"openat mask", x86, unix.SYS_OPENAT, []uint64{big, 0, 0x2f}, eperm},
		{"close gt hi", x86, unix.SYS_CLOSE, []uint64{0, 0x2_0000_0000}, unix.SECCOMP_RET_ERRNO | 1},
		{"close gt lo", x86, unix.SYS_CLOSE, []uint64{0, big + 1}, unix.SECCOMP_RET_ERRNO | 1},
		{"close eq", x86, unix.SYS_CLOSE, []uint64{0, big}, log},
		{"close le", x86, unix.SYS_CLOSE, []uint64{0, 3}, unix.SECCOMP_RET_ERRNO | 2},
		{"close fallback", x86, unix.SYS_CLOSE, []uint64{0, 4}, log},
		{"dup eq", x86, unix.SYS_DUP, []uint64{7}, allow},
		{"dup ge", x86, unix.SYS_DUP, []uint64{0x1_0000_0000}, allow},
		{"dup neither", x86, unix.SYS_DUP, []uint64{8}, eperm},
		{"dup2 both", x86, unix.SYS_DUP2, []uint64{2, 5}, unix.SECCOMP_RET_KILL_PROCESS},
		{"dup2 ne fails", x86, unix.SYS_DUP2, []uint64{1, 5}, eperm},
		{"dup2 lt fails", x86, unix.SYS_DUP2, []uint64{2, big}, eperm},
	} {
		if got := runFilter(t, f, tc.arch, tc.nr, tc.args...); got != tc.want {
			t.Errorf("%s: %#x, want %#x", tc.name, got, tc.want)
		}
	}
}

func TestDefaultProfileCompiles(t *testing.T) {
	eperm := uint32(unix.SECCOMP_RET_ERRNO | unix.EPERM)
	for _, caps := range [][]string{DefaultCapabilities(), nil, {"CAP_SYS_ADMIN", "CAP_SYS_PTRACE"}} {
		prof, err := DefaultSeccomp(&specs.LinuxCapabilities{Bounding: caps})
		if err != nil {
			t.Fatal(err)
		}
		f, err := compileSeccomp(prof)
		if err != nil {
			t.Fatalf("caps %v: %v", caps, err)
		}
		x86 := uint32(unix.AUDIT_ARCH_X86_64)
		if got := runFilter(t, f, x86, unix.SYS_KEYCTL); got != eperm {
			t.Errorf("caps %v: keyctl gives %#x, want EPERM", caps, got)
		}
		if got := runFilter(t, f, x86, unix.SYS_GETPID); got != unix.SECCOMP_RET_ALLOW {
			t.Errorf("caps %v: getpid gives %#x", caps, got)
		}
		if got := runFilter(t, f, x86, unix.SYS_SOCKET, unix.AF_INET); got != unix.SECCOMP_RET_ALLOW {
			t.Errorf("caps %v: socket(AF_INET) gives %#x", caps, got)
		}
		if got := runFilter(t, f, x86, unix.SYS_SOCKET, unix.AF_AX25); got != eperm {
			t.Errorf("caps %v: socket(AF_AX25) gives %#x", caps, got)
		}
		clone := runFilter(t, f, x86, unix.SYS_CLONE, unix.CLONE_NEWNS)
		if admin := len(caps) == 2; admin != (clone == unix.SECCOMP_RET_ALLOW) {
			t.Errorf("caps %v: clone(CLONE_NEWNS) gives %#x", caps, clone)
		}
	}
}
