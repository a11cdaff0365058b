/*
 * IEEE 754 binary32/binary64 arithmetic as the SSE/SSE2 unit does it:
 * MXCSR rounding control, denormals-are-zeros, flush-to-zero, x86 NaN
 * rules (first operand's NaN wins, real indefinite for invalid operations),
 * and the split of exception flags into pre-computation (IE, DE, ZE) and
 * post-computation (OE, UE, PE) conditions.  Implemented on integers; the
 * host's floating point is not used.
 * Reference: Intel SDM vol. 1, 4.8 (real numbers, NaNs, rounding), 4.9
 * (floating-point exception conditions, masked responses, tininess after
 * rounding), 10.2.3 (MXCSR, FTZ, DAZ), 11.5 (SIMD floating-point
 * exceptions and their priority); vol. 2 pages of each instruction.
 */
#ifndef VMKEMU_X86_SSE_FLOAT_H
#define VMKEMU_X86_SSE_FLOAT_H

#include <stdbool.h>
#include <stdint.h>

typedef struct X86FpEnv {
    uint32_t mxcsr;     /* control: RC, FZ, DAZ and the exception masks */
    uint32_t pre;       /* IE, DE, ZE found before computing */
    uint32_t post;      /* OE, UE, PE found when rounding */
} X86FpEnv;

/* Results of an ordered comparison. */
enum { X86_FCMP_LT, X86_FCMP_EQ, X86_FCMP_GT, X86_FCMP_UN };

/* Binary32 values travel in uint32_t, binary64 in uint64_t (raw bits). */
uint32_t x86_f32_add(X86FpEnv *e, uint32_t a, uint32_t b);
uint32_t x86_f32_sub(X86FpEnv *e, uint32_t a, uint32_t b);
uint32_t x86_f32_mul(X86FpEnv *e, uint32_t a, uint32_t b);
uint32_t x86_f32_div(X86FpEnv *e, uint32_t a, uint32_t b);
uint32_t x86_f32_sqrt(X86FpEnv *e, uint32_t a);
uint32_t x86_f32_min(X86FpEnv *e, uint32_t a, uint32_t b);     /* MINSS: a < b ? a : b */
uint32_t x86_f32_max(X86FpEnv *e, uint32_t a, uint32_t b);
/* CMPSS predicate 0-7 (EQ LT LE UNORD NEQ NLT NLE ORD). */
bool x86_f32_cmp(X86FpEnv *e, uint32_t a, uint32_t b, int pred);
/* COMISS (signaling: any NaN is invalid) / UCOMISS (only SNaN). */
int x86_f32_compare(X86FpEnv *e, uint32_t a, uint32_t b, bool signaling);
/* RCPSS / RSQRTSS: approximations (relative error below 1.5 * 2^-12), no
 * exceptions; tiny results and denormal inputs are flushed. */
uint32_t x86_f32_rcp(uint32_t a);
uint32_t x86_f32_rsqrt(uint32_t a);
/* CVT(T)SS2SI: 0x80000000 (integer indefinite) with IE when out of range. */
uint32_t x86_f32_to_i32(X86FpEnv *e, uint32_t a, bool truncate);
uint32_t x86_i32_to_f32(X86FpEnv *e, int32_t v);
uint64_t x86_f32_to_f64(X86FpEnv *e, uint32_t a);

uint64_t x86_f64_add(X86FpEnv *e, uint64_t a, uint64_t b);
uint64_t x86_f64_sub(X86FpEnv *e, uint64_t a, uint64_t b);
uint64_t x86_f64_mul(X86FpEnv *e, uint64_t a, uint64_t b);
uint64_t x86_f64_div(X86FpEnv *e, uint64_t a, uint64_t b);
uint64_t x86_f64_sqrt(X86FpEnv *e, uint64_t a);
uint64_t x86_f64_min(X86FpEnv *e, uint64_t a, uint64_t b);
uint64_t x86_f64_max(X86FpEnv *e, uint64_t a, uint64_t b);
bool x86_f64_cmp(X86FpEnv *e, uint64_t a, uint64_t b, int pred);
int x86_f64_compare(X86FpEnv *e, uint64_t a, uint64_t b, bool signaling);
uint32_t x86_f64_to_i32(X86FpEnv *e, uint64_t a, bool truncate);
uint64_t x86_i32_to_f64(int32_t v);
uint32_t x86_f64_to_f32(X86FpEnv *e, uint64_t a);

#endif
