/*
 * The emulator's integer instructions checked against the host CPU.
 *
 * For every instruction form in the table below (8-, 16- and 32-bit
 * operands, register and memory forms) random inputs run twice: natively,
 * as the same instruction bytes executed in 32-bit compatibility mode on the
 * x86-64 host (a far return to the 32-bit user code selector, flags loaded
 * with POPFD and captured with PUSHFD), and in target-i386 on the same
 * registers, flags and memory.  Results, memory and every architecturally
 * defined flag must match; flags the SDM leaves undefined for the form (and
 * inputs) are masked.  Faults match too (SIGFPE = #DE, SIGILL = #UD).
 *
 * VMKEMU_X86_CASES sets the cases per form (default 100; the acceptance
 * runs use 10000 or more).  VMKEMU_X86_SEED fixes the random seed.
 */
#include <glib.h>
#include <setjmp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <math.h>
#include <string.h>
#include <sys/mman.h>
#include "memory.h"
#include "x86-cpu.h"
#include "x86-regs.h"

/* Low memory shared by the native stub and the emulated flat memory. */
#define LOW_BASE    0x40000000u
#define LOW_SIZE    0x00010000u
#define STATE_ADDR  (LOW_BASE + 0x0000)
#define FPU_IN      (LOW_BASE + 0x0100)     /* FRSTOR image, 108 bytes */
#define FPU_OUT     (LOW_BASE + 0x0200)     /* FNSAVE image */
#define CODE_ADDR   (LOW_BASE + 0x1000)
#define RET64_ADDR  (LOW_BASE + 0x1800)
#define EMU_CODE    (LOW_BASE + 0x2000)
#define CMP_LO      (LOW_BASE + 0x4000)     /* compared after each case */
#define DATA_ADDR   (LOW_BASE + 0x5000)
#define TEST_ESP    (LOW_BASE + 0x6800)
#define CMP_HI      (LOW_BASE + 0x7000)
#define STUB_STACK  (LOW_BASE + 0x9000)

/* State block at STATE_ADDR (offsets used by the stub below). */
typedef struct NativeState {
    uint32_t in[8];         /* 0x00 EAX..EDI */
    uint32_t in_flags;      /* 0x20 */
    uint32_t out[8];        /* 0x24 */
    uint32_t out_flags;     /* 0x44 */
    uint32_t save_esp32;    /* 0x48 */
    uint32_t pad;
    uint64_t save_rsp;      /* 0x50 */
} NativeState;

extern const char stub_pro_begin[], stub_entry32[], stub_pro_end[];
extern const char stub_epi_begin[], stub_epi_end[];
extern const char stub_ret64_begin[], stub_ret64_end[];

__asm__(
    ".text\n"
    "stub_pro_begin:\n"
    ".code64\n"
    "  push %rbx\n  push %rbp\n  push %r12\n  push %r13\n  push %r14\n  push %r15\n"
    "  mov %rsp, 0x40000050\n"
    "  mov $0x40009000, %esp\n"
    "  pushq $0x23\n"
    "  pushq $0x40001000 + (stub_entry32 - stub_pro_begin)\n"
    "  lretq\n"
    ".code32\n"
    "stub_entry32:\n"
    "  mov $0x2b, %eax\n  mov %eax, %ds\n  mov %eax, %es\n"
    "  mov %esp, 0x40000048\n"
    "  frstor 0x40000100\n"
    "  pushl 0x40000020\n  popfl\n"
    "  mov 0x40000000, %eax\n  mov 0x40000004, %ecx\n  mov 0x40000008, %edx\n"
    "  mov 0x4000000c, %ebx\n  mov 0x40000014, %ebp\n"
    "  mov 0x40000018, %esi\n  mov 0x4000001c, %edi\n  mov 0x40000010, %esp\n"
    "stub_pro_end:\n"
    "stub_epi_begin:\n"
    "  mov %eax, 0x40000024\n  mov %ecx, 0x40000028\n  mov %edx, 0x4000002c\n"
    "  mov %ebx, 0x40000030\n  mov %esp, 0x40000034\n  mov %ebp, 0x40000038\n"
    "  mov %esi, 0x4000003c\n  mov %edi, 0x40000040\n"
    "  fnsave 0x40000200\n"
    "  mov 0x40000048, %esp\n"
    "  pushfl\n  popl 0x40000044\n"
    "  cld\n"
    "  pushl $0x33\n  pushl $0x40001800\n  lret\n"
    "stub_epi_end:\n"
    ".code64\n"
    "stub_ret64_begin:\n"
    "  mov 0x40000050, %rsp\n"
    "  pop %r15\n  pop %r14\n  pop %r13\n  pop %r12\n  pop %rbp\n  pop %rbx\n"
    "  ret\n"
    "stub_ret64_end:\n"
);

static uint8_t *low;                /* the native low mapping */
static sigjmp_buf native_jmp;
static volatile int native_sig;
static bool compat_ok;

static void on_signal(int sig, siginfo_t *si, void *uc)
{
    (void)si;
    (void)uc;
    native_sig = sig;
    siglongjmp(native_jmp, 1);
}

static void setup_native(void)
{
    low = mmap((void *)(uintptr_t)LOW_BASE, LOW_SIZE, PROT_READ | PROT_WRITE | PROT_EXEC,
               MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0);
    if (low == MAP_FAILED || low != (uint8_t *)(uintptr_t)LOW_BASE) {
        return;
    }
    memcpy(low + (RET64_ADDR - LOW_BASE), stub_ret64_begin, stub_ret64_end - stub_ret64_begin);
    /* An FNINIT state for the integer tests (the stub always FRSTORs). */
    uint32_t init_env[7] = { 0xffff037f, 0xffff0000, 0xffffffff, 0, 0, 0, 0 };
    memcpy(low + (FPU_IN - LOW_BASE), init_env, sizeof(init_env));
    static uint8_t altstack[65536];
    stack_t ss = { .ss_sp = altstack, .ss_size = sizeof(altstack) };
    sigaltstack(&ss, NULL);
    struct sigaction sa = { 0 };
    sa.sa_sigaction = on_signal;
    sa.sa_flags = SA_SIGINFO | SA_ONSTACK | SA_NODEFER;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGFPE, &sa, NULL);
    sigaction(SIGILL, &sa, NULL);
    sigaction(SIGSEGV, &sa, NULL);
    sigaction(SIGBUS, &sa, NULL);
    sigaction(SIGTRAP, &sa, NULL);
    compat_ok = true;
}

/* Run `insn` natively; returns the exception vector or -1. */
static int run_native(const uint8_t *insn, int len, const uint32_t in[8], uint32_t flags,
                      uint32_t out[8], uint32_t *out_flags)
{
    NativeState *st = (NativeState *)(low + (STATE_ADDR - LOW_BASE));
    uint8_t *code = low + (CODE_ADDR - LOW_BASE);
    size_t pro = stub_pro_end - stub_pro_begin, epi = stub_epi_end - stub_epi_begin;

    memcpy(code, stub_pro_begin, pro);
    memcpy(code + pro, insn, len);
    memcpy(code + pro + len, stub_epi_begin, epi);
    memcpy(st->in, in, sizeof(st->in));
    st->in_flags = flags;
    native_sig = 0;
    if (sigsetjmp(native_jmp, 1) == 0) {
        ((void (*)(void))code)();
    }
    if (native_sig) {
        __asm__ volatile("cld");
        switch (native_sig) {
        case SIGFPE: return 0;
        case SIGILL: return 6;
        case SIGTRAP: return 1;
        default: return 13;
        }
    }
    memcpy(out, st->out, sizeof(st->out));
    *out_flags = st->out_flags;
    return -1;
}

/* --- the emulated side ------------------------------------------------------ */

static uint8_t *emu_ram;
static AddressSpace *emu_as;
static X86CPU *emu_cpu;
/* VMKEMU_X86_JIT_THRESHOLD=0 (translate every block): run each form as
 * the block "insn; hlt" instead of single-stepping it, so that it goes
 * through the JIT (single-step blocks are never translated). */
static bool emu_block_mode;

static void setup_emu(void)
{
    emu_ram = g_malloc0(LOW_SIZE);
    emu_as = as_new();
    as_add_ram(emu_as, "low", LOW_BASE, LOW_SIZE, emu_ram);
    X86CPUBus bus = { .as = emu_as };
    emu_cpu = x86_cpu_new(&bus);
    x86_cpu_set_single_step(emu_cpu, true);
    x86_cpu_set_exception_exit(emu_cpu, true);
    const char *th = getenv("VMKEMU_X86_JIT_THRESHOLD");
    emu_block_mode = x86_cpu_jit_enabled(emu_cpu) && th && strcmp(th, "0") == 0;
}

static int run_emu(const uint8_t *insn, int len, const uint32_t in[8], uint32_t flags,
                   uint32_t out[8], uint32_t *out_flags)
{
    X86Registers r;
    memcpy(emu_ram + (EMU_CODE - LOW_BASE), insn, len);
    emu_ram[EMU_CODE - LOW_BASE + len] = 0xf4;
    x86_cpu_invalidate_phys(emu_cpu, EMU_CODE, len + 1);
    x86_regs_flat32(&r, 0x23, 0x2b);
    for (int k = 0; k < 8; k++) {
        r.gpr[k] = in[k];
    }
    r.rip = EMU_CODE;
    r.rflags = flags;
    x86_cpu_set_regs(emu_cpu, &r);
    X86Exit e;
    if (emu_block_mode) {
        x86_cpu_set_single_step(emu_cpu, false);
        e = x86_cpu_exec(emu_cpu, 1000);
        x86_cpu_set_single_step(emu_cpu, true);
        if (e == X86_EXIT_HLT) {
            x86_cpu_get_regs(emu_cpu, &r);
            if (r.rip == EMU_CODE + (uint32_t)len + 1) {
                r.rip--;                    /* as if it stopped before the HLT */
                x86_cpu_set_regs(emu_cpu, &r);
            }
        }
    } else {
        e = x86_cpu_exec(emu_cpu, 1);
    }
    if (e == X86_EXIT_EXCEPTION) {
        int vec, err;
        x86_cpu_last_exception(emu_cpu, &vec, &err);
        return vec;
    }
    x86_cpu_get_regs(emu_cpu, &r);
    for (int k = 0; k < 8; k++) {
        out[k] = (uint32_t)r.gpr[k];
    }
    *out_flags = (uint32_t)r.rflags;
    if (r.rip != EMU_CODE + (uint32_t)len) {
        fprintf(stderr, "# emu rip %08llx exit %d\n", (unsigned long long)r.rip, e);
        return 100;         /* wrong length decoded */
    }
    return -1;
}

/* --- forms -------------------------------------------------------------------- */

#define CF 0x001u
#define PF 0x004u
#define AF 0x010u
#define ZF 0x040u
#define SF 0x080u
#define OF 0x800u
#define ARITH (CF | PF | AF | ZF | SF | OF)

enum { M_NONE, M_RR, M_MEM, M_BOTH };       /* ModRM operand kinds */
enum {                                      /* special handling */
    S_NONE, S_SHIFT, S_ROT, S_SHXD, S_BSX, S_STRING, S_STACK, S_ENTER, S_BCD_AAM,
    S_DIV, S_BTMEM,
};

typedef struct Form {
    const char *name;
    uint8_t op[3];
    int oplen;
    int size;               /* 8, 16, 32 (16 adds 0x66) */
    int modrm;              /* M_* */
    int digit;              /* ModRM.reg for group opcodes, -1 = random */
    int imm;                /* immediate bytes */
    uint32_t undef;         /* flags left undefined */
    int special;
    int count_src;          /* shifts: 0 = 1, 1 = CL, 2 = imm8 */
} Form;

static GArray *forms;

static void add(const char *name, const uint8_t *op, int oplen, int size, int modrm,
                int digit, int imm, uint32_t undef, int special, int count_src)
{
    Form f = { .oplen = oplen, .size = size, .modrm = modrm, .digit = digit,
               .imm = imm, .undef = undef, .special = special, .count_src = count_src };
    memcpy(f.op, op, oplen);
    f.name = g_strdup(name);
    g_array_append_val(forms, f);
}

/* Add reg and mem variants and, for "v" forms, 16 and 32 bits. */
static void addf(const char *mn, const uint8_t *op, int oplen, bool vsize, int modrm,
                 int digit, int imm_kind, uint32_t undef, int special, int count_src)
{
    int sizes[2] = { vsize ? 16 : 8, 32 };
    int nsizes = vsize ? 2 : 1;
    for (int s = 0; s < nsizes; s++) {
        int size = sizes[s];
        int imm = imm_kind == -1 ? size / 8 : imm_kind;   /* -1: Iv/Ib by size */
        if (modrm == M_BOTH) {
            for (int m = M_RR; m <= M_MEM; m++) {
                char *n = g_strdup_printf("%s/%d/%s", mn, size, m == M_RR ? "r" : "m");
                add(n, op, oplen, size, m, digit, imm, undef, special, count_src);
                g_free(n);
            }
        } else {
            char *n = g_strdup_printf("%s/%d", mn, size);
            add(n, op, oplen, size, modrm, digit, imm, undef, special, count_src);
            g_free(n);
        }
    }
}

#define OP1(a) (const uint8_t[]){ a }, 1
#define OP2(a, b) (const uint8_t[]){ a, b }, 2

static void build_forms(void)
{
    static const char *alu[8] = { "add", "or", "adc", "sbb", "and", "sub", "xor", "cmp" };
    static const char *sh[8] = { "rol", "ror", "rcl", "rcr", "shl", "shr", "sal", "sar" };
    char n[64];

    forms = g_array_new(FALSE, FALSE, sizeof(Form));
    for (int k = 0; k < 8; k++) {
        uint32_t u = (k == 1 || k == 4 || k == 6) ? AF : 0;
        uint8_t b = k * 8;
        snprintf(n, sizeof(n), "%s Eb,Gb", alu[k]);
        addf(n, OP1(b), false, M_BOTH, -1, 0, u, S_NONE, 0);
        snprintf(n, sizeof(n), "%s Ev,Gv", alu[k]);
        addf(n, OP1(b + 1), true, M_BOTH, -1, 0, u, S_NONE, 0);
        snprintf(n, sizeof(n), "%s Gb,Eb", alu[k]);
        addf(n, OP1(b + 2), false, M_BOTH, -1, 0, u, S_NONE, 0);
        snprintf(n, sizeof(n), "%s Gv,Ev", alu[k]);
        addf(n, OP1(b + 3), true, M_BOTH, -1, 0, u, S_NONE, 0);
        snprintf(n, sizeof(n), "%s AL,Ib", alu[k]);
        addf(n, OP1(b + 4), false, M_NONE, -1, 1, u, S_NONE, 0);
        snprintf(n, sizeof(n), "%s eAX,Iv", alu[k]);
        addf(n, OP1(b + 5), true, M_NONE, -1, -1, u, S_NONE, 0);
        snprintf(n, sizeof(n), "%s Eb,Ib", alu[k]);
        addf(n, OP1(0x80), false, M_BOTH, k, 1, u, S_NONE, 0);
        snprintf(n, sizeof(n), "%s Ev,Iv", alu[k]);
        addf(n, OP1(0x81), true, M_BOTH, k, -1, u, S_NONE, 0);
        snprintf(n, sizeof(n), "%s Ev,Ib", alu[k]);
        addf(n, OP1(0x83), true, M_BOTH, k, 1, u, S_NONE, 0);
    }
    addf("test Eb,Gb", OP1(0x84), false, M_BOTH, -1, 0, AF, S_NONE, 0);
    addf("test Ev,Gv", OP1(0x85), true, M_BOTH, -1, 0, AF, S_NONE, 0);
    addf("test AL,Ib", OP1(0xa8), false, M_NONE, -1, 1, AF, S_NONE, 0);
    addf("test eAX,Iv", OP1(0xa9), true, M_NONE, -1, -1, AF, S_NONE, 0);
    addf("test Eb,Ib", OP1(0xf6), false, M_BOTH, 0, 1, AF, S_NONE, 0);
    addf("test Ev,Iv", OP1(0xf7), true, M_BOTH, 0, -1, AF, S_NONE, 0);
    addf("inc Eb", OP1(0xfe), false, M_BOTH, 0, 0, 0, S_NONE, 0);
    addf("dec Eb", OP1(0xfe), false, M_BOTH, 1, 0, 0, S_NONE, 0);
    addf("inc Ev", OP1(0xff), true, M_BOTH, 0, 0, 0, S_NONE, 0);
    addf("dec Ev", OP1(0xff), true, M_BOTH, 1, 0, 0, S_NONE, 0);
    addf("not Eb", OP1(0xf6), false, M_BOTH, 2, 0, 0, S_NONE, 0);
    addf("neg Eb", OP1(0xf6), false, M_BOTH, 3, 0, 0, S_NONE, 0);
    addf("not Ev", OP1(0xf7), true, M_BOTH, 2, 0, 0, S_NONE, 0);
    addf("neg Ev", OP1(0xf7), true, M_BOTH, 3, 0, 0, S_NONE, 0);
    addf("mul Eb", OP1(0xf6), false, M_BOTH, 4, 0, SF | ZF | AF | PF, S_NONE, 0);
    addf("imul Eb", OP1(0xf6), false, M_BOTH, 5, 0, SF | ZF | AF | PF, S_NONE, 0);
    addf("div Eb", OP1(0xf6), false, M_BOTH, 6, 0, ARITH, S_DIV, 0);
    addf("idiv Eb", OP1(0xf6), false, M_BOTH, 7, 0, ARITH, S_DIV, 0);
    addf("mul Ev", OP1(0xf7), true, M_BOTH, 4, 0, SF | ZF | AF | PF, S_NONE, 0);
    addf("imul Ev", OP1(0xf7), true, M_BOTH, 5, 0, SF | ZF | AF | PF, S_NONE, 0);
    addf("div Ev", OP1(0xf7), true, M_BOTH, 6, 0, ARITH, S_DIV, 0);
    addf("idiv Ev", OP1(0xf7), true, M_BOTH, 7, 0, ARITH, S_DIV, 0);
    addf("imul Gv,Ev", OP2(0x0f, 0xaf), true, M_BOTH, -1, 0, SF | ZF | AF | PF, S_NONE, 0);
    addf("imul Gv,Ev,Iv", OP1(0x69), true, M_BOTH, -1, -1, SF | ZF | AF | PF, S_NONE, 0);
    addf("imul Gv,Ev,Ib", OP1(0x6b), true, M_BOTH, -1, 1, SF | ZF | AF | PF, S_NONE, 0);
    for (int k = 0; k < 8; k++) {
        int sp = k < 4 ? S_ROT : S_SHIFT;
        snprintf(n, sizeof(n), "%s Eb,1", sh[k]);
        addf(n, OP1(0xd0), false, M_BOTH, k, 0, 0, sp, 0);
        snprintf(n, sizeof(n), "%s Eb,CL", sh[k]);
        addf(n, OP1(0xd2), false, M_BOTH, k, 0, 0, sp, 1);
        snprintf(n, sizeof(n), "%s Eb,Ib", sh[k]);
        addf(n, OP1(0xc0), false, M_BOTH, k, 1, 0, sp, 2);
        snprintf(n, sizeof(n), "%s Ev,1", sh[k]);
        addf(n, OP1(0xd1), true, M_BOTH, k, 0, 0, sp, 0);
        snprintf(n, sizeof(n), "%s Ev,CL", sh[k]);
        addf(n, OP1(0xd3), true, M_BOTH, k, 0, 0, sp, 1);
        snprintf(n, sizeof(n), "%s Ev,Ib", sh[k]);
        addf(n, OP1(0xc1), true, M_BOTH, k, 1, 0, sp, 2);
    }
    addf("shld Ev,Gv,Ib", OP2(0x0f, 0xa4), true, M_BOTH, -1, 1, 0, S_SHXD, 2);
    addf("shld Ev,Gv,CL", OP2(0x0f, 0xa5), true, M_BOTH, -1, 0, 0, S_SHXD, 1);
    addf("shrd Ev,Gv,Ib", OP2(0x0f, 0xac), true, M_BOTH, -1, 1, 0, S_SHXD, 2);
    addf("shrd Ev,Gv,CL", OP2(0x0f, 0xad), true, M_BOTH, -1, 0, 0, S_SHXD, 1);
    uint32_t btu = OF | SF | AF | PF;
    addf("bt Ev,Gv", OP2(0x0f, 0xa3), true, M_BOTH, -1, 0, btu, S_BTMEM, 0);
    addf("bts Ev,Gv", OP2(0x0f, 0xab), true, M_BOTH, -1, 0, btu, S_BTMEM, 0);
    addf("btr Ev,Gv", OP2(0x0f, 0xb3), true, M_BOTH, -1, 0, btu, S_BTMEM, 0);
    addf("btc Ev,Gv", OP2(0x0f, 0xbb), true, M_BOTH, -1, 0, btu, S_BTMEM, 0);
    for (int k = 4; k < 8; k++) {
        static const char *bn[4] = { "bt", "bts", "btr", "btc" };
        snprintf(n, sizeof(n), "%s Ev,Ib", bn[k - 4]);
        addf(n, OP2(0x0f, 0xba), true, M_BOTH, k, 1, btu, S_NONE, 0);
    }
    addf("bsf Gv,Ev", OP2(0x0f, 0xbc), true, M_BOTH, -1, 0, CF | OF | SF | AF | PF, S_BSX, 0);
    addf("bsr Gv,Ev", OP2(0x0f, 0xbd), true, M_BOTH, -1, 0, CF | OF | SF | AF | PF, S_BSX, 0);
    addf("xadd Eb,Gb", OP2(0x0f, 0xc0), false, M_BOTH, -1, 0, 0, S_NONE, 0);
    addf("xadd Ev,Gv", OP2(0x0f, 0xc1), true, M_BOTH, -1, 0, 0, S_NONE, 0);
    addf("cmpxchg Eb,Gb", OP2(0x0f, 0xb0), false, M_BOTH, -1, 0, 0, S_NONE, 0);
    addf("cmpxchg Ev,Gv", OP2(0x0f, 0xb1), true, M_BOTH, -1, 0, 0, S_NONE, 0);
    add("cmpxchg8b", OP2(0x0f, 0xc7), 32, M_MEM, 1, 0, 0, S_NONE, 0);
    addf("movzx Gv,Eb", OP2(0x0f, 0xb6), true, M_BOTH, -1, 0, 0, S_NONE, 0);
    addf("movzx Gv,Ew", OP2(0x0f, 0xb7), true, M_BOTH, -1, 0, 0, S_NONE, 0);
    addf("movsx Gv,Eb", OP2(0x0f, 0xbe), true, M_BOTH, -1, 0, 0, S_NONE, 0);
    addf("movsx Gv,Ew", OP2(0x0f, 0xbf), true, M_BOTH, -1, 0, 0, S_NONE, 0);
    for (int cc = 0; cc < 16; cc++) {
        snprintf(n, sizeof(n), "cmov%x Gv,Ev", cc);
        addf(n, OP2(0x0f, 0x40 + cc), true, M_BOTH, -1, 0, 0, S_NONE, 0);
        snprintf(n, sizeof(n), "set%x Eb", cc);
        addf(n, OP2(0x0f, 0x90 + cc), false, M_BOTH, 0, 0, 0, S_NONE, 0);
    }
    for (int r = 0; r < 8; r++) {
        snprintf(n, sizeof(n), "bswap r%d", r);
        add(n, OP2(0x0f, 0xc8 + r), 32, M_NONE, 0, 0, 0, S_NONE, 0);
        snprintf(n, sizeof(n), "inc r%d", r);
        addf(n, OP1(0x40 + r), true, M_NONE, 0, 0, 0, S_NONE, 0);
        snprintf(n, sizeof(n), "dec r%d", r);
        addf(n, OP1(0x48 + r), true, M_NONE, 0, 0, 0, S_NONE, 0);
        snprintf(n, sizeof(n), "xchg eAX,r%d", r);
        addf(n, OP1(0x90 + r), true, M_NONE, 0, 0, 0, S_NONE, 0);
        snprintf(n, sizeof(n), "mov r%d,Ib", r);
        addf(n, OP1(0xb0 + r), false, M_NONE, 0, 1, 0, S_NONE, 0);
        snprintf(n, sizeof(n), "mov r%d,Iv", r);
        addf(n, OP1(0xb8 + r), true, M_NONE, 0, -1, 0, S_NONE, 0);
        snprintf(n, sizeof(n), "push r%d", r);
        addf(n, OP1(0x50 + r), true, M_NONE, 0, 0, 0, S_STACK, 0);
        snprintf(n, sizeof(n), "pop r%d", r);
        addf(n, OP1(0x58 + r), true, M_NONE, 0, 0, 0, S_STACK, 0);
    }
    addf("xchg Eb,Gb", OP1(0x86), false, M_BOTH, -1, 0, 0, S_NONE, 0);
    addf("xchg Ev,Gv", OP1(0x87), true, M_BOTH, -1, 0, 0, S_NONE, 0);
    addf("mov Eb,Gb", OP1(0x88), false, M_BOTH, -1, 0, 0, S_NONE, 0);
    addf("mov Ev,Gv", OP1(0x89), true, M_BOTH, -1, 0, 0, S_NONE, 0);
    addf("mov Gb,Eb", OP1(0x8a), false, M_BOTH, -1, 0, 0, S_NONE, 0);
    addf("mov Gv,Ev", OP1(0x8b), true, M_BOTH, -1, 0, 0, S_NONE, 0);
    addf("mov Eb,Ib", OP1(0xc6), false, M_BOTH, 0, 1, 0, S_NONE, 0);
    addf("mov Ev,Iv", OP1(0xc7), true, M_BOTH, 0, -1, 0, S_NONE, 0);
    addf("lea Gv,M", OP1(0x8d), true, M_MEM, -1, 0, 0, S_NONE, 0);
    addf("push Ev", OP1(0xff), true, M_MEM, 6, 0, 0, S_STACK, 0);
    addf("pop Ev", OP1(0x8f), true, M_BOTH, 0, 0, 0, S_STACK, 0);
    addf("push Iv", OP1(0x68), true, M_NONE, 0, -1, 0, S_STACK, 0);
    addf("push Ib", OP1(0x6a), true, M_NONE, 0, 1, 0, S_STACK, 0);
    addf("pusha", OP1(0x60), true, M_NONE, 0, 0, 0, S_STACK, 0);
    addf("popa", OP1(0x61), true, M_NONE, 0, 0, 0, S_STACK, 0);
    addf("enter", OP1(0xc8), true, M_NONE, 0, 3, 0, S_ENTER, 0);
    addf("leave", OP1(0xc9), true, M_NONE, 0, 0, 0, S_ENTER, 0);
    addf("cbw/cwde", OP1(0x98), true, M_NONE, 0, 0, 0, S_NONE, 0);
    addf("cwd/cdq", OP1(0x99), true, M_NONE, 0, 0, 0, S_NONE, 0);
    add("daa", OP1(0x27), 8, M_NONE, 0, 0, OF, S_NONE, 0);
    add("das", OP1(0x2f), 8, M_NONE, 0, 0, OF, S_NONE, 0);
    add("aaa", OP1(0x37), 8, M_NONE, 0, 0, OF | SF | ZF | PF, S_NONE, 0);
    add("aas", OP1(0x3f), 8, M_NONE, 0, 0, OF | SF | ZF | PF, S_NONE, 0);
    add("aam", OP1(0xd4), 8, M_NONE, 0, 1, OF | AF | CF, S_BCD_AAM, 0);
    add("aad", OP1(0xd5), 8, M_NONE, 0, 1, OF | AF | CF, S_NONE, 0);
    add("sahf", OP1(0x9e), 8, M_NONE, 0, 0, 0, S_NONE, 0);
    add("lahf", OP1(0x9f), 8, M_NONE, 0, 0, 0, S_NONE, 0);
    add("clc", OP1(0xf8), 8, M_NONE, 0, 0, 0, S_NONE, 0);
    add("stc", OP1(0xf9), 8, M_NONE, 0, 0, 0, S_NONE, 0);
    add("cmc", OP1(0xf5), 8, M_NONE, 0, 0, 0, S_NONE, 0);
    add("salc", OP1(0xd6), 8, M_NONE, 0, 0, 0, S_NONE, 0);
    add("xlat", OP1(0xd7), 8, M_NONE, 0, 0, 0, S_NONE, 0);
    static const struct { const char *n; uint8_t op; } str[] = {
        { "movs", 0xa4 }, { "cmps", 0xa6 }, { "stos", 0xaa }, { "lods", 0xac }, { "scas", 0xae },
    };
    for (unsigned k = 0; k < G_N_ELEMENTS(str); k++) {
        static const uint8_t reps[3] = { 0, 0xf3, 0xf2 };
        for (int rp = 0; rp < 3; rp++) {
            for (int w = 0; w < 2; w++) {
                uint8_t op[2];
                int len = 0;
                if (reps[rp]) {
                    op[len++] = reps[rp];
                }
                op[len++] = str[k].op + w;
                snprintf(n, sizeof(n), "%s%s%s", reps[rp] == 0xf3 ? "rep " : reps[rp] ? "repne " : "",
                         str[k].n, w ? "v" : "b");
                if (w) {
                    addf(n, op, len, true, M_NONE, 0, 0, 0, S_STRING, 0);
                } else {
                    add(n, op, len, 8, M_NONE, 0, 0, 0, S_STRING, 0);
                }
            }
        }
    }
}

/* --- random inputs ------------------------------------------------------------- */

static GRand *rng;

static uint32_t rnd32(void)
{
    static const uint32_t special[] = {
        0, 1, 2, 7, 8, 9, 0x0f, 0x10, 0x1f, 0x20, 0x7f, 0x80, 0x81, 0xfe, 0xff, 0x100,
        0x7fff, 0x8000, 0x8001, 0xfffe, 0xffff, 0x10000, 0x7fffffff, 0x80000000u,
        0x80000001u, 0xfffffffeu, 0xffffffffu, 0x99, 0x9a, 0x09, 0x0a,
    };
    switch (g_rand_int_range(rng, 0, 8)) {
    case 0:
        return special[g_rand_int_range(rng, 0, G_N_ELEMENTS(special))];
    case 1:
        return g_rand_int_range(rng, 0, 256);
    case 2:
        return (uint32_t)-g_rand_int_range(rng, 1, 256);
    case 3:
        return special[g_rand_int_range(rng, 0, G_N_ELEMENTS(special))] ^
               (g_rand_int(rng) & 0xff00ff00u);
    default:
        return g_rand_int(rng);
    }
}

typedef struct Case {
    uint8_t insn[16];
    int len;
    uint32_t regs[8];
    uint32_t flags;
    uint8_t mem[CMP_HI - CMP_LO];
} Case;

/* Flags the SDM leaves undefined for this instance. */
static uint32_t undefined_flags(const Form *f, const Case *c, int count)
{
    uint32_t u = f->undef;
    int width = f->size;
    if (f->special == S_SHIFT || f->special == S_ROT || f->special == S_SHXD) {
        int cnt = count & 31;
        if (cnt == 0) {
            return u;
        }
        if (cnt != 1) {
            u |= OF;
        }
        if (f->special != S_ROT) {
            u |= AF;
        }
        if (f->special == S_SHIFT && width < 32 && cnt >= width) {
            u |= CF;        /* SHL/SHR beyond the width (SAR too, harmlessly) */
            if (f->digit == 7) {
                u &= ~CF;
            }
        }
    }
    (void)c;
    return u;
}

static uint32_t shift_count(const Form *f, const Case *c)
{
    if (f->special != S_SHIFT && f->special != S_ROT && f->special != S_SHXD) {
        return 0;
    }
    switch (f->count_src) {
    case 0: return 1;
    case 1: return c->regs[1] & 0xff;
    default: return c->insn[c->len - 1];
    }
}

static void make_case(const Form *f, Case *c)
{
    int n = 0;
    if (f->size == 16) {
        c->insn[n++] = 0x66;
    }
    memcpy(c->insn + n, f->op, f->oplen);
    n += f->oplen;
    for (int k = 0; k < 8; k++) {
        c->regs[k] = rnd32();
    }
    if (f->modrm == M_RR) {
        int reg = f->digit >= 0 ? f->digit : g_rand_int_range(rng, 0, 8);
        int rm = g_rand_int_range(rng, 0, 8);
        if (f->special == S_STACK && rm == 4) {
            rm = 0;         /* pop esp: leave the stack pointer alone */
        }
        c->insn[n++] = 0xc0 | (reg << 3) | rm;
    } else if (f->modrm == M_MEM) {
        int reg = f->digit >= 0 ? f->digit : g_rand_int_range(rng, 0, 8);
        while (f->special == S_BTMEM && (reg == 3 || reg == 4)) {
            reg = g_rand_int_range(rng, 0, 8);      /* the bit offset is not the base */
        }
        c->insn[n++] = 0x43 | (reg << 3);           /* [ebx + disp8] */
        c->insn[n++] = g_rand_int_range(rng, 0, 128);
    }
    for (int k = 0; k < f->imm; k++) {
        c->insn[n++] = g_rand_int_range(rng, 0, 256);
    }
    c->len = n;
    if (f->special == S_SHIFT || f->special == S_ROT || f->special == S_SHXD) {
        if (g_rand_boolean(rng)) {
            c->regs[1] = (c->regs[1] & ~0xffu) | g_rand_int_range(rng, 0, 40);
            if (f->count_src == 2) {
                c->insn[n - 1] = g_rand_int_range(rng, 0, 40);
            }
        }
    }
    if (f->special == S_DIV && g_rand_boolean(rng)) {
        /* Make a quotient that fits more often than not. */
        c->regs[2] = g_rand_int_range(rng, 0, 3) == 0 ? (uint32_t)-1 : (uint32_t)g_rand_int_range(rng, 0, 4);
        c->regs[0] = (c->regs[0] & 0xffff00ffu) | (g_rand_int_range(rng, 0, 3) << 8);
    }
    if (f->special == S_STRING) {
        c->regs[6] = DATA_ADDR + g_rand_int_range(rng, 0, 256);      /* ESI */
        c->regs[7] = DATA_ADDR + g_rand_int_range(rng, 0, 256);      /* EDI */
        c->regs[1] = g_rand_int_range(rng, 0, 24);                    /* ECX */
        if (g_rand_int_range(rng, 0, 3) == 0) {
            c->regs[0] = 0x5a5a5a5a;    /* matches the memory pattern for SCAS */
        }
    }
    if (f->special == S_ENTER) {
        c->regs[5] = TEST_ESP + g_rand_int_range(rng, 0, 64) * 4;    /* EBP */
        if (f->imm) {
            /* A frame that stays inside the mapped stack: the host CPU
             * touches the final stack pointer. */
            c->insn[n - 3] = g_rand_int_range(rng, 0, 256);
            c->insn[n - 2] = g_rand_int_range(rng, 0, 4);
            c->insn[n - 1] = g_rand_int_range(rng, 0, 4);             /* level */
        }
    }
    if (f->special == S_BTMEM) {
        /* Bit offsets that stay inside the mapped data. */
        for (int r = 0; r < 8; r++) {
            c->regs[r] = (uint32_t)g_rand_int_range(rng, -1024, 1024);
        }
    }
    if (f->special == S_BCD_AAM && g_rand_int_range(rng, 0, 16) != 0 && c->insn[n - 1] == 0) {
        c->insn[n - 1] = 10;
    }
    if (f->modrm == M_MEM || g_str_has_prefix(f->name, "xlat")) {
        c->regs[3] = DATA_ADDR;     /* EBX: the base of [ebx + disp8], XLAT's table */
    }
    c->regs[4] = TEST_ESP;
    c->flags = (g_rand_int(rng) & ARITH) | 0x2 | (g_rand_int_range(rng, 0, 4) == 0 ? 0x400 : 0);
    memset(c->mem, 0x5a, sizeof(c->mem));
    for (int k = 0; k < 512; k += 4) {
        uint32_t a = g_rand_int(rng), b = g_rand_int(rng);
        memcpy(c->mem + (DATA_ADDR - CMP_LO) + k, &a, 4);
        memcpy(c->mem + (TEST_ESP - 256 - CMP_LO) + k, &b, 4);
    }
    if (f->special == S_STRING && g_rand_boolean(rng)) {
        memset(c->mem + (DATA_ADDR - CMP_LO), 0x5a, 256 + 64);
    }
}

static const char *reg_names[8] = { "eax", "ecx", "edx", "ebx", "esp", "ebp", "esi", "edi" };

static GString *describe(const Form *f, const Case *c)
{
    GString *s = g_string_new(NULL);
    g_string_append_printf(s, "%s: bytes", f->name);
    for (int k = 0; k < c->len; k++) {
        g_string_append_printf(s, " %02x", c->insn[k]);
    }
    g_string_append_printf(s, "; in:");
    for (int k = 0; k < 8; k++) {
        g_string_append_printf(s, " %s=%08x", reg_names[k], c->regs[k]);
    }
    g_string_append_printf(s, " fl=%03x", c->flags);
    return s;
}

static int run_form(const Form *f, int ncases)
{
    Case c;
    int failures = 0;
    uint8_t *nmem = low + (CMP_LO - LOW_BASE);
    uint8_t *emem = emu_ram + (CMP_LO - LOW_BASE);

    for (int k = 0; k < ncases && failures < 3; k++) {
        uint32_t nout[8], eout[8], nfl = 0, efl = 0;
        make_case(f, &c);
        memcpy(nmem, c.mem, sizeof(c.mem));
        memcpy(emem, c.mem, sizeof(c.mem));
        int nx = run_native(c.insn, c.len, c.regs, c.flags, nout, &nfl);
        int ex = run_emu(c.insn, c.len, c.regs, c.flags, eout, &efl);
        GString *why = NULL;
        if (nx != ex) {
            why = describe(f, &c);
            g_string_append_printf(why, ": native exception %d, emulator %d", nx, ex);
        } else if (nx < 0) {
            uint32_t mask = ARITH & ~undefined_flags(f, &c, shift_count(f, &c));
            bool skip = f->special == S_SHXD && f->size == 16 && (shift_count(f, &c) & 31) > 16;
            if (!skip && (nfl & mask) != (efl & mask)) {
                why = describe(f, &c);
                g_string_append_printf(why, ": flags native %03x emulator %03x (compared %03x)",
                                       nfl & ARITH, efl & ARITH, mask);
            }
            for (int r = 0; r < 8 && !why && !skip; r++) {
                if (nout[r] != eout[r]) {
                    why = describe(f, &c);
                    g_string_append_printf(why, ": %s native %08x emulator %08x",
                                           reg_names[r], nout[r], eout[r]);
                }
            }
            if (!why && !skip && memcmp(nmem, emem, sizeof(c.mem)) != 0) {
                for (size_t b = 0; b < sizeof(c.mem); b++) {
                    if (nmem[b] != emem[b]) {
                        why = describe(f, &c);
                        g_string_append_printf(why, ": memory at %08x native %02x emulator %02x",
                                               (uint32_t)(CMP_LO + b), nmem[b], emem[b]);
                        break;
                    }
                }
            }
        }
        if (why) {
            g_test_message("%s", why->str);
            fprintf(stderr, "# MISMATCH %s\n", why->str);
            g_string_free(why, TRUE);
            failures++;
        }
    }
    return failures;
}

static int cases_per_form(void)
{
    const char *e = getenv("VMKEMU_X86_CASES");
    int n = e ? atoi(e) : 100;
    return n > 0 ? n : 100;
}

static void test_forms(void)
{
    if (!compat_ok) {
        g_test_skip("cannot map the low memory for 32-bit native execution");
        return;
    }
    int n = cases_per_form(), bad_forms = 0;
    for (guint k = 0; k < forms->len; k++) {
        const Form *f = &g_array_index(forms, Form, k);
        if (run_form(f, n) > 0) {
            bad_forms++;
        }
    }
    g_test_message("%u forms, %d cases each, %d forms mismatched", forms->len, n, bad_forms);
    g_assert_cmpint(bad_forms, ==, 0);
}


/* --- x87 ------------------------------------------------------------------------ */

/* FSAVE image (32-bit protected-mode layout). */
typedef struct FSave {
    uint32_t fcw, fsw, ftw, fip, fcs_fop, fdp, fds;
    uint8_t st[8][10];
} __attribute__((packed)) FSave;

#define C0 0x0100u
#define C1 0x0200u
#define C2 0x0400u
#define C3 0x4000u

enum { FK_ARITH, FK_COMPARE, FK_EXACT, FK_LOOSE };

typedef struct FForm {
    char *name;
    uint8_t op, modrm;      /* modrm: reg form C0+, or 0x43 | reg<<3 memory */
    bool mem;
    int kind;
    int mem_kind;           /* 0 none, 4 m32fp, 8 m64fp, 10 m80, 2/5/9 m16/m32/m64 int, 11 bcd */
    uint32_t fsw_undef;
} FForm;

static GArray *fforms;

static void fform_add(const char *name, uint8_t op, uint8_t modrm, bool mem, int kind, int mk,
                 uint32_t undef)
{
    FForm f = { g_strdup(name), op, modrm, mem, kind, mk, undef };
    g_array_append_val(fforms, f);
}

static void build_fpu_forms(void)
{
    static const char *ar[8] = { "fadd", "fmul", "fcom", "fcomp", "fsub", "fsubr", "fdiv", "fdivr" };
    char n[64];
    fforms = g_array_new(FALSE, FALSE, sizeof(FForm));
    for (int r = 0; r < 8; r++) {
        int kind = (r == 2 || r == 3) ? FK_COMPARE : FK_ARITH;
        uint32_t u = kind == FK_ARITH ? C0 | C2 | C3 : 0;
        snprintf(n, sizeof(n), "%s m32fp", ar[r]);
        fform_add(n, 0xd8, 0x43 | (r << 3), true, kind, 4, u);
        snprintf(n, sizeof(n), "%s m64fp", ar[r]);
        fform_add(n, 0xdc, 0x43 | (r << 3), true, kind, 8, u);
        snprintf(n, sizeof(n), "fi%s m32int", ar[r] + 1);
        fform_add(n, 0xda, 0x43 | (r << 3), true, kind, 5, u);
        snprintf(n, sizeof(n), "fi%s m16int", ar[r] + 1);
        fform_add(n, 0xde, 0x43 | (r << 3), true, kind, 2, u);
        for (int i = 0; i < 8; i++) {
            snprintf(n, sizeof(n), "%s st0,st%d", ar[r], i);
            fform_add(n, 0xd8, 0xc0 | (r << 3) | i, false, kind, 0, u);
            if (kind == FK_ARITH) {
                snprintf(n, sizeof(n), "dc/%d st%d,st0", r, i);
                fform_add(n, 0xdc, 0xc0 | (r << 3) | i, false, kind, 0, u);
                snprintf(n, sizeof(n), "de/%d st%d,st0 (pop)", r, i);
                fform_add(n, 0xde, 0xc0 | (r << 3) | i, false, kind, 0, u);
            }
        }
    }
    fform_add("fcompp", 0xde, 0xd9, false, FK_COMPARE, 0, 0);
    fform_add("fucompp", 0xda, 0xe9, false, FK_COMPARE, 0, 0);
    for (int i = 0; i < 8; i++) {
        snprintf(n, sizeof(n), "fld st%d", i);
        fform_add(n, 0xd9, 0xc0 | i, false, FK_EXACT, 0, C0 | C2 | C3);
        snprintf(n, sizeof(n), "fxch st%d", i);
        fform_add(n, 0xd9, 0xc8 | i, false, FK_EXACT, 0, C0 | C2 | C3);
        snprintf(n, sizeof(n), "fst st%d", i);
        fform_add(n, 0xdd, 0xd0 | i, false, FK_EXACT, 0, C0 | C2 | C3);
        snprintf(n, sizeof(n), "fstp st%d", i);
        fform_add(n, 0xdd, 0xd8 | i, false, FK_EXACT, 0, C0 | C2 | C3);
        snprintf(n, sizeof(n), "fucom st%d", i);
        fform_add(n, 0xdd, 0xe0 | i, false, FK_COMPARE, 0, 0);
        snprintf(n, sizeof(n), "fucomp st%d", i);
        fform_add(n, 0xdd, 0xe8 | i, false, FK_COMPARE, 0, 0);
        snprintf(n, sizeof(n), "fcomi st%d", i);
        fform_add(n, 0xdb, 0xf0 | i, false, FK_COMPARE, 0, C0 | C2 | C3);
        snprintf(n, sizeof(n), "fucomi st%d", i);
        fform_add(n, 0xdb, 0xe8 | i, false, FK_COMPARE, 0, C0 | C2 | C3);
        snprintf(n, sizeof(n), "fcomip st%d", i);
        fform_add(n, 0xdf, 0xf0 | i, false, FK_COMPARE, 0, C0 | C2 | C3);
        snprintf(n, sizeof(n), "ffree st%d", i);
        fform_add(n, 0xdd, 0xc0 | i, false, FK_EXACT, 0, C0 | C1 | C2 | C3);
        for (int c = 0; c < 4; c++) {
            snprintf(n, sizeof(n), "fcmov%d st%d", c, i);
            fform_add(n, 0xda, 0xc0 | (c << 3) | i, false, FK_EXACT, 0, C0 | C2 | C3);
            snprintf(n, sizeof(n), "fcmovn%d st%d", c, i);
            fform_add(n, 0xdb, 0xc0 | (c << 3) | i, false, FK_EXACT, 0, C0 | C2 | C3);
        }
    }
    static const struct { const char *n; uint8_t m; int kind; uint32_t u; } d9[] = {
        { "fchs", 0xe0, FK_EXACT, C0 | C2 | C3 }, { "fabs", 0xe1, FK_EXACT, C0 | C2 | C3 },
        { "ftst", 0xe4, FK_COMPARE, 0 }, { "fxam", 0xe5, FK_EXACT, 0 },
        { "fld1", 0xe8, FK_EXACT, C0 | C2 | C3 }, { "fldl2t", 0xe9, FK_EXACT, C0 | C2 | C3 },
        { "fldl2e", 0xea, FK_EXACT, C0 | C2 | C3 }, { "fldpi", 0xeb, FK_EXACT, C0 | C2 | C3 },
        { "fldlg2", 0xec, FK_EXACT, C0 | C2 | C3 }, { "fldln2", 0xed, FK_EXACT, C0 | C2 | C3 },
        { "fldz", 0xee, FK_EXACT, C0 | C2 | C3 },
        { "fsqrt", 0xfa, FK_ARITH, C0 | C2 | C3 }, { "frndint", 0xfc, FK_ARITH, C0 | C2 | C3 },
        { "fscale", 0xfd, FK_ARITH, C0 | C2 | C3 }, { "fxtract", 0xf4, FK_ARITH, C0 | C2 | C3 },
        { "fprem", 0xf8, FK_ARITH, 0 }, { "fprem1", 0xf5, FK_ARITH, 0 },
        { "fdecstp", 0xf6, FK_EXACT, C0 | C2 | C3 }, { "fincstp", 0xf7, FK_EXACT, C0 | C2 | C3 },
        { "f2xm1", 0xf0, FK_LOOSE, C0 | C2 | C3 }, { "fyl2x", 0xf1, FK_LOOSE, C0 | C2 | C3 },
        { "fptan", 0xf2, FK_LOOSE, C0 | C3 }, { "fpatan", 0xf3, FK_LOOSE, C0 | C2 | C3 },
        { "fyl2xp1", 0xf9, FK_LOOSE, C0 | C2 | C3 }, { "fsincos", 0xfb, FK_LOOSE, C0 | C3 },
        { "fsin", 0xfe, FK_LOOSE, C0 | C3 }, { "fcos", 0xff, FK_LOOSE, C0 | C3 },
        { "fnop", 0xd0, FK_EXACT, 0 },
    };
    for (unsigned k = 0; k < G_N_ELEMENTS(d9); k++) {
        fform_add(d9[k].n, 0xd9, d9[k].m, false, d9[k].kind, 0, d9[k].u);
    }
    fform_add("fld m32fp", 0xd9, 0x43, true, FK_EXACT, 4, C0 | C2 | C3);
    fform_add("fst m32fp", 0xd9, 0x53, true, FK_ARITH, 4, C0 | C2 | C3);
    fform_add("fstp m32fp", 0xd9, 0x5b, true, FK_ARITH, 4, C0 | C2 | C3);
    fform_add("fldcw", 0xd9, 0x6b, true, FK_EXACT, -2, 0);
    fform_add("fnstcw", 0xd9, 0x7b, true, FK_EXACT, 2, 0);
    fform_add("fld m64fp", 0xdd, 0x43, true, FK_EXACT, 8, C0 | C2 | C3);
    fform_add("fst m64fp", 0xdd, 0x53, true, FK_ARITH, 8, C0 | C2 | C3);
    fform_add("fstp m64fp", 0xdd, 0x5b, true, FK_ARITH, 8, C0 | C2 | C3);
    fform_add("fnstsw m16", 0xdd, 0x7b, true, FK_EXACT, 2, 0);
    fform_add("fld m80", 0xdb, 0x6b, true, FK_EXACT, 10, C0 | C2 | C3);
    fform_add("fstp m80", 0xdb, 0x7b, true, FK_EXACT, 10, C0 | C2 | C3);
    fform_add("fild m16", 0xdf, 0x43, true, FK_EXACT, 2, C0 | C2 | C3);
    fform_add("fild m32", 0xdb, 0x43, true, FK_EXACT, 5, C0 | C2 | C3);
    fform_add("fild m64", 0xdf, 0x6b, true, FK_EXACT, 9, C0 | C2 | C3);
    fform_add("fist m16", 0xdf, 0x53, true, FK_ARITH, 2, C0 | C2 | C3);
    fform_add("fistp m16", 0xdf, 0x5b, true, FK_ARITH, 2, C0 | C2 | C3);
    fform_add("fist m32", 0xdb, 0x53, true, FK_ARITH, 5, C0 | C2 | C3);
    fform_add("fistp m32", 0xdb, 0x5b, true, FK_ARITH, 5, C0 | C2 | C3);
    fform_add("fistp m64", 0xdf, 0x7b, true, FK_ARITH, 9, C0 | C2 | C3);
    fform_add("fbld", 0xdf, 0x63, true, FK_EXACT, 11, C0 | C2 | C3);
    fform_add("fbstp", 0xdf, 0x73, true, FK_ARITH, 11, C0 | C2 | C3);
    fform_add("fnstsw ax", 0xdf, 0xe0, false, FK_EXACT, 0, 0);
    fform_add("fnclex", 0xdb, 0xe2, false, FK_EXACT, 0, 0);
    fform_add("fninit", 0xdb, 0xe3, false, FK_EXACT, 0, 0);
}

/* An interesting 80-bit value. */
static void rand_f80(uint8_t out[10])
{
    uint64_t m = ((uint64_t)g_rand_int(rng) << 32) | g_rand_int(rng);
    int sign = g_rand_boolean(rng), exp;
    switch (g_rand_int_range(rng, 0, 12)) {
    case 0: exp = 0; m = 0; break;                                  /* zero */
    case 1: exp = 0x7fff; m = 1ULL << 63; break;                    /* inf */
    case 2: exp = 0x7fff; m |= 3ULL << 62; break;                   /* QNaN */
    case 3: exp = 0x7fff; m = (m | (1ULL << 63)) & ~(1ULL << 62); m |= 1; break;   /* SNaN */
    case 4: exp = 0; m &= ~(1ULL << 63); break;                     /* denormal */
    case 5: exp = 16383 + g_rand_int_range(rng, 0, 20); m = (1ULL << 63) |
            ((uint64_t)g_rand_int_range(rng, 0, 1 << 20) << 43); break;    /* short int-ish */
    case 6: exp = g_rand_int_range(rng, 1, 64); m |= 1ULL << 63; break;    /* tiny */
    case 7: exp = 0x7ffe - g_rand_int_range(rng, 0, 64); m |= 1ULL << 63; break;  /* huge */
    default: exp = 16383 + g_rand_int_range(rng, -70, 70); m |= 1ULL << 63; break;
    }
    memcpy(out, &m, 8);
    uint16_t se = (uint16_t)((sign ? 0x8000 : 0) | exp);
    memcpy(out + 8, &se, 2);
}

static void rand_mem_operand(uint8_t *p, int kind)
{
    uint8_t f[10];
    rand_f80(f);
    uint64_t m;
    uint16_t se;
    memcpy(&m, f, 8);
    memcpy(&se, f + 8, 2);
    long double x;
    memcpy(&x, f, 10);
    switch (kind) {
    case 4: {
        float v = (float)x;
        if (g_rand_int_range(rng, 0, 6) == 0) {
            uint32_t b = g_rand_int(rng);
            memcpy(p, &b, 4);
        } else {
            memcpy(p, &v, 4);
        }
        break;
    }
    case 8: {
        double v = (double)x;
        if (g_rand_int_range(rng, 0, 6) == 0) {
            uint64_t b = ((uint64_t)g_rand_int(rng) << 32) | g_rand_int(rng);
            memcpy(p, &b, 8);
        } else {
            memcpy(p, &v, 8);
        }
        break;
    }
    case 10:
        memcpy(p, f, 10);
        break;
    case 11:
        for (int k = 0; k < 9; k++) {
            p[k] = (uint8_t)(g_rand_int_range(rng, 0, 10) | (g_rand_int_range(rng, 0, 10) << 4));
        }
        p[9] = g_rand_boolean(rng) ? 0x80 : 0;
        break;
    case -2: {      /* a control word */
        uint16_t cw = 0x1040 | (g_rand_int_range(rng, 0, 4) << 8) | (g_rand_int_range(rng, 0, 4) << 10) |
                      (g_rand_int_range(rng, 0, 4) == 0 ? g_rand_int_range(rng, 0, 64) : 0x3f);
        memcpy(p, &cw, 2);
        break;
    }
    default: {      /* integers */
        uint64_t b = ((uint64_t)g_rand_int(rng) << 32) | g_rand_int(rng);
        if (g_rand_boolean(rng)) {
            b = (uint64_t)(int64_t)g_rand_int_range(rng, -100000, 100000);
        }
        memcpy(p, &b, 8);
        break;
    }
    }
}

/* One case in five runs with random exception masks (unmasked exceptions
 * leave results, condition codes and the stack as the host does);
 * VMKEMU_X86_FPU_MASKED=1 keeps every exception masked. */
static bool fpu_unmasked;

static void rand_fsave(FSave *f)
{
    memset(f, 0, sizeof(*f));
    /* Masked exceptions mostly; PC 64 mostly; any RC. */
    uint32_t masks = fpu_unmasked && g_rand_int_range(rng, 0, 5) == 0 ? (uint32_t)g_rand_int_range(rng, 0, 64) : 0x3f;
    uint32_t pc = g_rand_int_range(rng, 0, 4) == 0 ? (uint32_t)g_rand_int_range(rng, 0, 4) : 3;
    if (pc == 1) {
        pc = 3;
    }
    f->fcw = 0xffff0000u | 0x40 | masks | (pc << 8) | (g_rand_int_range(rng, 0, 4) << 10);
    uint32_t top = g_rand_int_range(rng, 0, 8);
    uint32_t flags = g_rand_int_range(rng, 0, 3) == 0 ? (g_rand_int(rng) & 0x3f & masks) : 0;
    f->fsw = 0xffff0000u | (top << 11) | flags | (g_rand_int(rng) & (C0 | C1 | C2 | C3));
    uint32_t tags = 0;
    int nvalid = g_rand_int_range(rng, 0, 9);
    for (int k = 0; k < 8; k++) {
        int p = (top + k) & 7;      /* ST(k) is physical register p */
        rand_f80(f->st[k]);
        if (k >= nvalid && g_rand_int_range(rng, 0, 4) != 0) {
            tags |= 3u << (2 * p);
        }
    }
    f->ftw = 0xffff0000u | tags;
}

static uint32_t fsw_of(const FSave *f)
{
    return f->fsw & 0xffff;
}

static bool ld_close(const uint8_t a[10], const uint8_t b[10], bool tan)
{
    long double x, y;
    memcpy(&x, a, 10);
    memcpy(&y, b, 10);
    if (isnan(x) && isnan(y)) {
        return true;
    }
    if (x == y) {
        return true;
    }
    /* Relative 2^-54, or absolute 2^-60 where the result is a near-zero of
     * the function (the host reduces arguments with its own 66-bit pi).
     * Near a pole of tan that reduction error grows with |tan|. */
    long double d = fabsl(x - y), m = fmaxl(fabsl(x), fabsl(y));
    long double amp = tan ? fmaxl(1.0L, m) : 1.0L;
    return d <= m * amp * 0x1p-54L || d <= 0x1p-60L;
}

static int run_fpu_form(const FForm *f, int ncases)
{
    int failures = 0;
    NativeState *st = (NativeState *)(low + (STATE_ADDR - LOW_BASE));
    (void)st;
    for (int k = 0; k < ncases && failures < 3; k++) {
        FSave in, nout, eout;
        uint8_t insn[8];
        int len = 0;
        uint32_t regs[8], nregs[8], eregs[8], nfl = 0, efl = 0;
        rand_fsave(&in);
        if (f->kind == FK_LOOSE) {
            /* Approximations are compared on ordinary operands: ST(0) and
             * ST(1) finite in the domain, ST(7) free. */
            uint32_t top = (in.fsw >> 11) & 7;
            for (int q = 0; q < 2; q++) {
                long double v = ldexpl((long double)g_rand_double_range(rng, 0.05, 0.95),
                                       q == 0 && f->modrm == 0xf0 ? 0 : g_rand_int_range(rng, -3, 6));
                if (f->modrm != 0xf1 && f->modrm != 0xf9 && g_rand_boolean(rng)) {
                    v = -v;
                }
                memcpy(in.st[q], &v, 10);
                in.ftw &= ~(3u << (2 * ((top + q) & 7)));
            }
            in.ftw |= 3u << (2 * ((top + 7) & 7));
        }
        insn[len++] = f->op;
        insn[len++] = f->modrm;
        if (f->mem) {
            insn[len++] = g_rand_int_range(rng, 0, 64);
        }
        for (int r = 0; r < 8; r++) {
            regs[r] = g_rand_int(rng);
        }
        regs[3] = DATA_ADDR;
        regs[4] = TEST_ESP;
        uint32_t flags = (g_rand_int(rng) & ARITH) | 0x2;
        uint8_t mem[256];
        for (int b = 0; b < 256; b++) {
            mem[b] = g_rand_int_range(rng, 0, 256);
        }
        if (f->mem && f->mem_kind) {
            rand_mem_operand(mem + insn[2], f->mem_kind);
        }
        memcpy(low + (FPU_IN - LOW_BASE), &in, sizeof(in));
        memcpy(emu_ram + (FPU_IN - LOW_BASE), &in, sizeof(in));
        memcpy(low + (DATA_ADDR - LOW_BASE), mem, 256);
        memcpy(emu_ram + (DATA_ADDR - LOW_BASE), mem, 256);

        int nx = run_native(insn, len, regs, flags, nregs, &nfl);
        memcpy(&nout, low + (FPU_OUT - LOW_BASE), sizeof(nout));
        /* Emulator: FRSTOR [FPU_IN]; insn; FNSAVE [FPU_OUT] */
        uint8_t code[24];
        int cl = 0;
        code[cl++] = 0xdd; code[cl++] = 0x25;
        uint32_t a = FPU_IN;
        memcpy(code + cl, &a, 4); cl += 4;
        memcpy(code + cl, insn, len); cl += len;
        code[cl++] = 0xdd; code[cl++] = 0x35;
        a = FPU_OUT;
        memcpy(code + cl, &a, 4); cl += 4;
        X86Registers r;
        memcpy(emu_ram + (EMU_CODE - LOW_BASE), code, cl);
        x86_cpu_invalidate_phys(emu_cpu, EMU_CODE, cl);
        x86_regs_flat32(&r, 0x23, 0x2b);
        r.cr0 |= X86_CR0_NE;
        for (int q = 0; q < 8; q++) {
            r.gpr[q] = regs[q];
        }
        r.rip = EMU_CODE;
        r.rflags = flags;
        x86_cpu_set_regs(emu_cpu, &r);
        int ex = -1;
        for (int step = 0; step < 3; step++) {
            if (x86_cpu_exec(emu_cpu, 1) == X86_EXIT_EXCEPTION) {
                int vec, err;
                x86_cpu_last_exception(emu_cpu, &vec, &err);
                ex = step == 1 ? vec : 200 + vec;
                break;
            }
        }
        x86_cpu_get_regs(emu_cpu, &r);
        for (int q = 0; q < 8; q++) {
            eregs[q] = (uint32_t)r.gpr[q];
        }
        efl = (uint32_t)r.rflags;
        if (ex < 0 && r.rip != EMU_CODE + (uint32_t)cl) {
            ex = 100;
        }
        memcpy(&eout, emu_ram + (FPU_OUT - LOW_BASE), sizeof(eout));
        if (nx == 0) {
            nx = 16;        /* SIGFPE from an x87 instruction is #MF */
        }

        GString *why = NULL;
        #define WHY(...) do { if (!why) { why = g_string_new(f->name); \
            g_string_append_printf(why, ": fcw %04x fsw %04x ftw %04x:", in.fcw & 0xffff, \
                                   in.fsw & 0xffff, in.ftw & 0xffff); \
            for (int b_ = 0; b_ < len; b_++) g_string_append_printf(why, " %02x", insn[b_]); \
            for (int q_ = 0; q_ < 2; q_++) { uint64_t m_; uint16_t s_; \
                memcpy(&m_, in.st[q_], 8); memcpy(&s_, in.st[q_] + 8, 2); \
                g_string_append_printf(why, " st%d=%04x:%016llx", q_, s_, (unsigned long long)m_); } \
            if (f->mem) { g_string_append(why, " m="); \
                for (int b_ = 0; b_ < 10; b_++) g_string_append_printf(why, "%02x", mem[insn[2] + b_]); } \
            g_string_append(why, ": "); g_string_append_printf(why, __VA_ARGS__); } } while (0)
        if (nx != ex) {
            WHY("native exception %d, emulator %d", nx, ex);
        } else if (nx < 0) {
            uint32_t mask = 0xffff & ~f->fsw_undef;
            if (f->kind == FK_LOOSE) {
                mask &= ~(C1 | 0x30);           /* PE, UE, C1: rounding of the approximation */
            }
            if ((fsw_of(&nout) & mask) != (fsw_of(&eout) & mask)) {
                WHY("fsw native %04x emulator %04x (compared %04x)", fsw_of(&nout), fsw_of(&eout), mask);
            }
            if ((nout.fcw & 0xffff) != (eout.fcw & 0xffff)) {
                WHY("fcw native %04x emulator %04x", nout.fcw & 0xffff, eout.fcw & 0xffff);
            }
            if ((nout.ftw & 0xffff) != (eout.ftw & 0xffff)) {
                WHY("ftw native %04x emulator %04x", nout.ftw & 0xffff, eout.ftw & 0xffff);
            }
            for (int q = 0; q < 8; q++) {
                bool same = f->kind == FK_LOOSE ? ld_close(nout.st[q], eout.st[q], f->modrm == 0xf2)
                                                : memcmp(nout.st[q], eout.st[q], 10) == 0;
                /* Registers the tag word calls empty hold stale values. */
                int p = (((nout.fsw >> 11) & 7) + q) & 7;
                if (((nout.ftw >> (2 * p)) & 3) == 3) {
                    same = true;
                }
                if (!same) {
                    uint64_t nm, em;
                    uint16_t ns, es;
                    memcpy(&nm, nout.st[q], 8); memcpy(&ns, nout.st[q] + 8, 2);
                    memcpy(&em, eout.st[q], 8); memcpy(&es, eout.st[q] + 8, 2);
                    WHY("st%d native %04x:%016llx emulator %04x:%016llx", q, ns,
                        (unsigned long long)nm, es, (unsigned long long)em);
                }
            }
            for (int q = 0; q < 8; q++) {
                if (nregs[q] != eregs[q]) {
                    WHY("%s native %08x emulator %08x", reg_names[q], nregs[q], eregs[q]);
                }
            }
            if ((nfl & ARITH) != (efl & ARITH)) {
                WHY("eflags native %03x emulator %03x", nfl & ARITH, efl & ARITH);
            }
            if (memcmp(low + (DATA_ADDR - LOW_BASE), emu_ram + (DATA_ADDR - LOW_BASE), 256)) {
                WHY("memory differs");
            }
        }
        #undef WHY
        if (why) {
            fprintf(stderr, "# MISMATCH %s\n", why->str);
            g_string_free(why, TRUE);
            failures++;
        }
    }
    return failures;
}

static void test_fpu_forms(void)
{
    if (!compat_ok) {
        g_test_skip("no native execution");
        return;
    }
    fpu_unmasked = getenv("VMKEMU_X86_FPU_MASKED") == NULL;
    build_fpu_forms();
    int n = cases_per_form(), bad = 0;
    for (guint k = 0; k < fforms->len; k++) {
        if (run_fpu_form(&g_array_index(fforms, FForm, k), n) > 0) {
            bad++;
        }
    }
    g_test_message("%u x87 forms, %d cases each, %d forms mismatched", fforms->len, n, bad);
    for (guint k = 0; k < fforms->len; k++) {
        g_free(g_array_index(fforms, FForm, k).name);
    }
    g_array_free(fforms, TRUE);
    g_assert_cmpint(bad, ==, 0);
}


/* Random sequences of flag producers and consumers (lazy flags carried
 * across instructions, INC/DEC keeping CF of an earlier operation). */
static void test_sequences(void)
{
    if (!compat_ok) {
        g_test_skip("no native execution");
        return;
    }
    /* { opcode, ModRM base, kind }: kind 2 = ModRM with any reg and rm,
     * 3 = group opcode (reg fixed by the base), 1 = no ModRM. */
    static const uint8_t ops[][3] = {
        { 0x01, 0xc0, 2 }, { 0x29, 0xc0, 2 }, { 0x11, 0xc0, 2 }, { 0x19, 0xc0, 2 },
        { 0x39, 0xc0, 2 }, { 0x21, 0xc0, 2 }, { 0x31, 0xc0, 2 }, { 0x85, 0xc0, 2 },
        { 0xff, 0xc0, 3 }, { 0xff, 0xc8, 3 }, { 0xfe, 0xc0, 3 }, { 0xfe, 0xc8, 3 },
        { 0xd1, 0xe0, 3 }, { 0xd1, 0xe8, 3 }, { 0xd1, 0xd0, 3 }, { 0xd1, 0xd8, 3 },
        { 0xf7, 0xd8, 3 }, { 0x10, 0xc0, 2 }, { 0x18, 0xc0, 2 },
        { 0xf5, 0, 1 }, { 0xf8, 0, 1 }, { 0xf9, 0, 1 },
    };  /* no DAA/AAA/MUL: the flags they leave undefined would flow on */
    int n = cases_per_form() * 20, bad = 0;
    for (int k = 0; k < n && bad < 5; k++) {
        uint8_t insn[32];
        int len = 0, count = g_rand_int_range(rng, 2, 6);
        for (int q = 0; q < count; q++) {
            int o = g_rand_int_range(rng, 0, G_N_ELEMENTS(ops));
            if (g_rand_int_range(rng, 0, 4) == 0 && ops[o][2] >= 2 && ops[o][0] != 0xfe &&
                ops[o][0] != 0x10 && ops[o][0] != 0x18) {
                insn[len++] = 0x66;
            }
            insn[len++] = ops[o][0];
            if (ops[o][2] >= 2) {
                insn[len++] = ops[o][1] | (ops[o][2] == 2 ? g_rand_int_range(rng, 0, 8) << 3 : 0) |
                              g_rand_int_range(rng, 0, 8);
            }
        }
        /* Finish with a consumer of CF and the others. */
        static const uint8_t tail[][3] = {
            { 0x0f, 0x92, 0xc1 }, { 0x0f, 0x93, 0xc1 }, { 0x0f, 0x96, 0xc1 }, { 0x0f, 0x9c, 0xc1 },
            { 0x13, 0xc8, 0 }, { 0x1b, 0xc8, 0 }, { 0xd1, 0xd1, 0 }, { 0x0f, 0x4f, 0xc8 },
        };
        int t = g_rand_int_range(rng, 0, G_N_ELEMENTS(tail));
        insn[len++] = tail[t][0];
        insn[len++] = tail[t][1];
        if (tail[t][2]) {
            insn[len++] = tail[t][2];
        }
        count++;
        uint32_t in[8], nout[8], eout[8], nfl = 0, efl = 0;
        for (int r = 0; r < 8; r++) {
            in[r] = rnd32();
        }
        in[4] = TEST_ESP;
        uint32_t flags = (g_rand_int(rng) & ARITH) | 0x2;
        /* ESP must stay the stack pointer: keep it out of the operands. */
        bool uses_esp = false;
        for (int b = 0; b < len; b++) {
            if (insn[b] >= 0xc0 && ((insn[b] & 7) == 4 || ((insn[b] >> 3) & 7) == 4)) {
                uses_esp = true;
            }
        }
        if (uses_esp) {
            continue;
        }
        int nx = run_native(insn, len, in, flags, nout, &nfl);
        X86Registers r;
        /* The emulated copy ends in HLT: budgets count whole blocks. */
        memcpy(emu_ram + (EMU_CODE - LOW_BASE), insn, len);
        emu_ram[EMU_CODE - LOW_BASE + len] = 0xf4;
        x86_cpu_invalidate_phys(emu_cpu, EMU_CODE, len + 1);
        x86_regs_flat32(&r, 0x23, 0x2b);
        for (int q = 0; q < 8; q++) {
            r.gpr[q] = in[q];
        }
        r.rip = EMU_CODE;
        r.rflags = flags;
        x86_cpu_set_regs(emu_cpu, &r);
        x86_cpu_set_single_step(emu_cpu, false);
        X86Exit e = x86_cpu_exec(emu_cpu, 1000);
        x86_cpu_set_single_step(emu_cpu, true);
        (void)count;
        x86_cpu_get_regs(emu_cpu, &r);
        for (int q = 0; q < 8; q++) {
            eout[q] = (uint32_t)r.gpr[q];
        }
        efl = (uint32_t)r.rflags;
        /* AF after the logic ops is undefined: compare CF ZF SF PF OF (all
         * defined by these one-bit shifts and rotates), and the registers. */
        uint32_t mask = CF | ZF | SF | PF | OF;
        if (nx != -1) {
            continue;               /* e.g. #DE: not what this test is about */
        }
        if (e != X86_EXIT_HLT || r.rip != EMU_CODE + (uint32_t)len + 1 ||
            memcmp(nout, eout, sizeof(nout)) || (nfl & mask) != (efl & mask)) {
            GString *g = g_string_new("sequence:");
            for (int b = 0; b < len; b++) {
                g_string_append_printf(g, " %02x", insn[b]);
            }
            g_string_append_printf(g, " fl %03x: native fl %03x emulator %03x", flags, nfl & ARITH,
                                   efl & ARITH);
            for (int q = 0; q < 8; q++) {
                if (nout[q] != eout[q]) {
                    g_string_append_printf(g, " %s %08x/%08x", reg_names[q], nout[q], eout[q]);
                }
            }
            fprintf(stderr, "# MISMATCH %s\n", g->str);
            g_string_free(g, TRUE);
            bad++;
        }
    }
    g_assert_cmpint(bad, ==, 0);
}

/* The harness itself must be able to fail: a deliberately wrong
 * expectation (ADD result compared against SUB) is detected. */
static void test_harness_detects_difference(void)
{
    if (!compat_ok) {
        g_test_skip("no native execution");
        return;
    }
    uint32_t in[8] = { 5, 0, 0, 0, TEST_ESP, 0, 0, 0 }, nout[8], eout[8], nfl, efl;
    in[1] = 3;
    const uint8_t add[] = { 0x01, 0xc8 };   /* add eax, ecx */
    const uint8_t sub[] = { 0x29, 0xc8 };   /* sub eax, ecx */
    g_assert_cmpint(run_native(add, 2, in, 0x2, nout, &nfl), ==, -1);
    g_assert_cmpint(run_emu(sub, 2, in, 0x2, eout, &efl), ==, -1);
    g_assert_cmpuint(nout[0], ==, 8);
    g_assert_cmpuint(eout[0], ==, 2);
    g_assert_cmpint(run_native((const uint8_t[]){ 0xf7, 0xf1 }, 2,     /* div ecx */
                               (const uint32_t[]){ 1, 0, 0, 0, TEST_ESP, 0, 0, 0 }, 2,
                               nout, &nfl), ==, 0);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    const char *seed = getenv("VMKEMU_X86_SEED");
    rng = seed ? g_rand_new_with_seed(atoi(seed)) : g_rand_new();
    setup_native();
    setup_emu();
    build_forms();
    g_test_add_func("/x86/alu/harness", test_harness_detects_difference);
    g_test_add_func("/x86/alu/forms", test_forms);
    g_test_add_func("/x86/fpu/forms", test_fpu_forms);
    g_test_add_func("/x86/alu/sequences", test_sequences);
    int r = g_test_run();
    x86_cpu_free(emu_cpu);
    as_free(emu_as);
    g_free(emu_ram);
    for (guint k = 0; k < forms->len; k++) {
        g_free((char *)g_array_index(forms, Form, k).name);
    }
    g_array_free(forms, TRUE);
    g_rand_free(rng);
    return r;
}
