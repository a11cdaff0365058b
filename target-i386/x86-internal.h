/*
 * Internals of the portable x86 CPU shared by the files of target-i386/:
 * the CPU state, the decoded-instruction format, the soft TLB with its
 * inline fast paths, lazy flags, and the prototypes of the engine's parts.
 * Architecture facts: Intel SDM vol. 2 (instructions) and vol. 3 (system);
 * the design is in target-i386/README.md.
 */
#ifndef VMKEMU_X86_INTERNAL_H
#define VMKEMU_X86_INTERNAL_H

#include <setjmp.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <glib.h>
#include "x86-cpu.h"
#include "sse-state.h"

#define likely(x)   __builtin_expect(!!(x), 1)
#define unlikely(x) __builtin_expect(!!(x), 0)
#define NORETURN    __attribute__((noreturn))

/* ------------------------------------------------------------------------
 * Architectural constants
 */
enum {
    EXC_DE = 0, EXC_DB = 1, EXC_NMI = 2, EXC_BP = 3, EXC_OF = 4, EXC_BR = 5,
    EXC_UD = 6, EXC_NM = 7, EXC_DF = 8, EXC_TS = 10, EXC_NP = 11,
    EXC_SS = 12, EXC_GP = 13, EXC_PF = 14, EXC_MF = 16, EXC_AC = 17,
    EXC_MC = 18, EXC_XM = 19,
};

#define FL_CF   0x0001u
#define FL_PF   0x0004u
#define FL_AF   0x0010u
#define FL_ZF   0x0040u
#define FL_SF   0x0080u
#define FL_TF   0x0100u
#define FL_IF   0x0200u
#define FL_DF   0x0400u
#define FL_OF   0x0800u
#define FL_IOPL 0x3000u
#define FL_NT   0x4000u
#define FL_RF   0x10000u
#define FL_VM   0x20000u
#define FL_AC   0x40000u
#define FL_VIF  0x80000u
#define FL_VIP  0x100000u
#define FL_ID   0x200000u
#define FL_ARITH (FL_CF | FL_PF | FL_AF | FL_ZF | FL_SF | FL_OF)
/* Bits software can change at all on this CPU (bit 1 is always 1). */
#define FL_ALL  (FL_ARITH | FL_TF | FL_IF | FL_DF | FL_IOPL | FL_NT | FL_RF | \
                 FL_VM | FL_AC | FL_VIF | FL_VIP | FL_ID)

#define CR0_PE  0x00000001u
#define CR0_MP  0x00000002u
#define CR0_EM  0x00000004u
#define CR0_TS  0x00000008u
#define CR0_ET  0x00000010u
#define CR0_NE  0x00000020u
#define CR0_WP  0x00010000u
#define CR0_AM  0x00040000u
#define CR0_NW  0x20000000u
#define CR0_CD  0x40000000u
#define CR0_PG  0x80000000u

#define CR4_VME 0x0001u
#define CR4_PVI 0x0002u
#define CR4_TSD 0x0004u
#define CR4_DE  0x0008u
#define CR4_PSE 0x0010u
#define CR4_PAE 0x0020u
#define CR4_MCE 0x0040u
#define CR4_PGE 0x0080u
#define CR4_PCE 0x0100u
#define CR4_OSFXSR 0x0200u
#define CR4_OSXMMEXCPT 0x0400u

/* Page-table entry bits (SDM vol. 3, 4.3 and 4.4). */
#define PTE_P   0x001u
#define PTE_W   0x002u
#define PTE_U   0x004u
#define PTE_A   0x020u
#define PTE_D   0x040u
#define PTE_PS  0x080u
#define PTE_G   0x100u
#define PTE_NX  (1ULL << 63)

/* #PF error code bits. */
#define PFEC_P  0x01u
#define PFEC_W  0x02u
#define PFEC_U  0x04u
#define PFEC_RSVD 0x08u
#define PFEC_I  0x10u

/* Segment indexes: the order of X86_SEG_* in x86-regs.h. */
enum { R_ES, R_CS, R_SS, R_DS, R_FS, R_GS, R_LDTR, R_TR };
/* General registers. */
enum { R_EAX, R_ECX, R_EDX, R_EBX, R_ESP, R_EBP, R_ESI, R_EDI, R_ZERO };

/* Segment attribute word (X86Seg.attr): bits 0-7 are byte 5 of the
 * descriptor (type, S, DPL, P); bits 8-11 are its bits 52-55 (AVL, L, D/B,
 * G); SA_UNUSABLE marks a null selector loaded in protected mode. */
#define SA_TYPE     0x000fu
#define SA_ACCESSED 0x0001u
#define SA_S        0x0010u
#define SA_DPL_SHIFT 5
#define SA_DPL      0x0060u
#define SA_P        0x0080u
#define SA_AVL      0x0100u
#define SA_L        0x0200u
#define SA_DB       0x0400u
#define SA_G        0x0800u
#define SA_UNUSABLE 0x1000u
/* Type bits of code/data segments (S=1). */
#define ST_CODE     0x8u
#define ST_CONFORM  0x4u    /* code */
#define ST_EXPDOWN  0x4u    /* data */
#define ST_READ     0x2u    /* code */
#define ST_WRITE    0x2u    /* data */

/* ------------------------------------------------------------------------
 * State
 */
typedef union X86Reg {
    uint64_t q;
    uint32_t d;
    uint16_t w;
    uint8_t b[2];
} X86Reg;

typedef struct X86Seg {
    uint32_t base;
    uint32_t limit;             /* byte granular */
    /* Offsets [rlo, rhi] may be read, [wlo, whi] written; an empty range
     * (lo > hi) makes every access fault. */
    uint32_t rlo, rhi, wlo, whi;
    /* Fast checks for accesses of up to 4 bytes: offset - lo < span4 means
     * the whole access is inside (span4 = 0: nothing passes inline). */
    uint32_t rspan4, wspan4;
    uint16_t sel;
    uint16_t attr;
} X86Seg;

/* Soft TLB.  A tag is the linear page address of the entry when the
 * access kind may take the fast path; TLB_INVALID never equals a page
 * address, TLB_SLOW marks an entry the slow path may use (the translation
 * is valid) but the fast path may not (MMIO, ROM writes, code pages). */
#define X86_TLB_BITS    9
#define X86_TLB_SIZE    (1u << X86_TLB_BITS)
#define TLB_INVALID     0x1u
#define TLB_SLOW        0x2u
#define TLB_FLAGS       0xfffu

/* The part of an entry the inline fast paths touch (16 bytes, so both
 * privilege sets take 16 KiB of cache). */
typedef struct X86TLBEntry {
    uint32_t tag_r, tag_w;
    uintptr_t addend;           /* host address = addend + linear address */
} X86TLBEntry;

/* The rest, in a parallel array (x86_tlb_cold). */
typedef struct X86TLBCold {
    uint32_t tag_x;
    uint8_t global, user_page, is_ram, is_rom;
    uint64_t ppage;             /* guest-physical page address */
} X86TLBCold;

/* An x87 register: 64-bit significand (explicit integer bit), sign and
 * 15-bit exponent -- the memory layout of an 80-bit real. */
typedef struct X86F80 {
    uint64_t mant;
    uint16_t se;
} X86F80;

typedef struct X86FPU {
    X86F80 st[8];               /* physical registers R0-R7 */
    uint16_t fcw;
    uint16_t fsw;               /* without TOP */
    uint8_t top;
    uint8_t tag_empty;          /* bit p: register Rp is empty */
    uint16_t fop;
    uint16_t fcs, fds;
    uint32_t fip, fdp;
} X86FPU;

typedef struct X86Insn X86Insn;
typedef struct X86Block X86Block;
typedef struct X86CodeCache X86CodeCache;
typedef X86Insn *(*X86Handler)(X86CPU *cpu, X86Insn *i);

/*
 * One decoded instruction.  The memory operand's effective address is
 *   (r[base] + (r[index] << scale) + disp) & amask
 * with R_ZERO standing for "no register", which covers the 16-bit forms
 * (BX+SI, BP+DI, ...) too.  Handlers are specialized by operand size and by
 * register/memory form, so they rarely look at more than these fields.
 */
struct X86Insn {
    X86Handler fn;
    uint32_t eip;               /* offset of the instruction in CS */
    uint8_t len;
    uint8_t seg;                /* segment of the memory operand */
    uint8_t base, index, scale;
    uint8_t reg;                /* ModRM.reg (or a register from the opcode) */
    uint8_t rm;                 /* ModRM.rm register when mod == 3 */
    uint8_t flags;              /* IF_* */
    uint32_t amask;             /* 0xffff or 0xffffffff */
    uint32_t disp;
    uint32_t imm;
    uint32_t imm2;
    X86Block *chain;            /* cached successor block (same page) */
};

#define IF_REP      0x01        /* F3 */
#define IF_REPNE    0x02        /* F2 */
#define IF_LOCK     0x04
#define IF_MEM      0x08        /* ModRM addresses memory */
#define IF_OP16     0x10        /* operand size 16 */
#define IF_AD16     0x20        /* address size 16 */

/* A decoded block: straight-line code from one entry point, ending at an
 * unconditional transfer, at an instruction that changes the decode mode,
 * at the end of its page, or at a length cap.  Conditional branches exit
 * the block when taken and fall through inside it otherwise. */
struct X86Block {
    uint64_t phys;              /* guest-physical address of the first byte */
    uint32_t eip;
    uint32_t mode;              /* BM_* decode mode the block was made for */
    uint32_t ninsns;
    uint32_t size;              /* bytes of guest code covered */
    uint32_t alloc_size;        /* bytes of this struct */
    bool cached;                /* in the lookup structures */
    bool no_jit;                /* never translated (jit.c refused it) */
    bool no_flat;               /* jit.c: do not assume flat segments */
    uint32_t hits;              /* entries counted toward translation */
    /* Host code (jit.c), NULL when not translated: `jit_body` is entered
     * by the dispatcher (budget already charged); chained jumps from other
     * translated blocks enter at `jit_chain` (checks the mode, kicks and the
     * budget) or `jit_chain_fast` (the same without the mode check). */
    void *jit_body, *jit_chain, *jit_chain_fast;
    X86Block *hash_next;
    X86Block *page_next[2];     /* lists of the page(s) the code lies on */
    struct X86CodePage *page[2];
    X86Insn insns[];            /* ninsns + 1 (the last ends the block) */
};

/* Decode mode bits: what decoding depends on, part of a block's key. */
#define BM_CODE32   0x01        /* CS.D */
#define BM_STACK32  0x02        /* SS.B */
#define BM_PROT     0x04        /* CR0.PE */
#define BM_VM86     0x08        /* EFLAGS.VM */
#define BM_SINGLE   0x10        /* one instruction per block */

struct X86CPU {
    /* Hot state first. */
    X86Reg r[9];                /* EAX..EDI; r[R_ZERO] is always 0 */
    uint32_t eip;
    uint32_t eflags;            /* arithmetic bits valid when cc_op == CC_EFLAGS */
    uint32_t cc_op, cc_res, cc_a, cc_b;
    /* INC/DEC keep CF: the operation before them stays in cc_a/cc_b with
     * its kind and result saved here. */
    uint32_t cc_prev_op, cc_prev_res;
    /* tlb[mmu_idx]; tlb_none (every access takes the slow path) while
     * alignment checking is on (CR0.AM, EFLAGS.AC, CPL 3).  Before seg[]:
     * jit.c reaches both with 8-bit displacements. */
    X86TLBEntry *tlb_cur;
    X86Seg seg[8];
    uint8_t cpl;
    uint8_t mmu_idx;            /* TLB set: 1 when CPL == 3 */
    /* Bit s: segment s has base 0 and every offset readable (seg_flat_r)
     * / writable (seg_flat_w) -- the JIT drops limit checks for them. */
    uint8_t seg_flat_r, seg_flat_w;
    uint32_t mode;              /* BM_* of the current state */
    volatile int exit_request;
    int64_t budget;
    X86Insn *cur_insn;
    X86Block *cur_block;
    /* JIT (jit.c): blocks are translated after this many entries
     * (UINT32_MAX: never); a translated exit that could jump straight to
     * its successor leaves the address of its jump here for the dispatcher
     * to patch (`jit_link_fast`: to the entry without the mode check). */
    uint32_t jit_threshold;
    bool jit_link_fast;
    uint8_t *jit_link_site;
    X86TLBEntry tlb[2][X86_TLB_SIZE];
    X86TLBCold tlbc[2][X86_TLB_SIZE];
    uint64_t tlb_large_lo, tlb_large_hi;    /* linear range of large pages */
    /* Checks the memory slow paths make (MEMCHK_*, x86_mem_check). */
    uint8_t mem_checks;
    /* REP string iterations before the instruction yields: X86_REP_CHUNK,
     * 1 under EFLAGS.TF, 0 once a debug trap is pending (debug.c). */
    int rep_limit;

    /* System state. */
    uint32_t gdt_base, idt_base;
    uint16_t gdt_limit, idt_limit;
    uint32_t cr0, cr2, cr3, cr4;
    uint64_t efer;
    uint32_t dr[8];
    /* Debug registers decoded (debug.c): enabled breakpoints by kind
     * (bit n: DRn), and the DR values the caches were last set up for. */
    uint8_t dbg_exec, dbg_data, dbg_io;
    uint32_t dbg_seen[6];       /* DR0-DR3, DR7, CR4.DE */
    uint32_t dbg_dr6;           /* DR6 bits of the pending #DB trap */
    bool dbg_deferred;          /* that trap waits out a MOV SS shadow */
    bool dbg_ibp_fault;         /* the #DB being raised is an instruction breakpoint */
    bool movss_shadow;          /* the shadow is MOV/POP SS (holds debug traps too) */
    uint8_t ac_suspended;       /* MEMCHK_ALIGN held off by a wide access */
    X86Insn *ibp_skip;          /* instruction breakpoint check RF suppresses */
    bool ibp_skip_fetch;        /* ... and the lookup of its block (RF, MOV SS) */
    uint64_t apic_base;
    uint64_t tsc_offset;
    uint32_t sysenter_cs, sysenter_esp, sysenter_eip;
    uint64_t pat;
    uint64_t mtrr_def_type, mtrr_fixed[11], mtrr_var[16];
    uint64_t misc_enable;
    uint64_t pdpte[4];          /* PAE: loaded from CR3 */
    X86FPU fpu;
    uint32_t a20_mask;          /* ~0 or ~(1 << 20) */
    bool a20_cached;

    /* Execution control. */
    bool halted;
    /* Conditions that send the execution loop through x86_dbg_enter before
     * a block and x86_dbg_leave after it, tested as one word. */
    union {
        struct {
            bool irq_shadow;    /* STI / MOV SS, or a #DB trap pending: no interrupt first */
            bool tf_step;       /* EFLAGS.TF (kept by x86_update_mode): single-step trap */
            bool rf_clear;      /* EFLAGS.RF was set: clear it as the next insn starts */
            bool dbg_trap;      /* a #DB trap is pending (dbg_dr6) */
        };
        uint32_t loop_slow;
    };
    bool single_step;
    bool exception_exit;
    bool trace;                 /* VMKEMU_X86_TRACE: log block entries */
    bool shutdown;
    bool nmi_pending;           /* x86_cpu_nmi: taken at a boundary when allowed */
    bool nmi_blocked;           /* an NMI handler runs: until the next IRET */
    bool pause_exit;            /* PAUSE leaves x86_cpu_exec (several CPUs) */
    int last_vector, last_error;
    /* Exception being delivered (double-fault detection), -1 when none. */
    int delivering;
    sigjmp_buf jmp;
    int jmp_reason;

    X86CPUBus bus;
    X86CodeCache *code;
    uint64_t as_gen;
    X86CPUStats stats;

    X86SSEState sse;            /* XMM registers, MXCSR (sse.c) */

    X86TLBEntry tlb_none[X86_TLB_SIZE];     /* all invalid (tlb_cur above) */
};

/* ------------------------------------------------------------------------
 * Lazy flags (flags.c).  cc_op = kind * 4 + size (0: 8, 1: 16, 2: 32 bits);
 * cc_a and cc_b are the operands and cc_res the result.  INC/DEC write only
 * cc_res: their CF is the CF of cc_prev_op over (cc_a, cc_b, cc_prev_res).
 * For shifts and MUL cc_b holds CF and cc_a OF.
 */
enum {
    CCK_EFLAGS, CCK_ADD, CCK_ADC, CCK_SUB, CCK_SBB, CCK_LOGIC, CCK_INC,
    CCK_DEC, CCK_SHIFT, CCK_MUL,
};
#define CC_OP(kind, sz)  ((kind) * 4 + (sz))
#define CC_EFLAGS       CC_OP(CCK_EFLAGS, 0)

uint32_t x86_flags_compute(X86CPU *cpu);        /* arithmetic flags only */
bool x86_cond_slow(X86CPU *cpu, int cc);
uint32_t x86_flags_cf(X86CPU *cpu);
/* Full EFLAGS value. */
static inline uint32_t x86_get_eflags(X86CPU *cpu)
{
    return (cpu->eflags & ~FL_ARITH) | x86_flags_compute(cpu) | 0x2;
}
/* Make the arithmetic flags concrete in cpu->eflags. */
static inline void x86_flags_materialize(X86CPU *cpu)
{
    if (cpu->cc_op != CC_EFLAGS) {
        cpu->eflags = (cpu->eflags & ~FL_ARITH) | x86_flags_compute(cpu);
        cpu->cc_op = CC_EFLAGS;
    }
}
/* Write EFLAGS under `mask` (the caller decides what is writable). */
void x86_set_eflags(X86CPU *cpu, uint32_t val, uint32_t mask);

static inline uint32_t cc_size_mask(uint32_t op)
{
    return (uint32_t)((1ULL << (8 << (op & 3))) - 1);
}

/* CF without materializing the other flags (no calls: keeps the handlers
 * that need it, INC/DEC/ADC/SBB/RCL/RCR, free of stack frames). */
static inline uint32_t x86_cf(X86CPU *cpu)
{
    uint32_t op = cpu->cc_op, m;
    switch (op >> 2) {
    case CCK_ADD:
        m = cc_size_mask(op);
        return (cpu->cc_res & m) < (cpu->cc_a & m);
    case CCK_SUB:
        m = cc_size_mask(op);
        return (cpu->cc_a & m) < (cpu->cc_b & m);
    case CCK_LOGIC:
        return 0;
    case CCK_SHIFT:
    case CCK_MUL:
        return cpu->cc_b != 0;
    case CCK_EFLAGS:
        return cpu->eflags & FL_CF;
    }
    return x86_flags_cf(cpu);   /* ADC, SBB, INC, DEC */
}

/* INC/DEC: result only; the CF-defining operation is kept. */
static inline void x86_set_incdec(X86CPU *cpu, uint32_t res, uint32_t op)
{
    uint32_t prev = cpu->cc_op;
    if ((prev >> 3) != (CCK_INC >> 1)) {        /* not INC or DEC */
        cpu->cc_prev_op = prev;
        cpu->cc_prev_res = cpu->cc_res;
    }
    cpu->cc_res = res;
    cpu->cc_op = op;
}

/* Condition codes 0-15 in Jcc order (O, NO, B, AE, E, NE, BE, A, S, NS, P,
 * NP, L, GE, LE, G).  ZF and SF come straight from the result for every
 * lazy kind; the SUB (CMP) and LOGIC kinds answer the rest inline. */
static inline bool x86_cond(X86CPU *cpu, int cc)
{
    uint32_t op = cpu->cc_op;
    if (likely(op != CC_EFLAGS)) {
        uint32_t m = cc_size_mask(op);
        switch (cc) {
        case 4: return (cpu->cc_res & m) == 0;
        case 5: return (cpu->cc_res & m) != 0;
        case 8: return (cpu->cc_res & m & ~(m >> 1)) != 0;
        case 9: return (cpu->cc_res & m & ~(m >> 1)) == 0;
        }
        if ((op >> 2) == CCK_SUB) {
            uint32_t a = cpu->cc_a & m, b = cpu->cc_b & m;
            int sh = 32 - (8 << (op & 3));
            int32_t sa = (int32_t)(a << sh), sb = (int32_t)(b << sh);
            switch (cc) {
            case 2: return a < b;
            case 3: return a >= b;
            case 6: return a <= b;
            case 7: return a > b;
            case 12: return sa < sb;
            case 13: return sa >= sb;
            case 14: return sa <= sb;
            case 15: return sa > sb;
            }
        } else if ((op >> 2) == CCK_LOGIC) {
            int sh = 32 - (8 << (op & 3));
            int32_t r = (int32_t)(cpu->cc_res << sh);
            switch (cc) {
            case 0: return false;
            case 1: return true;
            case 2: return false;
            case 3: return true;
            case 6: return r == 0;
            case 7: return r != 0;
            case 12: return r < 0;
            case 13: return r >= 0;
            case 14: return r <= 0;
            case 15: return r > 0;
            }
        }
    } else {
        uint32_t f = cpu->eflags;
        switch (cc) {
        case 2: return f & FL_CF;
        case 3: return !(f & FL_CF);
        case 4: return f & FL_ZF;
        case 5: return !(f & FL_ZF);
        }
    }
    return x86_cond_slow(cpu, cc);
}

/* ------------------------------------------------------------------------
 * Exceptions (excp.c).  x86_raise leaves the instruction (state as before
 * it, EIP at it) and delivers the exception; it does not return.
 */
void x86_raise(X86CPU *cpu, int vector, int error) NORETURN;
static inline void NORETURN x86_raise0(X86CPU *cpu, int vector)
{
    x86_raise(cpu, vector, -1);
}
void x86_raise_seg(X86CPU *cpu, int seg) NORETURN;     /* #SS(0) or #GP(0) */
/* Deliver an interrupt/exception now (from the execution loop). */
void x86_deliver(X86CPU *cpu, int vector, int error, bool soft, uint32_t ret_eip,
                 bool is_int_insn);
/* Leave the current block now, restarting at cpu->eip (no exception). */
void x86_exit_to_loop(X86CPU *cpu) NORETURN;

/* ------------------------------------------------------------------------
 * Debug registers and the debug exception (debug.c).
 */
#define DR6_BD      0x2000u
#define DR6_BS      0x4000u
#define DR6_BT      0x8000u
#define DR7_GD      0x2000u
#define X86_REP_CHUNK 4096

/* Recompute the decoded DR7 state; flush what depends on it. */
void x86_dbg_update(X86CPU *cpu);
/* The execution loop's slow entry and exit (cpu->loop_slow != 0): NULL
 * from x86_dbg_enter means an event was delivered instead of a block. */
X86Block *x86_dbg_enter(X86CPU *cpu);
void x86_dbg_leave(X86CPU *cpu, uint32_t slow);
/* A fault is being delivered: traps of the faulting instruction go. */
void x86_dbg_fault(X86CPU *cpu);
/* Data and I/O accesses against DR0-DR3 (trap after the instruction). */
void x86_dbg_data(X86CPU *cpu, uint32_t lin, unsigned size, bool write);
void x86_dbg_io(X86CPU *cpu, uint16_t port, unsigned size);
/* A hardware task switch into a TSS with T = 1. */
void x86_dbg_task_trap(X86CPU *cpu);
/* MOV to or from a debug register with DR7.GD set: #DB (fault). */
void x86_dbg_general_detect(X86CPU *cpu);
/* Insert instruction-breakpoint checks into a freshly decoded block. */
int x86_dbg_mark_block(X86CPU *cpu, X86Insn *insns, int n, uint32_t *bytes);
void x86_dbg_fetch_check(X86CPU *cpu, uint32_t lin);
/* Does the TLB entry for linear page `page` need the slow path for reads
 * (write = false) or writes because of a data breakpoint? */
bool x86_dbg_page_slow(X86CPU *cpu, uint32_t page, bool write);
/* A REP string instruction stops after `chunk` iterations and restarts. */
X86Insn *x86_rep_yield(X86CPU *cpu, X86Insn *i, int chunk);
/* The REP iteration limit for the current state. */
static inline int x86_rep_limit(X86CPU *cpu)
{
    return cpu->dbg_trap ? 0 : (cpu->eflags & FL_TF) ? 1 : X86_REP_CHUNK;
}

/* ------------------------------------------------------------------------
 * Memory (mmu.c).
 */
#define ACC_R 0
#define ACC_W 1
#define ACC_X 2

/* Slow-path checks (cpu->mem_checks): data breakpoints, alignment. */
#define MEMCHK_DATA_BP  0x01u
#define MEMCHK_ALIGN    0x02u
void x86_mem_check(X86CPU *cpu, uint32_t lin, unsigned size, int mmu_idx, bool write);
/* Recompute mem_checks and tlb_cur after CR0.AM, EFLAGS.AC, CPL or DR7 change. */
void x86_update_mem_checks(X86CPU *cpu);
void x86_align_fault(X86CPU *cpu) NORETURN;
/* #AC for an operand of `align` bytes at `lin` (an FPU/SSE/CMPXCHG8B
 * operand wider than the pieces it is accessed in). */
static inline void x86_align_check(X86CPU *cpu, uint32_t lin, unsigned align)
{
    if (unlikely(cpu->mem_checks & MEMCHK_ALIGN) && (lin & (align - 1))) {
        x86_align_fault(cpu);
    }
}
/* Hold off, and restore, the per-piece alignment checks of an operand
 * that was checked as a whole (FSAVE images, unaligned 16-byte moves). */
static inline void x86_align_suspend(X86CPU *cpu)
{
    cpu->ac_suspended = cpu->mem_checks & MEMCHK_ALIGN;
    cpu->mem_checks &= ~MEMCHK_ALIGN;
}
static inline void x86_align_resume(X86CPU *cpu)
{
    cpu->mem_checks |= cpu->ac_suspended;
    cpu->ac_suspended = 0;
}

void x86_tlb_flush(X86CPU *cpu, bool global_too);
void x86_tlb_flush_page(X86CPU *cpu, uint32_t lin);
/* Flush the TLB entries that write to physical page `ppage` (code pages). */
void x86_tlb_protect_phys(X86CPU *cpu, uint64_t ppage);
/* Translate, filling the TLB (raises #PF). */
X86TLBEntry *x86_tlb_fill(X86CPU *cpu, uint32_t lin, int acc, int mmu_idx);

uint32_t x86_ld_slow(X86CPU *cpu, uint32_t lin, unsigned size, int mmu_idx);
void x86_st_slow(X86CPU *cpu, uint32_t lin, uint32_t val, unsigned size, int mmu_idx);
uint64_t x86_ld64_lin(X86CPU *cpu, uint32_t lin, int mmu_idx);
void x86_st64_lin(X86CPU *cpu, uint32_t lin, uint64_t val, int mmu_idx);
/* Check that [lin, lin+size) is writable (faults now, before any write). */
void x86_probe_write(X86CPU *cpu, uint32_t lin, unsigned size, int mmu_idx);

/* Physical access (page walks, descriptor tables under a flat mapping). */
uint32_t x86_phys_ld32(X86CPU *cpu, uint64_t pa);
uint64_t x86_phys_ld64(X86CPU *cpu, uint64_t pa);
void x86_phys_st32(X86CPU *cpu, uint64_t pa, uint32_t v);
void x86_phys_st64(X86CPU *cpu, uint64_t pa, uint64_t v);

/* Supervisor-privilege (implicit) linear accesses: descriptor tables, TSS. */
static inline uint32_t x86_sys_ld32(X86CPU *cpu, uint32_t lin)
{
    return x86_ld_slow(cpu, lin, 4, 0);
}
static inline uint16_t x86_sys_ld16(X86CPU *cpu, uint32_t lin)
{
    return x86_ld_slow(cpu, lin, 2, 0);
}
static inline void x86_sys_st32(X86CPU *cpu, uint32_t lin, uint32_t v)
{
    x86_st_slow(cpu, lin, v, 4, 0);
}

static inline uint16_t ld16u(const void *p) { uint16_t v; memcpy(&v, p, 2); return v; }
static inline uint32_t ld32u(const void *p) { uint32_t v; memcpy(&v, p, 4); return v; }
static inline void st16u(void *p, uint16_t v) { memcpy(p, &v, 2); }
static inline void st32u(void *p, uint32_t v) { memcpy(p, &v, 4); }

static inline X86TLBEntry *tlb_entry(X86CPU *cpu, uint32_t lin, int idx)
{
    return &cpu->tlb[idx][(lin >> 12) & (X86_TLB_SIZE - 1)];
}

static inline X86TLBCold *x86_tlb_cold(X86CPU *cpu, const X86TLBEntry *e)
{
    return &cpu->tlbc[0][0] + (e - &cpu->tlb[0][0]);
}

/* The TLB entry of `lin` in the current privilege's set is usable for an
 * access of `size` bytes when its tag equals the page of the access's last
 * byte: a page-crossing access indexes the entry of its first page, whose
 * tag can never be the next page. */
static inline X86TLBEntry *tlb_cur_entry(X86CPU *cpu, uint32_t lin)
{
    return &cpu->tlb_cur[(lin >> 12) & (X86_TLB_SIZE - 1)];
}

/* Host pointer for a read of `size` bytes at `lin`, or NULL. */
static inline void *tlb_ptr_r(X86CPU *cpu, uint32_t lin, unsigned size)
{
    X86TLBEntry *e = tlb_cur_entry(cpu, lin);
    if (likely(e->tag_r == ((lin + size - 1) & ~0xfffu))) {
        return (void *)(e->addend + lin);
    }
    return NULL;
}

static inline void *tlb_ptr_w(X86CPU *cpu, uint32_t lin, unsigned size)
{
    X86TLBEntry *e = tlb_cur_entry(cpu, lin);
    if (likely(e->tag_w == ((lin + size - 1) & ~0xfffu))) {
        return (void *)(e->addend + lin);
    }
    return NULL;
}

static inline uint32_t lin_ld8(X86CPU *cpu, uint32_t lin)
{
    X86TLBEntry *e = tlb_cur_entry(cpu, lin);
    if (likely(e->tag_r == (lin & ~0xfffu))) {
        return *(uint8_t *)(e->addend + lin);
    }
    return x86_ld_slow(cpu, lin, 1, cpu->mmu_idx);
}
static inline uint32_t lin_ld16(X86CPU *cpu, uint32_t lin)
{
    X86TLBEntry *e = tlb_cur_entry(cpu, lin);
    if (likely(e->tag_r == ((lin + 1) & ~0xfffu))) {
        return ld16u((void *)(e->addend + lin));
    }
    return x86_ld_slow(cpu, lin, 2, cpu->mmu_idx);
}
static inline uint32_t lin_ld32(X86CPU *cpu, uint32_t lin)
{
    X86TLBEntry *e = tlb_cur_entry(cpu, lin);
    if (likely(e->tag_r == ((lin + 3) & ~0xfffu))) {
        return ld32u((void *)(e->addend + lin));
    }
    return x86_ld_slow(cpu, lin, 4, cpu->mmu_idx);
}
static inline void lin_st8(X86CPU *cpu, uint32_t lin, uint32_t v)
{
    X86TLBEntry *e = tlb_cur_entry(cpu, lin);
    if (likely(e->tag_w == (lin & ~0xfffu))) {
        *(uint8_t *)(e->addend + lin) = v;
    } else {
        x86_st_slow(cpu, lin, v, 1, cpu->mmu_idx);
    }
}
static inline void lin_st16(X86CPU *cpu, uint32_t lin, uint32_t v)
{
    X86TLBEntry *e = tlb_cur_entry(cpu, lin);
    if (likely(e->tag_w == ((lin + 1) & ~0xfffu))) {
        st16u((void *)(e->addend + lin), v);
    } else {
        x86_st_slow(cpu, lin, v, 2, cpu->mmu_idx);
    }
}
static inline void lin_st32(X86CPU *cpu, uint32_t lin, uint32_t v)
{
    X86TLBEntry *e = tlb_cur_entry(cpu, lin);
    if (likely(e->tag_w == ((lin + 3) & ~0xfffu))) {
        st32u((void *)(e->addend + lin), v);
    } else {
        x86_st_slow(cpu, lin, v, 4, cpu->mmu_idx);
    }
}

/* Segmented addresses: limit and access-right checks, then linear.  The
 * inline test covers every access of up to 4 bytes that lies well inside
 * the segment; the rest gets the exact check out of line. */
uint32_t x86_seg_check_slow(X86CPU *cpu, int s, uint32_t ea, unsigned size, bool write);
static inline uint32_t seg_r(X86CPU *cpu, int s, uint32_t ea, unsigned size)
{
    X86Seg *sg = &cpu->seg[s];
    if (likely(size <= 4 && ea - sg->rlo < sg->rspan4)) {
        return sg->base + ea;
    }
    return x86_seg_check_slow(cpu, s, ea, size, false);
}
static inline uint32_t seg_w(X86CPU *cpu, int s, uint32_t ea, unsigned size)
{
    X86Seg *sg = &cpu->seg[s];
    if (likely(size <= 4 && ea - sg->wlo < sg->wspan4)) {
        return sg->base + ea;
    }
    return x86_seg_check_slow(cpu, s, ea, size, true);
}

static inline uint32_t x86_ea(X86CPU *cpu, const X86Insn *i)
{
    return (cpu->r[i->base].d + (cpu->r[i->index].d << i->scale) + i->disp) & i->amask;
}

/* Fast paths that jump to `bail` instead of calling out: a handler built
 * from them is a leaf that tail-calls its slow twin, so the common case
 * spills no registers. */
#define FAST_LIN(cpu, s, ea, lin, W, bail) do {                              \
        X86Seg *sg_ = &(cpu)->seg[s];                                         \
        if (unlikely((uint32_t)((ea) - sg_->W##lo) >= sg_->W##span4)) {       \
            goto bail;                                                        \
        }                                                                     \
        (lin) = sg_->base + (ea);                                             \
    } while (0)
#define FAST_PTR(cpu, lin, size, p, tag, bail) do {                          \
        X86TLBEntry *e_ = tlb_cur_entry(cpu, lin);                            \
        if (unlikely(e_->tag != (((lin) + (size) - 1) & ~0xfffu))) {          \
            goto bail;                                                        \
        }                                                                     \
        (p) = (void *)(e_->addend + (lin));                                   \
    } while (0)
#define NOINLINE __attribute__((noinline))

static inline uint32_t ld8(X86CPU *cpu, int s, uint32_t ea) { return lin_ld8(cpu, seg_r(cpu, s, ea, 1)); }
static inline uint32_t ld16(X86CPU *cpu, int s, uint32_t ea) { return lin_ld16(cpu, seg_r(cpu, s, ea, 2)); }
static inline uint32_t ld32(X86CPU *cpu, int s, uint32_t ea) { return lin_ld32(cpu, seg_r(cpu, s, ea, 4)); }
static inline void st8(X86CPU *cpu, int s, uint32_t ea, uint32_t v) { lin_st8(cpu, seg_w(cpu, s, ea, 1), v); }
static inline void st16(X86CPU *cpu, int s, uint32_t ea, uint32_t v) { lin_st16(cpu, seg_w(cpu, s, ea, 2), v); }
static inline void st32(X86CPU *cpu, int s, uint32_t ea, uint32_t v) { lin_st32(cpu, seg_w(cpu, s, ea, 4), v); }

/* Byte registers: AL CL DL BL AH CH DH BH as offsets into r[]. */
static inline uint8_t *reg8p(X86CPU *cpu, int n)
{
    return &cpu->r[n & 3].b[n >> 2];
}

/* ------------------------------------------------------------------------
 * Stack (ops-data.c keeps the instructions; these are the primitives).
 * The stack pointer width follows SS.B.
 */
static inline uint32_t sp_mask(X86CPU *cpu)
{
    return (cpu->mode & BM_STACK32) ? 0xffffffffu : 0xffffu;
}
static inline void set_sp(X86CPU *cpu, uint32_t v)
{
    if (cpu->mode & BM_STACK32) {
        cpu->r[R_ESP].d = v;
    } else {
        cpu->r[R_ESP].w = v;
    }
}
void x86_push32(X86CPU *cpu, uint32_t v);
void x86_push16(X86CPU *cpu, uint32_t v);
uint32_t x86_pop32(X86CPU *cpu);
uint32_t x86_pop16(X86CPU *cpu);

/* ------------------------------------------------------------------------
 * Segmentation (seg.c).
 */
void x86_seg_set_real(X86CPU *cpu, int s, uint16_t sel);   /* real / V86 */
void x86_seg_load(X86CPU *cpu, int s, uint16_t sel);        /* MOV/POP Sreg, LDS... */
void x86_seg_load_cache(X86CPU *cpu, int s, uint16_t sel, uint32_t base,
                        uint32_t limit, uint16_t attr);
void x86_seg_update_ranges(X86Seg *sg);
void x86_seg_update_ranges_only(X86Seg *sg);
/* Descriptor fetch: 0, or -1 when the selector lies beyond its table. */
int x86_desc_fetch(X86CPU *cpu, uint16_t sel, uint32_t *lo, uint32_t *hi);
void x86_desc_set_accessed(X86CPU *cpu, uint16_t sel, uint32_t hi);
uint32_t x86_desc_base(uint32_t lo, uint32_t hi);
uint32_t x86_desc_limit(uint32_t hi, uint32_t lo);
uint16_t x86_desc_attr(uint32_t hi);
void x86_update_mode(X86CPU *cpu);  /* recompute cpu->mode, cpl, mmu_idx */
void x86_set_cpl(X86CPU *cpu, int cpl);
void x86_load_tr(X86CPU *cpu, uint16_t sel);
void x86_load_ldt(X86CPU *cpu, uint16_t sel);
/* Far transfers (JMP/CALL/RET/IRET far and INT through gates). */
void x86_far_jmp(X86CPU *cpu, uint16_t sel, uint32_t off, uint32_t next_eip, bool op32);
void x86_far_call(X86CPU *cpu, uint16_t sel, uint32_t off, uint32_t next_eip, bool op32);
void x86_far_ret(X86CPU *cpu, bool op32, uint16_t extra);
void x86_iret(X86CPU *cpu, bool op32);
/* Hardware task switch (task.c); error >= 0 is pushed on the new stack. */
enum { TASK_JMP, TASK_CALL, TASK_IRET, TASK_INT };
void x86_task_switch(X86CPU *cpu, uint16_t sel, int source, uint32_t next_eip, int error);
/* Stack for privilege level `dpl` from the TSS. */
void x86_tss_stack(X86CPU *cpu, int dpl, uint16_t *ss, uint32_t *esp);

/* x87 (fpu.c). */
void x86_fpu_init(X86CPU *cpu);     /* FNINIT */
void x86_fpu_reset(X86CPU *cpu);    /* power-on state */
uint16_t x86_fpu_fsw(X86CPU *cpu);

/* Control registers (ops-sys.c). */
void x86_set_cr0(X86CPU *cpu, uint32_t v);
void x86_set_cr3(X86CPU *cpu, uint32_t v);
void x86_set_cr4(X86CPU *cpu, uint32_t v);
int x86_rdmsr(X86CPU *cpu, uint32_t msr, uint64_t *val);
int x86_wrmsr(X86CPU *cpu, uint32_t msr, uint64_t val);
uint64_t x86_rdtsc(X86CPU *cpu);

/* Port I/O (ops-sys.c). */
uint32_t x86_port_in(X86CPU *cpu, uint16_t port, unsigned size);
void x86_port_out(X86CPU *cpu, uint16_t port, uint32_t v, unsigned size);
void x86_check_io(X86CPU *cpu, uint16_t port, unsigned size);
void x86_check_as_generation(X86CPU *cpu);

/* ------------------------------------------------------------------------
 * Decoding and the code cache (decode.c, tcache.c).
 */
#define X86_MAX_BLOCK_INSNS 64

X86CodeCache *x86_code_new(void);
void x86_code_free(X86CodeCache *cc);
/* The CPU goes away: it leaves the cache it shares (x86_cpu_share_code),
 * which is freed with its last user. */
void x86_code_release(X86CPU *cpu);
/* The block for the current CS:EIP and mode (decodes on a miss; may
 * raise #PF / #GP for the fetch). */
X86Block *x86_block_lookup(X86CPU *cpu);
/* The block for the current CS:EIP and mode when it is already decoded and
 * its page is in the TLB; NULL otherwise (never decodes, never faults). */
X86Block *x86_block_find(X86CPU *cpu);
/* The block at `eip` in the same page as `from`, for chaining; NULL when
 * not (yet) decoded or elsewhere. */
X86Block *x86_block_chain_target(X86CPU *cpu, X86Block *from, uint32_t eip);
void x86_code_flush(X86CPU *cpu);
/* A write to guest-physical [pa, pa+size) found this page holds code. */
void x86_code_write(X86CPU *cpu, uint64_t pa, unsigned size);
bool x86_code_page_has_code(X86CPU *cpu, uint64_t ppage);
/* Free blocks whose invalidation was deferred (at a safe point). */
void x86_code_reap(X86CPU *cpu);

/* Drop every block's host code (the JIT's buffer is being reset); the
 * decoded blocks stay. */
void x86_code_drop_jit(X86CPU *cpu);
struct X86Jit *x86_code_jit(X86CPU *cpu);

/* The JIT (jit.c; a no-op on hosts other than x86-64).  x86_jit_new
 * returns NULL when disabled (VMKEMU_X86_JIT=0) or unavailable. */
struct X86Jit *x86_jit_new(void);
void x86_jit_free(struct X86Jit *jit);
/* The translation threshold for new CPUs (VMKEMU_X86_JIT_THRESHOLD). */
uint32_t x86_jit_threshold(const struct X86Jit *jit);
/* Forget all host code (with the decode cache's flush). */
void x86_jit_reset(struct X86Jit *jit);
/* Translate `b` (false: not translatable; b->no_jit is then set). */
bool x86_jit_translate(X86CPU *cpu, X86Block *b);
/* Run translated code from b->jit_body; returns the instruction the
 * interpreter continues with, or NULL to leave to the dispatcher. */
X86Insn *x86_jit_run(X86CPU *cpu, X86Block *b);
/* Patch the exit that asked for it (cpu->jit_link_site) to jump straight
 * to its successor, when that block has host code. */
void x86_jit_link(X86CPU *cpu);

/* Decode up to `max` instructions from the `avail` code bytes at `code`
 * (guest offset `eip`) into `out`, plus a terminator; returns the count
 * (0: the first instruction needs more bytes) and the bytes used. */
int x86_decode_block(X86CPU *cpu, uint32_t eip, uint32_t mode, const uint8_t *code,
                     uint32_t avail, X86Insn *out, int max, uint32_t *bytes);

/* Common handler-side helpers. */
#define HANDLER(name) X86Insn *name(X86CPU *cpu, X86Insn *i)
static inline uint32_t next_eip(const X86Insn *i)
{
    return i->eip + i->len;
}
/* Leave the block at `eip` (taken branch, far transfer, mode change). */
static inline X86Insn *x86_goto(X86CPU *cpu, uint32_t eip)
{
    cpu->eip = eip;
    return NULL;
}
/* Taken direct branch inside the page: follow the cached chain. */
X86Insn *x86_goto_chain_slow(X86CPU *cpu, X86Insn *i, uint32_t eip);
static inline X86Insn *x86_goto_chain(X86CPU *cpu, X86Insn *i, uint32_t eip)
{
    X86Block *b = i->chain;
    cpu->eip = eip;
    /* A block that became hot (or has host code) is left to the
     * dispatcher, which translates and enters it. */
    if (likely(b != NULL && !cpu->exit_request && cpu->budget > 0 &&
               b->mode == cpu->mode && ++b->hits < cpu->jit_threshold)) {
        cpu->budget -= b->ninsns;
        cpu->cur_block = b;
        return b->insns;
    }
    return x86_goto_chain_slow(cpu, i, eip);
}

/* Handler entry points referenced by the decoder. */
#include "x86-handlers.h"

#endif
