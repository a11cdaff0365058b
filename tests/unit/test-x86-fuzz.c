/*
 * Robustness of the CPU emulator against the guest: random bytes executed as
 * code, in real mode, 16- and 32-bit protected mode, at CPL 0 and 3, with and
 * without paging, must always end in normal progress, an exception delivered
 * through the guest's own (random-pointing) IDT, HLT or a triple fault --
 * never a host crash, a hang or a sanitizer report.  Random code also
 * rewrites its own descriptor tables, page tables and code (which exercises
 * the self-modifying-code path).  A watchdog (SIGALRM) fails the test when a
 * run does not come back.
 *
 * VMKEMU_X86_FUZZ_RUNS sets the number of runs (default 400) and
 * VMKEMU_X86_SEED the seed.
 */
#include <glib.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "memory.h"
#include "x86-cpu.h"
#include "x86-regs.h"

#define RAM_SIZE    (4u << 20)
#define GDT_BASE    0x1000u
#define IDT_BASE    0x2000u
#define TSS_BASE    0x3000u
#define PD_BASE     0x4000u
#define PT_BASE     0x5000u
#define CODE_BASE   0x10000u
#define CODE_SIZE   0x10000u
#define INSNS_PER_RUN 20000

static GRand *rng;
static uint8_t *ram;

static void put32(uint32_t addr, uint32_t v)
{
    memcpy(ram + addr, &v, 4);
}

static void put_desc(int idx, uint32_t base, uint32_t limit, uint8_t access, uint8_t flags)
{
    uint32_t lo = (base << 16) | (limit & 0xffff);
    uint32_t hi = (base & 0xff000000u) | ((uint32_t)flags << 20) | (limit & 0xf0000) |
                  ((uint32_t)access << 8) | ((base >> 16) & 0xff);
    put32(GDT_BASE + idx * 8, lo);
    put32(GDT_BASE + idx * 8 + 4, hi);
}

/* Valid system tables whose handlers point into the random code. */
static void build_tables(void)
{
    put_desc(0, 0, 0, 0, 0);
    put_desc(1, 0, 0xfffff, 0x9a, 0xc);     /* 0x08 code32 DPL0 */
    put_desc(2, 0, 0xfffff, 0x92, 0xc);     /* 0x10 data32 DPL0 */
    put_desc(3, 0, 0xffff, 0x9a, 0x0);      /* 0x18 code16 DPL0 */
    put_desc(4, 0, 0xffff, 0x92, 0x0);      /* 0x20 data16 DPL0 */
    put_desc(5, 0, 0xfffff, 0xfa, 0xc);     /* 0x28 code32 DPL3 */
    put_desc(6, 0, 0xfffff, 0xf2, 0xc);     /* 0x30 data32 DPL3 */
    put_desc(7, TSS_BASE, 0x67, 0x89, 0x0); /* 0x38 TSS32 */
    put_desc(8, 0, 0xfffff, 0x9e, 0xc);     /* 0x40 conforming code */
    /* a call gate to ring 0 */
    put32(GDT_BASE + 9 * 8, (0x08u << 16) | (CODE_BASE & 0xffff));
    put32(GDT_BASE + 9 * 8 + 4, (CODE_BASE & 0xffff0000u) | 0xec00);
    memset(ram + TSS_BASE, 0, 0x68);
    put32(TSS_BASE + 4, 0x9000);
    put32(TSS_BASE + 8, 0x10);
    for (int v = 0; v < 256; v++) {
        uint32_t target = CODE_BASE + g_rand_int_range(rng, 0, CODE_SIZE);
        uint8_t type = g_rand_boolean(rng) ? 0x8e : 0xef;
        put32(IDT_BASE + v * 8, (0x08u << 16) | (target & 0xffff));
        put32(IDT_BASE + v * 8 + 4, (target & 0xffff0000u) | ((uint32_t)type << 8));
    }
    /* The real-mode IVT at 0 points into the code too. */
    for (int v = 0; v < 256; v++) {
        uint32_t off = g_rand_int_range(rng, 0, 0x10000);
        put32(v * 4, ((CODE_BASE >> 4) << 16) | off);
    }
    /* Page directory: PDE 0 -> a page table with random present/user/write
     * bits (the tables themselves and the stack stay mapped), PDE 1 a 4 MiB
     * page. */
    memset(ram + PD_BASE, 0, 4096);
    put32(PD_BASE, PT_BASE | 7);
    put32(PD_BASE + 4, 0x00000087);
    for (uint32_t p = 0; p < 1024; p++) {
        uint32_t flags = 1 | (g_rand_int_range(rng, 0, 8) ? 2 : 0) | 4;
        if (p >= 0x10 && g_rand_int_range(rng, 0, 16) == 0) {
            flags = 0;
        }
        put32(PT_BASE + p * 4, (p << 12) | flags);
    }
}

static void random_fill(uint32_t addr, uint32_t len)
{
    for (uint32_t k = 0; k < len; k += 4) {
        put32(addr + k, g_rand_int(rng));
    }
}

static void seg(X86Segment *s, uint16_t sel, uint32_t limit, uint8_t type, int dpl, int db, int g)
{
    *s = (X86Segment){ .selector = sel, .base = 0, .limit = limit, .type = type, .s = 1,
                       .dpl = dpl, .present = 1, .db = db, .g = g };
}

/* One of the modes, with random registers. */
static void setup_mode(X86CPU *cpu, int mode)
{
    X86Registers r;
    x86_regs_reset(&r);
    for (int k = 0; k < 8; k++) {
        r.gpr[k] = g_rand_int(rng);
    }
    r.rflags = 0x2 | (g_rand_int(rng) & 0x0cd5);
    r.gdt.base = GDT_BASE;
    r.gdt.limit = 10 * 8 - 1;
    r.idt.base = mode == 0 ? 0 : IDT_BASE;
    r.idt.limit = mode == 0 ? 0x3ff : 256 * 8 - 1;
    r.seg[X86_SEG_TR] = (X86Segment){ .selector = 0x38, .base = TSS_BASE, .limit = 0x67,
                                      .type = 0xb, .present = 1 };
    switch (mode) {
    case 0:     /* real mode */
        for (int s = 0; s < 6; s++) {
            r.seg[s].selector = CODE_BASE >> 4;
            r.seg[s].base = CODE_BASE;
        }
        r.rip = g_rand_int_range(rng, 0, 0x10000);
        r.gpr[4] &= 0xffff;
        break;
    case 1:     /* 32-bit flat, CPL 0 */
    case 3:     /* ... with paging */
    case 4:     /* 32-bit flat, CPL 3 */
        r.cr0 = X86_CR0_PE | X86_CR0_ET;
        seg(&r.seg[X86_SEG_CS], mode == 4 ? 0x2b : 0x08, 0xffffffff, 0xb, mode == 4 ? 3 : 0, 1, 1);
        for (int s = 0; s < 6; s++) {
            if (s != X86_SEG_CS) {
                seg(&r.seg[s], mode == 4 ? 0x33 : 0x10, 0xffffffff, 0x3, mode == 4 ? 3 : 0, 1, 1);
            }
        }
        r.rip = CODE_BASE + g_rand_int_range(rng, 0, CODE_SIZE);
        r.gpr[4] = 0x8000 + g_rand_int_range(rng, 0, 0x1000);
        if (mode == 3) {
            r.cr3 = PD_BASE;
            r.cr4 = X86_CR4_PSE | (g_rand_boolean(rng) ? X86_CR4_PGE : 0);
            r.cr0 |= X86_CR0_PG | X86_CR0_WP;
        }
        break;
    case 2:     /* 16-bit protected mode */
        r.cr0 = X86_CR0_PE | X86_CR0_ET;
        seg(&r.seg[X86_SEG_CS], 0x18, 0xffff, 0xb, 0, 0, 0);
        for (int s = 0; s < 6; s++) {
            if (s != X86_SEG_CS) {
                seg(&r.seg[s], 0x20, 0xffff, 0x3, 0, 0, 0);
            }
        }
        for (int s = 0; s < 6; s++) {
            r.seg[s].base = CODE_BASE;
        }
        r.rip = g_rand_int_range(rng, 0, 0x10000);
        r.gpr[4] &= 0xffff;
        break;
    }
    x86_cpu_set_regs(cpu, &r);
}

static const char *mode_names[5] = { "real", "prot32", "prot16", "paging", "cpl3" };

static void watchdog(int sig)
{
    (void)sig;
    static const char msg[] = "Bail out! watchdog: a fuzz run did not return\n";
    ssize_t r = write(STDOUT_FILENO, msg, sizeof(msg) - 1);
    (void)r;
    _exit(1);
}

static void test_random_code(void)
{
    AddressSpace *as = as_new();
    ram = g_malloc0(RAM_SIZE);
    as_add_ram(as, "ram", 0, RAM_SIZE, ram);
    X86CPUBus bus = { .as = as };
    X86CPU *cpu = x86_cpu_new(&bus);
    const char *e = getenv("VMKEMU_X86_FUZZ_RUNS");
    int runs = e ? atoi(e) : 400;
    int ends[5][5] = { { 0 } };
    uint64_t total = 0;

    x86_cpu_set_code_cache_limit(cpu, 4u << 20);    /* exercise reclaiming */
    signal(SIGALRM, watchdog);
    for (int run = 0; run < runs; run++) {
        int mode = run % 5;
        random_fill(CODE_BASE, CODE_SIZE);
        random_fill(0x8000, 0x2000);
        build_tables();
        x86_cpu_invalidate_phys(cpu, 0, RAM_SIZE);
        setup_mode(cpu, mode);
        alarm(30);
        int64_t left = INSNS_PER_RUN;
        X86Exit x = X86_EXIT_BUDGET;
        X86CPUStats before, after;
        x86_cpu_get_stats(cpu, &before);
        for (int slice = 0; slice < 64 && left > 0; slice++) {
            x = x86_cpu_exec(cpu, 1000);
            g_assert_cmpint(x, >=, X86_EXIT_BUDGET);
            g_assert_cmpint(x, <=, X86_EXIT_SHUTDOWN);
            if (x == X86_EXIT_HLT || x == X86_EXIT_SHUTDOWN) {
                break;
            }
            left -= 1000;
        }
        alarm(0);
        x86_cpu_get_stats(cpu, &after);
        total += after.insns - before.insns;
        ends[mode][x]++;
    }
    for (int m = 0; m < 5; m++) {
        g_test_message("%-7s budget %d, hlt %d, shutdown %d", mode_names[m],
                       ends[m][X86_EXIT_BUDGET], ends[m][X86_EXIT_HLT],
                       ends[m][X86_EXIT_SHUTDOWN]);
    }
    g_test_message("%d runs, %" G_GUINT64_FORMAT " instructions", runs, total);
    g_assert_cmpuint(total, >, (uint64_t)runs);
    x86_cpu_free(cpu);
    as_free(as);
    g_free(ram);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    const char *seed = getenv("VMKEMU_X86_SEED");
    rng = seed ? g_rand_new_with_seed(atoi(seed)) : g_rand_new();
    g_test_add_func("/x86/fuzz/random-code", test_random_code);
    int r = g_test_run();
    g_rand_free(rng);
    return r;
}
