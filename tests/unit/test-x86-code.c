/*
 * The CPU emulator's decode cache (target-i386/tcache.c): code is decoded
 * once and reused; writes by the CPU drop it (self-modifying code, even
 * inside the running block); writes behind its back are seen once
 * x86_cpu_invalidate_phys or x86_cpu_flush_code says so (the address
 * space's RAM-write hook feeds the former); the cache stays within its bound
 * by reclaiming.
 */
#include <glib.h>
#include <string.h>
#include "memory.h"
#include "x86-cpu.h"
#include "x86-regs.h"

#define RAM_SIZE (4u << 20)

typedef struct Rig {
    AddressSpace *as;
    uint8_t *ram;
    X86CPU *cpu;
} Rig;

static void rig_init(Rig *g)
{
    g->as = as_new();
    g->ram = g_malloc0(RAM_SIZE);
    as_add_ram(g->as, "ram", 0, RAM_SIZE, g->ram);
    X86CPUBus bus = { .as = g->as };
    g->cpu = x86_cpu_new(&bus);
}

static void rig_free(Rig *g)
{
    x86_cpu_free(g->cpu);
    as_free(g->as);
    g_free(g->ram);
}

/* Run flat 32-bit code at `eip` until HLT; returns EAX. */
static uint32_t run_at(Rig *g, uint32_t eip)
{
    X86Registers r;
    x86_regs_flat32(&r, 0x08, 0x10);
    r.rip = eip;
    r.gpr[X86_RSP] = 0x8000;
    x86_cpu_set_regs(g->cpu, &r);
    X86Exit e = x86_cpu_exec(g->cpu, 1000000);
    g_assert_cmpint(e, ==, X86_EXIT_HLT);
    x86_cpu_get_regs(g->cpu, &r);
    return (uint32_t)r.gpr[X86_RAX];
}

static void put_mov_eax_hlt(uint8_t *p, uint32_t v)
{
    p[0] = 0xb8;                        /* mov eax, imm32 */
    memcpy(p + 1, &v, 4);
    p[5] = 0xf4;                        /* hlt */
}

static void test_cached_until_invalidated(void)
{
    Rig g;
    rig_init(&g);
    put_mov_eax_hlt(g.ram + 0x10000, 1);
    g_assert_cmpuint(run_at(&g, 0x10000), ==, 1);
    /* Behind the CPU's back: the decoded block is still used... */
    put_mov_eax_hlt(g.ram + 0x10000, 2);
    g_assert_cmpuint(run_at(&g, 0x10000), ==, 1);
    /* ...until the range is invalidated. */
    x86_cpu_invalidate_phys(g.cpu, 0x10001, 4);
    g_assert_cmpuint(run_at(&g, 0x10000), ==, 2);
    /* A range elsewhere in the page that holds no code keeps the block. */
    put_mov_eax_hlt(g.ram + 0x10000, 3);
    x86_cpu_invalidate_phys(g.cpu, 0x10800, 16);
    g_assert_cmpuint(run_at(&g, 0x10000), ==, 2);
    x86_cpu_flush_code(g.cpu);
    g_assert_cmpuint(run_at(&g, 0x10000), ==, 3);
    rig_free(&g);
}

typedef struct HookLog {
    Rig *g;
    int calls;
    uint64_t addr, len;
} HookLog;

static void hook(void *opaque, uint64_t addr, uint64_t len)
{
    HookLog *h = opaque;
    h->calls++;
    h->addr = addr;
    h->len = len;
    x86_cpu_invalidate_phys(h->g->cpu, addr, len);
}

static void test_ram_write_hook(void)
{
    Rig g;
    HookLog h = { &g, 0, 0, 0 };
    rig_init(&g);
    as_set_ram_write_hook(g.as, hook, &h);
    uint8_t code[6];
    put_mov_eax_hlt(code, 7);
    as_write(g.as, 0x20000, code, sizeof(code));
    g_assert_cmpint(h.calls, ==, 1);
    g_assert_cmpuint(h.addr, ==, 0x20000);
    g_assert_cmpuint(h.len, ==, sizeof(code));
    g_assert_cmpuint(run_at(&g, 0x20000), ==, 7);
    put_mov_eax_hlt(code, 8);
    as_write(g.as, 0x20000, code, sizeof(code));     /* like a DMA into code */
    g_assert_cmpuint(run_at(&g, 0x20000), ==, 8);
    as_set_ram_write_hook(g.as, NULL, NULL);
    as_write(g.as, 0x20000, code, sizeof(code));
    g_assert_cmpint(h.calls, ==, 2);
    rig_free(&g);
}

/* A store that rewrites the next instruction of its own block. */
static void test_smc_same_block(void)
{
    Rig g;
    rig_init(&g);
    static const uint8_t code[] = {
        0xc6, 0x05, 0x08, 0x00, 0x03, 0x00, 0x22,   /* mov byte [0x30008], 0x22 */
        0xb8, 0x11, 0x00, 0x00, 0x00,               /* mov eax, 0x11 (imm at 0x30008) */
        0xf4,
    };
    memcpy(g.ram + 0x30000, code, sizeof(code));
    g_assert_cmpuint(run_at(&g, 0x30000), ==, 0x22);
    X86CPUStats st;
    x86_cpu_get_stats(g.cpu, &st);
    g_assert_cmpuint(st.code_invalidations, >=, 1);
    rig_free(&g);
}

/* Many distinct blocks under a small bound: the cache reclaims and still
 * runs every block right. */
static void test_bounded(void)
{
    Rig g;
    rig_init(&g);
    x86_cpu_set_code_cache_limit(g.cpu, 1u << 20);
    /* 8192 routines "mov eax, k; ret" at 64-byte steps, called in turn by a
     * driver loop that sums them. */
    const uint32_t base = 0x100000, n = 8192;
    for (uint32_t k = 0; k < n; k++) {
        uint8_t *p = g.ram + base + k * 64;
        p[0] = 0xb8;
        memcpy(p + 1, &k, 4);
        p[5] = 0xc3;
    }
    /* driver: xor edx,edx; mov esi,base; mov ecx,n;
     * loop: call esi; add edx,eax; add esi,64; dec ecx; jnz loop;
     * mov eax,edx; hlt */
    static const uint8_t drv[] = {
        0x31, 0xd2, 0xbe, 0x00, 0x00, 0x10, 0x00, 0xb9, 0x00, 0x20, 0x00, 0x00,
        0xff, 0xd6, 0x01, 0xc2, 0x83, 0xc6, 0x40, 0x49, 0x75, 0xf6,
        0x89, 0xd0, 0xf4,
    };
    memcpy(g.ram + 0x40000, drv, sizeof(drv));
    uint32_t want = n * (n - 1) / 2;
    g_assert_cmpuint(run_at(&g, 0x40000), ==, want);
    g_assert_cmpuint(run_at(&g, 0x40000), ==, want);
    X86CPUStats st;
    x86_cpu_get_stats(g.cpu, &st);
    g_assert_cmpuint(st.code_flushes, >=, 1);
    g_assert_cmpuint(st.code_bytes, <=, (1u << 20) + 65536);
    rig_free(&g);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/x86/code/cached-until-invalidated", test_cached_until_invalidated);
    g_test_add_func("/x86/code/ram-write-hook", test_ram_write_hook);
    g_test_add_func("/x86/code/smc-same-block", test_smc_same_block);
    g_test_add_func("/x86/code/bounded", test_bounded);
    return g_test_run();
}
