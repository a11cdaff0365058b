/*
 * The JIT: translates a hot decoded block (X86Block, an array of X86Insn)
 * into x86-64 host code, on x86-64 hosts.  Design and invariants are in
 * target-i386/README.md ("JIT"); instruction encodings in
 * jit-emit-x86_64.h (Intel SDM vol. 2).
 *
 * Generated code keeps `cpu` in RBX and the running block in R12 (both
 * callee-saved, set by the entry trampoline); guest registers and the lazy
 * flag state stay in `cpu`.  Each instruction becomes either inline host
 * code for its common case, whose uncommon case (TLB miss, segment-limit
 * edge, ...) calls the instruction's interpreter handler out of line, or a
 * plain call of the handler.  After a call the code continues in line only
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
 * RBX = cpu, R12 = cpu->cur_block, jump to the code (RSI). */
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
    e_load(&e, 8, H_R12, jm(H_RBX, CPU_OFF(cur_block)));
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
    e_alu_mi(&e, A_CMP, 1, jm(H_R12, (int32_t)offsetof(X86Block, cached)), 0);
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
    e_load(&e, 8, H_R12, jm(H_RBX, CPU_OFF(cur_block)));
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
    e_alu_mi(&e, A_CMP, 1, jm(H_R12, (int32_t)offsetof(X86Block, cached)), 0);
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
    JK_INC, JK_DEC, JK_NOT, JK_NEG, JK_SHIFT, JK_IMUL_GE, JK_IMUL_GEI,
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

/* Out-of-line code of one instruction: the handler call that does what
 * the inline code could not (or a taken branch's exit). */
#define JIT_MAX_SITES 6
enum { COLD_SLOW, COLD_EXIT };
typedef struct JitCold {
    int type;                       /* COLD_SLOW: the handler; COLD_EXIT: a
                                       taken direct branch to `target` */
    int k;
    uint32_t target;
    bool fast;                      /* the target may be entered without
                                       the mode check */
    uint8_t *sites[JIT_MAX_SITES];  /* rel32 fields that jump here */
    int nsites;
    int regen;                      /* cc_op whose flags the code after the
                                       instruction expects in the host
                                       flags (-2: none, -1: any kind) */
} JitCold;

typedef struct JitCtx {
    X86CPU *cpu;
    X86Jit *jit;
    X86Block *b;
    JitEmit e;
    int k;                          /* instruction being translated */
    uint8_t *lab[X86_MAX_BLOCK_INSNS + 2];     /* rx start of each instruction */
    JitCold cold[2 * (X86_MAX_BLOCK_INSNS + 1)];
    int ncold;
    JitCold *cur_cold;              /* the current instruction's slow path */
    bool unreachable;               /* the code so far ended in a jump */
    /* Lazy-flag knowledge at this point of the hot path: the guest's
     * cc_op when known (-1: not known), and whether the host's arithmetic
     * flags equal the guest's (`hf`), set by the instruction whose slow
     * path is `hf_cold` (NULL: none). */
    int cc;
    bool hf;
    JitCold *hf_cold;
    uint8_t *exit0_sites[4];        /* chain-entry checks that fail */
    int nexit0;
} JitCtx;

static inline JMem greg(int n)
{
    return jm(H_RBX, REG_OFF(n));
}
/* The guest register `n` of `bytes` (1: AL CL DL BL AH CH DH BH). */
static inline JMem gregb(int n, int bytes)
{
    if (bytes == 1) {
        return jm(H_RBX, REG_OFF(n & 3) + (n >> 2));
    }
    return greg(n);
}
static inline JMem cpuf(int32_t off)
{
    return jm(H_RBX, off);
}
static void st_greg(JitEmit *e, int n, int bytes, int h)
{
    e_store(e, bytes, gregb(n, bytes), h);
}

/* A jump to the current instruction's slow path on host condition cc. */
static void jump_slow(JitCtx *c, int cc)
{
    JitCold *cd = c->cur_cold;
    if (!cd) {
        cd = c->cur_cold = &c->cold[c->ncold++];
        cd->type = COLD_SLOW;
        cd->k = c->k;
        cd->nsites = 0;
        cd->regen = -2;
    }
    g_assert(cd->nsites < JIT_MAX_SITES);
    cd->sites[cd->nsites++] = e_jcc(&c->e, cc, NULL);
}

/* EAX <- the effective address of i's memory operand. */
static void gen_ea(JitCtx *c, const X86Insn *i)
{
    JitEmit *e = &c->e;
    bool hb = i->base != R_ZERO, hx = i->index != R_ZERO;
    int32_t disp = (int32_t)i->disp;

    if (hb && hx) {
        e_load(e, 4, H_RAX, greg(i->base));
        e_load(e, 4, H_RCX, greg(i->index));
        e_lea(e, 4, H_RAX, jmx(H_RAX, H_RCX, i->scale, disp));
    } else if (hb) {
        e_load(e, 4, H_RAX, greg(i->base));
        if (disp) {
            e_lea(e, 4, H_RAX, jm(H_RAX, disp));
        }
    } else if (hx) {
        e_load(e, 4, H_RCX, greg(i->index));
        e_lea(e, 4, H_RAX, jmx(H_NONE, H_RCX, i->scale, disp));
    } else {
        e_mov_ri32(e, H_RAX, i->disp & i->amask);
        return;
    }
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

/* Call instruction k's handler with cur_insn set; continue (fall through)
 * only when it returned k + 1 and the block is still valid. */
static void gen_handler_call(JitCtx *c, int k)
{
    JitEmit *e = &c->e;
    X86Insn *i = &c->b->insns[k];

    e_lea(e, 8, H_R13, jm(H_R12, BLK_INSN(k)));
    e_store(e, 8, cpuf(CPU_OFF(cur_insn)), H_R13);
    e_mov_rr(e, 8, H_RSI, H_R13);
    e_lea(e, 8, H_RDI, jm(H_RBX, -JIT_CPU_BIAS));
    e_call(e, (const void *)i->fn);
    if (k == (int)c->b->ninsns) {
        /* The terminator never continues in line. */
        e_jmp(e, c->jit->epilogue);
        return;
    }
    /* Go on only with k + 1 in a block still valid: a store may have
     * invalidated it (self-modifying code), and then RAX is k + 1, whose
     * handler is now the "leave here" stub. */
    e_call(e, c->jit->post_call);
}

/* --- group 1: moves, loads, stores, stack -------------------------------------- */

static bool gen_move(JitCtx *c, const X86Insn *i, JitDesc d)
{
    JitEmit *e = &c->e;
    int n = d.bytes;

    switch (d.kind) {
    case JK_NOP:
        return true;
    case JK_MOV_EG:
        if (!d.mem) {
            e_load(e, n, H_RAX, gregb(i->reg, n));
            st_greg(e, i->rm, n, H_RAX);
            return true;
        }
        gen_mem(c, i, true, n);
        e_load(e, n, H_RCX, gregb(i->reg, n));
        e_store(e, n, jm(H_RAX, 0), H_RCX);
        return true;
    case JK_MOFFS_ST:
        gen_mem(c, i, true, n);
        e_load(e, n, H_RCX, gregb(R_EAX, n));
        e_store(e, n, jm(H_RAX, 0), H_RCX);
        return true;
    case JK_MOV_GE:
    case JK_MOFFS_LD: {
        int dst = d.kind == JK_MOFFS_LD ? R_EAX : i->reg;
        if (!d.mem) {
            e_load(e, n, H_RAX, gregb(i->rm, n));
        } else {
            gen_mem(c, i, false, n);
            e_load(e, n, H_RAX, jm(H_RAX, 0));
        }
        st_greg(e, dst, n, H_RAX);
        return true;
    }
    case JK_MOV_EI:
        if (!d.mem) {
            e_store_imm(e, n, gregb(i->rm, n), i->imm);
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
        JMem src;
        if (!d.mem) {
            src = gregb(i->rm, from);
        } else {
            gen_mem(c, i, false, from);
            src = jm(H_RAX, 0);
        }
        if (sx) {
            e_loadsx(e, from, H_RAX, src);
        } else {
            e_loadzx(e, from, H_RAX, src);
        }
        st_greg(e, i->reg, n, H_RAX);
        return true;
    }
    case JK_LEA:
        gen_ea(c, i);
        st_greg(e, i->reg, n, H_RAX);
        return true;
    case JK_PUSH_R:
    case JK_PUSH_I:
        if (!(c->b->mode & BM_STACK32)) {
            return false;
        }
        e_load(e, 4, H_RAX, greg(R_ESP));
        e_lea(e, 4, H_RAX, jm(H_RAX, -4));
        e_mov_rr(e, 4, H_R8, H_RAX);
        gen_seg(c, R_SS, true);
        gen_tlb(c, true, 4);
        if (d.kind == JK_PUSH_R) {
            e_load(e, 4, H_RCX, greg(i->reg));
            e_store(e, 4, jm(H_RAX, 0), H_RCX);
        } else {
            e_store_imm(e, 4, jm(H_RAX, 0), i->imm);
        }
        e_store(e, 4, greg(R_ESP), H_R8);
        return true;
    case JK_POP_R:
        if (!(c->b->mode & BM_STACK32)) {
            return false;
        }
        e_load(e, 4, H_RAX, greg(R_ESP));
        e_lea(e, 4, H_R8, jm(H_RAX, 4));
        gen_seg(c, R_SS, false);
        gen_tlb(c, false, 4);
        e_load(e, 4, H_RCX, jm(H_RAX, 0));
        e_store(e, 4, greg(R_ESP), H_R8);
        e_store(e, 4, greg(i->reg), H_RCX);
        return true;
    }
    return false;
}

/* --- lazy flags in host flags ------------------------------------------------------ */

#define CCF(f)  CPU_OFF(f)

static inline int cc_kind(int cc)
{
    return cc >> 2;
}
static inline int cc_bytes(int cc)
{
    return 1 << (cc & 3);
}

/* Host flags <- the guest's arithmetic flags, from the lazy state of kind
 * `cc` (-1: whatever cpu->cc_op says).  SUB, ADD and LOGIC redo the
 * operation on the stored operands; the rest computes EFLAGS and loads
 * them (OF through an addition that overflows exactly when it is set,
 * the others with SAHF). */
static void gen_flags_load(JitCtx *c, int cc)
{
    JitEmit *e = &c->e;
    int kind = cc >= 0 ? cc_kind(cc) : -1, n = cc >= 0 ? cc_bytes(cc) : 4;

    if (kind == CCK_SUB || kind == CCK_ADD) {
        e_load(e, 4, H_RAX, cpuf(CCF(cc_a)));
        e_alu_rm(e, kind == CCK_SUB ? A_CMP : A_ADD, n, H_RAX, cpuf(CCF(cc_b)));
        return;
    }
    if (kind == CCK_LOGIC) {
        e_load(e, 4, H_RAX, cpuf(CCF(cc_res)));
        e_test_rr(e, n, H_RAX, H_RAX);
        return;
    }
    e_lea(e, 8, H_RDI, jm(H_RBX, -JIT_CPU_BIAS));
    e_call(e, (const void *)x86_flags_compute);
    e_mov_rr(e, 4, H_RCX, H_RAX);
    e_shift_ri(e, 4, 4, H_RCX, 31 - 11);
    e_alu_ri(e, A_AND, 4, H_RCX, 0x80000000u);
    e_alu_rr(e, A_ADD, 4, H_RCX, H_RCX);
    e8(e, 0x88);
    e8(e, 0xc4);                                /* mov ah, al */
    e_sahf(e);
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
    if (kind == CCK_SUB || kind == CCK_ADD || kind == CCK_LOGIC || kind < 0 ||
        kind == CCK_EFLAGS) {
        if (kind == CCK_EFLAGS) {
            kind = -1;
        }
        gen_flags_load(c, kind < 0 ? -1 : c->cc);
        flags_loaded(c);
        return cc;
    }
    /* ZF, SF, PF come from the result for every kind; CF of shifts and
     * multiplications is cc_b != 0. */
    if (cc == HC_E || cc == HC_NE || cc == HC_S || cc == HC_NS || cc == HC_P || cc == HC_NP) {
        e_load(e, 4, H_RAX, cpuf(CCF(cc_res)));
        e_test_rr(e, cc_bytes(c->cc), H_RAX, H_RAX);
        return cc;
    }
    if ((kind == CCK_SHIFT || kind == CCK_MUL) && (cc == HC_B || cc == HC_AE)) {
        e_load(e, 4, H_RAX, cpuf(CCF(cc_b)));
        e_grp3_r(e, 3, 4, H_RAX);               /* neg: CF = (cc_b != 0) */
        return cc;
    }
    gen_flags_load(c, -1);
    flags_loaded(c);
    return cc;
}

/* R9D <- the guest's CF (0 or 1); R9 survives the memory-operand code. */
static void gen_cf(JitCtx *c)
{
    JitEmit *e = &c->e;
    int kind = c->cc >= 0 ? cc_kind(c->cc) : -1;
    if (c->hf || kind == CCK_ADD || kind == CCK_SUB) {
        gen_cond(c, HC_B);
        e_setcc(e, HC_B, H_R9);
        e_movzx_rr(e, 1, H_R9, H_R9);
        return;
    }
    e_lea(e, 8, H_RDI, jm(H_RBX, -JIT_CPU_BIAS));
    e_call(e, (const void *)x86_flags_cf);
    e_mov_rr(e, 4, H_R9, H_RAX);
}

/* The instruction leaves the lazy state `cc`; `exact`: the host flags are
 * the guest's flags now. */
static void set_cc(JitCtx *c, int cc, bool exact)
{
    c->cc = cc;
    c->hf = exact;
    c->hf_cold = exact ? c->cur_cold : NULL;
}

/* --- group 2: arithmetic -------------------------------------------------------------- */

/* Operand E of i: register, or memory through RSI (host address, already
 * checked for `write`). */
static JMem opnd_e(JitCtx *c, const X86Insn *i, int n, bool mem, bool write)
{
    if (!mem) {
        return gregb(i->rm, n);
    }
    gen_mem(c, i, write, n);
    e_mov_rr(&c->e, 8, H_RSI, H_RAX);
    return jm(H_RSI, 0);
}

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
            gen_cf(c);                              /* R9D */
        }
    }
    /* EAX <- destination operand (a), ECX / imm <- source (b). */
    JMem em = opnd_e(c, i, n, d.mem, dest_e && writes);
    JMem a, bm;
    if (dest_e) {
        a = em;
        bm = gregb(i->reg, n);
    } else {
        a = gregb(i->reg, n);
        bm = em;
    }
    e_loadzx(e, n, H_RAX, a);
    if (!imm) {
        e_loadzx(e, n, H_RCX, bm);
    }
    bool arith = op == A_ADD || op == A_ADC || op == A_SUB || op == A_SBB || op == A_CMP;
    if (arith) {
        e_store(e, 4, cpuf(CCF(cc_a)), H_RAX);
        if (imm) {
            e_store_imm(e, 4, cpuf(CCF(cc_b)), i->imm);
        } else {
            e_store(e, 4, cpuf(CCF(cc_b)), H_RCX);
        }
    }
    int kind = op == A_ADD || op == A_ADC ? CCK_ADD : op == A_SUB || op == A_SBB || op == A_CMP
               ? CCK_SUB : CCK_LOGIC;
    if (carry) {
        /* cc_op: ADD/SUB without carry in, ADC/SBB with (kind + 1). */
        e_lea(e, 4, H_R8, jmx(H_NONE, H_R9, 2, CC_OP(kind, szi)));
        e_bt_ri(e, 4, H_R9, 0);
    }
    /* CMP as SUB: the result goes to cc_res (same host flags). */
    int hop = op == A_CMP ? A_SUB : op;
    if (imm) {
        e_alu_ri(e, hop, n, H_RAX, i->imm);
    } else {
        e_alu_rr(e, hop, n, H_RAX, H_RCX);
    }
    if (writes) {
        e_store(e, n, dest_e ? em : a, H_RAX);
    }
    e_store(e, 4, cpuf(CCF(cc_res)), H_RAX);
    if (carry) {
        e_store(e, 4, cpuf(CCF(cc_op)), H_R8);
        set_cc(c, -1, true);
    } else {
        e_store_imm(e, 4, cpuf(CCF(cc_op)), CC_OP(kind, szi));
        set_cc(c, CC_OP(kind, szi), true);
    }
    return true;
}

static bool gen_unary(JitCtx *c, const X86Insn *i, JitDesc d)
{
    JitEmit *e = &c->e;
    int n = d.bytes, szi = n == 1 ? 0 : n == 2 ? 1 : 2;
    JMem m = opnd_e(c, i, n, d.mem, true);

    switch (d.kind) {
    case JK_NOT:
        e_load(e, n, H_RAX, m);
        e_grp3_r(e, 2, n, H_RAX);
        e_store(e, n, m, H_RAX);
        return true;
    case JK_NEG:
        e_loadzx(e, n, H_RAX, m);
        e_store_imm(e, 4, cpuf(CCF(cc_a)), 0);
        e_store(e, 4, cpuf(CCF(cc_b)), H_RAX);
        e_grp3_r(e, 3, n, H_RAX);
        e_store(e, n, m, H_RAX);
        e_store(e, 4, cpuf(CCF(cc_res)), H_RAX);
        e_store_imm(e, 4, cpuf(CCF(cc_op)), CC_OP(CCK_SUB, szi));
        set_cc(c, CC_OP(CCK_SUB, szi), true);
        return true;
    case JK_INC:
    case JK_DEC: {
        /* x86_set_incdec: the CF-defining operation is kept. */
        int kind = c->cc >= 0 ? cc_kind(c->cc) : -1;
        if (kind < 0) {
            e_load(e, 4, H_RCX, cpuf(CCF(cc_op)));
            e_mov_rr(e, 4, H_RDX, H_RCX);
            e_shift_ri(e, 5, 4, H_RDX, 3);
            e_alu_ri(e, A_CMP, 4, H_RDX, CCK_INC >> 1);
            c->hf = false;
            uint8_t *skip = e_jcc8(e, HC_E);
            e_store(e, 4, cpuf(CCF(cc_prev_op)), H_RCX);
            e_load(e, 4, H_RDX, cpuf(CCF(cc_res)));
            e_store(e, 4, cpuf(CCF(cc_prev_res)), H_RDX);
            e_fix8(e, skip);
        } else if (kind != CCK_INC && kind != CCK_DEC) {
            e_store_imm(e, 4, cpuf(CCF(cc_prev_op)), (uint32_t)c->cc);
            e_load(e, 4, H_RDX, cpuf(CCF(cc_res)));
            e_store(e, 4, cpuf(CCF(cc_prev_res)), H_RDX);
        }
        bool keep_cf = c->hf;       /* INC/DEC leave the host CF alone too */
        e_loadzx(e, n, H_RAX, m);
        e_incdec_r(e, d.kind == JK_DEC, n, H_RAX);
        e_store(e, n, m, H_RAX);
        e_store(e, 4, cpuf(CCF(cc_res)), H_RAX);
        int cc = CC_OP(d.kind == JK_DEC ? CCK_DEC : CCK_INC, szi);
        e_store_imm(e, 4, cpuf(CCF(cc_op)), cc);
        JitCold *prev = c->hf_cold;
        set_cc(c, cc, keep_cf);
        if (keep_cf && prev) {
            /* The host CF came from an earlier instruction: a slow path
             * in between would have to rebuild the flags of both. */
            c->hf = false;
            c->hf_cold = NULL;
        }
        return true;
    }
    }
    return false;
}

static bool gen_shift(JitCtx *c, const X86Insn *i, JitDesc d)
{
    JitEmit *e = &c->e;
    int n = d.bytes, bits = 8 * n, szi = n == 1 ? 0 : n == 2 ? 1 : 2;
    uint32_t cnt = i->imm & 31;

    if ((i->imm & 0x100) || cnt == 0 || (int)cnt >= bits) {
        return false;
    }
    JMem m = opnd_e(c, i, n, d.mem, true);
    e_loadzx(e, n, H_RAX, m);
    if (d.op == 5) {
        /* SHR: OF is the original top bit. */
        e_mov_rr(e, 4, H_RDX, H_RAX);
        e_shift_ri(e, 5, 4, H_RDX, (uint8_t)(bits - 1));
    }
    e_shift_ri(e, d.op == 6 ? 4 : d.op, n, H_RAX, (uint8_t)cnt);
    e_setcc(e, HC_B, H_RCX);
    e_movzx_rr(e, 1, H_RCX, H_RCX);
    e_store(e, n, m, H_RAX);
    if (d.op == 4 || d.op == 6) {
        /* SHL: OF = top bit of the result xor CF. */
        e_mov_rr(e, 4, H_RDX, H_RAX);
        e_shift_ri(e, 5, 4, H_RDX, (uint8_t)(bits - 1));
        e_alu_rr(e, A_XOR, 4, H_RDX, H_RCX);
    }
    if (d.op == 7) {
        e_store_imm(e, 4, cpuf(CCF(cc_a)), 0);
    } else {
        e_store(e, 4, cpuf(CCF(cc_a)), H_RDX);
    }
    e_store(e, 4, cpuf(CCF(cc_b)), H_RCX);
    e_store(e, 4, cpuf(CCF(cc_res)), H_RAX);
    e_store_imm(e, 4, cpuf(CCF(cc_op)), CC_OP(CCK_SHIFT, szi));
    set_cc(c, CC_OP(CCK_SHIFT, szi), false);
    return true;
}

static bool gen_imul(JitCtx *c, const X86Insn *i, JitDesc d)
{
    JitEmit *e = &c->e;
    int n = d.bytes, szi = n == 2 ? 1 : 2;
    JMem m = opnd_e(c, i, n, d.mem, false);

    if (d.kind == JK_IMUL_GE) {
        e_loadzx(e, n, H_RAX, gregb(i->reg, n));
        e_loadzx(e, n, H_RCX, m);
        e_imul_rr(e, n, H_RAX, H_RCX);
    } else {
        e_loadzx(e, n, H_RCX, m);
        e_imul_rri(e, n, H_RAX, H_RCX, i->imm);
        if (n == 2) {
            e_movzx_rr(e, 2, H_RAX, H_RAX);
        }
    }
    e_setcc(e, HC_B, H_RDX);
    e_movzx_rr(e, 1, H_RDX, H_RDX);
    e_store(e, n, gregb(i->reg, n), H_RAX);
    e_store(e, 4, cpuf(CCF(cc_res)), H_RAX);
    e_store(e, 4, cpuf(CCF(cc_a)), H_RDX);
    e_store(e, 4, cpuf(CCF(cc_b)), H_RDX);
    e_store_imm(e, 4, cpuf(CCF(cc_op)), CC_OP(CCK_MUL, szi));
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
    case JK_IMUL_GE:
    case JK_IMUL_GEI:
        return gen_imul(c, i, d);
    case JK_XCHG: {
        JitEmit *e = &c->e;
        e_load(e, d.bytes, H_RAX, gregb(i->rm, d.bytes));
        e_load(e, d.bytes, H_RCX, gregb(i->reg, d.bytes));
        st_greg(e, i->rm, d.bytes, H_RCX);
        st_greg(e, i->reg, d.bytes, H_RAX);
        return true;
    }
    }
    return false;
}

/* --- group 3: control transfer ------------------------------------------------------ */

/* cpu->eip is set: continue with the block there if it has host code (the
 * checks of a chained entry, the lookup without decoding), else return to
 * the dispatcher.  Also patches the exit that asked for it. */
void *x86_jit_next(X86CPU *cpu)
{
    if (cpu->jit_link_site) {
        x86_jit_link(cpu);
    }
    if (cpu->exit_request || cpu->budget <= 0 || cpu->irq_shadow) {
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

static void gen_next(JitCtx *c)
{
    e_jmp(&c->e, c->jit->next);
}

/* The exit of a direct branch to `target`: a jump that the dispatcher
 * patches to the target's host code once both are translated and in one
 * page; until then it asks for that and looks the target up. */
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

/* Push the 32-bit value of host register `val` (not RAX-RDX, R8). */
static void gen_push32(JitCtx *c, int val)
{
    JitEmit *e = &c->e;
    e_load(e, 4, H_RAX, greg(R_ESP));
    e_lea(e, 4, H_RAX, jm(H_RAX, -4));
    e_mov_rr(e, 4, H_R8, H_RAX);
    gen_seg(c, R_SS, true);
    gen_tlb(c, true, 4);
    e_store(e, 4, jm(H_RAX, 0), val);
    e_store(e, 4, greg(R_ESP), H_R8);
}

static bool gen_branch(JitCtx *c, const X86Insn *i, JitDesc d)
{
    JitEmit *e = &c->e;
    bool last_inline = c->k > 0 && desc_of(c->b->insns[c->k - 1].fn).kind != JK_CALL;

    switch (d.kind) {
    case JK_JCC: {
        int hc = gen_cond(c, d.op);
        JitCold *cd = &c->cold[c->ncold++];
        *cd = (JitCold){ .type = COLD_EXIT, .k = c->k, .target = i->imm, .fast = true,
                         .regen = -2 };
        cd->sites[cd->nsites++] = e_jcc(e, hc, NULL);
        return true;
    }
    case JK_JMP:
        gen_cs_check(c, i->imm);
        gen_exit(c, i->imm, true);
        c->unreachable = true;
        return true;
    case JK_BLOCK_END:
        /* After a handler call the mode may have changed. */
        gen_exit(c, i->eip, c->k == 0 || last_inline);
        c->unreachable = true;
        return true;
    case JK_CALL_REL:
        if (!(c->b->mode & BM_STACK32) || (i->flags & IF_OP16)) {
            return false;
        }
        gen_cs_check(c, i->imm);
        e_mov_ri32(e, H_R9, next_eip(i));
        gen_push32(c, H_R9);
        gen_exit(c, i->imm, true);
        c->unreachable = true;
        return true;
    case JK_RET:
        if (!(c->b->mode & BM_STACK32)) {
            return false;
        }
        e_load(e, 4, H_RAX, greg(R_ESP));
        e_lea(e, 4, H_R8, jm(H_RAX, 4 + (d.op ? (int32_t)i->imm : 0)));
        gen_seg(c, R_SS, false);
        gen_tlb(c, false, 4);
        e_load(e, 4, H_R9, jm(H_RAX, 0));
        gen_cs_check_r(c, H_R9);
        e_store(e, 4, greg(R_ESP), H_R8);
        e_store(e, 4, cpuf(CPU_OFF(eip)), H_R9);
        gen_next(c);
        c->unreachable = true;
        return true;
    case JK_JMP_E:
    case JK_CALL_E:
        if (d.kind == JK_CALL_E && !(c->b->mode & BM_STACK32)) {
            return false;
        }
        if (d.mem) {
            gen_mem(c, i, false, 4);
            e_load(e, 4, H_R9, jm(H_RAX, 0));
        } else {
            e_load(e, 4, H_R9, greg(i->rm));
        }
        gen_cs_check_r(c, H_R9);
        if (d.kind == JK_CALL_E) {
            e_mov_ri32(e, H_R10, next_eip(i));
            gen_push32(c, H_R10);
        }
        e_store(e, 4, cpuf(CPU_OFF(eip)), H_R9);
        gen_next(c);
        c->unreachable = true;
        return true;
    case JK_SETCC:
        if (!d.mem) {
            int hc = gen_cond(c, (int)i->imm);
            e_setcc(e, hc, H_RAX);
            st_greg(e, i->rm, 1, H_RAX);
            return true;
        } else {
            /* The condition first: its computation may call out. */
            int hc = gen_cond(c, (int)i->imm);
            e_setcc(e, hc, H_R13);
            gen_mem(c, i, true, 1);
            e_store(e, 1, jm(H_RAX, 0), H_R13);
            return true;
        }
    case JK_CMOV: {
        int n = d.bytes;
        /* The source is read whatever the condition (it may fault). */
        if (d.mem) {
            gen_mem(c, i, false, n);
            e_loadzx(e, n, H_R13, jm(H_RAX, 0));
        } else {
            e_loadzx(e, n, H_R13, gregb(i->rm, n));
        }
        int hc = gen_cond(c, (int)i->imm);
        e_loadzx(e, n, H_RAX, gregb(i->reg, n));
        e_cmovcc(e, n, hc, H_RAX, H_R13);
        st_greg(e, i->reg, n, H_RAX);
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
    uint8_t *start = c->e.p;
    int ncold = c->ncold;

    int cc = c->cc;
    bool hf = c->hf;
    JitCold *hf_cold = c->hf_cold;

    c->k = k;
    c->cur_cold = NULL;
    if (c->unreachable) {
        c->lab[k] = NULL;
        return;
    }
    if (d.kind != JK_CALL && (k < (int)c->b->ninsns || d.kind == JK_BLOCK_END)) {
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
        c->cc = cc;
        c->hf = hf;
        c->hf_cold = hf_cold;
    }
    gen_handler_call(c, k);
    c->cc = -1;
    c->hf = false;
    c->hf_cold = NULL;
}

/* The slow path of instruction k: its handler, then back in line; or the
 * exit of its taken branch. */
static void gen_cold(JitCtx *c, JitCold *cd)
{
    JitEmit *e = &c->e;
    uint8_t *here = e_here_rx(e);
    for (int s = 0; s < cd->nsites; s++) {
        if (!e->overflow) {
            e_patch_rel32(e, cd->sites[s], here);
        }
    }
    if (cd->type == COLD_EXIT) {
        c->k = cd->k;
        c->cur_cold = NULL;
        for (int n = 0; n < c->ncold; n++) {
            if (c->cold[n].type == COLD_SLOW && c->cold[n].k == cd->k) {
                c->cur_cold = &c->cold[n];
            }
        }
        gen_cs_check(c, cd->target);
        gen_exit(c, cd->target, cd->fast);
        return;
    }
    e_lea(e, 8, H_RSI, jm(H_R12, BLK_INSN(cd->k)));
    if (cd->regen == -2 && c->lab[cd->k + 1]) {
        e_lea_rip(e, H_RDX, c->lab[cd->k + 1]);
        e_jmp(e, c->jit->slow_common);
        return;
    }
    e_lea_rip(e, H_RDX, e_here_rx(e) + 7 + 5);
    e_jmp(e, c->jit->slow_common);
    if (cd->regen != -2) {
        gen_flags_load(c, cd->regen);
    }
    if (c->lab[cd->k + 1]) {
        e_jmp(e, c->lab[cd->k + 1]);
    } else {
        /* No host code there (it follows a jump): the interpreter goes on. */
        e_lea(e, 8, H_RAX, jm(H_R12, BLK_INSN(cd->k + 1)));
        e_jmp(e, c->jit->epilogue);
    }
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
    e_mov_ri64(e, H_R12, (uint64_t)(uintptr_t)b);
    e_store(e, 8, cpuf(CPU_OFF(cur_block)), H_R12);
    e_alu_mi(e, A_CMP, 4, cpuf(CPU_OFF(exit_request)), 0);
    c->exit0_sites[c->nexit0++] = e_jcc(e, HC_NE, NULL);
    e_alu_mi(e, A_CMP, 8, cpuf(CPU_OFF(budget)), 0);
    c->exit0_sites[c->nexit0++] = e_jcc(e, HC_LE, NULL);
    e_alu_mi(e, A_SUB, 8, cpuf(CPU_OFF(budget)), b->ninsns);

    b->jit_body = e_here_rx(e);
    c->cc = -1;
    for (uint32_t k = 0; k <= b->ninsns; k++) {
        c->lab[k] = e_here_rx(e);
        gen_insn(c, (int)k);
        if (e->overflow) {
            return false;
        }
    }
    c->lab[b->ninsns + 1] = c->unreachable ? NULL : e_here_rx(e);
    if (!c->unreachable) {
        /* The terminator was a handler call that does not return here. */
        e_jmp(e, c->jit->epilogue);
    }

    /* Out of line: slow paths, and the exit of a chained entry that may
     * not run the block. */
    for (int n = 0; n < c->ncold; n++) {
        gen_cold(c, &c->cold[n]);
        if (e->overflow) {
            return false;
        }
    }
    uint8_t *exit0 = e_here_rx(e);
    e_mov_ri32(e, H_RAX, 0);
    e_jmp(e, c->jit->epilogue);
    if (e->overflow) {
        return false;
    }
    for (int k = 0; k < c->nexit0; k++) {
        e_patch_rel32(e, c->exit0_sites[k], exit0);
    }
    return true;
}

bool x86_jit_translate(X86CPU *cpu, X86Block *b)
{
    X86Jit *jit = x86_code_jit(cpu);

    b->hits = 0;
    if (!jit) {
        return false;
    }
    if (b->no_jit || !b->cached || (b->mode & BM_SINGLE) || cpu->trace) {
        b->no_jit = true;
        return false;
    }
    for (int attempt = 0; attempt < 2; attempt++) {
        JitCtx c = { .cpu = cpu, .jit = jit, .b = b, .e = jit_emitter(jit) };
        uint8_t *start = c.e.p;
        if (gen_block(&c)) {
            size_t len = (size_t)(c.e.p - start);
            if (jit->perfmap) {
                fprintf(jit->perfmap, "%lx %zx x86_%04x:%08x\n",
                        (unsigned long)(uintptr_t)b->jit_chain, len,
                        cpu->seg[R_CS].sel, b->eip);
                fflush(jit->perfmap);
            }
            if (jit->dump) {
                /* objdump -D -b binary -mi386:x86-64 --adjust-vma=ADDR */
                fprintf(jit->dump, "block %08x at %p, %zu bytes, body at %p:",
                        b->eip, (void *)b->jit_chain, len, b->jit_body);
                for (size_t n = 0; n < len; n++) {
                    fprintf(jit->dump, " %02x", start[n]);
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
            jit->used += (len + 15) & ~(size_t)15;
            cpu->stats.jit_blocks++;
            cpu->stats.jit_bytes = jit->used;
            return true;
        }
        /* The buffer is full: drop all host code and start over. */
        b->jit_body = b->jit_chain = b->jit_chain_fast = NULL;
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
