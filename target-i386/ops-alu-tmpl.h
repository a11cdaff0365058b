/*
 * Integer arithmetic handlers for one operand size, included by ops-alu.c
 * with BITS = 8, 16 and 32.  Semantics and flags: Intel SDM vol. 2 under each
 * mnemonic (ADD ... XOR, INC, DEC, NEG, NOT, TEST, RCL/RCR/ROL/ROR,
 * SAL/SAR/SHL/SHR, SHLD, SHRD, MUL, IMUL, DIV, IDIV, BT/BTS/BTR/BTC, BSF,
 * BSR, XADD, CMPXCHG, CMOVcc).
 */

#if BITS == 8
# define SZ 0
# define BYTES 1
# define MASK 0xffu
# define SIGNB 0x80u
# define STYPE int8_t
# define GETR(n) ((uint32_t)*reg8p(cpu, (n)))
# define SETR(n, v) (*reg8p(cpu, (n)) = (uint8_t)(v))
# define LDM(s, ea) ld8(cpu, (s), (ea))
# define LDP(p) (*(uint8_t *)(p))
# define STP(p, v) (*(uint8_t *)(p) = (uint8_t)(v))
#elif BITS == 16
# define SZ 1
# define BYTES 2
# define MASK 0xffffu
# define SIGNB 0x8000u
# define STYPE int16_t
# define GETR(n) ((uint32_t)cpu->r[(n)].w)
# define SETR(n, v) (cpu->r[(n)].w = (uint16_t)(v))
# define LDM(s, ea) ld16(cpu, (s), (ea))
# define LDP(p) ld16u(p)
# define STP(p, v) st16u((p), (uint16_t)(v))
#else
# define SZ 2
# define BYTES 4
# define MASK 0xffffffffu
# define SIGNB 0x80000000u
# define STYPE int32_t
# define GETR(n) (cpu->r[(n)].d)
# define SETR(n, v) (cpu->r[(n)].d = (uint32_t)(v))
# define LDM(s, ea) ld32(cpu, (s), (ea))
# define LDP(p) ld32u(p)
# define STP(p, v) st32u((p), (uint32_t)(v))
#endif

#define HN_(b, s, f) b##_##s##_##f
#define HN_X(b, s, f) HN_(b, s, f)
#define HN(b, f) HN_X(b, BITS, f)
#define FN_(b, s) b##_##s
#define FN_X(b, s) FN_(b, s)
#define FN(b) FN_X(b, BITS)

/* Read the E operand. */
#define GET_E_R() GETR(i->rm)
#define GET_E_M() LDM(i->seg, x86_ea(cpu, i))

/* Read-modify-write of a memory E operand: `v` is the old value, EXPR the
 * new one.  The write is known to be allowed before anything changes. */
#define RMW_M(EXPR) do {                                                    \
        uint32_t lin_ = seg_w(cpu, i->seg, x86_ea(cpu, i), BYTES);          \
        void *p_ = tlb_ptr_w(cpu, lin_, BYTES);                             \
        uint32_t v = p_ ? LDP(p_) : x86_rmw_load(cpu, lin_, BYTES);         \
        uint32_t r_ = (EXPR);                                               \
        if (p_) {                                                           \
            STP(p_, r_);                                                    \
        } else {                                                            \
            x86_st_slow(cpu, lin_, r_ & MASK, BYTES, cpu->mmu_idx);         \
        }                                                                   \
    } while (0)
#define RMW_R(EXPR) do {                                                    \
        uint32_t v = GETR(i->rm);                                           \
        SETR(i->rm, (EXPR));                                                \
    } while (0)

static inline __attribute__((always_inline))
uint32_t FN(alu)(X86CPU *cpu, int op, uint32_t a, uint32_t b)
{
    uint32_t r, c;
    switch (op) {
    case 0:
        r = a + b;
        cpu->cc_op = CC_OP(CCK_ADD, SZ);
        break;
    case 2:
        c = x86_cf(cpu);
        r = a + b + c;
        cpu->cc_op = CC_OP(c ? CCK_ADC : CCK_ADD, SZ);
        break;
    case 3:
        c = x86_cf(cpu);
        r = a - b - c;
        cpu->cc_op = CC_OP(c ? CCK_SBB : CCK_SUB, SZ);
        break;
    case 5:
    case 7:
        r = a - b;
        cpu->cc_op = CC_OP(CCK_SUB, SZ);
        break;
    default:
        r = op == 1 ? (a | b) : op == 4 ? (a & b) : (a ^ b);
        cpu->cc_op = CC_OP(CCK_LOGIC, SZ);
        cpu->cc_res = r;
        return r;
    }
    cpu->cc_a = a;
    cpu->cc_b = b;
    cpu->cc_res = r;
    return r & MASK;
}

#define DEF_ALU(OPN, OPI)                                                   \
static HANDLER(HN(alu_eg_##OPN, r))                                         \
{                                                                           \
    uint32_t r = FN(alu)(cpu, OPI, GETR(i->rm), GETR(i->reg));              \
    if (OPI != 7) {                                                         \
        SETR(i->rm, r);                                                     \
    }                                                                       \
    return i + 1;                                                           \
}                                                                           \
static NOINLINE HANDLER(HN(alu_eg_##OPN, ms))                               \
{                                                                           \
    if (OPI == 7) {                                                         \
        FN(alu)(cpu, OPI, GET_E_M(), GETR(i->reg));                         \
    } else {                                                                \
        RMW_M(FN(alu)(cpu, OPI, v, GETR(i->reg)));                          \
    }                                                                       \
    return i + 1;                                                           \
}                                                                           \
static HANDLER(HN(alu_eg_##OPN, m))                                         \
{                                                                           \
    uint32_t ea = x86_ea(cpu, i), lin;                                      \
    void *p;                                                                \
    if (OPI == 7) {                                                         \
        FAST_LIN(cpu, i->seg, ea, lin, r, slow);                            \
        FAST_PTR(cpu, lin, BYTES, p, tag_r, slow);                          \
        FN(alu)(cpu, OPI, LDP(p), GETR(i->reg));                            \
    } else {                                                                \
        FAST_LIN(cpu, i->seg, ea, lin, w, slow);                            \
        FAST_PTR(cpu, lin, BYTES, p, tag_w, slow);                          \
        STP(p, FN(alu)(cpu, OPI, LDP(p), GETR(i->reg)));                    \
    }                                                                       \
    return i + 1;                                                           \
slow:                                                                       \
    return HN(alu_eg_##OPN, ms)(cpu, i);                                    \
}                                                                           \
static HANDLER(HN(alu_ge_##OPN, r))                                         \
{                                                                           \
    uint32_t r = FN(alu)(cpu, OPI, GETR(i->reg), GETR(i->rm));              \
    if (OPI != 7) {                                                         \
        SETR(i->reg, r);                                                    \
    }                                                                       \
    return i + 1;                                                           \
}                                                                           \
static NOINLINE HANDLER(HN(alu_ge_##OPN, ms))                               \
{                                                                           \
    uint32_t m = GET_E_M();                                                 \
    uint32_t r = FN(alu)(cpu, OPI, GETR(i->reg), m);                        \
    if (OPI != 7) {                                                         \
        SETR(i->reg, r);                                                    \
    }                                                                       \
    return i + 1;                                                           \
}                                                                           \
static HANDLER(HN(alu_ge_##OPN, m))                                         \
{                                                                           \
    uint32_t ea = x86_ea(cpu, i), lin;                                      \
    void *p;                                                                \
    FAST_LIN(cpu, i->seg, ea, lin, r, slow);                                \
    FAST_PTR(cpu, lin, BYTES, p, tag_r, slow);                              \
    uint32_t r = FN(alu)(cpu, OPI, GETR(i->reg), LDP(p));                   \
    if (OPI != 7) {                                                         \
        SETR(i->reg, r);                                                    \
    }                                                                       \
    return i + 1;                                                           \
slow:                                                                       \
    return HN(alu_ge_##OPN, ms)(cpu, i);                                    \
}                                                                           \
static HANDLER(HN(alu_ei_##OPN, r))                                         \
{                                                                           \
    uint32_t r = FN(alu)(cpu, OPI, GETR(i->rm), i->imm);                    \
    if (OPI != 7) {                                                         \
        SETR(i->rm, r);                                                     \
    }                                                                       \
    return i + 1;                                                           \
}                                                                           \
static NOINLINE HANDLER(HN(alu_ei_##OPN, ms))                               \
{                                                                           \
    if (OPI == 7) {                                                         \
        FN(alu)(cpu, OPI, GET_E_M(), i->imm);                               \
    } else {                                                                \
        RMW_M(FN(alu)(cpu, OPI, v, i->imm));                                \
    }                                                                       \
    return i + 1;                                                           \
}                                                                           \
static HANDLER(HN(alu_ei_##OPN, m))                                         \
{                                                                           \
    uint32_t ea = x86_ea(cpu, i), lin;                                      \
    void *p;                                                                \
    if (OPI == 7) {                                                         \
        FAST_LIN(cpu, i->seg, ea, lin, r, slow);                            \
        FAST_PTR(cpu, lin, BYTES, p, tag_r, slow);                          \
        FN(alu)(cpu, OPI, LDP(p), i->imm);                                  \
    } else {                                                                \
        FAST_LIN(cpu, i->seg, ea, lin, w, slow);                            \
        FAST_PTR(cpu, lin, BYTES, p, tag_w, slow);                          \
        STP(p, FN(alu)(cpu, OPI, LDP(p), i->imm));                          \
    }                                                                       \
    return i + 1;                                                           \
slow:                                                                       \
    return HN(alu_ei_##OPN, ms)(cpu, i);                                    \
}

DEF_ALU(add, 0)
DEF_ALU(or, 1)
DEF_ALU(adc, 2)
DEF_ALU(sbb, 3)
DEF_ALU(and, 4)
DEF_ALU(sub, 5)
DEF_ALU(xor, 6)
DEF_ALU(cmp, 7)

/* --- TEST ------------------------------------------------------------------ */
static inline void FN(logic_flags)(X86CPU *cpu, uint32_t r)
{
    cpu->cc_res = r;
    cpu->cc_op = CC_OP(CCK_LOGIC, SZ);
}
static HANDLER(HN(test_eg, r)) { FN(logic_flags)(cpu, GETR(i->rm) & GETR(i->reg)); return i + 1; }
static HANDLER(HN(test_eg, m)) { FN(logic_flags)(cpu, GET_E_M() & GETR(i->reg)); return i + 1; }
static HANDLER(HN(test_ei, r)) { FN(logic_flags)(cpu, GETR(i->rm) & i->imm); return i + 1; }
static HANDLER(HN(test_ei, m)) { FN(logic_flags)(cpu, GET_E_M() & i->imm); return i + 1; }

/* --- INC, DEC, NOT, NEG ---------------------------------------------------- */
static inline uint32_t FN(incdec)(X86CPU *cpu, uint32_t v, int dec)
{
    uint32_t r = dec ? v - 1 : v + 1;
    x86_set_incdec(cpu, r, CC_OP(dec ? CCK_DEC : CCK_INC, SZ));
    return r & MASK;
}
static inline uint32_t FN(neg)(X86CPU *cpu, uint32_t v)
{
    uint32_t r = 0 - v;
    cpu->cc_a = 0;
    cpu->cc_b = v;
    cpu->cc_res = r;
    cpu->cc_op = CC_OP(CCK_SUB, SZ);
    return r & MASK;
}
static HANDLER(HN(inc, r)) { RMW_R(FN(incdec)(cpu, v, 0)); return i + 1; }
static HANDLER(HN(inc, m)) { RMW_M(FN(incdec)(cpu, v, 0)); return i + 1; }
static HANDLER(HN(dec, r)) { RMW_R(FN(incdec)(cpu, v, 1)); return i + 1; }
static HANDLER(HN(dec, m)) { RMW_M(FN(incdec)(cpu, v, 1)); return i + 1; }
static HANDLER(HN(not, r)) { RMW_R(~v); return i + 1; }
static HANDLER(HN(not, m)) { RMW_M(~v); return i + 1; }
static HANDLER(HN(neg, r)) { RMW_R(FN(neg)(cpu, v)); return i + 1; }
static HANDLER(HN(neg, m)) { RMW_M(FN(neg)(cpu, v)); return i + 1; }

/* --- shifts and rotates ------------------------------------------------------ */
static inline void FN(set_cf_of)(X86CPU *cpu, uint32_t cf, uint32_t of)
{
    x86_flags_materialize(cpu);
    cpu->eflags = (cpu->eflags & ~(FL_CF | FL_OF)) | (cf ? FL_CF : 0) | (of ? FL_OF : 0);
}

static inline __attribute__((always_inline))
uint32_t FN(shift)(X86CPU *cpu, int op, uint32_t v, uint32_t count)
{
    uint32_t cnt = count & 31, r, cf, t;

    if (cnt == 0) {
        return v;
    }
    switch (op) {
    case 0:     /* ROL */
        t = cnt & (BITS - 1);
        r = t ? ((v << t) | (v >> (BITS - t))) & MASK : v;
        cf = r & 1;
        FN(set_cf_of)(cpu, cf, ((r >> (BITS - 1)) ^ cf) & 1);
        return r;
    case 1:     /* ROR */
        t = cnt & (BITS - 1);
        r = t ? ((v >> t) | (v << (BITS - t))) & MASK : v;
        FN(set_cf_of)(cpu, (r >> (BITS - 1)) & 1, ((r >> (BITS - 1)) ^ (r >> (BITS - 2))) & 1);
        return r;
    case 2: {   /* RCL: rotate the BITS+1-bit value CF:v left */
        uint64_t c = x86_cf(cpu);
        t = BITS == 32 ? cnt : cnt % (BITS + 1);
        if (t == 0) {
            FN(set_cf_of)(cpu, c, ((v >> (BITS - 1)) ^ c) & 1);
            return v;
        }
        uint64_t w = ((uint64_t)c << BITS) | v;
        w = ((w << t) | (w >> (BITS + 1 - t))) & ((2ULL << BITS) - 1);
        r = (uint32_t)w & MASK;
        cf = (w >> BITS) & 1;
        FN(set_cf_of)(cpu, cf, ((r >> (BITS - 1)) ^ cf) & 1);
        return r;
    }
    case 3: {   /* RCR */
        uint64_t c = x86_cf(cpu);
        uint32_t of = ((v >> (BITS - 1)) ^ c) & 1;
        t = BITS == 32 ? cnt : cnt % (BITS + 1);
        if (t == 0) {
            FN(set_cf_of)(cpu, c, of);
            return v;
        }
        uint64_t w = ((uint64_t)c << BITS) | v;
        w = ((w >> t) | (w << (BITS + 1 - t))) & ((2ULL << BITS) - 1);
        r = (uint32_t)w & MASK;
        cf = (w >> BITS) & 1;
        FN(set_cf_of)(cpu, cf, of);
        return r;
    }
    case 4:
    case 6:     /* SHL / SAL */
        r = cnt >= BITS ? 0 : (v << cnt) & MASK;
        cf = cnt > BITS ? 0 : (v >> (BITS - cnt)) & 1;
        cpu->cc_b = cf;
        cpu->cc_a = ((r >> (BITS - 1)) ^ cf) & 1;
        break;
    case 5:     /* SHR */
        r = cnt >= BITS ? 0 : v >> cnt;
        cf = cnt > BITS ? 0 : (v >> (cnt - 1)) & 1;
        cpu->cc_b = cf;
        cpu->cc_a = (v >> (BITS - 1)) & 1;
        break;
    default: {  /* SAR */
        int32_t sv = (STYPE)v;
        r = (uint32_t)(sv >> (cnt >= BITS ? BITS - 1 : cnt)) & MASK;
        cf = (uint32_t)(sv >> (cnt > BITS ? BITS - 1 : cnt - 1)) & 1;
        cpu->cc_b = cf;
        cpu->cc_a = 0;
        break;
    }
    }
    cpu->cc_res = r;
    cpu->cc_op = CC_OP(CCK_SHIFT, SZ);
    return r;
}

static inline uint32_t FN(count)(X86CPU *cpu, const X86Insn *i)
{
    return (i->imm & 0x100) ? cpu->r[R_ECX].b[0] : i->imm;
}

#define DEF_SHIFT(OPN, OPI)                                                 \
static HANDLER(HN(OPN, r))                                                  \
{                                                                           \
    uint32_t c = FN(count)(cpu, i);                                         \
    RMW_R(FN(shift)(cpu, OPI, v, c));                                       \
    return i + 1;                                                           \
}                                                                           \
static HANDLER(HN(OPN, m))                                                  \
{                                                                           \
    uint32_t c = FN(count)(cpu, i);                                         \
    RMW_M(FN(shift)(cpu, OPI, v, c));                                       \
    return i + 1;                                                           \
}
DEF_SHIFT(rol, 0)
DEF_SHIFT(ror, 1)
DEF_SHIFT(rcl, 2)
DEF_SHIFT(rcr, 3)
DEF_SHIFT(shl, 4)
DEF_SHIFT(shr, 5)
DEF_SHIFT(sal, 6)
DEF_SHIFT(sar, 7)

/* --- MUL, IMUL, DIV, IDIV ------------------------------------------------------ */
static inline void FN(mul_flags)(X86CPU *cpu, uint32_t lo, bool over)
{
    cpu->cc_res = lo;
    cpu->cc_a = over;
    cpu->cc_b = over;
    cpu->cc_op = CC_OP(CCK_MUL, SZ);
}

static inline void FN(do_mul)(X86CPU *cpu, uint32_t src)
{
#if BITS == 8
    uint32_t r = (uint32_t)cpu->r[R_EAX].b[0] * src;
    cpu->r[R_EAX].w = r;
    FN(mul_flags)(cpu, r & 0xff, (r >> 8) != 0);
#elif BITS == 16
    uint32_t r = (uint32_t)cpu->r[R_EAX].w * src;
    cpu->r[R_EAX].w = r;
    cpu->r[R_EDX].w = r >> 16;
    FN(mul_flags)(cpu, r & 0xffff, (r >> 16) != 0);
#else
    uint64_t r = (uint64_t)cpu->r[R_EAX].d * src;
    cpu->r[R_EAX].d = (uint32_t)r;
    cpu->r[R_EDX].d = (uint32_t)(r >> 32);
    FN(mul_flags)(cpu, (uint32_t)r, (r >> 32) != 0);
#endif
}

static inline void FN(do_imul1)(X86CPU *cpu, uint32_t src)
{
#if BITS == 8
    int32_t r = (int32_t)(int8_t)cpu->r[R_EAX].b[0] * (int8_t)src;
    cpu->r[R_EAX].w = (uint16_t)r;
    FN(mul_flags)(cpu, r & 0xff, r != (int8_t)r);
#elif BITS == 16
    int32_t r = (int32_t)(int16_t)cpu->r[R_EAX].w * (int16_t)src;
    cpu->r[R_EAX].w = (uint16_t)r;
    cpu->r[R_EDX].w = (uint16_t)((uint32_t)r >> 16);
    FN(mul_flags)(cpu, r & 0xffff, r != (int16_t)r);
#else
    int64_t r = (int64_t)(int32_t)cpu->r[R_EAX].d * (int32_t)src;
    cpu->r[R_EAX].d = (uint32_t)r;
    cpu->r[R_EDX].d = (uint32_t)((uint64_t)r >> 32);
    FN(mul_flags)(cpu, (uint32_t)r, r != (int32_t)r);
#endif
}

static inline void FN(do_div)(X86CPU *cpu, uint32_t src)
{
    if (src == 0) {
        x86_raise0(cpu, EXC_DE);
    }
#if BITS == 8
    uint32_t n = cpu->r[R_EAX].w, q = n / src;
    if (q > 0xff) {
        x86_raise0(cpu, EXC_DE);
    }
    cpu->r[R_EAX].b[0] = q;
    cpu->r[R_EAX].b[1] = n % src;
#elif BITS == 16
    uint32_t n = ((uint32_t)cpu->r[R_EDX].w << 16) | cpu->r[R_EAX].w, q = n / src;
    if (q > 0xffff) {
        x86_raise0(cpu, EXC_DE);
    }
    cpu->r[R_EAX].w = q;
    cpu->r[R_EDX].w = n % src;
#else
    uint64_t n = ((uint64_t)cpu->r[R_EDX].d << 32) | cpu->r[R_EAX].d, q = n / src;
    if (q > 0xffffffffULL) {
        x86_raise0(cpu, EXC_DE);
    }
    cpu->r[R_EAX].d = (uint32_t)q;
    cpu->r[R_EDX].d = (uint32_t)(n % src);
#endif
}

static inline void FN(do_idiv)(X86CPU *cpu, uint32_t src)
{
    if ((src & MASK) == 0) {
        x86_raise0(cpu, EXC_DE);
    }
#if BITS == 8
    int32_t n = (int16_t)cpu->r[R_EAX].w, d = (int8_t)src;
    int32_t q = n / d;
    if (q > 127 || q < -128) {
        x86_raise0(cpu, EXC_DE);
    }
    cpu->r[R_EAX].b[0] = (uint8_t)q;
    cpu->r[R_EAX].b[1] = (uint8_t)(n % d);
#elif BITS == 16
    int32_t n = (int32_t)(((uint32_t)cpu->r[R_EDX].w << 16) | cpu->r[R_EAX].w);
    int32_t d = (int16_t)src;
    if (n == INT32_MIN && d == -1) {
        x86_raise0(cpu, EXC_DE);
    }
    int32_t q = n / d;
    if (q > 32767 || q < -32768) {
        x86_raise0(cpu, EXC_DE);
    }
    cpu->r[R_EAX].w = (uint16_t)q;
    cpu->r[R_EDX].w = (uint16_t)(n % d);
#else
    int64_t n = (int64_t)(((uint64_t)cpu->r[R_EDX].d << 32) | cpu->r[R_EAX].d);
    int64_t d = (int32_t)src;
    if (n == INT64_MIN && d == -1) {
        x86_raise0(cpu, EXC_DE);
    }
    int64_t q = n / d;
    if (q > INT32_MAX || q < INT32_MIN) {
        x86_raise0(cpu, EXC_DE);
    }
    cpu->r[R_EAX].d = (uint32_t)q;
    cpu->r[R_EDX].d = (uint32_t)(n % d);
#endif
}

static HANDLER(HN(mul, r)) { FN(do_mul)(cpu, GET_E_R()); return i + 1; }
static HANDLER(HN(mul, m)) { FN(do_mul)(cpu, GET_E_M()); return i + 1; }
static HANDLER(HN(imul1, r)) { FN(do_imul1)(cpu, GET_E_R()); return i + 1; }
static HANDLER(HN(imul1, m)) { FN(do_imul1)(cpu, GET_E_M()); return i + 1; }
static HANDLER(HN(div, r)) { FN(do_div)(cpu, GET_E_R()); return i + 1; }
static HANDLER(HN(div, m)) { FN(do_div)(cpu, GET_E_M()); return i + 1; }
static HANDLER(HN(idiv, r)) { FN(do_idiv)(cpu, GET_E_R()); return i + 1; }
static HANDLER(HN(idiv, m)) { FN(do_idiv)(cpu, GET_E_M()); return i + 1; }

/* --- XADD, CMPXCHG ------------------------------------------------------------ */
static HANDLER(HN(xadd, r))
{
    uint32_t d = GETR(i->rm), s = GETR(i->reg);
    uint32_t t = FN(alu)(cpu, 0, d, s);
    SETR(i->reg, d);
    SETR(i->rm, t);
    return i + 1;
}
static HANDLER(HN(xadd, m))
{
    uint32_t s = GETR(i->reg), old = 0;
    RMW_M((old = v, FN(alu)(cpu, 0, v, s)));
    SETR(i->reg, old);
    return i + 1;
}
static HANDLER(HN(cmpxchg, r))
{
    uint32_t acc = GETR(R_EAX), d = GETR(i->rm);
    FN(alu)(cpu, 7, acc, d);
    if (acc == d) {
        SETR(i->rm, GETR(i->reg));
    } else {
        SETR(R_EAX, d);
    }
    return i + 1;
}
static HANDLER(HN(cmpxchg, m))
{
    uint32_t acc = GETR(R_EAX), s = GETR(i->reg), old = 0;
    RMW_M((old = v, FN(alu)(cpu, 7, acc, v), acc == v ? s : v));
    if (acc != old) {
        SETR(R_EAX, old);
    }
    return i + 1;
}

#if BITS != 8
/* --- two- and three-operand IMUL -------------------------------------------------- */
static inline uint32_t FN(imul2)(X86CPU *cpu, uint32_t a, uint32_t b)
{
#if BITS == 16
    int32_t r = (int32_t)(int16_t)a * (int16_t)b;
    FN(mul_flags)(cpu, r & 0xffff, r != (int16_t)r);
#else
    int64_t r = (int64_t)(int32_t)a * (int32_t)b;
    FN(mul_flags)(cpu, (uint32_t)r, r != (int32_t)r);
#endif
    return (uint32_t)r & MASK;
}
static HANDLER(HN(imul_ge, r)) { SETR(i->reg, FN(imul2)(cpu, GETR(i->reg), GET_E_R())); return i + 1; }
static HANDLER(HN(imul_ge, m)) { uint32_t m = GET_E_M(); SETR(i->reg, FN(imul2)(cpu, GETR(i->reg), m)); return i + 1; }
static HANDLER(HN(imul_gei, r)) { SETR(i->reg, FN(imul2)(cpu, GET_E_R(), i->imm)); return i + 1; }
static HANDLER(HN(imul_gei, m)) { uint32_t m = GET_E_M(); SETR(i->reg, FN(imul2)(cpu, m, i->imm)); return i + 1; }

/* --- SHLD, SHRD ----------------------------------------------------------------- */
static inline uint32_t FN(shxd)(X86CPU *cpu, bool left, uint32_t d, uint32_t s, uint32_t count)
{
    uint32_t cnt = count & 31, r, cf;
    if (cnt == 0) {
        return d;
    }
#if BITS == 16
    /* Counts above 16 leave the result undefined; shift through the 48-bit
     * pattern d:s:d (SHLD) or d:s:d read from the other end (SHRD). */
    uint64_t w = ((uint64_t)d << 32) | ((uint64_t)s << 16) | d;
    if (left) {
        r = (uint32_t)(w >> (32 - cnt)) & MASK;
        cf = (uint32_t)(w >> (48 - cnt)) & 1;
    } else {
        r = (uint32_t)(w >> cnt) & MASK;
        cf = (uint32_t)(w >> (cnt - 1)) & 1;
    }
#else
    if (left) {
        r = (d << cnt) | (s >> (32 - cnt));
        cf = (d >> (32 - cnt)) & 1;
    } else {
        r = (d >> cnt) | (s << (32 - cnt));
        cf = (d >> (cnt - 1)) & 1;
    }
#endif
    cpu->cc_b = cf;
    cpu->cc_a = ((r ^ d) >> (BITS - 1)) & 1;
    cpu->cc_res = r;
    cpu->cc_op = CC_OP(CCK_SHIFT, SZ);
    return r;
}
static HANDLER(HN(shld, r)) { uint32_t c = FN(count)(cpu, i), s = GETR(i->reg); RMW_R(FN(shxd)(cpu, true, v, s, c)); return i + 1; }
static HANDLER(HN(shld, m)) { uint32_t c = FN(count)(cpu, i), s = GETR(i->reg); RMW_M(FN(shxd)(cpu, true, v, s, c)); return i + 1; }
static HANDLER(HN(shrd, r)) { uint32_t c = FN(count)(cpu, i), s = GETR(i->reg); RMW_R(FN(shxd)(cpu, false, v, s, c)); return i + 1; }
static HANDLER(HN(shrd, m)) { uint32_t c = FN(count)(cpu, i), s = GETR(i->reg); RMW_M(FN(shxd)(cpu, false, v, s, c)); return i + 1; }

/* --- BT, BTS, BTR, BTC -------------------------------------------------------- */
static inline void FN(bt_cf)(X86CPU *cpu, uint32_t bit)
{
    x86_flags_materialize(cpu);
    cpu->eflags = (cpu->eflags & ~FL_CF) | (bit & 1);
}
static inline uint32_t FN(bt_apply)(int op, uint32_t v, uint32_t bit)
{
    uint32_t m = 1u << bit;
    switch (op) {
    case 1: return v | m;
    case 2: return v & ~m;
    case 3: return v ^ m;
    }
    return v;
}
/* Memory form with a register bit offset: the offset is signed and may
 * address outside the operand. */
static inline uint32_t FN(bt_ea)(X86CPU *cpu, X86Insn *i, uint32_t *bit)
{
    int32_t off = (STYPE)GETR(i->reg);
    *bit = (uint32_t)off & (BITS - 1);
    return (x86_ea(cpu, i) + (uint32_t)((off >> (BITS == 16 ? 4 : 5)) * BYTES)) & i->amask;
}
#define DEF_BT(OPN, OPI)                                                    \
static HANDLER(HN(bt_eg_##OPN, r))                                          \
{                                                                           \
    uint32_t bit = GETR(i->reg) & (BITS - 1), v = GETR(i->rm);              \
    FN(bt_cf)(cpu, v >> bit);                                               \
    if (OPI) {                                                              \
        SETR(i->rm, FN(bt_apply)(OPI, v, bit));                             \
    }                                                                       \
    return i + 1;                                                           \
}                                                                           \
static HANDLER(HN(bt_eg_##OPN, m))                                          \
{                                                                           \
    uint32_t bit, ea = FN(bt_ea)(cpu, i, &bit), v;                          \
    if (OPI == 0) {                                                         \
        v = LDM(i->seg, ea);                                                \
    } else {                                                                \
        uint32_t lin = seg_w(cpu, i->seg, ea, BYTES);                       \
        x86_probe_write(cpu, lin, BYTES, cpu->mmu_idx);                     \
        v = x86_ld_slow(cpu, lin, BYTES, cpu->mmu_idx);                     \
        x86_st_slow(cpu, lin, FN(bt_apply)(OPI, v, bit), BYTES, cpu->mmu_idx); \
    }                                                                       \
    FN(bt_cf)(cpu, v >> bit);                                               \
    return i + 1;                                                           \
}                                                                           \
static HANDLER(HN(bt_ei_##OPN, r))                                          \
{                                                                           \
    uint32_t bit = i->imm & (BITS - 1), v = GETR(i->rm);                    \
    FN(bt_cf)(cpu, v >> bit);                                               \
    if (OPI) {                                                              \
        SETR(i->rm, FN(bt_apply)(OPI, v, bit));                             \
    }                                                                       \
    return i + 1;                                                           \
}                                                                           \
static HANDLER(HN(bt_ei_##OPN, m))                                          \
{                                                                           \
    uint32_t bit = i->imm & (BITS - 1), old = 0;                            \
    if (OPI == 0) {                                                         \
        old = GET_E_M();                                                    \
    } else {                                                                \
        RMW_M((old = v, FN(bt_apply)(OPI, v, bit)));                        \
    }                                                                       \
    FN(bt_cf)(cpu, old >> bit);                                             \
    return i + 1;                                                           \
}
DEF_BT(bt, 0)
DEF_BT(bts, 1)
DEF_BT(btr, 2)
DEF_BT(btc, 3)

/* --- BSF, BSR ----------------------------------------------------------------- */
/* Source 0: ZF = 1, destination unchanged; otherwise ZF = 0.  CF, OF, SF,
 * AF and PF are undefined; the LOGIC kind gives ZF from the source. */
static inline void FN(bsx)(X86CPU *cpu, X86Insn *i, uint32_t s, bool rev)
{
    s &= MASK;
    cpu->cc_res = s;
    cpu->cc_op = CC_OP(CCK_LOGIC, SZ);
    if (s) {
        SETR(i->reg, rev ? 31 - __builtin_clz(s) : __builtin_ctz(s));
    }
}
static HANDLER(HN(bsf, r)) { FN(bsx)(cpu, i, GET_E_R(), false); return i + 1; }
static HANDLER(HN(bsf, m)) { FN(bsx)(cpu, i, GET_E_M(), false); return i + 1; }
static HANDLER(HN(bsr, r)) { FN(bsx)(cpu, i, GET_E_R(), true); return i + 1; }
static HANDLER(HN(bsr, m)) { FN(bsx)(cpu, i, GET_E_M(), true); return i + 1; }

/* --- CMOVcc ------------------------------------------------------------------- */
static HANDLER(HN(cmov, r))
{
    if (x86_cond(cpu, i->imm)) {
        SETR(i->reg, GET_E_R());
    }
    return i + 1;
}
static HANDLER(HN(cmov, m))
{
    uint32_t v = GET_E_M();     /* read whatever the condition */
    if (x86_cond(cpu, i->imm)) {
        SETR(i->reg, v);
    }
    return i + 1;
}
#endif /* BITS != 8 */

#undef SZ
#undef BYTES
#undef MASK
#undef SIGNB
#undef STYPE
#undef GETR
#undef SETR
#undef LDM
#undef LDP
#undef STP
#undef DEF_ALU
#undef DEF_SHIFT
#undef DEF_BT
#undef RMW_M
#undef RMW_R
#undef GET_E_R
#undef GET_E_M
#undef HN
#undef HN_
#undef HN_X
#undef FN
#undef FN_
#undef FN_X
