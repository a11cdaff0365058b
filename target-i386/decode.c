/*
 * The instruction decoder: turns guest code bytes into X86Insn records,
 * choosing a handler specialized by operation, operand size and operand form.
 *
 * Reference: Intel SDM vol. 2, chapter 2 (instruction format: prefixes,
 * ModRM, SIB, displacement, immediate; tables 2-1 and 2-2 for the 16- and
 * 32-bit addressing forms) and appendix A (opcode maps, one-byte table A-2,
 * two-byte table A-3, group encodings table A-6).
 */
#include "x86-internal.h"

typedef struct Dec {
    const uint8_t *code;
    uint32_t avail, pos;
    bool short_of_bytes;
    bool end;                   /* the block ends after this instruction */
} Dec;

static inline uint32_t fetch8(Dec *d)
{
    if (d->pos >= d->avail) {
        d->short_of_bytes = true;
        return 0;
    }
    return d->code[d->pos++];
}

static inline uint32_t fetch16(Dec *d)
{
    uint32_t lo = fetch8(d);
    return lo | (fetch8(d) << 8);
}

static inline uint32_t fetch32(Dec *d)
{
    uint32_t lo = fetch16(d);
    return lo | (fetch16(d) << 16);
}

/* One-byte map: which opcodes take a ModRM byte. */
static const uint8_t modrm1[256] = {
    /*       0 1 2 3 4 5 6 7 8 9 a b c d e f */
    /* 0 */  1,1,1,1,0,0,0,0,1,1,1,1,0,0,0,0,
    /* 1 */  1,1,1,1,0,0,0,0,1,1,1,1,0,0,0,0,
    /* 2 */  1,1,1,1,0,0,0,0,1,1,1,1,0,0,0,0,
    /* 3 */  1,1,1,1,0,0,0,0,1,1,1,1,0,0,0,0,
    /* 4 */  0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,
    /* 5 */  0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,
    /* 6 */  0,0,1,1,0,0,0,0,0,1,0,1,0,0,0,0,
    /* 7 */  0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,
    /* 8 */  1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,
    /* 9 */  0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,
    /* a */  0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,
    /* b */  0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,
    /* c */  1,1,0,0,1,1,1,1,0,0,0,0,0,0,0,0,
    /* d */  1,1,1,1,0,0,0,0,1,1,1,1,1,1,1,1,
    /* e */  0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,
    /* f */  0,0,0,0,0,0,1,1,0,0,0,0,0,0,1,1,
};

/* Two-byte map (0F xx). */
static const uint8_t modrm2[256] = {
    /*       0 1 2 3 4 5 6 7 8 9 a b c d e f */
    /* 0 */  1,1,1,1,0,0,0,0,0,0,0,0,0,1,0,1,
    /* 1 */  1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,
    /* 2 */  1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,
    /* 3 */  0,0,0,0,0,0,0,0,1,0,1,0,0,0,0,0,
    /* 4 */  1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,
    /* 5 */  1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,
    /* 6 */  1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,
    /* 7 */  1,1,1,1,1,1,1,0,1,1,1,1,1,1,1,1,
    /* 8 */  0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,
    /* 9 */  1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,
    /* a */  0,0,0,1,1,1,0,0,0,0,0,1,1,1,1,1,
    /* b */  1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,
    /* c */  1,1,1,1,1,1,1,1,0,0,0,0,0,0,0,0,
    /* d */  1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,
    /* e */  1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,
    /* f */  1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,
};

static void decode_modrm_mem(Dec *d, X86Insn *i, int mod, int rm, bool ad16)
{
    static const uint8_t base16[8] = { R_EBX, R_EBX, R_EBP, R_EBP, R_ESI, R_EDI, R_EBP, R_EBX };
    static const uint8_t index16[8] = { R_ESI, R_EDI, R_ESI, R_EDI, R_ZERO, R_ZERO, R_ZERO, R_ZERO };

    i->flags |= IF_MEM;
    i->scale = 0;
    if (ad16) {
        i->amask = 0xffff;
        if (mod == 0 && rm == 6) {
            i->base = R_ZERO;
            i->index = R_ZERO;
            i->disp = fetch16(d);
            i->seg = R_DS;
            return;
        }
        i->base = base16[rm];
        i->index = index16[rm];
        i->seg = (rm == 2 || rm == 3 || rm == 6) ? R_SS : R_DS;
        if (mod == 1) {
            i->disp = (uint32_t)(int8_t)fetch8(d);
        } else if (mod == 2) {
            i->disp = fetch16(d);
        } else {
            i->disp = 0;
        }
        return;
    }
    i->amask = 0xffffffffu;
    i->seg = R_DS;
    if (rm == 4) {
        uint32_t sib = fetch8(d);
        int base = sib & 7, index = (sib >> 3) & 7;
        i->scale = sib >> 6;
        i->index = index == 4 ? R_ZERO : index;
        if (base == 5 && mod == 0) {
            i->base = R_ZERO;
            i->disp = fetch32(d);
            return;
        }
        i->base = base;
        if (base == R_ESP || base == R_EBP) {
            i->seg = R_SS;
        }
    } else if (rm == 5 && mod == 0) {
        i->base = R_ZERO;
        i->index = R_ZERO;
        i->disp = fetch32(d);
        return;
    } else {
        i->base = rm;
        i->index = R_ZERO;
        if (rm == R_EBP) {
            i->seg = R_SS;
        }
    }
    if (mod == 1) {
        i->disp = (uint32_t)(int8_t)fetch8(d);
    } else if (mod == 2) {
        i->disp = fetch32(d);
    } else {
        i->disp = 0;
    }
}

/* May the LOCK prefix precede this (memory-destination) instruction? */
static bool lock_ok(uint32_t op, int reg)
{
    if (op < 0x100) {
        if (op < 0x40 && (op & 7) < 2 && (op & 0x38) != 0x38) {
            return true;                    /* ALU Eb,Gb / Ev,Gv except CMP */
        }
        switch (op) {
        case 0x80: case 0x81: case 0x83:
            return reg != 7;
        case 0x86: case 0x87:
            return true;
        case 0xf6: case 0xf7:
            return reg == 2 || reg == 3;    /* NOT, NEG */
        case 0xfe: case 0xff:
            return reg < 2;
        }
        return false;
    }
    switch (op & 0xff) {
    case 0xab: case 0xb3: case 0xbb: case 0xb0: case 0xb1: case 0xc0: case 0xc1:
        return true;
    case 0xba:
        return reg >= 5;
    case 0xc7:
        return reg == 1;
    }
    return false;
}

/* Decode one instruction at d->pos.  Returns false when the bytes ran out. */
static bool decode_one(Dec *d, uint32_t eip, uint32_t mode, X86Insn *i)
{
    bool code32 = mode & BM_CODE32;
    bool op16 = !code32, ad16 = !code32;
    int seg = -1, rep = 0;
    bool lock = false;
    uint32_t start = d->pos, b, op;

    memset(i, 0, sizeof(*i));
    i->eip = eip;
    i->base = R_ZERO;
    i->index = R_ZERO;
    for (;;) {
        b = fetch8(d);
        if (d->short_of_bytes) {
            return false;
        }
        switch (b) {
        case 0x26: seg = R_ES; continue;
        case 0x2e: seg = R_CS; continue;
        case 0x36: seg = R_SS; continue;
        case 0x3e: seg = R_DS; continue;
        case 0x64: seg = R_FS; continue;
        case 0x65: seg = R_GS; continue;
        case 0x66: op16 = code32; continue;
        case 0x67: ad16 = code32; continue;
        case 0xf0: lock = true; continue;
        case 0xf2: rep = IF_REPNE; continue;
        case 0xf3: rep = IF_REP; continue;
        }
        break;
    }
    op = b;
    if (op == 0x0f) {
        op = 0x100 | fetch8(d);
    }
    i->flags = rep | (lock ? IF_LOCK : 0) | (op16 ? IF_OP16 : 0) | (ad16 ? IF_AD16 : 0);
    i->amask = ad16 ? 0xffff : 0xffffffffu;
    i->seg = R_DS;

    int mod = 3, reg = 0, rm = 0;
    bool has_modrm = op < 0x100 ? modrm1[op] : modrm2[op & 0xff];
    if (has_modrm) {
        uint32_t m = fetch8(d);
        mod = m >> 6;
        reg = (m >> 3) & 7;
        rm = m & 7;
        i->reg = reg;
        if (mod == 3) {
            i->rm = rm;
        } else {
            decode_modrm_mem(d, i, mod, rm, ad16);
        }
    }
    if (seg >= 0) {
        i->seg = seg;
    }
    const int mem = mod != 3;
    const int o = op16 ? 1 : 2;         /* size index of v operands */
    const int o2 = op16 ? 0 : 1;        /* index for 16/32-only tables */
    const int sz = (op & 1) ? o : 0;    /* b/v by opcode bit 0 */
    X86Handler fn = NULL;

#define IMM8S()  ((uint32_t)(int8_t)fetch8(d))
#define IMMV()   (op16 ? fetch16(d) : fetch32(d))
#define IMMSZ(s) ((s) == 0 ? fetch8(d) : (s) == 1 ? fetch16(d) : fetch32(d))
#define REL(v)   (op16 ? ((eip + (d->pos - start) + (v)) & 0xffff) : (eip + (d->pos - start) + (v)))

    if (op < 0x40 && (op & 7) < 6) {
        /* ALU: 00-05 ADD, 08 OR, 10 ADC, 18 SBB, 20 AND, 28 SUB, 30 XOR, 38 CMP */
        int alu = op >> 3;
        switch (op & 7) {
        case 0: case 1:
            fn = x86_h_alu_eg[alu][sz][mem];
            break;
        case 2: case 3:
            fn = x86_h_alu_ge[alu][sz][mem];
            break;
        case 4: case 5:
            i->rm = R_EAX;
            i->imm = IMMSZ(sz);
            fn = x86_h_alu_ei[alu][sz][0];
            break;
        }
        goto done;
    }
    switch (op) {
    /* --- one-byte map ------------------------------------------------------ */
    case 0x06: case 0x0e: case 0x16: case 0x1e:
        i->reg = op >> 3;
        fn = x86_h_push_seg[o2];
        break;
    case 0x07: case 0x17: case 0x1f:
        i->reg = op >> 3;
        fn = x86_h_pop_seg[o2];
        d->end = true;
        break;
    case 0x27: fn = x86_h_daa; break;
    case 0x2f: fn = x86_h_das; break;
    case 0x37: fn = x86_h_aaa; break;
    case 0x3f: fn = x86_h_aas; break;
    case 0x40 ... 0x47:
        i->rm = op & 7;
        fn = x86_h_inc[o][0];
        break;
    case 0x48 ... 0x4f:
        i->rm = op & 7;
        fn = x86_h_dec[o][0];
        break;
    case 0x50 ... 0x57:
        i->reg = op & 7;
        fn = x86_h_push_r[o2];
        break;
    case 0x58 ... 0x5f:
        i->reg = op & 7;
        fn = x86_h_pop_r[o2];
        break;
    case 0x60: fn = x86_h_pusha[o2]; break;
    case 0x61: fn = x86_h_popa[o2]; break;
    case 0x62:
        fn = !mem ? x86_h_ud : op16 ? x86_h_bound16 : x86_h_bound32;
        break;
    case 0x63: fn = x86_h_arpl; break;
    case 0x68:
        i->imm = IMMV();
        fn = x86_h_push_i[o2];
        break;
    case 0x69:
        i->imm = IMMV();
        fn = x86_h_imul_gei[o2][mem];
        break;
    case 0x6a:
        i->imm = IMM8S();
        fn = x86_h_push_i[o2];
        break;
    case 0x6b:
        i->imm = IMM8S();
        fn = x86_h_imul_gei[o2][mem];
        break;
    case 0x6c: case 0x6d:
        fn = x86_h_ins[sz];
        break;
    case 0x6e: case 0x6f:
        fn = x86_h_outs[sz];
        d->end = true;
        break;
    case 0x70 ... 0x7f: {
        uint32_t rel = IMM8S();
        i->imm = REL(rel);
        fn = x86_h_jcc[op & 15];
        break;
    }
    case 0x80: case 0x82:
        i->imm = fetch8(d);
        fn = x86_h_alu_ei[reg][0][mem];
        break;
    case 0x81:
        i->imm = IMMV();
        fn = x86_h_alu_ei[reg][o][mem];
        break;
    case 0x83:
        i->imm = IMM8S() & (op16 ? 0xffff : 0xffffffffu);
        fn = x86_h_alu_ei[reg][o][mem];
        break;
    case 0x84: case 0x85:
        fn = x86_h_test_eg[sz][mem];
        break;
    case 0x86: case 0x87:
        fn = x86_h_xchg[sz][mem];
        break;
    case 0x88: case 0x89:
        fn = x86_h_mov_eg[sz][mem];
        break;
    case 0x8a: case 0x8b:
        fn = x86_h_mov_ge[sz][mem];
        break;
    case 0x8c:
        fn = reg > 5 ? x86_h_ud : x86_h_mov_sreg_store[mem ? 0 : o2];
        break;
    case 0x8d:
        fn = mem ? x86_h_lea[o2] : x86_h_ud;
        break;
    case 0x8e:
        fn = (reg > 5 || reg == R_CS) ? x86_h_ud : x86_h_mov_sreg_load[mem];
        if (reg == R_SS) {
            d->end = true;
        }
        break;
    case 0x8f:
        fn = reg == 0 ? x86_h_pop_e[o2][mem] : x86_h_ud;
        break;
    case 0x90:
        fn = rep == IF_REP ? x86_h_pause : x86_h_nop;
        break;
    case 0x91 ... 0x97:
        i->reg = op & 7;
        i->rm = R_EAX;
        fn = x86_h_xchg[o][0];
        break;
    case 0x98: fn = op16 ? x86_h_cbw : x86_h_cwde; break;
    case 0x99: fn = op16 ? x86_h_cwd : x86_h_cdq; break;
    case 0x9a:
        i->imm = IMMV();
        i->imm2 = fetch16(d);
        fn = x86_h_callf_ptr;
        d->end = true;
        break;
    case 0x9b: fn = x86_h_fpu; i->reg = 0xff; break;     /* WAIT */
    case 0x9c: fn = x86_h_pushf[o2]; break;
    case 0x9d: fn = x86_h_popf[o2]; d->end = true; break;
    case 0x9e: fn = x86_h_sahf; break;
    case 0x9f: fn = x86_h_lahf; break;
    case 0xa0: case 0xa1: case 0xa2: case 0xa3:
        i->disp = ad16 ? fetch16(d) : fetch32(d);
        i->flags |= IF_MEM;
        fn = (op & 2) ? x86_h_mov_moffs_store[sz] : x86_h_mov_moffs_load[sz];
        break;
    case 0xa4: case 0xa5: fn = x86_h_movs[sz]; break;
    case 0xa6: case 0xa7: fn = x86_h_cmps[sz]; break;
    case 0xa8: case 0xa9:
        i->rm = R_EAX;
        i->imm = IMMSZ(sz);
        fn = x86_h_test_ei[sz][0];
        break;
    case 0xaa: case 0xab: fn = x86_h_stos[sz]; break;
    case 0xac: case 0xad: fn = x86_h_lods[sz]; break;
    case 0xae: case 0xaf: fn = x86_h_scas[sz]; break;
    case 0xb0 ... 0xb7:
        i->rm = op & 7;
        i->imm = fetch8(d);
        fn = x86_h_mov_ei[0][0];
        break;
    case 0xb8 ... 0xbf:
        i->rm = op & 7;
        i->imm = IMMV();
        fn = x86_h_mov_ei[o][0];
        break;
    case 0xc0: case 0xc1:
        i->imm = fetch8(d);
        fn = x86_h_grp2[reg][sz][mem];
        break;
    case 0xc2:
        i->imm = fetch16(d);
        fn = x86_h_ret_imm[o2];
        d->end = true;
        break;
    case 0xc3:
        fn = x86_h_ret[o2];
        d->end = true;
        break;
    case 0xc4: case 0xc5:
        i->imm2 = op == 0xc4 ? R_ES : R_DS;
        fn = mem ? x86_h_lxs[o2] : x86_h_ud;
        break;
    case 0xc6: case 0xc7:
        i->imm = IMMSZ(sz);
        fn = reg == 0 ? x86_h_mov_ei[sz][mem] : x86_h_ud;
        break;
    case 0xc8:
        i->imm = fetch16(d);
        i->imm2 = fetch8(d);
        fn = x86_h_enter[o2];
        break;
    case 0xc9: fn = x86_h_leave[o2]; break;
    case 0xca:
        i->imm = fetch16(d);
        fn = x86_h_retf[o2];
        d->end = true;
        break;
    case 0xcb:
        fn = x86_h_retf[o2];
        d->end = true;
        break;
    case 0xcc: fn = x86_h_int3; d->end = true; break;
    case 0xcd: i->imm = fetch8(d); fn = x86_h_int; d->end = true; break;
    case 0xce: fn = x86_h_into; d->end = true; break;
    case 0xcf: fn = x86_h_iret[o2]; d->end = true; break;
    case 0xd0: case 0xd1:
        i->imm = 1;
        fn = x86_h_grp2[reg][sz][mem];
        break;
    case 0xd2: case 0xd3:
        i->imm = 0x100;
        fn = x86_h_grp2[reg][sz][mem];
        break;
    case 0xd4: i->imm = fetch8(d); fn = x86_h_aam; break;
    case 0xd5: i->imm = fetch8(d); fn = x86_h_aad; break;
    case 0xd6: fn = x86_h_salc; break;
    case 0xd7:
        fn = x86_h_xlat;
        i->flags |= IF_MEM;
        i->base = R_EBX;
        break;
    case 0xd8 ... 0xdf:
        i->imm = op;
        fn = x86_h_fpu;
        break;
    case 0xe0: case 0xe1: case 0xe2: case 0xe3: {
        uint32_t rel = IMM8S();
        i->imm = REL(rel);
        fn = x86_h_loop[op & 3];
        break;
    }
    case 0xe4: case 0xe5:
        i->imm = fetch8(d);
        fn = x86_h_in_imm[sz];
        break;
    case 0xe6: case 0xe7:
        i->imm = fetch8(d);
        fn = x86_h_out_imm[sz];
        d->end = true;
        break;
    case 0xe8: {
        uint32_t rel = IMMV();
        i->imm = REL(rel);
        fn = x86_h_call_rel[o2];
        d->end = true;
        break;
    }
    case 0xe9: case 0xeb: {
        uint32_t rel = op == 0xeb ? IMM8S() : IMMV();
        i->imm = REL(rel);
        fn = x86_h_jmp;
        d->end = true;
        break;
    }
    case 0xea:
        i->imm = IMMV();
        i->imm2 = fetch16(d);
        fn = x86_h_jmpf_ptr;
        d->end = true;
        break;
    case 0xec: case 0xed:
        fn = x86_h_in_dx[sz];
        break;
    case 0xee: case 0xef:
        fn = x86_h_out_dx[sz];
        d->end = true;
        break;
    case 0xf1: fn = x86_h_icebp; d->end = true; break;
    case 0xf4: fn = x86_h_hlt; d->end = true; break;
    case 0xf5: fn = x86_h_cmc; break;
    case 0xf6: case 0xf7:
        switch (reg) {
        case 0: case 1:
            i->imm = IMMSZ(sz);
            fn = x86_h_test_ei[sz][mem];
            break;
        case 2: fn = x86_h_not[sz][mem]; break;
        case 3: fn = x86_h_neg[sz][mem]; break;
        case 4: fn = x86_h_mul[sz][mem]; break;
        case 5: fn = x86_h_imul1[sz][mem]; break;
        case 6: fn = x86_h_div[sz][mem]; break;
        case 7: fn = x86_h_idiv[sz][mem]; break;
        }
        break;
    case 0xf8: fn = x86_h_clc; break;
    case 0xf9: fn = x86_h_stc; break;
    case 0xfa: fn = x86_h_cli; break;
    case 0xfb: fn = x86_h_sti; d->end = true; break;
    case 0xfc: fn = x86_h_cld; break;
    case 0xfd: fn = x86_h_std; break;
    case 0xfe:
        fn = reg == 0 ? x86_h_inc[0][mem] : reg == 1 ? x86_h_dec[0][mem] : x86_h_ud;
        break;
    case 0xff:
        switch (reg) {
        case 0: fn = x86_h_inc[o][mem]; break;
        case 1: fn = x86_h_dec[o][mem]; break;
        case 2: fn = x86_h_call_e[o2][mem]; d->end = true; break;
        case 3: fn = mem ? x86_h_callf_e[o2] : x86_h_ud; d->end = true; break;
        case 4: fn = x86_h_jmp_e[o2][mem]; d->end = true; break;
        case 5: fn = mem ? x86_h_jmpf_e[o2] : x86_h_ud; d->end = true; break;
        case 6: fn = x86_h_push_e[o2]; if (!mem) { i->reg = rm; fn = x86_h_push_r[o2]; } break;
        default: fn = x86_h_ud; break;
        }
        break;

    /* --- two-byte map ----------------------------------------------------- */
    case 0x100:
        fn = x86_h_grp6;
        if (reg == 2 || reg == 3) {
            d->end = true;          /* LLDT, LTR */
        }
        break;
    case 0x101:
        if (!mem && reg != 4 && reg != 6) {
            fn = x86_h_ud;          /* VMX/MONITOR/SWAPGS... not implemented */
        } else {
            fn = x86_h_grp7;
            d->end = true;
        }
        break;
    case 0x102: fn = x86_h_lar; break;
    case 0x103: fn = x86_h_lsl; break;
    case 0x106: fn = x86_h_clts; d->end = true; break;
    case 0x108: case 0x109: fn = x86_h_invd; break;
    case 0x10b: case 0x1b9: fn = x86_h_ud; break;      /* UD2, UD1 */
    case 0x118 ... 0x11f:
        fn = x86_h_nop;             /* hint NOPs (P6), PREFETCHh */
        break;
    case 0x120:
        fn = x86_h_mov_r_cr;
        break;
    case 0x121:
        fn = x86_h_mov_r_dr;
        break;
    case 0x122:
        fn = x86_h_mov_cr_r;
        d->end = true;
        break;
    case 0x123:
        fn = x86_h_mov_dr_r;
        d->end = true;
        break;
    case 0x130: fn = x86_h_wrmsr; d->end = true; break;
    case 0x131: fn = x86_h_rdtsc; break;
    case 0x132: fn = x86_h_rdmsr; break;
    case 0x133: fn = x86_h_rdpmc; break;
    case 0x134: fn = x86_h_sysenter; d->end = true; break;
    case 0x135: fn = x86_h_sysexit; d->end = true; break;
    case 0x140 ... 0x14f:
        i->imm = op & 15;
        fn = x86_h_cmov[o2][mem];
        break;
    case 0x180 ... 0x18f: {
        uint32_t rel = IMMV();
        i->imm = REL(rel);
        fn = x86_h_jcc[op & 15];
        break;
    }
    case 0x190 ... 0x19f:
        i->imm = op & 15;
        fn = x86_h_setcc[mem];
        break;
    case 0x1a0: case 0x1a8:
        i->reg = op == 0x1a0 ? R_FS : R_GS;
        fn = x86_h_push_seg[o2];
        break;
    case 0x1a1: case 0x1a9:
        i->reg = op == 0x1a1 ? R_FS : R_GS;
        fn = x86_h_pop_seg[o2];
        break;
    case 0x1a2: fn = x86_h_cpuid; break;
    case 0x1a3: fn = x86_h_bt_eg[0][o2][mem]; break;
    case 0x1ab: fn = x86_h_bt_eg[1][o2][mem]; break;
    case 0x1b3: fn = x86_h_bt_eg[2][o2][mem]; break;
    case 0x1bb: fn = x86_h_bt_eg[3][o2][mem]; break;
    case 0x1a4: i->imm = fetch8(d); fn = x86_h_shld[o2][mem]; break;
    case 0x1a5: i->imm = 0x100; fn = x86_h_shld[o2][mem]; break;
    case 0x1ac: i->imm = fetch8(d); fn = x86_h_shrd[o2][mem]; break;
    case 0x1ad: i->imm = 0x100; fn = x86_h_shrd[o2][mem]; break;
    case 0x1af: fn = x86_h_imul_ge[o2][mem]; break;
    case 0x1b0: case 0x1b1: fn = x86_h_cmpxchg[sz][mem]; break;
    case 0x1b2: case 0x1b4: case 0x1b5:
        i->imm2 = op == 0x1b2 ? R_SS : op == 0x1b4 ? R_FS : R_GS;
        fn = mem ? x86_h_lxs[o2] : x86_h_ud;
        if (op == 0x1b2) {
            d->end = true;
        }
        break;
    case 0x1b6: fn = x86_h_movzx8[o2][mem]; break;
    case 0x1b7: fn = op16 ? x86_h_mov_ge[1][mem] : x86_h_movzx16[mem]; break;
    case 0x1ba:
        if (reg < 4) {
            fn = x86_h_ud;
        } else {
            i->imm = fetch8(d);
            fn = x86_h_bt_ei[reg - 4][o2][mem];
        }
        break;
    case 0x1bc: fn = x86_h_bsf[o2][mem]; break;
    case 0x1bd: fn = x86_h_bsr[o2][mem]; break;
    case 0x1be: fn = x86_h_movsx8[o2][mem]; break;
    case 0x1bf: fn = op16 ? x86_h_mov_ge[1][mem] : x86_h_movsx16[mem]; break;
    case 0x1c0: case 0x1c1: fn = x86_h_xadd[sz][mem]; break;
    case 0x1c7:
        fn = (reg == 1 && mem) ? x86_h_cmpxchg8b : x86_h_ud;
        break;
    case 0x1c8 ... 0x1cf:
        i->rm = op & 7;
        fn = op16 ? x86_h_ud : x86_h_bswap;     /* 16-bit BSWAP is undefined */
        break;
    default: {
        /* MMX, SSE, SSE2 and the rest of the 0F map (sse.c). */
        bool imm8 = false;
        unsigned pfx = rep == IF_REPNE ? 3 : rep ? 2 : op16 == code32;    /* F2 F3 66 */
        fn = op < 0x100 ? x86_h_ud : x86_sse_decode(i, op & 0xff, pfx, mem, &imm8);
        if (imm8) {
            i->imm = fetch8(d);
        }
        break;
    }
    }

done:
    if (d->short_of_bytes) {
        return false;
    }
    if (lock && (!mem || !lock_ok(op, reg))) {
        fn = x86_h_ud;
    }
    i->len = d->pos - start;
    if (i->len > 15) {
        fn = x86_h_gp0;
    }
    i->fn = fn;
    if (fn == x86_h_ud || fn == x86_h_gp0) {
        d->end = true;
    }
    return true;
#undef IMM8S
#undef IMMV
#undef IMMSZ
#undef REL
}

int x86_decode_block(X86CPU *cpu, uint32_t eip, uint32_t mode, const uint8_t *code,
                     uint32_t avail, X86Insn *out, int max, uint32_t *bytes)
{
    Dec d = { .code = code, .avail = avail };
    uint32_t mask = (mode & BM_CODE32) ? 0xffffffffu : 0xffffu;
    int n = 0;

    (void)cpu;
    while (n < max) {
        uint32_t pos = d.pos;
        d.short_of_bytes = false;
        if (!decode_one(&d, eip, mode, &out[n])) {
            d.pos = pos;
            break;
        }
        eip = (eip + out[n].len) & mask;
        n++;
        if (d.end) {
            break;
        }
    }
    *bytes = d.pos;
    if (n > 0) {
        /* The terminator: continue at the next instruction. */
        memset(&out[n], 0, sizeof(out[n]));
        out[n].fn = x86_h_block_end;
        out[n].eip = eip;
    }
    return n;
}
