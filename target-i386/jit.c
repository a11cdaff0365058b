/*
 * The JIT: translates a hot decoded block (X86Block, an array of X86Insn)
 * into x86-64 host code, on x86-64 hosts.  Design and invariants are in
 * target-i386/README.md ("JIT"); instruction encodings in
 * jit-emit-x86_64.h (Intel SDM vol. 2).
 *
 * Generated code keeps `cpu` in RBX (set by the entry trampoline).  Within
 * a block guest registers live in host registers (the register cache) and
 * the last lazy-flag state in R8-R10 until something can observe them;
 * both are in `cpu` at every call into C that reads the guest state.  Each
 * instruction becomes either inline host code for its common case, whose
 * uncommon case (TLB miss, segment-limit edge, ...) calls the instruction's
 * interpreter handler out of line, or a plain call of the handler.  After a call the code continues in line only
 * when the handler returned the next instruction and the block is still
 * valid (a store may have invalidated it); anything else returns to the
 * dispatcher (cpu.c) with the handler's result, exactly where the
 * interpreter would have gone.  Faults unwind with siglongjmp from inside
 * the called C code; the JIT frame holds nothing to unwind.
 *
 * Code lives in one bounded buffer per code cache, mapped read-write-execute
 * (see jit_map for why, and VMKEMU_X86_JIT_WX=1 for separate writable and
 * executable views).  It is never freed piecemeal: invalidated blocks'
 * code is simply abandoned, and when the buffer is full every block's code
 * is dropped at once (the decoded blocks stay and get translated again when
 * hot).
 */
#include <stdio.h>
#include <stdlib.h>
#include "x86-internal.h"

#if defined(__x86_64__)

#include <errno.h>
#include <fcntl.h>
#include <sys/mman.h>
#include <unistd.h>
#include "jit-emit-x86_64.h"

#define JIT_DEFAULT_SIZE        (32u << 20)
#define JIT_DEFAULT_THRESHOLD   32
#define JIT_TRAMPOLINE_SIZE     512

typedef X86Insn *(*JitEnter)(X86CPU *cpu, void *code);

static gpointer jit_descs_init(gpointer unused);
void *x86_jit_next(X86CPU *cpu);

typedef struct X86Jit {
    uint8_t *rw, *rx;           /* the two views of the buffer (equal: RWX) */
    size_t size;
    size_t used;                /* bytes taken, trampoline included */
    size_t high;                /* most ever used since the last release */
    JitEnter enter;
    uint8_t *epilogue;          /* rx: return to the dispatcher with RAX */
    uint8_t *slow_common;       /* rx: an instruction's slow path */
    uint8_t *next;              /* rx: go on at cpu->eip (x86_jit_next) */
    uint8_t *link_fast, *link_slow;     /* rx: the same, after asking for a
                                           link of the jump at RAX */
    uint8_t *post_call;         /* rx: check a handler's result */
    uint32_t threshold;
    uint64_t resets;
    FILE *perfmap;              /* VMKEMU_X86_JIT_PERFMAP: symbols for perf */
    FILE *dump;                 /* VMKEMU_X86_JIT_DUMP=FILE: raw code, for objdump */
    struct JitCtx *ctx;         /* the translator's scratch state */
} X86Jit;

/* Offsets into the CPU and the block for the generated code. */
/* RBX points this far into the CPU, so that the hottest fields (registers,
 * lazy flags, ES/CS/SS/DS) are within a signed 8-bit displacement. */
#define JIT_CPU_BIAS    0x80
#define CPU_OFF(f)      ((int32_t)offsetof(X86CPU, f) - JIT_CPU_BIAS)
#define REG_OFF(n)      (CPU_OFF(r) + 8 * (n))
#define BLK_INSN(k)     ((int32_t)(offsetof(X86Block, insns) + (size_t)(k) * sizeof(X86Insn)))

/* --- buffer ----------------------------------------------------------------- */

/* The buffer is one read-write-execute mapping: mapping it twice through a
 * memfd (writable + executable views, W^X) would count every code page
 * twice against the process's resident memory, which issue 3 bounds.
 * VMKEMU_X86_JIT_WX=1 asks for the two views (also the fallback when an
 * executable anonymous mapping is refused). */
static bool jit_map(X86Jit *jit, size_t size, bool wx)
{
    /* Prefer a mapping within reach of rel32 calls to the handlers. */
    uintptr_t text = (uintptr_t)&x86_jit_new;
    uintptr_t hint = (text & ~(uintptr_t)0xfffff) - ((uintptr_t)512 << 20);

    if (!wx) {
        void *p = mmap((void *)hint, size, PROT_READ | PROT_WRITE | PROT_EXEC,
                       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        if (p != MAP_FAILED) {
            jit->rx = jit->rw = p;
            jit->size = size;
            return true;
        }
    }
    int fd = memfd_create("vmkemu-jit", MFD_CLOEXEC);
    if (fd < 0) {
        return false;
    }
    if (ftruncate(fd, (off_t)size) == 0) {
        void *rx = mmap((void *)hint, size, PROT_READ | PROT_EXEC, MAP_SHARED, fd, 0);
        void *rw = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
        if (rx != MAP_FAILED && rw != MAP_FAILED) {
            close(fd);
            jit->rx = rx;
            jit->rw = rw;
            jit->size = size;
            return true;
        }
        if (rx != MAP_FAILED) {
            munmap(rx, size);
        }
        if (rw != MAP_FAILED) {
            munmap(rw, size);
        }
    }
    close(fd);
    return false;
}

static JitEmit jit_emitter(X86Jit *jit)
{
    return (JitEmit){
        .p = jit->rw + jit->used,
        .end = jit->rw + jit->size,
        .rx_delta = jit->rx - jit->rw,
    };
}

/* The entry trampoline and the common epilogue: save the callee-saved
 * registers, keep 16-byte stack alignment for the calls the code makes,
 * RBX = cpu + JIT_CPU_BIAS, jump to the code (RSI).  The shared pieces of
 * code after it (slow paths, exits, the post-call check) follow. */
static void jit_emit_trampoline(X86Jit *jit)
{
    JitEmit e = jit_emitter(jit);
    uint8_t *start = e.p;
    static const int saved[] = { H_RBP, H_RBX, H_R12, H_R13, H_R14, H_R15 };

    for (unsigned k = 0; k < G_N_ELEMENTS(saved); k++) {
        e_push(&e, saved[k]);
    }
    e_alu_ri(&e, A_SUB, 8, H_RSP, 8);
    e_lea(&e, 8, H_RBX, jm(H_RDI, JIT_CPU_BIAS));
    e8(&e, 0xff);
    e8(&e, 0xe6);                               /* jmp rsi */
    jit->epilogue = e_here_rx(&e);
    e_alu_ri(&e, A_ADD, 8, H_RSP, 8);
    for (int k = G_N_ELEMENTS(saved) - 1; k >= 0; k--) {
        e_pop(&e, saved[k]);
    }
    e_ret(&e);

    /* The slow path of an instruction (RSI: the X86Insn, RDX: where to go
     * on): call its handler; go on only when it returned the next
     * instruction and the block is still valid, else return its result. */
    jit->slow_common = e_here_rx(&e);
    e_store(&e, 8, jm(H_RBX, CPU_OFF(cur_insn)), H_RSI);
    e_mov_rr(&e, 8, H_R13, H_RSI);
    e_mov_rr(&e, 8, H_R14, H_RDX);
    e_lea(&e, 8, H_RDI, jm(H_RBX, -JIT_CPU_BIAS));
    e8(&e, 0xff);
    e8(&e, 0x16);                               /* call [rsi] */
    e_lea(&e, 8, H_RCX, jm(H_R13, (int32_t)sizeof(X86Insn)));
    e_alu_rr(&e, A_CMP, 8, H_RAX, H_RCX);
    e_jcc(&e, HC_NE, jit->epilogue);
    e_load(&e, 8, H_RCX, jm(H_RBX, CPU_OFF(cur_block)));
    e_alu_mi(&e, A_CMP, 1, jm(H_RCX, (int32_t)offsetof(X86Block, cached)), 0);
    e_jcc(&e, HC_E, jit->epilogue);
    e8(&e, 0x41);
    e8(&e, 0xff);
    e8(&e, 0xe6);                               /* jmp r14 */

    /* Exits of direct branches (RAX: the jump to patch). */
    uint8_t *slow_tail = NULL;
    for (int fast = 0; fast < 2; fast++) {
        if (fast) {
            jit->link_fast = e_here_rx(&e);
        } else {
            jit->link_slow = e_here_rx(&e);
        }
        e_store(&e, 8, jm(H_RBX, CPU_OFF(jit_link_site)), H_RAX);
        e_store_imm(&e, 1, jm(H_RBX, CPU_OFF(jit_link_fast)), fast);
        if (!fast) {
            slow_tail = e_jmp(&e, NULL);        /* to `next` */
        }
    }
    jit->next = e_here_rx(&e);
    e_patch_rel32(&e, slow_tail, jit->next);
    e_lea(&e, 8, H_RDI, jm(H_RBX, -JIT_CPU_BIAS));
    e_call(&e, (const void *)x86_jit_next);
    e_test_rr(&e, 8, H_RAX, H_RAX);
    e_jcc(&e, HC_E, jit->epilogue);
    e8(&e, 0xff);
    e8(&e, 0xe0);                               /* jmp rax */

    /* After a handler call (R13: its X86Insn): return to the caller when
     * the handler returned the next instruction and the block is still
     * valid; else drop the return address and leave with its result. */
    jit->post_call = e_here_rx(&e);
    e_lea(&e, 8, H_RCX, jm(H_R13, (int32_t)sizeof(X86Insn)));
    e_alu_rr(&e, A_CMP, 8, H_RAX, H_RCX);
    uint8_t *leave1 = e_jcc8(&e, HC_NE);
    e_load(&e, 8, H_RCX, jm(H_RBX, CPU_OFF(cur_block)));
    e_alu_mi(&e, A_CMP, 1, jm(H_RCX, (int32_t)offsetof(X86Block, cached)), 0);
    uint8_t *leave2 = e_jcc8(&e, HC_E);
    e_ret(&e);
    e_fix8(&e, leave1);
    e_fix8(&e, leave2);
    e_alu_ri(&e, A_ADD, 8, H_RSP, 8);
    e_jmp(&e, jit->epilogue);
    g_assert(!e.overflow && e.p - start <= JIT_TRAMPOLINE_SIZE);
    jit->enter = (JitEnter)(void *)jit->rx;
    jit->used = JIT_TRAMPOLINE_SIZE;
}

X86Jit *x86_jit_new(void)
{
    const char *on = getenv("VMKEMU_X86_JIT");
    if (on && strcmp(on, "0") == 0) {
        return NULL;
    }
    X86Jit *jit = g_new0(X86Jit, 1);
    size_t size = JIT_DEFAULT_SIZE;
    const char *sz = getenv("VMKEMU_X86_JIT_SIZE");     /* KiB, for tests */
    if (sz && atol(sz) > 0) {
        size = MAX((size_t)atol(sz) << 10, (size_t)64 << 10);
        size = (size + 4095) & ~(size_t)4095;
    }
    const char *wx = getenv("VMKEMU_X86_JIT_WX");
    if (!jit_map(jit, size, wx && strcmp(wx, "1") == 0 && !getenv("VMKEMU_X86_JIT_PERFMAP"))) {
        g_free(jit);
        return NULL;
    }
    jit->threshold = JIT_DEFAULT_THRESHOLD;
    const char *th = getenv("VMKEMU_X86_JIT_THRESHOLD");
    if (th && *th) {
        jit->threshold = (uint32_t)strtoul(th, NULL, 0);
    }
    if (getenv("VMKEMU_X86_JIT_PERFMAP")) {
        char path[64];
        snprintf(path, sizeof(path), "/tmp/perf-%d.map", (int)getpid());
        jit->perfmap = fopen(path, "a");
    }
    const char *dump = getenv("VMKEMU_X86_JIT_DUMP");
    if (dump && *dump) {
        jit->dump = fopen(dump, "w");
    }
    jit_emit_trampoline(jit);
    static GOnce once = G_ONCE_INIT;
    g_once(&once, jit_descs_init, NULL);
    return jit;
}

void x86_jit_free(X86Jit *jit)
{
    if (!jit) {
        return;
    }
    if (jit->rw != jit->rx) {
        munmap(jit->rw, jit->size);
    }
    munmap(jit->rx, jit->size);
    if (jit->perfmap) {
        fclose(jit->perfmap);
    }
    if (jit->dump) {
        fclose(jit->dump);
    }
    g_free(jit->ctx);
    g_free(jit);
}

uint32_t x86_jit_threshold(const X86Jit *jit)
{
    return jit ? jit->threshold : UINT32_MAX;
}

void x86_jit_reset(X86Jit *jit)
{
    if (!jit) {
        return;
    }
    jit->high = MAX(jit->high, jit->used);
    jit->used = JIT_TRAMPOLINE_SIZE;
    jit->resets++;
    /* Give the pages back when a lot was used (the memfd keeps them
     * otherwise). */
    if (jit->high > ((size_t)4 << 20)) {
        size_t off = (JIT_TRAMPOLINE_SIZE + 4095) & ~(size_t)4095;
        madvise(jit->rw + off, jit->size - off, jit->rw != jit->rx ? MADV_REMOVE : MADV_DONTNEED);
        jit->high = 0;
    }
}

/* --- which handlers have inline translations ------------------------------- */

enum {
    JK_CALL,                    /* call the handler */
    JK_NOP,
    JK_MOV_EG, JK_MOV_GE, JK_MOV_EI, JK_MOFFS_LD, JK_MOFFS_ST,
    JK_MOVZX8, JK_MOVSX8, JK_MOVZX16, JK_MOVSX16, JK_LEA,
    JK_PUSH_R, JK_POP_R, JK_PUSH_I,
    JK_XCHG,
    JK_ALU_EG, JK_ALU_GE, JK_ALU_EI, JK_TEST_EG, JK_TEST_EI,
    JK_INC, JK_DEC, JK_NOT, JK_NEG, JK_SHIFT, JK_ROT, JK_IMUL_GE, JK_IMUL_GEI,
    JK_JCC, JK_JMP, JK_BLOCK_END, JK_CALL_REL, JK_RET, JK_JMP_E, JK_CALL_E,
    JK_SETCC, JK_CMOV,
};

typedef struct JitDesc {
    uint8_t kind;
    uint8_t op;                 /* ALU / shift operation, condition */
    uint8_t bytes;              /* operand size: 1, 2, 4 */
    uint8_t mem;                /* memory form */
} JitDesc;

static GHashTable *jit_descs;   /* handler -> JitDesc packed in a pointer */

static void desc_add(X86Handler fn, int kind, int op, int bytes, int mem)
{
    JitDesc d = { (uint8_t)kind, (uint8_t)op, (uint8_t)bytes, (uint8_t)mem };
    uint32_t v;
    memcpy(&v, &d, 4);
    g_hash_table_insert(jit_descs, (gpointer)fn, GUINT_TO_POINTER(v | 0x80000000u));
}

static gpointer jit_descs_init(gpointer unused)
{
    (void)unused;
    jit_descs = g_hash_table_new(g_direct_hash, g_direct_equal);
    for (int sz = 0; sz < 3; sz++) {
        int bytes = 1 << sz;
        for (int mem = 0; mem < 2; mem++) {
            desc_add(x86_h_mov_eg[sz][mem], JK_MOV_EG, 0, bytes, mem);
            desc_add(x86_h_mov_ge[sz][mem], JK_MOV_GE, 0, bytes, mem);
            desc_add(x86_h_mov_ei[sz][mem], JK_MOV_EI, 0, bytes, mem);
        }
        desc_add(x86_h_mov_moffs_load[sz], JK_MOFFS_LD, 0, bytes, 1);
        desc_add(x86_h_mov_moffs_store[sz], JK_MOFFS_ST, 0, bytes, 1);
    }
    for (int o = 0; o < 2; o++) {
        int bytes = 2 << o;
        for (int mem = 0; mem < 2; mem++) {
            desc_add(x86_h_movzx8[o][mem], JK_MOVZX8, 0, bytes, mem);
            desc_add(x86_h_movsx8[o][mem], JK_MOVSX8, 0, bytes, mem);
        }
        desc_add(x86_h_lea[o], JK_LEA, 0, bytes, 1);
    }
    for (int mem = 0; mem < 2; mem++) {
        desc_add(x86_h_movzx16[mem], JK_MOVZX16, 0, 4, mem);
        desc_add(x86_h_movsx16[mem], JK_MOVSX16, 0, 4, mem);
    }
    desc_add(x86_h_push_r[1], JK_PUSH_R, 0, 4, 0);
    desc_add(x86_h_pop_r[1], JK_POP_R, 0, 4, 0);
    desc_add(x86_h_push_i[1], JK_PUSH_I, 0, 4, 0);
    desc_add(x86_h_nop, JK_NOP, 0, 0, 0);
    for (int sz = 0; sz < 3; sz++) {
        int bytes = 1 << sz;
        for (int mem = 0; mem < 2; mem++) {
            for (int op = 0; op < 8; op++) {
                desc_add(x86_h_alu_eg[op][sz][mem], JK_ALU_EG, op, bytes, mem);
                desc_add(x86_h_alu_ge[op][sz][mem], JK_ALU_GE, op, bytes, mem);
                desc_add(x86_h_alu_ei[op][sz][mem], JK_ALU_EI, op, bytes, mem);
                if (op >= 4) {
                    desc_add(x86_h_grp2[op][sz][mem], JK_SHIFT, op, bytes, mem);
                } else if (op < 2) {
                    desc_add(x86_h_grp2[op][sz][mem], JK_ROT, op, bytes, mem);
                }
            }
            desc_add(x86_h_test_eg[sz][mem], JK_TEST_EG, 0, bytes, mem);
            desc_add(x86_h_test_ei[sz][mem], JK_TEST_EI, 0, bytes, mem);
            desc_add(x86_h_inc[sz][mem], JK_INC, 0, bytes, mem);
            desc_add(x86_h_dec[sz][mem], JK_DEC, 1, bytes, mem);
            desc_add(x86_h_not[sz][mem], JK_NOT, 0, bytes, mem);
            desc_add(x86_h_neg[sz][mem], JK_NEG, 0, bytes, mem);
        }
        desc_add(x86_h_xchg[sz][0], JK_XCHG, 0, bytes, 0);
    }
    for (int o = 0; o < 2; o++) {
        for (int mem = 0; mem < 2; mem++) {
            desc_add(x86_h_imul_ge[o][mem], JK_IMUL_GE, 0, 2 << o, mem);
            desc_add(x86_h_imul_gei[o][mem], JK_IMUL_GEI, 0, 2 << o, mem);
            desc_add(x86_h_cmov[o][mem], JK_CMOV, 0, 2 << o, mem);
        }
    }
    for (int cc = 0; cc < 16; cc++) {
        desc_add(x86_h_jcc[cc], JK_JCC, cc, 0, 0);
    }
    desc_add(x86_h_jmp, JK_JMP, 0, 0, 0);
    desc_add(x86_h_block_end, JK_BLOCK_END, 0, 0, 0);
    desc_add(x86_h_call_rel[1], JK_CALL_REL, 0, 4, 0);
    desc_add(x86_h_ret[1], JK_RET, 0, 4, 0);
    desc_add(x86_h_ret_imm[1], JK_RET, 1, 4, 0);
    for (int mem = 0; mem < 2; mem++) {
        desc_add(x86_h_jmp_e[1][mem], JK_JMP_E, 0, 4, mem);
        desc_add(x86_h_call_e[1][mem], JK_CALL_E, 0, 4, mem);
        desc_add(x86_h_setcc[mem], JK_SETCC, 0, 1, mem);
    }
    return NULL;
}

static JitDesc desc_of(X86Handler fn)
{
    uint32_t v = GPOINTER_TO_UINT(g_hash_table_lookup(jit_descs, (gconstpointer)fn));
    JitDesc d = { JK_CALL, 0, 0, 0 };
    if (v) {
        v &= 0x7fffffffu;
        memcpy(&d, &v, 4);
    }
    return d;
}

/* --- translation ------------------------------------------------------------- */

/*
 * The register cache: within a block, guest registers live in six host
 * registers (most recently used ones; R_ZERO never), five callee-saved and
 * R11, which is written back and emptied before the flag helpers in C.
 * A slot is written back when it is `dirty` and something reads the guest
 * state in memory: a handler call, a slow path, an exit.  After a handler
 * call nothing is cached any more (the handler may change any register).
 * The registers an instruction uses are all brought in before its first
 * jump to a slow path, so that every such jump sees the same cache.
 */
#define NSLOT 6
static const int slot_host[NSLOT] = { H_RBP, H_R12, H_R13, H_R14, H_R15, H_R11 };
#define SLOT_CALLER_SAVED 0x20u        /* R11: gone after a call into C */

typedef struct RCache {
    int8_t g[NSLOT];                /* guest register in the slot, -1: none */
    uint8_t dirty;                  /* slots newer than cpu->r[] */
} RCache;

/*
 * The lazy-flag state not yet stored in the CPU: cc_op (a constant),
 * cc_a, cc_b and cc_res (constants, or values in R8, R9, R10).  It is
 * stored when something can observe it -- a handler call, a slow path, an
 * exit, a flag computation in C -- so a flag-setting instruction whose
 * state nothing sees before the next one writes no memory at all.  The
 * fields not pending are in the CPU (PS_MEM).
 */
enum { F_OP, F_A, F_B, F_RES, F_N };
enum { PS_MEM, PS_IMM, PS_REG };
static const int pend_host[F_N] = { H_NONE, H_R8, H_R9, H_R10 };

typedef struct Pend {
    uint8_t src[F_N];
    uint32_t imm[F_N];
} Pend;

/* Out-of-line code of one instruction: its slow path (the handler), or the
 * exit of its taken branch; with the state of the register cache and of
 * the pending flags where the jumps to it come from. */
#define JIT_MAX_SITES 8
enum { COLD_SLOW, COLD_EXIT, COLD_LOOP };
typedef struct JitCold {
    int type;
    int k;
    uint32_t target;                /* COLD_EXIT */
    bool fast;                      /* the target may skip the mode check */
    uint8_t *sites[JIT_MAX_SITES];  /* rel32 fields that jump here */
    int nsites;
    int regen;                      /* cc_op whose flags the code after the
                                       instruction expects in the host
                                       flags (-2: none, -1: any kind) */
    RCache rc;
    Pend pend;
} JitCold;

typedef struct JitCtx {
    X86CPU *cpu;
    X86Jit *jit;
    X86Block *b;
    JitEmit e;
    bool fail;                      /* not translatable: interpret it */
    int k;                          /* instruction being translated */
    uint8_t *lab[X86_MAX_BLOCK_INSNS + 2];     /* rx start of each instruction */
    RCache rc_at[X86_MAX_BLOCK_INSNS + 2];     /* the cache there */
    Pend pend_at[X86_MAX_BLOCK_INSNS + 2];     /* the pending flags there */
    JitCold cold[2 * (X86_MAX_BLOCK_INSNS + 1)];
    int ncold;
    JitCold *cur_cold;              /* the current instruction's slow path */
    bool unreachable;               /* the code so far ended in a jump */
    RCache rc;
    uint8_t pinned;                 /* slots the current instruction uses */
    uint8_t mem_regs;               /* guest registers it accesses in memory */
    uint32_t stamp[NSLOT], clock;
    Pend pend;
    /* Flag knowledge at this point of the hot path: the guest's cc_op when
     * known (-1: not known), and whether the host's arithmetic flags equal
     * the guest's (`hf`), left by the instruction whose slow path is
     * `hf_cold` (NULL: none). */
    int cc;
    bool hf;
    JitCold *hf_cold;
    uint8_t *exit0_sites[4];        /* chain-entry checks that fail */
    int nexit0;
    /* Segments assumed flat (seg_flat_r | seg_flat_w << 8), checked at
     * the block's entry and after each handler call by guards whose
     * immediates are patched at the end. */
    uint32_t flat_need;
    uint8_t *flat_imm[2 * (X86_MAX_BLOCK_INSNS + 2)];
    uint8_t *flat_start[X86_MAX_BLOCK_INSNS + 2];
    int nflat_imm;
    uint8_t *flat_fail_entry;       /* jcc rel32 of the entry guard */
    uint8_t *flat_fail[X86_MAX_BLOCK_INSNS + 1];   /* ... after handler k */
    /* A block that jumps to its own start loops without leaving its code:
     * the loop head (after the entry checks) has the registers the block
     * uses preloaded in the cache (`head_rc`, all taken as dirty). */
    bool loop;
    uint8_t *head;
    RCache head_rc;
    uint8_t *loop_exit_sites[2 * (X86_MAX_BLOCK_INSNS + 1)];
    int nloop_exit;
} JitCtx;

static inline JMem greg(int n)
{
    return jm(H_RBX, REG_OFF(n));
}
static inline JMem cpuf(int32_t off)
{
    return jm(H_RBX, off);
}

/* --- register cache ------------------------------------------------------------------ */

static void rc_init(RCache *rc)
{
    memset(rc->g, -1, sizeof(rc->g));
    rc->dirty = 0;
}

static int rc_find(const RCache *rc, int n)
{
    for (int s = 0; s < NSLOT; s++) {
        if (rc->g[s] == n) {
            return s;
        }
    }
    return -1;
}

static void rc_emit_writeback(JitEmit *e, const RCache *rc)
{
    for (int s = 0; s < NSLOT; s++) {
        if (rc->dirty & (1u << s)) {
            e_store(e, 4, greg(rc->g[s]), slot_host[s]);
        }
    }
}

static void rc_emit_reload(JitEmit *e, const RCache *rc)
{
    for (int s = 0; s < NSLOT; s++) {
        if (rc->g[s] >= 0) {
            e_load(e, 4, slot_host[s], greg(rc->g[s]));
        }
    }
}

static int rc_alloc(JitCtx *c, int n)
{
    int best = -1;
    for (int s = 0; s < NSLOT && best < 0; s++) {
        if (c->rc.g[s] < 0) {
            best = s;
        }
    }
    if (best < 0) {
        for (int s = 0; s < NSLOT; s++) {
            if (!(c->pinned & (1u << s)) && (best < 0 || c->stamp[s] < c->stamp[best])) {
                best = s;
            }
        }
        g_assert(best >= 0);
        if (c->rc.dirty & (1u << best)) {
            e_store(&c->e, 4, greg(c->rc.g[best]), slot_host[best]);
            c->rc.dirty &= ~(1u << best);
        }
    }
    c->rc.g[best] = (int8_t)n;
    return best;
}

/* Host register holding guest register n (loaded if need be). */
static int rc_use(JitCtx *c, int n)
{
    int s = rc_find(&c->rc, n);
    if (s < 0) {
        s = rc_alloc(c, n);
        e_load(&c->e, 4, slot_host[s], greg(n));
    }
    c->pinned |= 1u << s;
    c->stamp[s] = ++c->clock;
    return slot_host[s];
}

/* Host register for a new 32-bit value of guest register n (not loaded):
 * only after the instruction's last jump to its slow path. */
static int rc_def(JitCtx *c, int n)
{
    int s = rc_find(&c->rc, n);
    if (s < 0) {
        s = rc_alloc(c, n);
    }
    c->pinned |= 1u << s;
    c->stamp[s] = ++c->clock;
    c->rc.dirty |= 1u << s;
    return slot_host[s];
}

static void rc_set_dirty(JitCtx *c, int n)
{
    int s = rc_find(&c->rc, n);
    g_assert(s >= 0);
    c->rc.dirty |= 1u << s;
}

/* Guest register n goes back to memory and leaves the cache. */
static void rc_spill(JitCtx *c, int n)
{
    int s = rc_find(&c->rc, n);
    if (s >= 0) {
        if (c->rc.dirty & (1u << s)) {
            e_store(&c->e, 4, greg(n), slot_host[s]);
        }
        c->rc.g[s] = -1;
        c->rc.dirty &= ~(1u << s);
        c->pinned &= ~(1u << s);
    }
}

/* Before a call into C that keeps the guest state in the cache: the
 * caller-saved slots go back to memory and leave. */
static void rc_before_call(JitCtx *c)
{
    for (int s = 0; s < NSLOT; s++) {
        if ((SLOT_CALLER_SAVED & (1u << s)) && c->rc.g[s] >= 0) {
            rc_spill(c, c->rc.g[s]);
        }
    }
}

static void rc_sync(JitCtx *c)
{
    rc_emit_writeback(&c->e, &c->rc);
    c->rc.dirty = 0;
}

/* --- pending flags -------------------------------------------------------------------- */

static int32_t pend_off(int f)
{
    switch (f) {
    case F_OP: return CPU_OFF(cc_op);
    case F_A: return CPU_OFF(cc_a);
    case F_B: return CPU_OFF(cc_b);
    default: return CPU_OFF(cc_res);
    }
}

static void pend_init(Pend *p)
{
    memset(p, 0, sizeof(*p));
}

static void pend_emit(JitEmit *e, const Pend *p)
{
    for (int f = 0; f < F_N; f++) {
        if (p->src[f] == PS_IMM) {
            e_store_imm(e, 4, cpuf(pend_off(f)), p->imm[f]);
        } else if (p->src[f] == PS_REG) {
            e_store(e, 4, cpuf(pend_off(f)), pend_host[f]);
        }
    }
}

static void pend_emit_reload(JitEmit *e, const Pend *p)
{
    for (int f = 0; f < F_N; f++) {
        if (p->src[f] == PS_REG) {
            e_load(e, 4, pend_host[f], cpuf(pend_off(f)));
        }
    }
}

static void pend_flush(JitCtx *c)
{
    pend_emit(&c->e, &c->pend);
    pend_init(&c->pend);
}

/* Everything the guest state needs back in memory. */
static void sync_all(JitCtx *c)
{
    pend_flush(c);
    rc_sync(c);
}

/* Field f of the pending state <- host register h / a constant. */
static void pend_set(JitCtx *c, int f, int h)
{
    if (h != pend_host[f]) {
        e_mov_rr(&c->e, 4, pend_host[f], h);
    }
    c->pend.src[f] = PS_REG;
    c->pend.imm[f] = 0;
}
static void pend_set_imm(JitCtx *c, int f, uint32_t v)
{
    c->pend.src[f] = PS_IMM;
    c->pend.imm[f] = v;
}

/* Host register h <- field f of the lazy state. */
static void pend_get(JitCtx *c, int f, int h)
{
    JitEmit *e = &c->e;
    if (c->pend.src[f] == PS_REG) {
        e_mov_rr(e, 4, h, pend_host[f]);
    } else if (c->pend.src[f] == PS_IMM) {
        e_mov_ri32(e, h, c->pend.imm[f]);
    } else {
        e_load(e, 4, h, cpuf(pend_off(f)));
    }
}

/* --- guest register operands -------------------------------------------------------- */

/* A guest register operand: a host register (its low `bytes`), or the
 * register's bytes in memory (AH-BH, and byte registers sharing a guest
 * register with one of those in the same instruction). */
typedef struct GOp {
    int h;                          /* H_NONE: memory */
    JMem m;
} GOp;

/* Byte forms naming AH-BH access their guest registers in memory. */
static void prep_bytes(JitCtx *c, int bytes, int r1, int r2)
{
    if (bytes != 1 || (r1 < 4 && r2 < 4)) {
        return;
    }
    int regs[2] = { r1, r2 };
    for (int k = 0; k < 2; k++) {
        if (regs[k] >= 0) {
            rc_spill(c, regs[k] & 3);
            c->mem_regs |= 1u << (regs[k] & 3);
        }
    }
}

static GOp gop(JitCtx *c, int n, int bytes)
{
    if (bytes == 1 && (n >= 4 || (c->mem_regs & (1u << n)))) {
        rc_spill(c, n & 3);
        return (GOp){ H_NONE, jm(H_RBX, REG_OFF(n & 3) + (n >> 2)) };
    }
    return (GOp){ rc_use(c, n), { 0, 0, 0, 0 } };
}

/* An operand has been written (a cached register is now dirty). */
static void gop_wrote(JitCtx *c, int n, GOp o)
{
    if (o.h != H_NONE) {
        rc_set_dirty(c, n);
    }
}

/* h (32 bits) <- o (bytes), zero- or sign-extended */
static void gop_load(JitEmit *e, int bytes, int h, GOp o, bool sx)
{
    if (o.h == H_NONE) {
        if (sx && bytes < 4) {
            e_loadsx(e, bytes, h, o.m);
        } else {
            e_loadzx(e, bytes, h, o.m);
        }
    } else if (bytes == 4) {
        if (h != o.h) {
            e_mov_rr(e, 4, h, o.h);
        }
    } else if (sx) {
        e_movsx_rr(e, bytes, h, o.h);
    } else {
        e_movzx_rr(e, bytes, h, o.h);
    }
}

/* o (bytes) <- the low bytes of h */
static void gop_store(JitEmit *e, int bytes, GOp o, int h)
{
    if (o.h == H_NONE) {
        e_store(e, bytes, o.m, h);
    } else if (bytes == 4) {
        if (h != o.h) {
            e_mov_rr(e, 4, o.h, h);
        }
    } else {
        e_op_r(e, bytes, bytes == 1 ? 0x88 : 0x89, h, o.h);
    }
}

/* dst (32 bits) <- the low `bytes` of src, zero-extended */
static void mov_zx(JitEmit *e, int bytes, int dst, int src)
{
    if (bytes == 4) {
        if (dst != src) {
            e_mov_rr(e, 4, dst, src);
        }
    } else {
        e_movzx_rr(e, bytes, dst, src);
    }
}

/* Guest register n (bytes) <- host register h, after the instruction's
 * last jump to its slow path. */
static void to_greg(JitCtx *c, int n, int bytes, int h)
{
    if (bytes == 4) {
        int d = rc_def(c, n);
        e_mov_rr(&c->e, 4, d, h);
        return;
    }
    GOp o = gop(c, n, bytes);
    gop_store(&c->e, bytes, o, h);
    gop_wrote(c, n, o);
}

/* --- memory operands -------------------------------------------------------------------- */

/* A jump to the current instruction's slow path on host condition cc. */
static void jump_slow(JitCtx *c, int cc)
{
    JitCold *cd = c->cur_cold;
    if (!cd && c->ncold >= (int)G_N_ELEMENTS(c->cold)) {
        c->fail = true;
        return;
    }
    if (!cd) {
        cd = c->cur_cold = &c->cold[c->ncold++];
        *cd = (JitCold){ .type = COLD_SLOW, .k = c->k, .regen = -2, .rc = c->rc,
                         .pend = c->pend };
    } else if (memcmp(&cd->rc, &c->rc, sizeof(c->rc)) != 0 ||
               memcmp(&cd->pend, &c->pend, sizeof(c->pend)) != 0 ||
               cd->nsites == JIT_MAX_SITES) {
        c->fail = true;                 /* the translator's own mistake */
        return;
    }
    cd->sites[cd->nsites++] = e_jcc(&c->e, cc, NULL);
}

/* EAX <- the effective address of i's memory operand. */
static void gen_ea(JitCtx *c, const X86Insn *i)
{
    JitEmit *e = &c->e;
    bool hb = i->base != R_ZERO, hx = i->index != R_ZERO;
    int b = hb ? rc_use(c, i->base) : H_NONE;
    int x = hx ? rc_use(c, i->index) : H_NONE;

    if (!hb && !hx) {
        e_mov_ri32(e, H_RAX, i->disp & i->amask);
        return;
    }
    e_lea(e, 4, H_RAX, jmx(b, x, i->scale, (int32_t)i->disp));
    if (i->amask == 0xffff) {
        e_movzx_rr(e, 2, H_RAX, H_RAX);
    }
}

/* EAX: offset in segment s -> linear address, when an access of up to 4
 * bytes lies well inside the segment (the interpreter's inline test);
 * otherwise the slow path. */
static void gen_seg(JitCtx *c, int s, bool write)
{
    JitEmit *e = &c->e;
    int32_t sg = CPU_OFF(seg) + s * (int32_t)sizeof(X86Seg);
    c->hf = false;
    uint8_t flat = write ? c->cpu->seg_flat_w : c->cpu->seg_flat_r;
    if (!c->b->no_flat && (flat & (1u << s))) {
        /* Base 0, no limit: the guards make sure it stays so. */
        c->flat_need |= (1u << s) << (write ? 8 : 0);
        return;
    }
    e_mov_rr(e, 4, H_RDX, H_RAX);
    e_alu_rm(e, A_SUB, 4, H_RDX, jm(H_RBX, sg + (int32_t)(write ? offsetof(X86Seg, wlo)
                                                             : offsetof(X86Seg, rlo))));
    e_alu_rm(e, A_CMP, 4, H_RDX, jm(H_RBX, sg + (int32_t)(write ? offsetof(X86Seg, wspan4)
                                                             : offsetof(X86Seg, rspan4))));
    jump_slow(c, HC_AE);
    e_alu_rm(e, A_ADD, 4, H_RAX, jm(H_RBX, sg + (int32_t)offsetof(X86Seg, base)));
}

/* EAX: linear address -> RAX: host address, through the current TLB set
 * (the entry's tag must be the page of the access's last byte). */
static void gen_tlb(JitCtx *c, bool write, int bytes)
{
    JitEmit *e = &c->e;
    c->hf = false;
    e_mov_rr(e, 4, H_RCX, H_RAX);
    e_shift_ri(e, 5, 4, H_RCX, 12 - 4);
    e_alu_ri(e, A_AND, 4, H_RCX, (X86_TLB_SIZE - 1) << 4);
    e_alu_rm(e, A_ADD, 8, H_RCX, cpuf(CPU_OFF(tlb_cur)));
    if (bytes == 1) {
        e_mov_rr(e, 4, H_RDX, H_RAX);
    } else {
        e_lea(e, 4, H_RDX, jm(H_RAX, bytes - 1));
    }
    e_alu_ri(e, A_AND, 4, H_RDX, ~0xfffu);
    e_alu_rm(e, A_CMP, 4, H_RDX, jm(H_RCX, write ? (int32_t)offsetof(X86TLBEntry, tag_w)
                                             : (int32_t)offsetof(X86TLBEntry, tag_r)));
    jump_slow(c, HC_NE);
    e_alu_rm(e, A_ADD, 8, H_RAX, jm(H_RCX, (int32_t)offsetof(X86TLBEntry, addend)));
}

/* RAX <- host address of i's memory operand for an access of `bytes`. */
static void gen_mem(JitCtx *c, const X86Insn *i, bool write, int bytes)
{
    gen_ea(c, i);
    gen_seg(c, i->seg, write);
    gen_tlb(c, write, bytes);
}

/* RAX <- host address of the stack slot at offset EAX (SS, 4 bytes). */
static void gen_stack(JitCtx *c, bool write)
{
    gen_seg(c, R_SS, write);
    gen_tlb(c, write, 4);
}

/* --- handler calls ------------------------------------------------------------------- */

/* The flat-segment guard; returns the rel32 of its failure jump. */
static uint8_t *gen_flat_guard(JitCtx *c)
{
    JitEmit *e = &c->e;
    c->flat_start[c->nflat_imm / 2] = e->p;
    e_loadzx(e, 2, H_RAX, cpuf(CPU_OFF(seg_flat_r)));
    e8(e, 0x25);                                /* and eax, imm32 */
    c->flat_imm[c->nflat_imm++] = e->p;
    e32(e, 0);
    e8(e, 0x3d);                                /* cmp eax, imm32 */
    c->flat_imm[c->nflat_imm++] = e->p;
    e32(e, 0);
    return e_jcc(e, HC_NE, NULL);
}

/* A block translated for flat segments entered when they are not: forget
 * that translation (unless it was replaced already) and interpret. */
X86Insn *x86_jit_flat_miss(X86CPU *cpu, void *body);
X86Insn *x86_jit_flat_miss(X86CPU *cpu, void *body)
{
    X86Block *b = cpu->cur_block;
    if (b->jit_body == body) {
        b->jit_body = b->jit_chain = b->jit_chain_fast = NULL;
        b->no_flat = true;
        b->hits = 0;
    }
    return b->insns;
}

static void gen_insn_ptr(JitEmit *e, int h, const X86Insn *i)
{
    e_mov_ri64(e, h, (uint64_t)(uintptr_t)i);
}

/* Call instruction k's handler with the guest state in memory; continue
 * only when it returned k + 1 and the block is still valid. */
static void gen_handler_call(JitCtx *c, int k)
{
    JitEmit *e = &c->e;
    X86Insn *i = &c->b->insns[k];

    sync_all(c);
    gen_insn_ptr(e, H_R13, i);
    e_store(e, 8, cpuf(CPU_OFF(cur_insn)), H_R13);
    e_mov_rr(e, 8, H_RSI, H_R13);
    e_lea(e, 8, H_RDI, jm(H_RBX, -JIT_CPU_BIAS));
    e_call(e, (const void *)i->fn);
    if (k == (int)c->b->ninsns) {
        /* The terminator never continues in line. */
        e_jmp(e, c->jit->epilogue);
    } else {
        /* A store may have invalidated the block (self-modifying code):
         * then RAX is k + 1, whose handler is the "leave here" stub. */
        e_call(e, c->jit->post_call);
        /* It may also have loaded a segment register. */
        if (c->nflat_imm + 2 <= (int)G_N_ELEMENTS(c->flat_imm)) {
            c->flat_fail[k] = gen_flat_guard(c);
        } else {
            c->fail = true;
        }
    }
    rc_init(&c->rc);
    c->cc = -1;
    c->hf = false;
    c->hf_cold = NULL;
}

/* --- lazy flags in host flags ------------------------------------------------------ */

static inline int cc_kind(int cc)
{
    return cc >> 2;
}
static inline int cc_bytes(int cc)
{
    return 1 << (cc & 3);
}

/* Host flags <- the guest's arithmetic flags, from the lazy state of kind
 * `cc` (-1: whatever cc_op says).  SUB, ADD and LOGIC redo the operation
 * on the operands; the rest computes EFLAGS and loads them (OF through an
 * addition that overflows exactly when it is set, the others with SAHF). */
static void gen_flags_load(JitCtx *c, int cc)
{
    JitEmit *e = &c->e;
    int kind = cc >= 0 ? cc_kind(cc) : -1, n = cc >= 0 ? cc_bytes(cc) : 4;

    if (kind == CCK_SUB || kind == CCK_ADD) {
        int op = kind == CCK_SUB ? A_CMP : A_ADD;
        pend_get(c, F_A, H_RAX);
        if (c->pend.src[F_B] == PS_REG) {
            e_alu_rr(e, op, n, H_RAX, pend_host[F_B]);
        } else if (c->pend.src[F_B] == PS_IMM) {
            e_alu_ri(e, op, n, H_RAX, c->pend.imm[F_B]);
        } else {
            e_alu_rm(e, op, n, H_RAX, cpuf(CPU_OFF(cc_b)));
        }
        return;
    }
    if (kind == CCK_LOGIC) {
        pend_get(c, F_RES, H_RAX);
        e_test_rr(e, n, H_RAX, H_RAX);
        return;
    }
    pend_flush(c);
    rc_before_call(c);
    /* Not known here: the two commonest kinds are checked at run time. */
    e_alu_mi(e, A_CMP, 4, cpuf(CPU_OFF(cc_op)), CC_OP(CCK_SUB, 2));
    uint8_t *not_sub = e_jcc8(e, HC_NE);
    e_load(e, 4, H_RAX, cpuf(CPU_OFF(cc_a)));
    e_alu_rm(e, A_CMP, 4, H_RAX, cpuf(CPU_OFF(cc_b)));
    uint8_t *done1 = e_jmp8(e);
    e_fix8(e, not_sub);
    e_alu_mi(e, A_CMP, 4, cpuf(CPU_OFF(cc_op)), CC_OP(CCK_LOGIC, 2));
    uint8_t *not_logic = e_jcc8(e, HC_NE);
    e_load(e, 4, H_RAX, cpuf(CPU_OFF(cc_res)));
    e_test_rr(e, 4, H_RAX, H_RAX);
    uint8_t *done2 = e_jmp8(e);
    e_fix8(e, not_logic);
    e_lea(e, 8, H_RDI, jm(H_RBX, -JIT_CPU_BIAS));
    e_call(e, (const void *)x86_flags_compute);
    e_mov_rr(e, 4, H_RCX, H_RAX);
    e_shift_ri(e, 4, 4, H_RCX, 31 - 11);
    e_alu_ri(e, A_AND, 4, H_RCX, 0x80000000u);
    e_alu_rr(e, A_ADD, 4, H_RCX, H_RCX);
    e8(e, 0x88);
    e8(e, 0xc4);                                /* mov ah, al */
    e_sahf(e);
    e_fix8(e, done1);
    e_fix8(e, done2);
}

/* The host flags were just loaded from the lazy state: valid from here,
 * and the current instruction's slow path (which returns after this point)
 * must load them too if something uses them. */
static void flags_loaded(JitCtx *c)
{
    c->hf = true;
    c->hf_cold = c->cur_cold;
}

/* Host flags such that host condition `cc` (the return value) is the
 * guest's condition cc. */
static int gen_cond(JitCtx *c, int cc)
{
    JitEmit *e = &c->e;
    if (c->hf) {
        if (c->hf_cold && c->hf_cold->regen == -2) {
            c->hf_cold->regen = c->cc;
        }
        return cc;
    }
    int kind = c->cc >= 0 ? cc_kind(c->cc) : -1;
    if (kind == CCK_SUB || kind == CCK_ADD || kind == CCK_LOGIC) {
        gen_flags_load(c, c->cc);
        flags_loaded(c);
        return cc;
    }
    if (kind > 0) {
        /* ZF, SF, PF come from the result for every kind; CF of shifts
         * and multiplications is cc_b != 0. */
        if (cc == HC_E || cc == HC_NE || cc == HC_S || cc == HC_NS || cc == HC_P ||
            cc == HC_NP) {
            pend_get(c, F_RES, H_RAX);
            e_test_rr(e, cc_bytes(c->cc), H_RAX, H_RAX);
            return cc;
        }
        if ((kind == CCK_SHIFT || kind == CCK_MUL) && (cc == HC_B || cc == HC_AE)) {
            pend_get(c, F_B, H_RAX);
            e_grp3_r(e, 3, 4, H_RAX);           /* neg: CF = (cc_b != 0) */
            return cc;
        }
    }
    gen_flags_load(c, -1);
    flags_loaded(c);
    return cc;
}

/* ESI <- the guest's CF (0 or 1). */
static void gen_cf(JitCtx *c)
{
    JitEmit *e = &c->e;
    int kind = c->cc >= 0 ? cc_kind(c->cc) : -1;
    if (c->hf || kind == CCK_ADD || kind == CCK_SUB) {
        gen_cond(c, HC_B);
        e_setcc(e, HC_B, H_RSI);
        e_movzx_rr(e, 1, H_RSI, H_RSI);
        return;
    }
    if (kind == CCK_SHIFT || kind == CCK_MUL) {
        pend_get(c, F_B, H_RSI);                /* the CF of these kinds */
        return;
    }
    pend_flush(c);
    rc_before_call(c);
    e_lea(e, 8, H_RDI, jm(H_RBX, -JIT_CPU_BIAS));
    e_call(e, (const void *)x86_flags_cf);
    e_mov_rr(e, 4, H_RSI, H_RAX);
}

/* The instruction leaves the lazy state `cc` (-1: not a constant); `exact`:
 * the host flags are the guest's flags now. */
static void set_cc(JitCtx *c, int cc, bool exact)
{
    c->cc = cc;
    c->hf = exact;
    c->hf_cold = exact ? c->cur_cold : NULL;
}

/* --- group 1: moves, loads, stores, stack -------------------------------------- */

/* Push the 32-bit value of host register `val` (or `imm` when val is
 * H_NONE) on the 32-bit stack whose pointer is in host register sp. */
static void gen_push32(JitCtx *c, int sp, int val, uint32_t imm)
{
    JitEmit *e = &c->e;
    e_lea(e, 4, H_RAX, jm(sp, -4));
    gen_stack(c, true);
    if (val == H_NONE) {
        e_store_imm(e, 4, jm(H_RAX, 0), imm);
    } else {
        e_store(e, 4, jm(H_RAX, 0), val);
    }
    e_lea(e, 4, sp, jm(sp, -4));
    rc_set_dirty(c, R_ESP);
}

static bool gen_move(JitCtx *c, const X86Insn *i, JitDesc d)
{
    JitEmit *e = &c->e;
    int n = d.bytes;

    switch (d.kind) {
    case JK_NOP:
        return true;
    case JK_MOV_EG:
    case JK_MOFFS_ST: {
        int src = d.kind == JK_MOFFS_ST ? R_EAX : i->reg;
        if (!d.mem) {
            prep_bytes(c, n, i->rm, src);
            gop_load(e, n, H_RCX, gop(c, src, n), false);
            to_greg(c, i->rm, n, H_RCX);
            return true;
        }
        GOp v = gop(c, src, n);
        if (v.h == H_NONE) {
            e_loadzx(e, n, H_RSI, v.m);
            v.h = H_RSI;
        }
        gen_mem(c, i, true, n);
        e_store(e, n, jm(H_RAX, 0), v.h);
        return true;
    }
    case JK_MOV_GE:
    case JK_MOFFS_LD: {
        int dst = d.kind == JK_MOFFS_LD ? R_EAX : i->reg;
        if (!d.mem) {
            prep_bytes(c, n, i->rm, dst);
            gop_load(e, n, H_RCX, gop(c, i->rm, n), false);
        } else {
            gen_mem(c, i, false, n);
            e_loadzx(e, n, H_RCX, jm(H_RAX, 0));
        }
        to_greg(c, dst, n, H_RCX);
        return true;
    }
    case JK_MOV_EI:
        if (!d.mem) {
            e_mov_ri32(e, H_RCX, i->imm);
            to_greg(c, i->rm, n, H_RCX);
            return true;
        }
        gen_mem(c, i, true, n);
        e_store_imm(e, n, jm(H_RAX, 0), i->imm);
        return true;
    case JK_MOVZX8:
    case JK_MOVSX8:
    case JK_MOVZX16:
    case JK_MOVSX16: {
        int from = (d.kind == JK_MOVZX8 || d.kind == JK_MOVSX8) ? 1 : 2;
        bool sx = d.kind == JK_MOVSX8 || d.kind == JK_MOVSX16;
        if (!d.mem) {
            gop_load(e, from, H_RCX, gop(c, i->rm, from), sx);
        } else {
            gen_mem(c, i, false, from);
            if (sx) {
                e_loadsx(e, from, H_RCX, jm(H_RAX, 0));
            } else {
                e_loadzx(e, from, H_RCX, jm(H_RAX, 0));
            }
        }
        to_greg(c, i->reg, n, H_RCX);
        return true;
    }
    case JK_LEA:
        gen_ea(c, i);
        to_greg(c, i->reg, n, H_RAX);
        return true;
    case JK_PUSH_R:
    case JK_PUSH_I: {
        if (!(c->b->mode & BM_STACK32)) {
            return false;
        }
        int sp = rc_use(c, R_ESP);
        int v = d.kind == JK_PUSH_R ? rc_use(c, i->reg) : H_NONE;
        gen_push32(c, sp, v, i->imm);
        return true;
    }
    case JK_POP_R: {
        if (!(c->b->mode & BM_STACK32)) {
            return false;
        }
        int sp = rc_use(c, R_ESP);
        e_mov_rr(e, 4, H_RAX, sp);
        gen_stack(c, false);
        e_load(e, 4, H_RCX, jm(H_RAX, 0));
        e_lea(e, 4, sp, jm(sp, 4));
        rc_set_dirty(c, R_ESP);
        to_greg(c, i->reg, 4, H_RCX);       /* POP ESP: the value wins */
        return true;
    }
    }
    return false;
}

/* --- group 2: arithmetic -------------------------------------------------------------- */

static bool flags_dead(JitCtx *c, int k);

static bool gen_alu(JitCtx *c, const X86Insn *i, JitDesc d)
{
    JitEmit *e = &c->e;
    int n = d.bytes, op = d.op;
    bool eg = d.kind == JK_ALU_EG, ei = d.kind == JK_ALU_EI;
    bool test = d.kind == JK_TEST_EG || d.kind == JK_TEST_EI;
    bool imm = ei || d.kind == JK_TEST_EI;
    bool dest_e = eg || imm;
    if (test) {
        op = A_AND;
    }
    bool writes = !test && op != A_CMP;
    bool carry = op == A_ADC || op == A_SBB;
    int szi = n == 1 ? 0 : n == 2 ? 1 : 2;

    if (carry) {
        int kind = c->cc >= 0 ? cc_kind(c->cc) : -1;
        if (!c->hf && kind == CCK_LOGIC) {
            op = op == A_ADC ? A_ADD : A_SUB;       /* CF is 0 */
            carry = false;
        } else {
            gen_cf(c);                              /* ESI */
        }
    }
    /* ECX <- destination operand (a), EDX / imm <- source (b). */
    if (!d.mem) {
        prep_bytes(c, n, i->rm, imm ? -1 : i->reg);
    }
    GOp g = { H_NONE, { 0, 0, 0, 0 } }, er = g;
    if (!imm) {
        g = gop(c, i->reg, n);
    }
    int hb = H_RDX;                             /* b, unless an immediate */
    if (!d.mem) {
        er = gop(c, i->rm, n);
    } else {
        if (dest_e && !imm && g.h == H_NONE) {
            /* A byte register kept in memory: read it now (the memory
             * operand's code uses RAX, RCX, RDX; ADC/SBB want RDI). */
            if (carry) {
                return false;
            }
            e_loadzx(e, n, H_RDI, g.m);
            g.h = H_RDI;
        }
        gen_mem(c, i, dest_e && writes, n);
        er = (GOp){ H_NONE, jm(H_RAX, 0) };
    }
    bool arith = op == A_ADD || op == A_ADC || op == A_SUB || op == A_SBB || op == A_CMP;
    int kind = op == A_ADD || op == A_ADC ? CCK_ADD : op == A_SUB || op == A_SBB || op == A_CMP
               ? CCK_SUB : CCK_LOGIC;
    GOp dst = dest_e ? er : g;
    if (dst.h != H_NONE) {
        /* The destination is a host register: operate on it in place. */
        int sreg = H_NONE;
        if (!imm) {
            GOp src = dest_e ? g : er;
            if (src.h == H_NONE) {
                e_loadzx(e, n, H_RDX, src.m);
                sreg = H_RDX;
            } else {
                sreg = src.h;
            }
        }
        bool dead = flags_dead(c, c->k);
        if (!dead && arith) {
            mov_zx(e, n, pend_host[F_A], dst.h);
            if (imm) {
                pend_set_imm(c, F_B, i->imm);
            } else {
                mov_zx(e, n, pend_host[F_B], sreg);
                c->pend.src[F_B] = PS_REG;
            }
            c->pend.src[F_A] = PS_REG;
            c->pend.imm[F_A] = 0;
        }
        if (carry) {
            if (!dead) {
                e_lea(e, 4, H_RDI, jmx(H_NONE, H_RSI, 2, CC_OP(kind, szi)));
            }
            e_bt_ri(e, 4, H_RSI, 0);
        }
        int res = dst.h;
        if (!writes) {
            if (dead) {
                /* Only the host flags, which nobody reads either: skip. */
                c->hf = false;
                c->hf_cold = NULL;
                return true;
            }
            mov_zx(e, n, H_RCX, dst.h);
            res = H_RCX;
        }
        int hop = op == A_CMP ? A_SUB : op;
        if (imm) {
            e_alu_ri(e, hop, n, res, i->imm);
        } else {
            e_alu_rr(e, hop, n, res, sreg);
        }
        if (writes) {
            gop_wrote(c, dest_e ? i->rm : i->reg, dst);
        }
        if (dead) {
            /* The lazy state stays the previous one, which nobody sees
             * either before the instruction that replaces it. */
            c->hf = false;
            c->hf_cold = NULL;
            return true;
        }
        mov_zx(e, n, pend_host[F_RES], res);
        c->pend.src[F_RES] = PS_REG;
        c->pend.imm[F_RES] = 0;
        if (carry) {
            e_store(e, 4, cpuf(CPU_OFF(cc_op)), H_RDI);
            c->pend.src[F_OP] = PS_MEM;
            c->pend.imm[F_OP] = 0;
            set_cc(c, -1, true);
        } else {
            pend_set_imm(c, F_OP, CC_OP(kind, szi));
            set_cc(c, CC_OP(kind, szi), true);
        }
        return true;
    }
    if (dest_e) {
        gop_load(e, n, H_RCX, er, false);
        if (!imm) {
            if (g.h != H_NONE) {
                hb = g.h;
            } else {
                gop_load(e, n, H_RDX, g, false);
            }
        }
    } else {
        gop_load(e, n, H_RCX, g, false);
        gop_load(e, n, H_RDX, er, false);
    }
    if (arith) {
        pend_set(c, F_A, H_RCX);
        if (imm) {
            pend_set_imm(c, F_B, i->imm);
        } else if (n == 4 || hb == H_RDX) {
            pend_set(c, F_B, hb);
        } else {
            e_movzx_rr(e, n, pend_host[F_B], hb);
            c->pend.src[F_B] = PS_REG;
        }
    }
    if (carry) {
        /* cc_op: ADD/SUB without carry in, ADC/SBB with (kind + 1). */
        e_lea(e, 4, H_RDI, jmx(H_NONE, H_RSI, 2, CC_OP(kind, szi)));
        e_bt_ri(e, 4, H_RSI, 0);
    }
    /* CMP as SUB: the result goes to cc_res (same host flags). */
    int hop = op == A_CMP ? A_SUB : op;
    if (imm) {
        e_alu_ri(e, hop, n, H_RCX, i->imm);
    } else {
        e_alu_rr(e, hop, n, H_RCX, hb);
    }
    if (writes) {
        if (dest_e) {
            gop_store(e, n, er, H_RCX);
            if (!d.mem) {
                gop_wrote(c, i->rm, er);
            }
        } else {
            gop_store(e, n, g, H_RCX);
            gop_wrote(c, i->reg, g);
        }
    }
    pend_set(c, F_RES, H_RCX);
    if (carry) {
        e_store(e, 4, cpuf(CPU_OFF(cc_op)), H_RDI);
        c->pend.src[F_OP] = PS_MEM;
        c->pend.imm[F_OP] = 0;
        set_cc(c, -1, true);
    } else {
        pend_set_imm(c, F_OP, CC_OP(kind, szi));
        set_cc(c, CC_OP(kind, szi), true);
    }
    return true;
}

/* Whether the flags instruction k leaves are dead: overwritten whole by a
 * later instruction of the block before anything reads them or could
 * observe them (a fault, a handler call, an exit).  Only register forms
 * that cannot fault come in between or overwrite. */
static bool flags_dead(JitCtx *c, int k)
{
    for (uint32_t j = (uint32_t)k + 1; j < c->b->ninsns; j++) {
        const X86Insn *i = &c->b->insns[j];
        JitDesc d = desc_of(i->fn);
        switch (d.kind) {
        case JK_ALU_EG:
        case JK_ALU_GE:
        case JK_ALU_EI:
            if (d.mem || d.op == A_ADC || d.op == A_SBB) {
                return false;
            }
            return true;
        case JK_TEST_EG:
        case JK_TEST_EI:
        case JK_NEG:
        case JK_IMUL_GE:
        case JK_IMUL_GEI:
            return !d.mem;
        case JK_SHIFT: {
            uint32_t cnt = i->imm & 31;
            return !d.mem && !(i->imm & 0x100) && cnt != 0 && cnt < 8u * d.bytes;
        }
        case JK_NOP:
        case JK_LEA:
        case JK_XCHG:
            continue;
        case JK_MOV_EG:
        case JK_MOV_GE:
        case JK_MOV_EI:
        case JK_MOVZX8:
        case JK_MOVSX8:
        case JK_MOVZX16:
        case JK_MOVSX16:
        case JK_NOT:
            if (d.mem) {
                return false;
            }
            continue;
        default:
            return false;
        }
    }
    return false;
}

/* ROL/ROR by an immediate whose flags nobody sees: just the rotation (the
 * handler materializes the flags otherwise). */
static bool gen_rot(JitCtx *c, const X86Insn *i, JitDesc d)
{
    JitEmit *e = &c->e;
    int n = d.bytes;
    if ((i->imm & 0x100) || (i->imm & 31) == 0 || !flags_dead(c, c->k)) {
        return false;
    }
    GOp o;
    if (d.mem) {
        gen_mem(c, i, true, n);
        o = (GOp){ H_NONE, jm(H_RAX, 0) };
    } else {
        o = gop(c, i->rm, n);
    }
    gop_load(e, n, H_RCX, o, false);
    e_shift_ri(e, d.op, n, H_RCX, (uint8_t)(i->imm & 31));
    gop_store(e, n, o, H_RCX);
    if (!d.mem) {
        gop_wrote(c, i->rm, o);
    }
    c->hf = false;
    c->hf_cold = NULL;
    return true;
}

static bool gen_unary(JitCtx *c, const X86Insn *i, JitDesc d)
{
    JitEmit *e = &c->e;
    int n = d.bytes, szi = n == 1 ? 0 : n == 2 ? 1 : 2;
    GOp o;
    if (d.mem) {
        gen_mem(c, i, true, n);
        o = (GOp){ H_NONE, jm(H_RAX, 0) };
    } else {
        o = gop(c, i->rm, n);
    }

    switch (d.kind) {
    case JK_NOT:
        gop_load(e, n, H_RCX, o, false);
        e_grp3_r(e, 2, n, H_RCX);
        break;
    case JK_NEG:
        gop_load(e, n, H_RCX, o, false);
        pend_set_imm(c, F_A, 0);
        pend_set(c, F_B, H_RCX);
        e_grp3_r(e, 3, n, H_RCX);
        pend_set(c, F_RES, H_RCX);
        pend_set_imm(c, F_OP, CC_OP(CCK_SUB, szi));
        set_cc(c, CC_OP(CCK_SUB, szi), true);
        break;
    case JK_INC:
    case JK_DEC: {
        if (flags_dead(c, c->k)) {
            /* Nobody sees its flags: the lazy state stays as it was. */
            gop_load(e, n, H_RCX, o, false);
            e_incdec_r(e, d.kind == JK_DEC, n, H_RCX);
            c->hf = false;
            c->hf_cold = NULL;
            break;
        }
        /* x86_set_incdec: the CF-defining operation is kept. */
        int kind = c->cc >= 0 ? cc_kind(c->cc) : -1;
        if (kind < 0) {
            pend_flush(c);
            e_load(e, 4, H_RCX, cpuf(CPU_OFF(cc_op)));
            e_mov_rr(e, 4, H_RDX, H_RCX);
            e_shift_ri(e, 5, 4, H_RDX, 3);
            e_alu_ri(e, A_CMP, 4, H_RDX, CCK_INC >> 1);
            c->hf = false;
            uint8_t *skip = e_jcc8(e, HC_E);
            e_store(e, 4, cpuf(CPU_OFF(cc_prev_op)), H_RCX);
            e_load(e, 4, H_RDX, cpuf(CPU_OFF(cc_res)));
            e_store(e, 4, cpuf(CPU_OFF(cc_prev_res)), H_RDX);
            e_fix8(e, skip);
        } else if (kind != CCK_INC && kind != CCK_DEC) {
            e_store_imm(e, 4, cpuf(CPU_OFF(cc_prev_op)), (uint32_t)c->cc);
            pend_get(c, F_RES, H_RDX);
            e_store(e, 4, cpuf(CPU_OFF(cc_prev_res)), H_RDX);
        }
        bool keep_cf = c->hf;       /* INC/DEC leave the host CF alone too */
        gop_load(e, n, H_RCX, o, false);
        e_incdec_r(e, d.kind == JK_DEC, n, H_RCX);
        pend_set(c, F_RES, H_RCX);
        int cc = CC_OP(d.kind == JK_DEC ? CCK_DEC : CCK_INC, szi);
        pend_set_imm(c, F_OP, cc);
        JitCold *prev = c->hf_cold;
        set_cc(c, cc, keep_cf);
        if (keep_cf && prev) {
            /* The host CF came from an earlier instruction: a slow path
             * in between would have to rebuild the flags of both. */
            c->hf = false;
            c->hf_cold = NULL;
        }
        break;
    }
    default:
        return false;
    }
    gop_store(e, n, o, H_RCX);
    if (!d.mem) {
        gop_wrote(c, i->rm, o);
    }
    return true;
}

static bool gen_shift(JitCtx *c, const X86Insn *i, JitDesc d)
{
    JitEmit *e = &c->e;
    int n = d.bytes, bits = 8 * n, szi = n == 1 ? 0 : n == 2 ? 1 : 2;
    uint32_t cnt = i->imm & 31;

    if ((i->imm & 0x100) || cnt == 0 || (int)cnt >= bits) {
        return false;
    }
    GOp o;
    if (d.mem) {
        gen_mem(c, i, true, n);
        o = (GOp){ H_NONE, jm(H_RAX, 0) };
    } else {
        o = gop(c, i->rm, n);
    }
    if (o.h != H_NONE && flags_dead(c, c->k)) {
        /* Nobody sees its flags: shift the cached register in place. */
        e_shift_ri(e, d.op == 6 ? 4 : d.op, n, o.h, (uint8_t)cnt);
        gop_wrote(c, i->rm, o);
        c->hf = false;
        c->hf_cold = NULL;
        return true;
    }
    gop_load(e, n, H_RCX, o, false);
    if (d.op == 5) {
        /* SHR: OF is the original top bit. */
        e_mov_rr(e, 4, H_RDX, H_RCX);
        e_shift_ri(e, 5, 4, H_RDX, (uint8_t)(bits - 1));
    }
    e_shift_ri(e, d.op == 6 ? 4 : d.op, n, H_RCX, (uint8_t)cnt);
    e_setcc(e, HC_B, H_RSI);
    e_movzx_rr(e, 1, H_RSI, H_RSI);
    gop_store(e, n, o, H_RCX);
    if (!d.mem) {
        gop_wrote(c, i->rm, o);
    }
    if (d.op == 4 || d.op == 6) {
        /* SHL: OF = top bit of the result xor CF. */
        e_mov_rr(e, 4, H_RDX, H_RCX);
        e_shift_ri(e, 5, 4, H_RDX, (uint8_t)(bits - 1));
        e_alu_rr(e, A_XOR, 4, H_RDX, H_RSI);
    }
    if (d.op == 7) {
        pend_set_imm(c, F_A, 0);
    } else {
        pend_set(c, F_A, H_RDX);
    }
    pend_set(c, F_B, H_RSI);
    pend_set(c, F_RES, H_RCX);
    pend_set_imm(c, F_OP, CC_OP(CCK_SHIFT, szi));
    set_cc(c, CC_OP(CCK_SHIFT, szi), false);
    return true;
}

static bool gen_imul(JitCtx *c, const X86Insn *i, JitDesc d)
{
    JitEmit *e = &c->e;
    int n = d.bytes, szi = n == 2 ? 1 : 2;
    GOp a = { H_NONE, { 0, 0, 0, 0 } };

    if (d.kind == JK_IMUL_GE) {
        a = gop(c, i->reg, n);
    }
    int src = H_RDX;
    if (d.mem) {
        gen_mem(c, i, false, n);
        e_loadzx(e, n, H_RDX, jm(H_RAX, 0));
    } else {
        GOp s = gop(c, i->rm, n);
        if (flags_dead(c, c->k)) {
            src = s.h;
        } else {
            gop_load(e, n, H_RDX, s, false);
        }
    }
    if (flags_dead(c, c->k)) {
        /* Nobody sees its flags: multiply into the cached register. */
        if (d.kind == JK_IMUL_GE) {
            e_imul_rr(e, n, a.h, src);
            gop_wrote(c, i->reg, a);
        } else if (n == 4) {
            int t = rc_def(c, i->reg);
            e_imul_rri(e, 4, t, src, i->imm);
        } else {
            GOp t = gop(c, i->reg, n);
            e_imul_rri(e, n, t.h, src, i->imm);
            gop_wrote(c, i->reg, t);
        }
        c->hf = false;
        c->hf_cold = NULL;
        return true;
    }
    if (d.kind == JK_IMUL_GE) {
        gop_load(e, n, H_RCX, a, false);
        e_imul_rr(e, n, H_RCX, H_RDX);
    } else {
        e_imul_rri(e, n, H_RCX, H_RDX, i->imm);
        if (n == 2) {
            e_movzx_rr(e, 2, H_RCX, H_RCX);
        }
    }
    e_setcc(e, HC_B, H_RSI);
    e_movzx_rr(e, 1, H_RSI, H_RSI);
    to_greg(c, i->reg, n, H_RCX);
    pend_set(c, F_RES, H_RCX);
    pend_set(c, F_A, H_RSI);
    pend_set(c, F_B, H_RSI);
    pend_set_imm(c, F_OP, CC_OP(CCK_MUL, szi));
    set_cc(c, CC_OP(CCK_MUL, szi), false);
    return true;
}

static bool gen_group2(JitCtx *c, const X86Insn *i, JitDesc d)
{
    switch (d.kind) {
    case JK_ALU_EG:
    case JK_ALU_GE:
    case JK_ALU_EI:
    case JK_TEST_EG:
    case JK_TEST_EI:
        return gen_alu(c, i, d);
    case JK_INC:
    case JK_DEC:
    case JK_NOT:
    case JK_NEG:
        return gen_unary(c, i, d);
    case JK_SHIFT:
        return gen_shift(c, i, d);
    case JK_ROT:
        return gen_rot(c, i, d);
    case JK_IMUL_GE:
    case JK_IMUL_GEI:
        return gen_imul(c, i, d);
    case JK_XCHG: {
        JitEmit *e = &c->e;
        int n = d.bytes;
        prep_bytes(c, n, i->rm, i->reg);
        GOp a = gop(c, i->rm, n), b = gop(c, i->reg, n);
        gop_load(e, n, H_RCX, a, false);
        gop_load(e, n, H_RDX, b, false);
        gop_store(e, n, a, H_RDX);
        gop_wrote(c, i->rm, a);
        gop_store(e, n, b, H_RCX);
        gop_wrote(c, i->reg, b);
        return true;
    }
    }
    return false;
}

/* --- group 3: control transfer ------------------------------------------------------ */

/* cpu->eip is set: continue with the block there if it has host code (the
 * checks of a chained entry, the lookup without decoding), else return to
 * the dispatcher -- also when the dispatcher has work before the next
 * block (loop_slow: interrupt shadow, TF, RF, a pending #DB trap).  Also
 * patches the exit that asked for it. */
void *x86_jit_next(X86CPU *cpu)
{
    if (cpu->jit_link_site) {
        x86_jit_link(cpu);
    }
    if (cpu->exit_request || cpu->budget <= 0 || cpu->loop_slow) {
        return NULL;
    }
    X86Block *b = x86_block_find(cpu);
    if (!b || !b->jit_body) {
        return NULL;
    }
    cpu->budget -= b->ninsns;
    cpu->cur_block = b;
    return b->jit_body;
}

/* The exit of a direct branch to `target` (the guest state is in memory):
 * a jump that the dispatcher patches to the target's host code once both
 * are translated and in one page; until then it asks for that and looks
 * the target up. */
static void gen_exit(JitCtx *c, uint32_t target, bool fast)
{
    JitEmit *e = &c->e;
    e_store_imm(e, 4, cpuf(CPU_OFF(eip)), target);
    uint8_t *site = e_jmp(e, NULL);             /* rel32 0: the next insn */
    e_lea_rip(e, H_RAX, e_rx(e, site));
    e_jmp(e, fast ? c->jit->link_fast : c->jit->link_slow);
}

/* #GP unless the target lies within CS (the handler raises it). */
static void gen_cs_check(JitCtx *c, uint32_t target)
{
    int32_t lim = CPU_OFF(seg) + R_CS * (int32_t)sizeof(X86Seg) + (int32_t)offsetof(X86Seg, limit);
    e_alu_mi(&c->e, A_CMP, 4, cpuf(lim), target);
    c->hf = false;
    jump_slow(c, HC_B);
}
/* The same for a target in a host register. */
static void gen_cs_check_r(JitCtx *c, int h)
{
    int32_t lim = CPU_OFF(seg) + R_CS * (int32_t)sizeof(X86Seg) + (int32_t)offsetof(X86Seg, limit);
    e_alu_rm(&c->e, A_CMP, 4, h, cpuf(lim));
    c->hf = false;
    jump_slow(c, HC_A);
}

/* The guest registers an inline instruction uses (an over-estimate). */
static uint8_t insn_regs(const X86Insn *i, JitDesc d)
{
    uint32_t m = 0;
    int g = d.bytes == 1 ? 3 : 7;           /* byte forms: AH-BH are of 0-3 */
    if (i->flags & IF_MEM) {
        m |= (1u << i->base) | (1u << i->index);
    }
    switch (d.kind) {
    case JK_MOV_EG:
    case JK_MOV_GE:
    case JK_ALU_EG:
    case JK_ALU_GE:
    case JK_TEST_EG:
    case JK_XCHG:
    case JK_CMOV:
    case JK_IMUL_GE:
    case JK_IMUL_GEI:
        m |= 1u << (i->reg & g);
        /* fall through */
    case JK_MOV_EI:
    case JK_ALU_EI:
    case JK_TEST_EI:
    case JK_INC:
    case JK_DEC:
    case JK_NOT:
    case JK_NEG:
    case JK_SHIFT:
    case JK_ROT:
    case JK_SETCC:
        if (!d.mem) {
            m |= 1u << (i->rm & (d.kind == JK_SETCC ? 3 : g));
        }
        break;
    case JK_MOFFS_LD:
    case JK_MOFFS_ST:
        m |= 1u << R_EAX;
        break;
    case JK_MOVZX8:
    case JK_MOVSX8:
    case JK_MOVZX16:
    case JK_MOVSX16:
        m |= 1u << i->reg;
        if (!d.mem) {
            m |= 1u << (i->rm & ((d.kind == JK_MOVZX8 || d.kind == JK_MOVSX8) ? 3 : 7));
        }
        break;
    case JK_LEA:
        m |= 1u << i->reg;
        break;
    case JK_PUSH_R:
    case JK_POP_R:
        m |= (1u << R_ESP) | (1u << i->reg);
        break;
    case JK_PUSH_I:
    case JK_CALL_REL:
    case JK_RET:
        m |= 1u << R_ESP;
        break;
    case JK_JMP_E:
    case JK_CALL_E:
        m |= 1u << R_ESP;
        if (!d.mem) {
            m |= 1u << i->rm;
        }
        break;
    }
    return (uint8_t)m;                      /* R_ZERO (bit 8) drops out */
}

/* The jump back to the loop head: flags to memory, the cache into the
 * head's shape, the checks of a chained entry (kicks, budget). */
static void gen_back_edge(JitCtx *c, const RCache *from, const Pend *pend)
{
    JitEmit *e = &c->e;
    const RCache *to = &c->head_rc;
    pend_emit(e, pend);
    for (int s = 0; s < NSLOT; s++) {
        if (from->g[s] >= 0 && from->g[s] != to->g[s] && (from->dirty & (1u << s))) {
            e_store(e, 4, greg(from->g[s]), slot_host[s]);
        }
    }
    for (int s = 0; s < NSLOT; s++) {
        if (to->g[s] >= 0 && from->g[s] != to->g[s]) {
            e_load(e, 4, slot_host[s], greg(to->g[s]));
        }
    }
    if (c->nloop_exit + 2 > (int)G_N_ELEMENTS(c->loop_exit_sites)) {
        c->fail = true;
        return;
    }
    e_alu_mi(e, A_CMP, 4, cpuf(CPU_OFF(exit_request)), 0);
    c->loop_exit_sites[c->nloop_exit++] = e_jcc(e, HC_NE, NULL);
    e_alu_mi(e, A_CMP, 8, cpuf(CPU_OFF(budget)), 0);
    c->loop_exit_sites[c->nloop_exit++] = e_jcc(e, HC_LE, NULL);
    e_alu_mi(e, A_SUB, 8, cpuf(CPU_OFF(budget)), c->b->ninsns);
    e_jmp(e, c->head);
}

static bool gen_branch(JitCtx *c, const X86Insn *i, JitDesc d)
{
    JitEmit *e = &c->e;
    bool last_inline = c->k > 0 && desc_of(c->b->insns[c->k - 1].fn).kind != JK_CALL;

    switch (d.kind) {
    case JK_JCC: {
        int hc = gen_cond(c, d.op);
        if (c->ncold >= (int)G_N_ELEMENTS(c->cold) - 1) {
            c->fail = true;
            return true;
        }
        JitCold *cd = &c->cold[c->ncold++];
        *cd = (JitCold){ .type = c->loop && i->imm == c->b->eip ? COLD_LOOP : COLD_EXIT,
                         .k = c->k, .target = i->imm, .fast = true,
                         .regen = -2, .rc = c->rc, .pend = c->pend };
        cd->sites[cd->nsites++] = e_jcc(e, hc, NULL);
        return true;
    }
    case JK_JMP:
        if (c->loop && i->imm == c->b->eip) {
            gen_back_edge(c, &c->rc, &c->pend);     /* in CS: it was entered */
            c->unreachable = true;
            return true;
        }
        gen_cs_check(c, i->imm);
        sync_all(c);
        gen_exit(c, i->imm, true);
        c->unreachable = true;
        return true;
    case JK_BLOCK_END:
        /* After a handler call the mode may have changed. */
        sync_all(c);
        gen_exit(c, i->eip, c->k == 0 || last_inline);
        c->unreachable = true;
        return true;
    case JK_CALL_REL: {
        if (!(c->b->mode & BM_STACK32) || (i->flags & IF_OP16)) {
            return false;
        }
        int sp = rc_use(c, R_ESP);
        gen_cs_check(c, i->imm);
        gen_push32(c, sp, H_NONE, next_eip(i));
        sync_all(c);
        gen_exit(c, i->imm, true);
        c->unreachable = true;
        return true;
    }
    case JK_RET: {
        if (!(c->b->mode & BM_STACK32)) {
            return false;
        }
        int sp = rc_use(c, R_ESP);
        e_mov_rr(e, 4, H_RAX, sp);
        gen_stack(c, false);
        e_load(e, 4, H_RSI, jm(H_RAX, 0));
        gen_cs_check_r(c, H_RSI);
        e_lea(e, 4, sp, jm(sp, 4 + (d.op ? (int32_t)i->imm : 0)));
        rc_set_dirty(c, R_ESP);
        e_store(e, 4, cpuf(CPU_OFF(eip)), H_RSI);
        sync_all(c);
        e_jmp(e, c->jit->next);
        c->unreachable = true;
        return true;
    }
    case JK_JMP_E:
    case JK_CALL_E: {
        bool call = d.kind == JK_CALL_E;
        if (call && !(c->b->mode & BM_STACK32)) {
            return false;
        }
        int sp = call ? rc_use(c, R_ESP) : H_NONE;
        if (d.mem) {
            gen_mem(c, i, false, 4);
            e_load(e, 4, H_RSI, jm(H_RAX, 0));
        } else {
            e_mov_rr(e, 4, H_RSI, rc_use(c, i->rm));
        }
        gen_cs_check_r(c, H_RSI);
        if (call) {
            gen_push32(c, sp, H_NONE, next_eip(i));
        }
        e_store(e, 4, cpuf(CPU_OFF(eip)), H_RSI);
        sync_all(c);
        e_jmp(e, c->jit->next);
        c->unreachable = true;
        return true;
    }
    case JK_SETCC:
        if (!d.mem) {
            int hc = gen_cond(c, (int)i->imm);
            GOp o = gop(c, i->rm, 1);
            if (o.h == H_NONE) {
                e_setcc(e, hc, H_RCX);
                e_store(e, 1, o.m, H_RCX);
            } else {
                e_setcc(e, hc, o.h);
                gop_wrote(c, i->rm, o);
            }
            return true;
        } else {
            /* The condition first: its computation may call out. */
            int hc = gen_cond(c, (int)i->imm);
            e_setcc(e, hc, H_RSI);
            gen_mem(c, i, true, 1);
            e_store(e, 1, jm(H_RAX, 0), H_RSI);
            return true;
        }
    case JK_CMOV: {
        int n = d.bytes;
        if (!d.mem) {
            /* The condition first: it may call into C (the operands are
             * then brought in by moves, which keep the flags). */
            int hc = gen_cond(c, (int)i->imm);
            GOp s = gop(c, i->rm, n), t = gop(c, i->reg, n);
            e_cmovcc(e, n, hc, t.h, s.h);
            gop_wrote(c, i->reg, t);
            return true;
        }
        /* The source is read whatever the condition (it may fault). */
        int hc = gen_cond(c, (int)i->imm);
        e_setcc(e, hc, H_RDI);
        gen_mem(c, i, false, n);
        e_loadzx(e, n, H_RDX, jm(H_RAX, 0));
        GOp t = gop(c, i->reg, n);
        e_test_rr(e, 1, H_RDI, H_RDI);
        e_cmovcc(e, n, HC_NE, t.h, H_RDX);
        gop_wrote(c, i->reg, t);
        c->hf = false;
        c->hf_cold = NULL;
        return true;
    }
    }
    return false;
}

/* --- blocks ------------------------------------------------------------------------ */

static void gen_insn(JitCtx *c, int k)
{
    X86Insn *i = &c->b->insns[k];
    JitDesc d = desc_of(i->fn);

    c->k = k;
    c->cur_cold = NULL;
    c->pinned = 0;
    c->mem_regs = 0;
    c->rc_at[k] = c->rc;
    c->pend_at[k] = c->pend;
    if (c->unreachable) {
        c->lab[k] = NULL;
        return;
    }
    if (d.kind != JK_CALL && (k < (int)c->b->ninsns || d.kind == JK_BLOCK_END)) {
        uint8_t *start = c->e.p;
        int ncold = c->ncold;
        RCache rc = c->rc;
        Pend pend = c->pend;
        int cc = c->cc;
        bool hf = c->hf;
        JitCold *hf_cold = c->hf_cold;
        bool ok = d.kind < JK_XCHG ? gen_move(c, i, d) : d.kind < JK_JCC ? gen_group2(c, i, d)
                  : gen_branch(c, i, d);
        if (ok) {
            /* Host flags are trusted after an instruction only when every
             * path to the next one leaves them right. */
            if (c->hf && c->cur_cold && c->hf_cold != c->cur_cold) {
                c->hf = false;
                c->hf_cold = NULL;
            }
            return;
        }
        /* Not translatable in this form after all: start over as a call. */
        c->e.p = start;
        c->ncold = ncold;
        c->cur_cold = NULL;
        c->rc = rc;
        c->pend = pend;
        c->cc = cc;
        c->hf = hf;
        c->hf_cold = hf_cold;
    }
    gen_handler_call(c, k);
}

/* Out of line: the slow path of instruction k (the guest state in memory
 * as it was where the jumps come from, the handler, then the register
 * cache and the pending flags as the code after the instruction expects
 * them), or the exit of its taken branch. */
static void gen_cold(JitCtx *c, JitCold *cd)
{
    JitEmit *e = &c->e;
    uint8_t *here = e_here_rx(e);
    for (int s = 0; s < cd->nsites; s++) {
        if (!e->overflow) {
            e_patch_rel32(e, cd->sites[s], here);
        }
    }
    if (cd->type == COLD_LOOP) {
        gen_back_edge(c, &cd->rc, &cd->pend);
        return;
    }
    pend_emit(e, &cd->pend);
    rc_emit_writeback(e, &cd->rc);
    if (cd->type == COLD_EXIT) {
        c->k = cd->k;
        c->cur_cold = NULL;
        c->rc = cd->rc;
        c->rc.dirty = 0;
        pend_init(&c->pend);
        gen_cs_check(c, cd->target);
        gen_exit(c, cd->target, cd->fast);
        return;
    }
    int k = cd->k;
    gen_insn_ptr(e, H_RSI, &c->b->insns[k]);
    uint8_t *lab = c->lab[k + 1];
    if (!lab) {
        /* No host code there (it follows a jump): the interpreter goes on
         * with k + 1 (the guest state is in memory). */
        e_lea_rip(e, H_RDX, e_here_rx(e) + 7 + 5);
        e_jmp(e, c->jit->slow_common);
        gen_insn_ptr(e, H_RAX, &c->b->insns[k + 1]);
        e_jmp(e, c->jit->epilogue);
        return;
    }
    e_lea_rip(e, H_RDX, e_here_rx(e) + 7 + 5);
    e_jmp(e, c->jit->slow_common);
    pend_emit_reload(e, &c->pend_at[k + 1]);
    if (cd->regen != -2) {
        /* (a call into C, maybe: the reloads after it) */
        c->pend = c->pend_at[k + 1];
        rc_init(&c->rc);
        gen_flags_load(c, cd->regen);
        pend_emit_reload(e, &c->pend_at[k + 1]);
    }
    rc_emit_reload(e, &c->rc_at[k + 1]);
    e_jmp(e, lab);
}

static bool gen_block(JitCtx *c)
{
    JitEmit *e = &c->e;
    X86Block *b = c->b;

    /* Chained entries. */
    b->jit_chain = e_here_rx(e);
    e_alu_mi(e, A_CMP, 4, cpuf(CPU_OFF(mode)), b->mode);
    c->exit0_sites[c->nexit0++] = e_jcc(e, HC_NE, NULL);
    b->jit_chain_fast = e_here_rx(e);
    e_mov_ri64(e, H_RAX, (uint64_t)(uintptr_t)b);
    e_store(e, 8, cpuf(CPU_OFF(cur_block)), H_RAX);
    e_alu_mi(e, A_CMP, 4, cpuf(CPU_OFF(exit_request)), 0);
    c->exit0_sites[c->nexit0++] = e_jcc(e, HC_NE, NULL);
    e_alu_mi(e, A_CMP, 8, cpuf(CPU_OFF(budget)), 0);
    c->exit0_sites[c->nexit0++] = e_jcc(e, HC_LE, NULL);
    e_alu_mi(e, A_SUB, 8, cpuf(CPU_OFF(budget)), b->ninsns);

    b->jit_body = e_here_rx(e);
    c->flat_fail_entry = gen_flat_guard(c);
    c->cc = -1;
    rc_init(&c->rc);
    pend_init(&c->pend);

    /* A loop onto itself: preload the registers it uses most (as many as
     * the cache holds), so that they stay in host registers from one
     * iteration to the next. */
    int uses[8] = { 0 };
    for (uint32_t k = 0; k < b->ninsns; k++) {
        JitDesc d = desc_of(b->insns[k].fn);
        if ((d.kind == JK_JCC || d.kind == JK_JMP) && b->insns[k].imm == b->eip) {
            c->loop = true;
        }
        uint8_t m = insn_regs(&b->insns[k], d);
        for (int n = 0; n < 8; n++) {
            uses[n] += (m >> n) & 1;
        }
    }
    if (c->loop) {
        for (int slot = 0; slot < NSLOT; slot++) {
            int best = -1;
            for (int n = 0; n < 8; n++) {
                if (uses[n] > 0 && (best < 0 || uses[n] > uses[best])) {
                    best = n;
                }
            }
            if (best < 0) {
                break;
            }
            rc_use(c, best);
            uses[best] = 0;
        }
        c->rc.dirty = 0;
        for (int s = 0; s < NSLOT; s++) {
            if (c->rc.g[s] >= 0) {
                c->rc.dirty |= 1u << s;
            }
        }
        c->pinned = 0;
    }
    c->head_rc = c->rc;
    c->head = e_here_rx(e);
    for (uint32_t k = 0; k <= b->ninsns; k++) {
        c->lab[k] = e_here_rx(e);
        gen_insn(c, (int)k);
        if (e->overflow || c->fail) {
            return false;
        }
    }
    c->lab[b->ninsns + 1] = NULL;
    if (!c->unreachable) {
        /* The terminator was a handler call that does not return here. */
        e_jmp(e, c->jit->epilogue);
    }

    /* Out of line: slow paths, and the exit of a chained entry that may
     * not run the block. */
    for (int n = 0; n < c->ncold; n++) {
        gen_cold(c, &c->cold[n]);
        if (e->overflow || c->fail) {
            return false;
        }
    }
    uint8_t *exit0 = e_here_rx(e);
    e_zero(e, H_RAX);
    e_jmp(e, c->jit->epilogue);
    /* Flat-segment guards that fail: at the entry, interpret the block;
     * after handler k, interpret from k + 1 (the state is in memory). */
    uint8_t *miss = e_here_rx(e);
    e_lea_rip(e, H_RSI, b->jit_body);
    e_lea(e, 8, H_RDI, jm(H_RBX, -JIT_CPU_BIAS));
    e_call(e, (const void *)x86_jit_flat_miss);
    e_jmp(e, c->jit->epilogue);
    if (e->overflow) {
        return false;
    }
    e_patch_rel32(e, c->flat_fail_entry, miss);
    if (c->nloop_exit) {
        /* A back edge whose checks failed: leave at the block's start. */
        uint8_t *to = e_here_rx(e);
        rc_emit_writeback(e, &c->head_rc);
        e_store_imm(e, 4, cpuf(CPU_OFF(eip)), b->eip);
        e_zero(e, H_RAX);
        e_jmp(e, c->jit->epilogue);
        if (e->overflow) {
            return false;
        }
        for (int k = 0; k < c->nloop_exit; k++) {
            e_patch_rel32(e, c->loop_exit_sites[k], to);
        }
    }
    for (uint32_t k = 0; k < b->ninsns; k++) {
        if (c->flat_fail[k]) {
            uint8_t *to = e_here_rx(e);
            gen_insn_ptr(e, H_RAX, &b->insns[k + 1]);
            e_jmp(e, c->jit->epilogue);
            if (e->overflow) {
                return false;
            }
            e_patch_rel32(e, c->flat_fail[k], to);
        }
    }
    for (int k = 0; k < c->nexit0; k++) {
        e_patch_rel32(e, c->exit0_sites[k], exit0);
    }
    for (int k = 0; k < c->nflat_imm; k += 2) {
        if (c->flat_need) {
            memcpy(c->flat_imm[k], &c->flat_need, 4);
            memcpy(c->flat_imm[k + 1], &c->flat_need, 4);
        } else {
            /* Nothing assumed: jump over the guard (it ends with the
             * 6-byte jne after the cmp's immediate). */
            uint8_t *g = c->flat_start[k / 2];
            g[0] = 0xeb;
            g[1] = (uint8_t)(c->flat_imm[k + 1] + 4 + 6 - (g + 2));
        }
    }
    return true;
}

/* VMKEMU_X86_JIT_DUMP: the host code and the guest code of a block, one
 * line each (objdump -D -b binary -mi386:x86-64 --adjust-vma=ADDR). */
static void jit_dump(X86CPU *cpu, X86Jit *jit, X86Block *b, const uint8_t *code, size_t len)
{
    fprintf(jit->dump, "block %08x at %p, %zu bytes, body at %p:",
            b->eip, (void *)b->jit_chain, len, b->jit_body);
    for (size_t n = 0; n < len; n++) {
        fprintf(jit->dump, " %02x", code[n]);
    }
    uint8_t guest[4096];
    uint32_t gl = MIN(b->size, (uint32_t)sizeof(guest));
    as_read(cpu->bus.as, b->phys, guest, gl);
    fprintf(jit->dump, "\nguest %08x %s:", b->eip, (b->mode & BM_CODE32) ? "32" : "16");
    for (uint32_t n = 0; n < gl; n++) {
        fprintf(jit->dump, " %02x", guest[n]);
    }
    fputc('\n', jit->dump);
}

bool x86_jit_translate(X86CPU *cpu, X86Block *b)
{
    X86Jit *jit = x86_code_jit(cpu);

    b->hits = 0;
    if (!jit) {
        return false;
    }
    /* Only the decode modes this translator knows: a mode bit added for
     * something the inline code does not check (single-stepping today)
     * keeps the block interpreted. */
    if (b->no_jit || !b->cached || cpu->trace ||
        (b->mode & ~(uint32_t)(BM_CODE32 | BM_STACK32 | BM_PROT | BM_VM86))) {
        b->no_jit = true;
        return false;
    }
    if (!jit->ctx) {
        jit->ctx = g_new(JitCtx, 1);        /* large: it lives with the JIT */
    }
    for (int attempt = 0; attempt < 2; attempt++) {
        JitCtx *c = jit->ctx;
        *c = (JitCtx){ .cpu = cpu, .jit = jit, .b = b, .e = jit_emitter(jit) };
        uint8_t *start = c->e.p;
        if (gen_block(c)) {
            size_t len = (size_t)(c->e.p - start);
            if (jit->perfmap) {
                fprintf(jit->perfmap, "%lx %zx x86_%04x:%08x\n",
                        (unsigned long)(uintptr_t)b->jit_chain, len,
                        cpu->seg[R_CS].sel, b->eip);
                fflush(jit->perfmap);
            }
            if (jit->dump) {
                jit_dump(cpu, jit, b, start, len);
            }
            jit->used += (len + 15) & ~(size_t)15;
            cpu->stats.jit_blocks++;
            cpu->stats.jit_bytes = jit->used;
            return true;
        }
        b->jit_body = b->jit_chain = b->jit_chain_fast = NULL;
        if (c->fail) {
            break;                          /* not the buffer's fault */
        }
        /* The buffer is full: drop all host code and start over. */
        x86_code_drop_jit(cpu);
        x86_jit_reset(jit);
        cpu->stats.jit_flushes++;
    }
    b->no_jit = true;
    return false;
}

X86Insn *x86_jit_run(X86CPU *cpu, X86Block *b)
{
    X86Jit *jit = x86_code_jit(cpu);
    return jit->enter(cpu, b->jit_body);
}

void x86_jit_link(X86CPU *cpu)
{
    X86Jit *jit = x86_code_jit(cpu);
    uint8_t *site = cpu->jit_link_site;
    X86Block *from = cpu->cur_block;

    cpu->jit_link_site = NULL;
    if (!jit || !from->cached || !from->jit_body) {
        return;
    }
    JitEmit e = jit_emitter(jit);
    uint8_t *rw = site - (jit->rx - jit->rw);
    uint32_t cs_base = cpu->seg[R_CS].base;
    if (from->page[1] || (((cs_base + from->eip) ^ (cs_base + cpu->eip)) & ~0xfffu)) {
        /* Never linkable (the target is on another page): stop asking. */
        e_patch_rel32(&e, rw, jit->next);
        return;
    }
    X86Block *to = x86_block_chain_target(cpu, from, cpu->eip);
    if (!to || !to->jit_body) {
        return;
    }
    e_patch_rel32(&e, rw, cpu->jit_link_fast ? to->jit_chain_fast : to->jit_chain);
    cpu->stats.jit_links++;
}

#else /* !__x86_64__ */

struct X86Jit *x86_jit_new(void)
{
    return NULL;
}
void x86_jit_free(struct X86Jit *jit)
{
    (void)jit;
}
uint32_t x86_jit_threshold(const struct X86Jit *jit)
{
    (void)jit;
    return UINT32_MAX;
}
void x86_jit_reset(struct X86Jit *jit)
{
    (void)jit;
}
bool x86_jit_translate(X86CPU *cpu, X86Block *b)
{
    (void)cpu;
    b->hits = 0;
    return false;
}
X86Insn *x86_jit_run(X86CPU *cpu, X86Block *b)
{
    (void)cpu;
    return b->insns;
}
void x86_jit_link(X86CPU *cpu)
{
    cpu->jit_link_site = NULL;
}

#endif
