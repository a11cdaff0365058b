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
#include <string.h>
#include <sys/mman.h>
#include "memory.h"
#include "x86-cpu.h"
#include "x86-regs.h"

/* Low memory shared by the native stub and the emulated flat memory. */
#define LOW_BASE    0x40000000u
#define LOW_SIZE    0x00010000u
#define STATE_ADDR  (LOW_BASE + 0x0000)
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
    "  pushl 0x40000020\n  popfl\n"
    "  mov 0x40000000, %eax\n  mov 0x40000004, %ecx\n  mov 0x40000008, %edx\n"
    "  mov 0x4000000c, %ebx\n  mov 0x40000014, %ebp\n"
    "  mov 0x40000018, %esi\n  mov 0x4000001c, %edi\n  mov 0x40000010, %esp\n"
    "stub_pro_end:\n"
    "stub_epi_begin:\n"
    "  mov %eax, 0x40000024\n  mov %ecx, 0x40000028\n  mov %edx, 0x4000002c\n"
    "  mov %ebx, 0x40000030\n  mov %esp, 0x40000034\n  mov %ebp, 0x40000038\n"
    "  mov %esi, 0x4000003c\n  mov %edi, 0x40000040\n"
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

static void setup_emu(void)
{
    emu_ram = g_malloc0(LOW_SIZE);
    emu_as = as_new();
    as_add_ram(emu_as, "low", LOW_BASE, LOW_SIZE, emu_ram);
    X86CPUBus bus = { .as = emu_as };
    emu_cpu = x86_cpu_new(&bus);
    x86_cpu_set_single_step(emu_cpu, true);
    x86_cpu_set_exception_exit(emu_cpu, true);
}

static int run_emu(const uint8_t *insn, int len, const uint32_t in[8], uint32_t flags,
                   uint32_t out[8], uint32_t *out_flags)
{
    X86Registers r;
    memcpy(emu_ram + (EMU_CODE - LOW_BASE), insn, len);
    x86_cpu_invalidate_phys(emu_cpu, EMU_CODE, len);
    x86_regs_flat32(&r, 0x23, 0x2b);
    for (int k = 0; k < 8; k++) {
        r.gpr[k] = in[k];
    }
    r.rip = EMU_CODE;
    r.rflags = flags;
    x86_cpu_set_regs(emu_cpu, &r);
    X86Exit e = x86_cpu_exec(emu_cpu, 1);
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
