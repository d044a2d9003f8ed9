package namespace

import (
	"fmt"

	"golang.org/x/sys/unix"
)

// A tiny classic-BPF assembler with forward labels, enough for seccomp filters.

// label names an instruction position; label 0 means "the next instruction".
type label int

type fixup struct {
	at     int   // instruction index
	jt, jf label // conditional jump targets (0 = next)
	ja     label // for BPF_JA
}

type asm struct {
	prog   []unix.SockFilter
	fixups []fixup
	pos    map[label]int
	n      label
}

func newAsm() *asm { return &asm{pos: map[label]int{}} }

func (a *asm) newLabel() label { a.n++; return a.n }

// bind places l at the next instruction.
func (a *asm) bind(l label) { a.pos[l] = len(a.prog) }

func (a *asm) emit(code uint16, k uint32) {
	a.prog = append(a.prog, unix.SockFilter{Code: code, K: k})
}

// ldAbs loads the 32-bit word at offset off of struct seccomp_data.
func (a *asm) ldAbs(off uint32) { a.emit(unix.BPF_LD|unix.BPF_W|unix.BPF_ABS, off) }

// and masks the accumulator with k.
func (a *asm) and(k uint32) { a.emit(unix.BPF_ALU|unix.BPF_AND|unix.BPF_K, k) }

// ret returns k (a SECCOMP_RET_* value).
func (a *asm) ret(k uint32) { a.emit(unix.BPF_RET|unix.BPF_K, k) }

// jmp is a conditional jump (op is BPF_JEQ, BPF_JGT, BPF_JGE or BPF_JSET) comparing the
// accumulator with k.
func (a *asm) jmp(op uint16, k uint32, jt, jf label) {
	a.fixups = append(a.fixups, fixup{at: len(a.prog), jt: jt, jf: jf})
	a.emit(unix.BPF_JMP|op|unix.BPF_K, k)
}

// ja jumps unconditionally (32-bit offset) to l.
func (a *asm) ja(l label) {
	a.fixups = append(a.fixups, fixup{at: len(a.prog), ja: l})
	a.emit(unix.BPF_JMP|unix.BPF_JA, 0)
}

// assemble resolves the labels and returns the program.
func (a *asm) assemble() ([]unix.SockFilter, error) {
	off := func(from int, l label) (int, error) {
		if l == 0 {
			return 0, nil
		}
		p, ok := a.pos[l]
		if !ok {
			return 0, fmt.Errorf("bpf: unbound label %d", l)
		}
		d := p - from - 1
		if d < 0 {
			return 0, fmt.Errorf("bpf: backward jump at %d", from)
		}
		return d, nil
	}
	for _, f := range a.fixups {
		if f.ja != 0 {
			d, err := off(f.at, f.ja)
			if err != nil {
				return nil, err
			}
			a.prog[f.at].K = uint32(d)
			continue
		}
		t, err := off(f.at, f.jt)
		if err != nil {
			return nil, err
		}
		e, err := off(f.at, f.jf)
		if err != nil {
			return nil, err
		}
		if t > 255 || e > 255 {
			return nil, fmt.Errorf("bpf: conditional jump at %d too far (%d, %d)", f.at, t, e)
		}
		a.prog[f.at].Jt, a.prog[f.at].Jf = uint8(t), uint8(e)
	}
	if len(a.prog) > unix.BPF_MAXINSNS {
		return nil, fmt.Errorf("bpf: program of %d instructions exceeds the limit of %d", len(a.prog), unix.BPF_MAXINSNS)
	}
	return a.prog, nil
}
