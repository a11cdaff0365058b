/*
 * Data movement handlers for one operand size, included by ops-data.c with
 * BITS = 8, 16 and 32: MOV, XCHG, the moffs forms, and the string
 * instructions MOVS, CMPS, STOS, LODS, SCAS, INS, OUTS with their REP
 * prefixes (Intel SDM vol. 2: each mnemonic; REP/REPE/REPNE for the
 * repeat and termination rules).
 */

#if BITS == 8
# define SZ 0
# define BYTES 1
# define MASK 0xffu
# define GETR(n) ((uint32_t)*reg8p(cpu, (n)))
# define SETR(n, v) (*reg8p(cpu, (n)) = (uint8_t)(v))
# define LDM(s, ea) ld8(cpu, (s), (ea))
# define STM(s, ea, v) st8(cpu, (s), (ea), (v))
# define LDP(p) (*(uint8_t *)(p))
# define STP(p, v) (*(uint8_t *)(p) = (uint8_t)(v))
#elif BITS == 16
# define SZ 1
# define BYTES 2
# define MASK 0xffffu
# define GETR(n) ((uint32_t)cpu->r[(n)].w)
# define SETR(n, v) (cpu->r[(n)].w = (uint16_t)(v))
# define LDM(s, ea) ld16(cpu, (s), (ea))
# define STM(s, ea, v) st16(cpu, (s), (ea), (v))
# define LDP(p) ld16u(p)
# define STP(p, v) st16u((p), (uint16_t)(v))
#else
# define SZ 2
# define BYTES 4
# define MASK 0xffffffffu
# define GETR(n) (cpu->r[(n)].d)
# define SETR(n, v) (cpu->r[(n)].d = (uint32_t)(v))
# define LDM(s, ea) ld32(cpu, (s), (ea))
# define STM(s, ea, v) st32(cpu, (s), (ea), (v))
# define LDP(p) ld32u(p)
# define STP(p, v) st32u((p), (uint32_t)(v))
#endif

#define HN_(b, s, f) b##_##s##_##f
#define HN_X(b, s, f) HN_(b, s, f)
#define HN(b, f) HN_X(b, BITS, f)
#define FN_(b, s) b##_##s
#define FN_X(b, s) FN_(b, s)
#define FN(b) FN_X(b, BITS)

static HANDLER(HN(mov_eg, r)) { SETR(i->rm, GETR(i->reg)); return i + 1; }
static NOINLINE HANDLER(HN(mov_eg, ms)) { STM(i->seg, x86_ea(cpu, i), GETR(i->reg)); return i + 1; }
static HANDLER(HN(mov_eg, m))
{
    uint32_t ea = x86_ea(cpu, i), lin;
    void *p;
    FAST_LIN(cpu, i->seg, ea, lin, w, slow);
    FAST_PTR(cpu, lin, BYTES, p, tag_w, slow);
    STP(p, GETR(i->reg));
    return i + 1;
slow:
    return HN(mov_eg, ms)(cpu, i);
}
static HANDLER(HN(mov_ge, r)) { SETR(i->reg, GETR(i->rm)); return i + 1; }
static NOINLINE HANDLER(HN(mov_ge, ms)) { SETR(i->reg, LDM(i->seg, x86_ea(cpu, i))); return i + 1; }
static HANDLER(HN(mov_ge, m))
{
    uint32_t ea = x86_ea(cpu, i), lin;
    void *p;
    FAST_LIN(cpu, i->seg, ea, lin, r, slow);
    FAST_PTR(cpu, lin, BYTES, p, tag_r, slow);
    SETR(i->reg, LDP(p));
    return i + 1;
slow:
    return HN(mov_ge, ms)(cpu, i);
}
static HANDLER(HN(mov_ei, r)) { SETR(i->rm, i->imm); return i + 1; }
static HANDLER(HN(mov_ei, m)) { STM(i->seg, x86_ea(cpu, i), i->imm); return i + 1; }
static HANDLER(FN(mov_moffs_load)) { SETR(R_EAX, LDM(i->seg, i->disp)); return i + 1; }
static HANDLER(FN(mov_moffs_store)) { STM(i->seg, i->disp, GETR(R_EAX)); return i + 1; }

static HANDLER(HN(xchg, r))
{
    uint32_t a = GETR(i->rm);
    SETR(i->rm, GETR(i->reg));
    SETR(i->reg, a);
    return i + 1;
}
static HANDLER(HN(xchg, m))
{
    uint32_t lin = seg_w(cpu, i->seg, x86_ea(cpu, i), BYTES);
    void *p = tlb_ptr_w(cpu, lin, BYTES);
    uint32_t old;
    if (p) {
        old = LDP(p);
        STP(p, GETR(i->reg));
    } else {
        x86_probe_write(cpu, lin, BYTES, cpu->mmu_idx);
        old = x86_ld_slow(cpu, lin, BYTES, cpu->mmu_idx);
        x86_st_slow(cpu, lin, GETR(i->reg), BYTES, cpu->mmu_idx);
    }
    SETR(i->reg, old);
    return i + 1;
}

/* --- string instructions ----------------------------------------------------- */

/* Iterations done per execution of a REP instruction before it yields
 * (it restarts itself, so interrupts and kicks are seen in between):
 * cpu->rep_limit, X86_REP_CHUNK normally, 1 under TF (a single-step trap
 * after each iteration), 0 after an iteration that hit a data breakpoint.
 * Each iteration counts against the instruction budget. */

static inline int32_t FN(str_step)(X86CPU *cpu)
{
    return (cpu->eflags & FL_DF) ? -BYTES : BYTES;
}

/* One MOVS element. */
static inline void FN(movs1)(X86CPU *cpu, X86Insn *i, uint32_t am, int32_t step)
{
    uint32_t si = cpu->r[R_ESI].d & am, di = cpu->r[R_EDI].d & am;
    uint32_t v = LDM(i->seg, si);
    STM(R_ES, di, v);
    str_set(cpu, R_ESI, si + step, am);
    str_set(cpu, R_EDI, di + step, am);
}

/* Forward MOVS/STOS over host memory: how many elements may be done at
 * once without crossing a page, a segment limit or the address wrap. */
static inline uint32_t FN(str_run)(X86CPU *cpu, int s, uint32_t off, uint32_t am,
                                   uint32_t cnt, bool write)
{
    X86Seg *sg = &cpu->seg[s];
    uint32_t lo = write ? sg->wlo : sg->rlo, hi = write ? sg->whi : sg->rhi;
    if (off < lo || off > hi) {
        return 0;
    }
    uint64_t room = (uint64_t)hi - off + 1;
    uint64_t wrap = (uint64_t)am - off + 1;
    uint32_t lin = sg->base + off;
    uint64_t page = 0x1000 - (lin & 0xfff);
    uint64_t n = MIN(MIN(room, wrap), page) / BYTES;
    return (uint32_t)MIN(n, (uint64_t)cnt);
}

static HANDLER(FN(movs))
{
    uint32_t am = i->amask;
    int32_t step = FN(str_step)(cpu);
    if (!(i->flags & (IF_REP | IF_REPNE))) {
        FN(movs1)(cpu, i, am, step);
        return i + 1;
    }
    uint32_t cnt = cpu->r[R_ECX].d & am;
    for (int chunk = 0; cnt != 0; ) {
        if (chunk >= cpu->rep_limit) {
            return x86_rep_yield(cpu, i, chunk);
        }
        if (step > 0) {
            uint32_t si = cpu->r[R_ESI].d & am, di = cpu->r[R_EDI].d & am;
            uint32_t n = FN(str_run)(cpu, i->seg, si, am, cnt, false);
            n = MIN(n, FN(str_run)(cpu, R_ES, di, am, cnt, true));
            n = MIN(n, (uint32_t)(cpu->rep_limit - chunk));
            if (n > 1) {
                uint32_t sl = cpu->seg[i->seg].base + si, dl = cpu->seg[R_ES].base + di;
                uint8_t *sp = tlb_ptr_r(cpu, sl, n * BYTES);
                uint8_t *dp = tlb_ptr_w(cpu, dl, n * BYTES);
                if (sp && dp) {
                    if (dp > sp && dp < sp + n * BYTES) {
                        /* Overlapping: one element after the other. */
                        for (uint32_t k = 0; k < n; k++) {
                            uint32_t v = LDP(sp + k * BYTES);
                            STP(dp + k * BYTES, v);
                        }
                    } else {
                        memmove(dp, sp, n * BYTES);
                    }
                    str_set(cpu, R_ESI, si + n * BYTES, am);
                    str_set(cpu, R_EDI, di + n * BYTES, am);
                    cnt -= n;
                    str_set(cpu, R_ECX, cnt, am);
                    chunk += n;
                    continue;
                }
            }
        }
        FN(movs1)(cpu, i, am, step);
        cnt--;
        str_set(cpu, R_ECX, cnt, am);
        chunk++;
    }
    return i + 1;
}

static inline void FN(stos1)(X86CPU *cpu, uint32_t am, int32_t step)
{
    uint32_t di = cpu->r[R_EDI].d & am;
    STM(R_ES, di, GETR(R_EAX));
    str_set(cpu, R_EDI, di + step, am);
}

static HANDLER(FN(stos))
{
    uint32_t am = i->amask;
    int32_t step = FN(str_step)(cpu);
    if (!(i->flags & (IF_REP | IF_REPNE))) {
        FN(stos1)(cpu, am, step);
        return i + 1;
    }
    uint32_t cnt = cpu->r[R_ECX].d & am;
    for (int chunk = 0; cnt != 0; ) {
        if (chunk >= cpu->rep_limit) {
            return x86_rep_yield(cpu, i, chunk);
        }
        if (step > 0) {
            uint32_t di = cpu->r[R_EDI].d & am;
            uint32_t n = FN(str_run)(cpu, R_ES, di, am, cnt, true);
            n = MIN(n, (uint32_t)(cpu->rep_limit - chunk));
            uint8_t *dp = n > 1 ? tlb_ptr_w(cpu, cpu->seg[R_ES].base + di, n * BYTES) : NULL;
            if (dp) {
#if BITS == 8
                memset(dp, cpu->r[R_EAX].b[0], n);
#else
                uint32_t v = GETR(R_EAX);
                for (uint32_t k = 0; k < n; k++) {
                    STP(dp + k * BYTES, v);
                }
#endif
                str_set(cpu, R_EDI, di + n * BYTES, am);
                cnt -= n;
                str_set(cpu, R_ECX, cnt, am);
                chunk += n;
                continue;
            }
        }
        FN(stos1)(cpu, am, step);
        cnt--;
        str_set(cpu, R_ECX, cnt, am);
        chunk++;
    }
    return i + 1;
}

static HANDLER(FN(lods))
{
    uint32_t am = i->amask;
    int32_t step = FN(str_step)(cpu);
    bool rep = i->flags & (IF_REP | IF_REPNE);
    uint32_t cnt = rep ? cpu->r[R_ECX].d & am : 1;
    for (int chunk = 0; cnt != 0; chunk++) {
        if (chunk >= cpu->rep_limit) {
            return x86_rep_yield(cpu, i, chunk);
        }
        uint32_t si = cpu->r[R_ESI].d & am;
        SETR(R_EAX, LDM(i->seg, si));
        str_set(cpu, R_ESI, si + step, am);
        cnt--;
        if (rep) {
            str_set(cpu, R_ECX, cnt, am);
        }
    }
    return i + 1;
}

/* CMPS and SCAS: flags as CMP; REPE stops when ZF = 0, REPNE when ZF = 1. */
static inline void FN(cmp_flags)(X86CPU *cpu, uint32_t a, uint32_t b)
{
    cpu->cc_a = a;
    cpu->cc_b = b;
    cpu->cc_res = a - b;
    cpu->cc_op = CC_OP(CCK_SUB, SZ);
}

static HANDLER(FN(cmps))
{
    uint32_t am = i->amask;
    int32_t step = FN(str_step)(cpu);
    int rep = i->flags & (IF_REP | IF_REPNE);
    uint32_t cnt = rep ? cpu->r[R_ECX].d & am : 1;
    for (int chunk = 0; cnt != 0; chunk++) {
        if (chunk >= cpu->rep_limit) {
            return x86_rep_yield(cpu, i, chunk);
        }
        uint32_t si = cpu->r[R_ESI].d & am, di = cpu->r[R_EDI].d & am;
        uint32_t a = LDM(i->seg, si);
        uint32_t b = LDM(R_ES, di);
        FN(cmp_flags)(cpu, a, b);
        str_set(cpu, R_ESI, si + step, am);
        str_set(cpu, R_EDI, di + step, am);
        cnt--;
        if (rep) {
            str_set(cpu, R_ECX, cnt, am);
            if ((rep == IF_REP) != (a == b)) {
                break;
            }
        }
    }
    return i + 1;
}

static HANDLER(FN(scas))
{
    uint32_t am = i->amask;
    int32_t step = FN(str_step)(cpu);
    int rep = i->flags & (IF_REP | IF_REPNE);
    uint32_t cnt = rep ? cpu->r[R_ECX].d & am : 1;
    uint32_t a = GETR(R_EAX);
    for (int chunk = 0; cnt != 0; chunk++) {
        if (chunk >= cpu->rep_limit) {
            return x86_rep_yield(cpu, i, chunk);
        }
        uint32_t di = cpu->r[R_EDI].d & am;
        uint32_t b = LDM(R_ES, di);
        FN(cmp_flags)(cpu, a, b);
        str_set(cpu, R_EDI, di + step, am);
        cnt--;
        if (rep) {
            str_set(cpu, R_ECX, cnt, am);
            if ((rep == IF_REP) != (a == b)) {
                break;
            }
        }
    }
    return i + 1;
}

static HANDLER(FN(ins))
{
    uint32_t am = i->amask;
    int32_t step = FN(str_step)(cpu);
    bool rep = i->flags & (IF_REP | IF_REPNE);
    uint32_t cnt = rep ? cpu->r[R_ECX].d & am : 1;
    uint16_t port = cpu->r[R_EDX].w;
    if (cnt) {
        x86_check_io(cpu, port, BYTES);
    }
    for (int chunk = 0; cnt != 0; chunk++) {
        if (chunk >= cpu->rep_limit) {
            return x86_rep_yield(cpu, i, chunk);
        }
        uint32_t di = cpu->r[R_EDI].d & am;
        uint32_t lin = seg_w(cpu, R_ES, di, BYTES);
        x86_probe_write(cpu, lin, BYTES, cpu->mmu_idx);
        uint32_t v = x86_port_in(cpu, port, BYTES);
        STM(R_ES, di, v);
        str_set(cpu, R_EDI, di + step, am);
        cnt--;
        if (rep) {
            str_set(cpu, R_ECX, cnt, am);
        }
    }
    return i + 1;
}

static HANDLER(FN(outs))
{
    uint32_t am = i->amask;
    int32_t step = FN(str_step)(cpu);
    bool rep = i->flags & (IF_REP | IF_REPNE);
    uint32_t cnt = rep ? cpu->r[R_ECX].d & am : 1;
    uint16_t port = cpu->r[R_EDX].w;
    if (cnt) {
        x86_check_io(cpu, port, BYTES);
    }
    for (int chunk = 0; cnt != 0; chunk++) {
        if (chunk >= cpu->rep_limit) {
            return x86_rep_yield(cpu, i, chunk);
        }
        uint32_t si = cpu->r[R_ESI].d & am;
        uint32_t v = LDM(i->seg, si);
        x86_port_out(cpu, port, v, BYTES);
        str_set(cpu, R_ESI, si + step, am);
        cnt--;
        if (rep) {
            str_set(cpu, R_ECX, cnt, am);
        }
    }
    return x86_goto(cpu, next_eip(i));
}

#undef SZ
#undef BYTES
#undef MASK
#undef GETR
#undef SETR
#undef LDM
#undef STM
#undef LDP
#undef STP
#undef HN
#undef HN_
#undef HN_X
#undef FN
#undef FN_
#undef FN_X
