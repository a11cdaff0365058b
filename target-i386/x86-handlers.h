/*
 * The instruction handlers the decoder picks from.  Tables are indexed
 * [operation][size][form]: size 0/1/2 = 8/16/32-bit operands (16/32 only
 * where byte forms do not exist: index 0/1 = 16/32), form 0 = register,
 * 1 = memory operand.  Operation numbers follow the ModRM.reg encoding of
 * the opcode group (Intel SDM vol. 2, table A-6).
 */
#ifndef VMKEMU_X86_HANDLERS_H
#define VMKEMU_X86_HANDLERS_H

typedef X86Handler HT3[3][2];       /* [size 8/16/32][form] */
typedef X86Handler HT2[2][2];       /* [size 16/32][form] */

/* ops-alu.c */
extern const X86Handler x86_h_alu_eg[8][3][2];  /* E = E op G */
extern const X86Handler x86_h_alu_ge[8][3][2];  /* G = G op E */
extern const X86Handler x86_h_alu_ei[8][3][2];  /* E = E op imm */
extern const HT3 x86_h_test_eg, x86_h_test_ei;
extern const X86Handler x86_h_grp2[8][3][2];     /* imm: count, 0x100 = CL */
extern const HT3 x86_h_not, x86_h_neg, x86_h_mul, x86_h_imul1, x86_h_div,
                 x86_h_idiv, x86_h_inc, x86_h_dec;
extern const HT2 x86_h_imul_ge, x86_h_imul_gei;
extern const HT2 x86_h_shld, x86_h_shrd;         /* imm: count, 0x100 = CL */
extern const X86Handler x86_h_bt_eg[4][2][2];    /* BT BTS BTR BTC */
extern const X86Handler x86_h_bt_ei[4][2][2];
extern const HT2 x86_h_bsf, x86_h_bsr;
extern const HT3 x86_h_xadd, x86_h_cmpxchg;
extern const HT2 x86_h_cmov;                     /* imm: condition */

/* ops-data.c */
extern const HT3 x86_h_mov_eg, x86_h_mov_ge, x86_h_mov_ei, x86_h_xchg;
extern const X86Handler x86_h_mov_moffs_load[3], x86_h_mov_moffs_store[3];
extern const HT2 x86_h_movzx8, x86_h_movsx8;     /* [dest 16/32][form] */
extern const X86Handler x86_h_movzx16[2], x86_h_movsx16[2];    /* dest 32 */
extern const X86Handler x86_h_lea[2];
extern const X86Handler x86_h_setcc[2];          /* imm: condition */
extern const X86Handler x86_h_push_r[2], x86_h_pop_r[2], x86_h_push_i[2];
extern const X86Handler x86_h_push_e[2], x86_h_pop_e[2][2];
extern const X86Handler x86_h_push_seg[2], x86_h_pop_seg[2];   /* reg: sreg */
extern const X86Handler x86_h_pusha[2], x86_h_popa[2], x86_h_pushf[2], x86_h_popf[2];
extern const X86Handler x86_h_enter[2], x86_h_leave[2];
extern const X86Handler x86_h_movs[3], x86_h_cmps[3], x86_h_stos[3], x86_h_lods[3],
                        x86_h_scas[3], x86_h_ins[3], x86_h_outs[3];
extern const X86Handler x86_h_mov_sreg_load[2], x86_h_mov_sreg_store[2];
extern const X86Handler x86_h_lxs[2];            /* LES/LDS/LSS/LFS/LGS: reg2 = sreg */
HANDLER(x86_h_nop);
HANDLER(x86_h_pause);
HANDLER(x86_h_cbw);
HANDLER(x86_h_cwde);
HANDLER(x86_h_cwd);
HANDLER(x86_h_cdq);
HANDLER(x86_h_sahf);
HANDLER(x86_h_lahf);
HANDLER(x86_h_xlat);
HANDLER(x86_h_bswap);
HANDLER(x86_h_cmpxchg8b);
HANDLER(x86_h_salc);
HANDLER(x86_h_daa);
HANDLER(x86_h_das);
HANDLER(x86_h_aaa);
HANDLER(x86_h_aas);
HANDLER(x86_h_aam);
HANDLER(x86_h_aad);
HANDLER(x86_h_clc);
HANDLER(x86_h_stc);
HANDLER(x86_h_cmc);
HANDLER(x86_h_cld);
HANDLER(x86_h_std);
HANDLER(x86_h_bound16);
HANDLER(x86_h_bound32);

/* ops-ctrl.c */
extern const X86Handler x86_h_jcc[16];    /* imm: target */
HANDLER(x86_h_jmp);                 /* imm: target */
extern const X86Handler x86_h_call_rel[2];
extern const X86Handler x86_h_ret[2], x86_h_ret_imm[2];
extern const HT2 x86_h_jmp_e, x86_h_call_e;
extern const X86Handler x86_h_loop[4];          /* LOOPNE LOOPE LOOP JCXZ */
HANDLER(x86_h_jmpf_ptr);            /* imm: offset, imm2: selector */
HANDLER(x86_h_callf_ptr);
extern const X86Handler x86_h_jmpf_e[2], x86_h_callf_e[2];
extern const X86Handler x86_h_retf[2], x86_h_iret[2];
HANDLER(x86_h_int);
HANDLER(x86_h_int3);
HANDLER(x86_h_into);
HANDLER(x86_h_icebp);
HANDLER(x86_h_block_end);           /* fall off the end of a block */

/* ops-sys.c */
HANDLER(x86_h_ud);
HANDLER(x86_h_gp0);
HANDLER(x86_h_fpu);                 /* x87 escape: #NM / #UD until x87 lands */
HANDLER(x86_h_hlt);
HANDLER(x86_h_cli);
HANDLER(x86_h_sti);
extern const X86Handler x86_h_in_imm[3], x86_h_out_imm[3], x86_h_in_dx[3], x86_h_out_dx[3];
HANDLER(x86_h_cpuid);
HANDLER(x86_h_rdtsc);
HANDLER(x86_h_rdmsr);
HANDLER(x86_h_wrmsr);
HANDLER(x86_h_rdpmc);
HANDLER(x86_h_mov_r_cr);
HANDLER(x86_h_mov_cr_r);
HANDLER(x86_h_mov_r_dr);
HANDLER(x86_h_mov_dr_r);
HANDLER(x86_h_clts);
HANDLER(x86_h_invd);
HANDLER(x86_h_invlpg);
HANDLER(x86_h_grp6);                /* 0F 00: reg selects SLDT..VERW */
HANDLER(x86_h_grp7);                /* 0F 01: SGDT..INVLPG (mem forms) */
HANDLER(x86_h_lar);
HANDLER(x86_h_lsl);
HANDLER(x86_h_arpl);
HANDLER(x86_h_sysenter);
HANDLER(x86_h_sysexit);

#endif
