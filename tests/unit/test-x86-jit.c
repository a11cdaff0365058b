/*
 * The CPU emulator's JIT (target-i386/jit.c): hot blocks run as host code
 * and must behave exactly like the interpreter -- self-modifying code inside
 * a translated block, a fault in the middle of one (state as before the
 * faulting instruction, lazy flags included), chaining between translated
 * blocks and invalidation of chained code, running out of code buffer, the
 * instruction budget and kicks in chained loops, and the switch that turns
 * the JIT off.  Each guest is plain 32-bit code (flat segments) run with
 * x86_cpu_exec; results are checked against values computed here.
 */
#include <glib.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "memory.h"
#include "x86-cpu.h"
#include "x86-regs.h"

#define RAM_SIZE (16u << 20)

typedef struct Rig {
    AddressSpace *as;
    uint8_t *ram;
    X86CPU *cpu;
    X86Registers r;
} Rig;

static void rig_init(Rig *g)
{
    g->as = as_new();
    g->ram = g_malloc0(RAM_SIZE);
    as_add_ram(g->as, "ram", 0, RAM_SIZE, g->ram);
    X86CPUBus bus = { .as = g->as };
    g->cpu = x86_cpu_new(&bus);
    x86_regs_flat32(&g->r, 0x08, 0x10);
    g->r.gpr[X86_RSP] = 0x8000;
}

static void rig_free(Rig *g)
{
    x86_cpu_free(g->cpu);
    as_free(g->as);
    g_free(g->ram);
}

static X86Exit run(Rig *g, uint32_t eip, int64_t budget)
{
    g->r.rip = eip;
    x86_cpu_set_regs(g->cpu, &g->r);
    X86Exit e = x86_cpu_exec(g->cpu, budget);
    x86_cpu_get_regs(g->cpu, &g->r);
    return e;
}

static X86CPUStats stats(Rig *g)
{
    X86CPUStats st;
    x86_cpu_get_stats(g->cpu, &st);
    return st;
}

static void put(Rig *g, uint32_t addr, const void *code, size_t len)
{
    memcpy(g->ram + addr, code, len);
}

static void put32(uint8_t *p, uint32_t v)
{
    memcpy(p, &v, 4);
}

/* A hot loop gets translated and computes what the interpreter does. */
static void test_translated_loop(void)
{
    Rig g;
    rig_init(&g);
    static const uint8_t code[] = {
        0x31, 0xc0,                         /* xor eax, eax */
        0xb9, 0xe8, 0x03, 0x00, 0x00,       /* mov ecx, 1000 */
        0x89, 0xca,                         /* L: mov edx, ecx */
        0x0f, 0xaf, 0xd1,                   /* imul edx, ecx */
        0x01, 0xd0,                         /* add eax, edx */
        0x49,                               /* dec ecx */
        0x75, 0xf6,                         /* jnz L */
        0xf4,                               /* hlt */
    };
    put(&g, 0x10000, code, sizeof(code));
    g_assert_cmpint(run(&g, 0x10000, 1000000), ==, X86_EXIT_HLT);
    uint32_t want = 0;
    for (uint32_t k = 1; k <= 1000; k++) {
        want += k * k;
    }
    g_assert_cmphex((uint32_t)g.r.gpr[X86_RAX], ==, want);
    g_assert_cmphex((uint32_t)g.r.rip, ==, 0x10000 + sizeof(code));
    /* ZF from DEC, CF from ADD (kept by DEC). */
    g_assert_true(g.r.rflags & 0x40);
    if (x86_cpu_jit_enabled(g.cpu)) {
        g_assert_cmpuint(stats(&g).jit_blocks, >=, 1);
    }
    rig_free(&g);
}

/* Iteration 500 of a translated loop rewrites the immediate of the next
 * instruction of its own block: that instruction and the rest of the loop
 * must see the new byte. */
static void test_smc_in_translated_block(void)
{
    Rig g;
    rig_init(&g);
    uint8_t code[64];
    size_t n = 0;
    const uint32_t base = 0x20000, scratch = 0x90000;
    code[n++] = 0x31; code[n++] = 0xc0;                     /* xor eax, eax */
    code[n++] = 0xb9; put32(code + n, 1000); n += 4;        /* mov ecx, 1000 */
    size_t loop = n;
    code[n++] = 0xbf; put32(code + n, scratch); n += 4;     /* L: mov edi, scratch */
    size_t mov_esi = n;
    code[n++] = 0xbe; n += 4;                               /* mov esi, &imm */
    code[n++] = 0x81; code[n++] = 0xf9; put32(code + n, 500); n += 4;  /* cmp ecx, 500 */
    code[n++] = 0x0f; code[n++] = 0x44; code[n++] = 0xfe;   /* cmove edi, esi */
    code[n++] = 0xc6; code[n++] = 0x07; code[n++] = 0x07;   /* mov byte [edi], 7 */
    code[n++] = 0x83; code[n++] = 0xc0;                     /* add eax, imm8 */
    size_t imm = n;
    code[n++] = 0x01;
    code[n++] = 0x49;                                       /* dec ecx */
    code[n++] = 0x75; code[n] = (uint8_t)(loop - (n + 1)); n++;    /* jnz L */
    code[n++] = 0xf4;
    put32(code + mov_esi + 1, base + (uint32_t)imm);
    put(&g, base, code, n);
    g_assert_cmpint(run(&g, base, 1000000), ==, X86_EXIT_HLT);
    g_assert_cmpuint((uint32_t)g.r.gpr[X86_RAX], ==, 500 * 1 + 500 * 7);
    g_assert_cmpuint(g.ram[base + imm], ==, 7);
    g_assert_cmpuint(stats(&g).code_invalidations, >=, 1);
    rig_free(&g);
}

/* A loop whose load runs off the end of DS after many iterations: #GP
 * with everything as before the load (the ADD before it done, its flags
 * included, the pointer not yet advanced). */
static void test_precise_fault(void)
{
    Rig g;
    rig_init(&g);
    static const uint8_t code[] = {
        0x83, 0xc0, 0x01,                   /* L: add eax, 1 */
        0x8b, 0x16,                         /* mov edx, [esi] */
        0x81, 0xc6, 0x00, 0x10, 0x00, 0x00, /* add esi, 4096 */
        0x3d, 0xe8, 0x03, 0x00, 0x00,       /* cmp eax, 1000 */
        0x75, 0xee,                         /* jne L */
        0xf4,
    };
    put(&g, 0x30000, code, sizeof(code));
    g.r.seg[X86_SEG_DS].limit = 0x1fffff;
    g.r.gpr[X86_RAX] = 0x7fffff00;          /* the ADD overflows on the way */
    g.r.gpr[X86_RSI] = 0x100000;
    g.r.gpr[X86_RDX] = 0x1234;
    x86_cpu_set_exception_exit(g.cpu, true);
    g_assert_cmpint(run(&g, 0x30000, 1000000), ==, X86_EXIT_EXCEPTION);
    int vec, err;
    x86_cpu_last_exception(g.cpu, &vec, &err);
    g_assert_cmpint(vec, ==, 13);
    /* 0x100 loads succeed (ESI 0x100000 .. 0x1ff000), the next faults. */
    g_assert_cmphex((uint32_t)g.r.gpr[X86_RSI], ==, 0x200000);
    g_assert_cmphex((uint32_t)g.r.gpr[X86_RAX], ==, 0x7fffff00u + 0x101u);
    g_assert_cmphex((uint32_t)g.r.rip, ==, 0x30003);
    g_assert_cmphex((uint32_t)g.r.gpr[X86_RDX], ==, 0);
    /* Flags of add eax, 1 giving 0x80000001: SF and OF clear? 0x80000000
     * + 1 does not overflow: SF=1, OF=0, ZF=0, CF=0. */
    g_assert_cmphex((uint32_t)g.r.rflags & 0x8d5, ==, 0x80);
    rig_free(&g);
}

/* The same with paging: a #PF in the middle of a translated block leaves
 * CR2, the error code and the registers right. */
static void test_precise_page_fault(void)
{
    Rig g;
    rig_init(&g);
    /* Page directory at 0x1000: 4 MiB pages for 0-8 MiB, nothing above. */
    put32(g.ram + 0x1000, 0x00000083);
    put32(g.ram + 0x1004, 0x00400083);
    static const uint8_t code[] = {
        0x01, 0xd8,                         /* L: add eax, ebx */
        0x89, 0x0e,                         /* mov [esi], ecx */
        0x81, 0xc6, 0x00, 0x00, 0x01, 0x00, /* add esi, 0x10000 */
        0xeb, 0xf4,                         /* jmp L */
    };
    put(&g, 0x30000, code, sizeof(code));
    g.r.cr0 |= 0x80000001u;
    g.r.cr3 = 0x1000;
    g.r.cr4 |= 0x10;
    g.r.gpr[X86_RAX] = 0;
    g.r.gpr[X86_RBX] = 3;
    g.r.gpr[X86_RCX] = 0xabcd;
    g.r.gpr[X86_RSI] = 0x200000;
    x86_cpu_set_exception_exit(g.cpu, true);
    g_assert_cmpint(run(&g, 0x30000, 1000000), ==, X86_EXIT_EXCEPTION);
    int vec, err;
    x86_cpu_last_exception(g.cpu, &vec, &err);
    g_assert_cmpint(vec, ==, 14);
    g_assert_cmpint(err, ==, 0x2);          /* write, not present, supervisor */
    g_assert_cmphex((uint32_t)g.r.cr2, ==, 0x800000);
    g_assert_cmphex((uint32_t)g.r.gpr[X86_RSI], ==, 0x800000);
    /* (0x800000 - 0x200000) / 0x10000 = 96 stores done, 97 ADDs. */
    g_assert_cmphex((uint32_t)g.r.gpr[X86_RAX], ==, 97 * 3);
    g_assert_cmphex((uint32_t)g.r.rip, ==, 0x30002);
    g_assert_cmphex(*(uint32_t *)(g.ram + 0x7f0000), ==, 0xabcd);
    rig_free(&g);
}

/* Two blocks of one page that jump to each other; then the second is
 * rewritten (behind the CPU's back, then announced) and the loop must run
 * the new code. */
static void test_chain_and_invalidate(void)
{
    Rig g;
    rig_init(&g);
    static const uint8_t a[] = {
        0x83, 0xc0, 0x01,                   /* A: add eax, 1 */
        0xe9, 0xf8, 0x00, 0x00, 0x00,       /* jmp B (A + 0x100) */
    };
    static const uint8_t b1[] = {
        0x49,                               /* B: dec ecx */
        0x0f, 0x85, 0xf9, 0xfe, 0xff, 0xff, /* jnz A */
        0xf4,
    };
    static const uint8_t b2[] = {
        0x83, 0xe9, 0x02,                   /* B: sub ecx, 2 */
        0x0f, 0x85, 0xf7, 0xfe, 0xff, 0xff, /* jnz A */
        0xf4,
    };
    put(&g, 0x40000, a, sizeof(a));
    put(&g, 0x40100, b1, sizeof(b1));
    g.r.gpr[X86_RAX] = 0;
    g.r.gpr[X86_RCX] = 5000;
    g_assert_cmpint(run(&g, 0x40000, 10000000), ==, X86_EXIT_HLT);
    g_assert_cmpuint((uint32_t)g.r.gpr[X86_RAX], ==, 5000);
    if (x86_cpu_jit_enabled(g.cpu)) {
        /* A -> B and B -> A were patched into direct jumps. */
        g_assert_cmpuint(stats(&g).jit_links, >=, 2);
    }
    put(&g, 0x40100, b2, sizeof(b2));
    x86_cpu_invalidate_phys(g.cpu, 0x40100, sizeof(b2));
    g.r.gpr[X86_RAX] = 0;
    g.r.gpr[X86_RCX] = 5000;
    g_assert_cmpint(run(&g, 0x40000, 10000000), ==, X86_EXIT_HLT);
    g_assert_cmpuint((uint32_t)g.r.gpr[X86_RAX], ==, 2500);
    rig_free(&g);
}

/* Many distinct hot routines in a small code buffer: translations are
 * dropped when it fills up and made again; results stay right. */
static void test_buffer_full(void)
{
    g_setenv("VMKEMU_X86_JIT_SIZE", "64", TRUE);        /* KiB */
    Rig g;
    rig_init(&g);
    g_unsetenv("VMKEMU_X86_JIT_SIZE");
    /* 1024 routines "add eax, k; add eax, ecx; ret" at 64-byte steps, called
     * in turn 40 times each by a loop. */
    const uint32_t base = 0x100000, n = 1024;
    for (uint32_t k = 0; k < n; k++) {
        uint8_t *p = g.ram + base + k * 64;
        p[0] = 0x05;
        put32(p + 1, k);
        p[5] = 0x01; p[6] = 0xc8;
        p[7] = 0xc3;
    }
    static const uint8_t drv[] = {
        0x31, 0xc0,                         /* xor eax, eax */
        0xbd, 0x28, 0x00, 0x00, 0x00,       /* mov ebp, 40 */
        0xbe, 0x00, 0x00, 0x10, 0x00,       /* O: mov esi, base */
        0xb9, 0x00, 0x04, 0x00, 0x00,       /* mov ecx, 1024 */
        0xff, 0xd6,                         /* I: call esi */
        0x83, 0xc6, 0x40,                   /* add esi, 64 */
        0x49,                               /* dec ecx */
        0x75, 0xf8,                         /* jnz I */
        0x4d,                               /* dec ebp */
        0x75, 0xe9,                         /* jnz O */
        0xf4,
    };
    put(&g, 0x50000, drv, sizeof(drv));
    g_assert_cmpint(run(&g, 0x50000, 100000000), ==, X86_EXIT_HLT);
    uint32_t want = 0;
    for (uint32_t k = 0; k < n; k++) {
        /* ECX counts down from 1024 as routine k runs. */
        want += k + (n - k);
    }
    want *= 40;
    g_assert_cmpuint((uint32_t)g.r.gpr[X86_RAX], ==, want);
    if (x86_cpu_jit_enabled(g.cpu)) {
        X86CPUStats st = stats(&g);
        g_assert_cmpuint(st.jit_flushes, >=, 1);
        g_assert_cmpuint(st.jit_bytes, <=, 64 << 10);
    }
    rig_free(&g);
}

/* A translated endless loop still ends its slice on the budget, and on a
 * kick from another thread. */
static gpointer kicker(gpointer opaque)
{
    g_usleep(50000);
    x86_cpu_kick(opaque);
    return NULL;
}

static void test_budget_and_kick(void)
{
    Rig g;
    rig_init(&g);
    static const uint8_t code[] = {
        0x40,                               /* L: inc eax */
        0x83, 0xc3, 0x02,                   /* add ebx, 2 */
        0xeb, 0xfa,                         /* jmp L */
    };
    put(&g, 0x60000, code, sizeof(code));
    g.r.gpr[X86_RAX] = 0;
    g.r.gpr[X86_RBX] = 0;
    g_assert_cmpint(run(&g, 0x60000, 300000), ==, X86_EXIT_BUDGET);
    uint32_t iters = (uint32_t)g.r.gpr[X86_RAX];
    /* Block granular: a few blocks beyond the budget at most. */
    g_assert_cmpuint(iters, >=, 100000);
    g_assert_cmpuint(iters, <=, 100000 + 200);
    g_assert_cmpuint((uint32_t)g.r.gpr[X86_RBX], ==, 2 * iters);
    g_assert_cmphex((uint32_t)g.r.rip, ==, 0x60000);
    GThread *t = g_thread_new("kick", kicker, g.cpu);
    g_assert_cmpint(run(&g, 0x60000, INT64_MAX / 2), ==, X86_EXIT_REQUEST);
    g_thread_join(t);
    g_assert_cmpuint((uint32_t)g.r.gpr[X86_RBX], ==, 2 * (uint32_t)g.r.gpr[X86_RAX]);
    rig_free(&g);
}

/* VMKEMU_X86_JIT=0: nothing is translated, results are the same. */
static void test_disabled(void)
{
    g_setenv("VMKEMU_X86_JIT", "0", TRUE);
    Rig g;
    rig_init(&g);
    g_unsetenv("VMKEMU_X86_JIT");
    static const uint8_t code[] = {
        0x31, 0xc0, 0xb9, 0xe8, 0x03, 0x00, 0x00,
        0x01, 0xc8, 0x49, 0x75, 0xfb, 0xf4,
    };
    put(&g, 0x10000, code, sizeof(code));
    g_assert_cmpint(run(&g, 0x10000, 1000000), ==, X86_EXIT_HLT);
    g_assert_cmpuint((uint32_t)g.r.gpr[X86_RAX], ==, 500500);
    g_assert_cmpuint(stats(&g).jit_blocks, ==, 0);
    rig_free(&g);
}

/* Blocks translated while DS is flat (limit checks dropped) must notice
 * when it no longer is: entering such a block (entry guard) and after a
 * MOV DS inside it (guard after each handler call).  Both loads fault
 * with #GP at the right instruction. */
static void put_desc(uint8_t *p, uint32_t base, uint32_t limit, uint8_t access, uint8_t flags)
{
    uint32_t lo = (base << 16) | (limit & 0xffff);
    uint32_t hi = (base & 0xff000000u) | ((uint32_t)flags << 20) | (limit & 0xf0000) |
                  ((uint32_t)access << 8) | ((base >> 16) & 0xff);
    put32(p, lo);
    put32(p + 4, hi);
}

static void test_flat_segment_guards(void)
{
    for (int mid = 0; mid < 2; mid++) {
        Rig g;
        rig_init(&g);
        uint8_t *gdt = g.ram + 0x1000;
        put_desc(gdt + 8, 0, 0xfffff, 0x9a, 0xc);       /* 0x08 code, flat */
        put_desc(gdt + 16, 0, 0xfffff, 0x92, 0xc);      /* 0x10 data, flat */
        put_desc(gdt + 24, 0, 0x1ff, 0x92, 0xc);        /* 0x18 data, 2 MiB */
        g.r.gdt.base = 0x1000;
        g.r.gdt.limit = 0x1f;
        /* L: [mov ds, di]; mov eax, [esi]; add edx, eax; dec ecx; jnz L
         * then: esi = 0x200000, (mid ? di : ds) = 0x18, ecx = 100, jmp L */
        uint8_t code[64];
        size_t n = 0, l;
        l = n;
        if (mid) {
            code[n++] = 0x8e; code[n++] = 0xdf;         /* mov ds, edi */
        }
        size_t load = n;
        code[n++] = 0x8b; code[n++] = 0x06;             /* mov eax, [esi] */
        code[n++] = 0x01; code[n++] = 0xc2;             /* add edx, eax */
        code[n++] = 0x49;                               /* dec ecx */
        code[n++] = 0x75; code[n] = (uint8_t)(l - (n + 1)); n++;
        /* Bring the page into the TLB while DS is still flat. */
        code[n++] = 0xa1; put32(code + n, 0x200000); n += 4;    /* mov eax, [0x200000] */
        code[n++] = 0xbe; put32(code + n, 0x200000); n += 4;    /* mov esi, 0x200000 */
        code[n++] = 0xb8; put32(code + n, 0x18); n += 4;        /* mov eax, 0x18 */
        if (mid) {
            code[n++] = 0x89; code[n++] = 0xc7;         /* mov edi, eax */
        } else {
            code[n++] = 0x8e; code[n++] = 0xd8;         /* mov ds, eax */
        }
        code[n++] = 0xb9; put32(code + n, 100); n += 4; /* mov ecx, 100 */
        code[n++] = 0xe9; put32(code + n, (uint32_t)(l - (n + 4))); n += 4;  /* jmp L */
        put(&g, 0x30000, code, n);
        put32(g.ram + 0x100000, 3);
        g.r.gpr[X86_RSI] = 0x100000;
        g.r.gpr[X86_RDI] = 0x10;
        g.r.gpr[X86_RCX] = 100;
        g.r.gpr[X86_RDX] = 0;
        x86_cpu_set_exception_exit(g.cpu, true);
        g_assert_cmpint(run(&g, 0x30000, 1000000), ==, X86_EXIT_EXCEPTION);
        int vec, err;
        x86_cpu_last_exception(g.cpu, &vec, &err);
        g_assert_cmpint(vec, ==, 13);
        g_assert_cmphex((uint32_t)g.r.rip, ==, 0x30000 + load);
        g_assert_cmphex((uint32_t)g.r.gpr[X86_RDX], ==, 300);
        g_assert_cmphex((uint32_t)g.r.gpr[X86_RCX], ==, 100);
        g_assert_cmphex(g.r.seg[X86_SEG_DS].selector, ==, 0x18);
        if (x86_cpu_jit_enabled(g.cpu)) {
            g_assert_cmpuint(stats(&g).jit_blocks, >=, 1);
        }
        rig_free(&g);
    }
}

/* --- JIT against interpreter -------------------------------------------------- */

/* Random straight-line integer code: ALU (all eight operations, 8/16/32
 * bits, register and memory forms, immediates), TEST, INC/DEC, NOT/NEG,
 * shifts and rotates by immediates, IMUL, MOV/MOVZX/MOVSX/LEA, XCHG,
 * SETcc, CMOVcc, PUSH/POP, CLC/STC/CMC, LAHF/SAHF, and short forward Jcc
 * over the next instruction.  ESI and EDI point into a data area and are
 * never written; memory operands are [ESI/EDI + disp8], all inside it. */
static size_t gen_insn(GRand *r, uint8_t *p)
{
    size_t n = 0;
    int reg = g_rand_int_range(r, 0, 4);            /* EAX ECX EDX EBX (AL CL DL BL) */
    int kind = g_rand_int_range(r, 0, 22);
    bool o16 = g_rand_int_range(r, 0, 4) == 0;
    bool mem = g_rand_boolean(r);
    int rm = g_rand_int_range(r, 0, 4);
    /* ModRM for the E operand: register rm, or [esi/edi + disp8]. */
#define MODRM(regf) do {                                                      \
        if (mem) {                                                            \
            p[n++] = (uint8_t)(0x40 | ((regf) << 3) | (g_rand_boolean(r) ? 6 : 7)); \
            p[n++] = (uint8_t)g_rand_int_range(r, 0, 0x100);                  \
        } else {                                                              \
            p[n++] = (uint8_t)(0xc0 | ((regf) << 3) | rm);                    \
        }                                                                     \
    } while (0)
    /* The high byte registers AH..BH are 4-7 in byte forms. */
    if (g_rand_int_range(r, 0, 4) == 0) {
        rm |= 4;
    }
    switch (kind) {
    case 0: case 1: case 2: case 3: {           /* ALU E,G / G,E */
        int op = g_rand_int_range(r, 0, 8), w = g_rand_boolean(r), dir = g_rand_boolean(r);
        if (o16 && w) {
            p[n++] = 0x66;
        }
        p[n++] = (uint8_t)(op * 8 + dir * 2 + w);
        if (w) {
            rm &= 3;
        }
        MODRM(reg);
        break;
    }
    case 4: case 5: {                           /* ALU E,imm */
        int op = g_rand_int_range(r, 0, 8), f = g_rand_int_range(r, 0, 3);
        if (o16 && f) {
            p[n++] = 0x66;
        }
        p[n++] = (uint8_t)(f == 0 ? 0x80 : f == 1 ? 0x81 : 0x83);
        if (f) {
            rm &= 3;
        }
        MODRM(op);
        int imm = f == 1 ? (o16 ? 2 : 4) : 1;
        for (int k = 0; k < imm; k++) {
            p[n++] = (uint8_t)g_rand_int(r);
        }
        break;
    }
    case 6: {                                   /* TEST E,G / E,imm */
        int w = g_rand_boolean(r);
        if (o16 && w) {
            p[n++] = 0x66;
        }
        if (w) {
            rm &= 3;
        }
        if (g_rand_boolean(r)) {
            p[n++] = (uint8_t)(0x84 + w);
            MODRM(reg);
        } else {
            p[n++] = (uint8_t)(0xf6 + w);
            MODRM(0);
            int imm = w ? (o16 ? 2 : 4) : 1;
            for (int k = 0; k < imm; k++) {
                p[n++] = (uint8_t)g_rand_int(r);
            }
        }
        break;
    }
    case 7: {                                   /* INC/DEC/NOT/NEG */
        int w = g_rand_boolean(r), op = g_rand_int_range(r, 0, 4);
        if (o16 && w) {
            p[n++] = 0x66;
        }
        if (w) {
            rm &= 3;
        }
        if (op < 2) {
            if (w && !mem && g_rand_boolean(r)) {
                p[n++] = (uint8_t)(0x40 + op * 8 + rm);
                break;
            }
            p[n++] = (uint8_t)(0xfe + w);
            MODRM(op);
        } else {
            p[n++] = (uint8_t)(0xf6 + w);
            MODRM(op);
        }
        break;
    }
    case 8: case 9: {                           /* shifts and rotates */
        int w = g_rand_boolean(r), op = g_rand_int_range(r, 0, 8), f = g_rand_int_range(r, 0, 3);
        if (o16 && w) {
            p[n++] = 0x66;
        }
        if (w) {
            rm &= 3;
        }
        p[n++] = (uint8_t)((f == 0 ? 0xd0 : 0xc0) + w);
        MODRM(op);
        if (f) {
            p[n++] = (uint8_t)(f == 1 ? g_rand_int_range(r, 0, 8) : g_rand_int_range(r, 0, 40));
        }
        break;
    }
    case 10: {                                  /* IMUL */
        int f = g_rand_int_range(r, 0, 3);
        rm &= 3;
        if (o16) {
            p[n++] = 0x66;
        }
        if (f == 0) {
            p[n++] = 0x0f;
            p[n++] = 0xaf;
            MODRM(reg);
        } else {
            p[n++] = f == 1 ? 0x6b : 0x69;
            MODRM(reg);
            int imm = f == 1 ? 1 : o16 ? 2 : 4;
            for (int k = 0; k < imm; k++) {
                p[n++] = (uint8_t)g_rand_int(r);
            }
        }
        break;
    }
    case 11: {                                  /* MOV */
        int w = g_rand_boolean(r), f = g_rand_int_range(r, 0, 4);
        if (o16 && w) {
            p[n++] = 0x66;
        }
        if (w) {
            rm &= 3;
        }
        if (f < 2) {
            p[n++] = (uint8_t)(0x88 + f * 2 + w);
            MODRM(reg);
        } else if (f == 2) {
            p[n++] = (uint8_t)(0xc6 + w);
            MODRM(0);
            int imm = w ? (o16 ? 2 : 4) : 1;
            for (int k = 0; k < imm; k++) {
                p[n++] = (uint8_t)g_rand_int(r);
            }
        } else {
            p[n++] = (uint8_t)(0xb8 + (rm & 3));
            for (int k = 0; k < (o16 && w ? 2 : 4); k++) {
                p[n++] = (uint8_t)g_rand_int(r);
            }
        }
        break;
    }
    case 12: {                                  /* MOVZX/MOVSX, LEA */
        int f = g_rand_int_range(r, 0, 5);
        if (o16) {
            p[n++] = 0x66;
        }
        if (f == 4) {
            mem = true;
            p[n++] = 0x8d;
            MODRM(reg);
            break;
        }
        if (f & 1) {
            rm &= 3;
        }
        p[n++] = 0x0f;
        p[n++] = (uint8_t)(0xb6 + (f & 1) + (f >> 1) * 8);
        MODRM(reg);
        break;
    }
    case 13: {                                  /* SETcc */
        p[n++] = 0x0f;
        p[n++] = (uint8_t)(0x90 + g_rand_int_range(r, 0, 16));
        MODRM(0);
        break;
    }
    case 14: case 15: {                         /* CMOVcc */
        rm &= 3;
        if (o16) {
            p[n++] = 0x66;
        }
        p[n++] = 0x0f;
        p[n++] = (uint8_t)(0x40 + g_rand_int_range(r, 0, 16));
        MODRM(reg);
        break;
    }
    case 16:                                    /* XCHG */
        rm &= 3;
        if (o16) {
            p[n++] = 0x66;
        }
        p[n++] = 0x87;
        mem = false;
        MODRM(reg);
        break;
    case 17:                                    /* PUSH r / imm; POP r */
        if (g_rand_boolean(r)) {
            p[n++] = (uint8_t)(0x50 + reg);
        } else {
            p[n++] = 0x6a;
            p[n++] = (uint8_t)g_rand_int(r);
        }
        p[n++] = (uint8_t)(0x58 + (rm & 3));
        break;
    case 18: {                                  /* CLC STC CMC LAHF SAHF */
        static const uint8_t ops[] = { 0xf8, 0xf9, 0xf5, 0x9f, 0x9e };
        p[n++] = ops[g_rand_int_range(r, 0, 5)];
        break;
    }
    case 19: {                                  /* ADC/SBB right after a flag setter */
        int op = g_rand_boolean(r) ? 2 : 3;
        p[n++] = (uint8_t)(op * 8 + 1);
        rm &= 3;
        MODRM(reg);
        break;
    }
    default:                                    /* Jcc over the next one */
        p[n++] = (uint8_t)(0x70 + g_rand_int_range(r, 0, 16));
        p[n++] = 0xff;                          /* patched by the caller */
        break;
    }
#undef MODRM
    return n;
}

typedef struct DiffSide {
    Rig g;
    X86Exit exit;
} DiffSide;

static void test_against_interpreter(void)
{
    g_setenv("VMKEMU_X86_JIT_THRESHOLD", "0", TRUE);
    DiffSide jit;
    rig_init(&jit.g);
    g_setenv("VMKEMU_X86_JIT", "0", TRUE);
    DiffSide itp;
    rig_init(&itp.g);
    g_unsetenv("VMKEMU_X86_JIT");
    g_unsetenv("VMKEMU_X86_JIT_THRESHOLD");
    if (!x86_cpu_jit_enabled(jit.g.cpu)) {
        g_test_skip("no JIT on this host");
        rig_free(&jit.g);
        rig_free(&itp.g);
        return;
    }
    GRand *r = g_rand_new_with_seed(0x4a17);
    const char *env = getenv("VMKEMU_X86_JIT_DIFF_RUNS");
    int nruns = env ? atoi(env) : 3000, bad = 0;
    const uint32_t code = 0x70000, data = 0x80000;

    for (int n = 0; n < nruns && bad < 5; n++) {
        uint8_t buf[1024];
        size_t len = 0, last = 0;
        int count = g_rand_int_range(r, 4, 40);
        /* A third of the runs loop: mov ebp, N; L: ...; dec ebp; jnz L. */
        bool loop = g_rand_int_range(r, 0, 3) == 0;
        if (loop) {
            buf[len++] = 0xbd;
            put32(buf + len, (uint32_t)g_rand_int_range(r, 2, 40));
            len += 4;
            last = len;
        }
        size_t head = len;
        for (int k = 0; k < count; k++) {
            size_t at = len;
            len += gen_insn(r, buf + len);
            if (k > 0 && buf[last] >= 0x70 && buf[last] <= 0x7f && last + 2 == at) {
                buf[last + 1] = (uint8_t)(len - at);
            }
            last = at;
        }
        if (buf[last] >= 0x70 && buf[last] <= 0x7f && last + 2 == len) {
            buf[last + 1] = 0;
        }
        if (loop) {
            buf[len++] = 0x4d;                          /* dec ebp */
            buf[len++] = 0x0f;
            buf[len++] = 0x85;                          /* jnz head */
            put32(buf + len, (uint32_t)(head - (len + 4)));
            len += 4;
        }
        buf[len++] = 0xf4;
        uint32_t regs[8];
        for (int q = 0; q < 8; q++) {
            regs[q] = g_rand_int(r);
        }
        regs[4] = 0x8000;
        regs[6] = data + 0x80;
        regs[7] = data + 0x180;
        uint8_t dmem[0x300];
        for (size_t q = 0; q < sizeof(dmem); q++) {
            dmem[q] = (uint8_t)g_rand_int(r);
        }
        uint32_t fl = (g_rand_int(r) & 0x8d5) | 0x2;
        DiffSide *sides[2] = { &jit, &itp };
        uint64_t before = stats(&jit.g).jit_blocks;
        for (int s = 0; s < 2; s++) {
            Rig *g = &sides[s]->g;
            put(g, code, buf, len);
            x86_cpu_invalidate_phys(g->cpu, code, len);
            put(g, data, dmem, sizeof(dmem));
            x86_regs_flat32(&g->r, 0x08, 0x10);
            for (int q = 0; q < 8; q++) {
                g->r.gpr[q] = regs[q];
            }
            g->r.rflags = fl;
            sides[s]->exit = run(g, code, 100000);
        }
        if (jit.exit == X86_EXIT_SHUTDOWN || stats(&jit.g).jit_blocks == before) {
            fprintf(stderr, "# run %d: exit %d, jit_blocks %" G_GUINT64_FORMAT "\n", n,
                    jit.exit, stats(&jit.g).jit_blocks - before);
        }
        bool same = jit.exit == itp.exit && jit.g.r.rip == itp.g.r.rip &&
                    jit.g.r.rflags == itp.g.r.rflags &&
                    memcmp(jit.g.ram + data, itp.g.ram + data, sizeof(dmem)) == 0 &&
                    memcmp(jit.g.ram + 0x7000, itp.g.ram + 0x7000, 0x1000) == 0;
        for (int q = 0; q < 8; q++) {
            same = same && jit.g.r.gpr[q] == itp.g.r.gpr[q];
        }
        if (!same) {
            bad++;
            GString *m = g_string_new("# MISMATCH code:");
            for (size_t q = 0; q < len; q++) {
                g_string_append_printf(m, " %02x", buf[q]);
            }
            g_string_append_printf(m, "\n#   exit %d/%d rip %08x/%08x fl %08x/%08x (in %08x)",
                                   jit.exit, itp.exit, (uint32_t)jit.g.r.rip,
                                   (uint32_t)itp.g.r.rip, (uint32_t)jit.g.r.rflags,
                                   (uint32_t)itp.g.r.rflags, fl);
            for (int q = 0; q < 8; q++) {
                if (jit.g.r.gpr[q] != itp.g.r.gpr[q]) {
                    g_string_append_printf(m, " r%d %08x/%08x", q, (uint32_t)jit.g.r.gpr[q],
                                           (uint32_t)itp.g.r.gpr[q]);
                }
            }
            fprintf(stderr, "%s\n", m->str);
            g_string_free(m, TRUE);
        }
    }
    g_assert_cmpint(bad, ==, 0);
    g_assert_cmpuint(stats(&jit.g).jit_blocks, >=, (uint64_t)nruns);
    g_rand_free(r);
    rig_free(&jit.g);
    rig_free(&itp.g);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/x86/jit/translated-loop", test_translated_loop);
    g_test_add_func("/x86/jit/smc-in-translated-block", test_smc_in_translated_block);
    g_test_add_func("/x86/jit/precise-fault", test_precise_fault);
    g_test_add_func("/x86/jit/precise-page-fault", test_precise_page_fault);
    g_test_add_func("/x86/jit/chain-and-invalidate", test_chain_and_invalidate);
    g_test_add_func("/x86/jit/flat-segment-guards", test_flat_segment_guards);
    g_test_add_func("/x86/jit/buffer-full", test_buffer_full);
    g_test_add_func("/x86/jit/disabled", test_disabled);
    g_test_add_func("/x86/jit/against-interpreter", test_against_interpreter);
    /* Last: it starts a thread (the others set environment variables). */
    g_test_add_func("/x86/jit/budget-and-kick", test_budget_and_kick);
    return g_test_run();
}
