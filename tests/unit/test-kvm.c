/*
 * The KVM backend (accel/kvm*.c) driven directly through AccelOps on a
 * hand-built machine: register state in and out, memory slots that follow
 * the address space after the VM exists (RAM added and removed, ROM that
 * drops writes), port I/O exits of every count (string I/O), MMIO exits,
 * pause/resume with a register change in between, and interrupt injection
 * from a userspace interrupt controller into a vCPU sleeping in hlt.
 * The guest code is hand-assembled 32-bit code (opcodes from the Intel SDM
 * vol. 2) in guest RAM.  Skipped where /dev/kvm is not usable.
 */
#include <string.h>
#include <sys/mman.h>
#include <glib.h>
#include "accel.h"
#include "machine.h"
#include "main-loop.h"

#define RAM_SIZE    (1u << 20)          /* [0, 1 MiB): code, data, tables */
#define CODE        0x1000

typedef struct Fixture {
    MachineConfig cfg;
    Machine *m;
    uint8_t *ram;
    uint8_t *ram_a, *ram_b;             /* 4 KiB at 0x200000 and 0x300000 */
    uint8_t *rom;                       /* 4 KiB at 0x400000 */

    /* What the guest did, recorded by the probe devices (big lock). */
    GMutex lock;
    GCond cond;
    GArray *port_log;                   /* PortWrite, port 0x99 */
    GArray *mmio_log;                   /* MmioAccess, at 0x500000 */
    uint32_t next_in;                   /* port 0x9a reads */
    int marks[4];                       /* writes to 0x9b..0x9e, in order */
    int nmarks;
    bool done;                          /* port 0x98 */
} Fixture;

typedef struct PortWrite {
    uint32_t value;
    unsigned size;
} PortWrite;

typedef struct MmioAccess {
    bool write;
    uint64_t offset, value;
    unsigned size;
} MmioAccess;

static bool kvm_usable(void)
{
    const char *why = NULL;
    if (!accel_kvm_ops.available(&why)) {
        g_test_skip(why);
        return false;
    }
    return true;
}

/* --- probe devices ------------------------------------------------------- */

static uint64_t probe_port_read(void *opaque, uint64_t off, unsigned size)
{
    Fixture *f = opaque;
    return off == 2 ? 0x1000 + f->next_in++ : 0;
}

static void probe_port_write(void *opaque, uint64_t off, uint64_t v, unsigned size)
{
    Fixture *f = opaque;
    g_mutex_lock(&f->lock);
    if (off == 1) {
        PortWrite w = { (uint32_t)v, size };
        g_array_append_val(f->port_log, w);
    } else if (off == 0) {
        f->done = true;
    } else if (off >= 3 && f->nmarks < 4) {
        f->marks[f->nmarks++] = 0x98 + (int)off;
    }
    g_cond_broadcast(&f->cond);
    g_mutex_unlock(&f->lock);
}

static const IoOps probe_port_ops = { probe_port_read, probe_port_write, 4 };

static uint64_t probe_mmio_read(void *opaque, uint64_t off, unsigned size)
{
    Fixture *f = opaque;
    MmioAccess a = { false, off, 0, size };
    g_array_append_val(f->mmio_log, a);
    return 0xcafe0000 | off;
}

static void probe_mmio_write(void *opaque, uint64_t off, uint64_t v, unsigned size)
{
    Fixture *f = opaque;
    MmioAccess a = { true, off, v, size };
    g_array_append_val(f->mmio_log, a);
}

static const IoOps probe_mmio_ops = { probe_mmio_read, probe_mmio_write, 8 };

static int intacks;

/* The interrupt controller's acknowledge: vector 0x40, then nothing. */
static int test_intack(Machine *m)
{
    intacks++;
    m->intr_pending = false;
    return 0x40;
}

/* --- machine ------------------------------------------------------------- */

static void *page_alloc(size_t size)
{
    void *p = mmap(NULL, size, PROT_READ | PROT_WRITE,
                   MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    g_assert(p != MAP_FAILED);
    return p;
}

static void fixture_init(Fixture *f, bool userspace_irqchip)
{
    memset(f, 0, sizeof(*f));
    machine_config_init(&f->cfg);
    f->cfg.userspace_irqchip = userspace_irqchip;
    f->m = g_new0(Machine, 1);
    f->m->cfg = &f->cfg;
    f->m->ncpus = 1;
    f->m->as = as_new();
    machine_set_current(f->m);
    g_mutex_init(&f->lock);
    g_cond_init(&f->cond);
    f->port_log = g_array_new(FALSE, FALSE, sizeof(PortWrite));
    f->mmio_log = g_array_new(FALSE, FALSE, sizeof(MmioAccess));

    f->ram = page_alloc(RAM_SIZE);
    f->ram_a = page_alloc(0x1000);
    f->ram_b = page_alloc(0x1000);
    f->rom = page_alloc(0x1000);
    f->m->ram = f->ram;
    f->m->ram_size = RAM_SIZE;
    g_assert_cmpint(as_add_ram(f->m->as, "ram", 0, RAM_SIZE, f->ram), ==, 0);
    g_assert_cmpint(as_add_ports(f->m->as, "probe", 0x98, 8, &probe_port_ops, f), ==, 0);
    g_assert_cmpint(as_add_mmio(f->m->as, "probe", 0x500000, 0x1000,
                                &probe_mmio_ops, f), ==, 0);
}

static void fixture_free(Fixture *f)
{
    if (f->m->accel) {
        f->m->accel->destroy(f->m);
    }
    as_free(f->m->as);
    machine_set_current(NULL);
    g_free(f->m);
    munmap(f->ram, RAM_SIZE);
    munmap(f->ram_a, 0x1000);
    munmap(f->ram_b, 0x1000);
    munmap(f->rom, 0x1000);
    g_array_free(f->port_log, TRUE);
    g_array_free(f->mmio_log, TRUE);
    g_mutex_clear(&f->lock);
    g_cond_clear(&f->cond);
    machine_config_clear(&f->cfg);
}

static void kvm_up(Fixture *f)
{
    GError *err = NULL;
    g_assert_cmpint(accel_kvm_ops.init(f->m, &err), ==, 0);
    g_assert_no_error(err);
    f->m->accel = &accel_kvm_ops;
}

/* Flat 32-bit protected mode at CODE, with a GDT at 0x6000 (null, code
 * 0x08, data 0x10) and an IDT at 0x5000. */
static void boot_regs(Fixture *f, X86Registers *r)
{
    static const uint64_t gdt[] = { 0, 0x00cf9b000000ffffULL, 0x00cf93000000ffffULL };
    memcpy(f->ram + 0x6000, gdt, sizeof(gdt));
    x86_regs_flat32(r, 0x08, 0x10);
    r->rip = CODE;
    r->gpr[X86_RSP] = 0x8000;
    r->gdt = (X86Table){ 0x6000, sizeof(gdt) - 1 };
    r->idt = (X86Table){ 0x5000, 256 * 8 - 1 };
}

static void load_code(Fixture *f, uint32_t at, const uint8_t *code, size_t len)
{
    memcpy(f->ram + at, code, len);
}

/* Wait (at most 10 s) until `what` holds, with the fixture lock held. */
#define WAIT_FOR(fx, what) do {                                             \
    gint64 deadline_ = g_get_monotonic_time() + 10 * G_TIME_SPAN_SECOND;    \
    g_mutex_lock(&(fx)->lock);                                              \
    while (!(what) && g_cond_wait_until(&(fx)->cond, &(fx)->lock, deadline_)) \
        ;                                                                   \
    bool ok_ = (what);                                                      \
    g_mutex_unlock(&(fx)->lock);                                            \
    g_assert_true(ok_);                                                     \
} while (0)

/* --- tests --------------------------------------------------------------- */

static void test_regs_round_trip(void)
{
    Fixture f;
    X86Registers in, out;

    if (!kvm_usable()) {
        return;
    }
    fixture_init(&f, false);
    kvm_up(&f);
    boot_regs(&f, &in);
    for (int i = 0; i < X86_NR_GPRS; i++) {
        in.gpr[i] = 0x1111111111111111ULL * (i + 1);
    }
    in.rip = 0x12345;
    in.rflags = 0x2 | 0x1 | 0x40;           /* CF, ZF */
    in.cr2 = 0xdead000;
    in.seg[X86_SEG_FS].base = 0x70000;
    in.seg[X86_SEG_GS].selector = 0x10;
    in.seg[X86_SEG_GS].base = 0x123000;
    in.seg[X86_SEG_GS].limit = 0xfffff;
    in.seg[X86_SEG_GS].g = 0;
    g_assert_cmpint(f.m->accel->set_regs(f.m, 0, &in), ==, 0);
    g_assert_cmpint(f.m->accel->get_regs(f.m, 0, &out), ==, 0);
    for (int i = 0; i < X86_NR_GPRS; i++) {
        g_assert_cmphex(out.gpr[i], ==, in.gpr[i]);
    }
    g_assert_cmphex(out.rip, ==, in.rip);
    g_assert_cmphex(out.rflags, ==, in.rflags);
    g_assert_cmphex(out.cr0, ==, in.cr0);
    g_assert_cmphex(out.cr2, ==, in.cr2);
    g_assert_cmphex(out.gdt.base, ==, 0x6000);
    g_assert_cmphex(out.gdt.limit, ==, 23);
    g_assert_cmphex(out.idt.base, ==, 0x5000);
    for (int i = X86_SEG_ES; i <= X86_SEG_GS; i++) {
        g_assert_cmphex(out.seg[i].selector, ==, in.seg[i].selector);
        g_assert_cmphex(out.seg[i].base, ==, in.seg[i].base);
        g_assert_cmphex(out.seg[i].limit, ==, in.seg[i].limit);
        g_assert_cmphex(out.seg[i].type, ==, in.seg[i].type);
        g_assert_cmphex(out.seg[i].db, ==, in.seg[i].db);
        g_assert_cmphex(out.seg[i].present, ==, 1);
    }
    g_assert_cmphex(out.apic_base & ~0xfffULL, ==, 0xfee00000);
    g_assert_true(out.apic_base & (1u << 8));   /* the BSP */
    fixture_free(&f);
}

static void test_slots_io_mmio(void)
{
    static const uint8_t code[] = {
        0xa1, 0x00, 0x00, 0x30, 0x00,               /* mov eax, [0x300000]   */
        0xe7, 0x99,                                 /* out 0x99, eax         */
        0xa1, 0x00, 0x00, 0x20, 0x00,               /* mov eax, [0x200000]   */
        0xe7, 0x99,                                 /* out 0x99, eax         */
        0xc7, 0x05, 0x00, 0x00, 0x40, 0x00,         /* mov dword [0x400000], */
        0x78, 0x56, 0x34, 0x12,                     /*     0x12345678        */
        0xa1, 0x00, 0x00, 0x40, 0x00,               /* mov eax, [0x400000]   */
        0xe7, 0x99,                                 /* out 0x99, eax         */
        0xbe, 0x00, 0x20, 0x00, 0x00,               /* mov esi, 0x2000       */
        0xb9, 0x05, 0x00, 0x00, 0x00,               /* mov ecx, 5            */
        0xba, 0x99, 0x00, 0x00, 0x00,               /* mov edx, 0x99         */
        0xf3, 0x6e,                                 /* rep outsb             */
        0xbf, 0x00, 0x30, 0x00, 0x00,               /* mov edi, 0x3000       */
        0xb9, 0x03, 0x00, 0x00, 0x00,               /* mov ecx, 3            */
        0xba, 0x9a, 0x00, 0x00, 0x00,               /* mov edx, 0x9a         */
        0x66, 0xf3, 0x6d,                           /* rep insw              */
        0xa1, 0x00, 0x30, 0x00, 0x00,               /* mov eax, [0x3000]     */
        0xe7, 0x99,                                 /* out 0x99, eax         */
        0xa1, 0x04, 0x30, 0x00, 0x00,               /* mov eax, [0x3004]     */
        0xe7, 0x99,                                 /* out 0x99, eax         */
        0xc7, 0x05, 0x00, 0x00, 0x50, 0x00,         /* mov dword [0x500000], */
        0xef, 0xbe, 0xad, 0xde,                     /*     0xdeadbeef        */
        0x66, 0xc7, 0x05, 0x06, 0x00, 0x50, 0x00,   /* mov word [0x500006],  */
        0x34, 0x12,                                 /*     0x1234            */
        0xa1, 0x04, 0x00, 0x50, 0x00,               /* mov eax, [0x500004]   */
        0xe7, 0x99,                                 /* out 0x99, eax         */
        0xe6, 0x98,                                 /* out 0x98, al: done    */
        0xeb, 0xfe,                                 /* jmp $                 */
    };
    static const PortWrite want[] = {
        { 0x600dcafe, 4 },          /* RAM added after the VM was made */
        { 0xffffffff, 4 },          /* RAM removed: unmapped reads all ones */
        { 0x0badf00d, 4 },          /* ROM: the write was dropped */
        { 'A', 1 }, { 'B', 1 }, { 'C', 1 }, { 'D', 1 }, { 'E', 1 },
        { 0x10011000, 4 },          /* rep insw: three reads, in order */
        { 0x00001002, 4 },
        { 0xcafe0004, 4 },          /* MMIO read */
    };
    Fixture f;
    X86Registers r;
    GError *err = NULL;

    if (!kvm_usable()) {
        return;
    }
    fixture_init(&f, false);
    g_assert_cmpint(as_add_ram(f.m->as, "a", 0x200000, 0x1000, f.ram_a), ==, 0);
    kvm_up(&f);
    /* The map changes after the VM exists. */
    memcpy(f.ram_b, &(uint32_t){ 0x600dcafe }, 4);
    memcpy(f.rom, &(uint32_t){ 0x0badf00d }, 4);
    memcpy(f.ram_a, &(uint32_t){ 0x11111111 }, 4);
    g_assert_cmpint(as_add_ram(f.m->as, "b", 0x300000, 0x1000, f.ram_b), ==, 0);
    g_assert_cmpint(as_remove(f.m->as, 0x200000), ==, 0);
    g_assert_cmpint(as_add_rom(f.m->as, "rom", 0x400000, 0x1000, f.rom), ==, 0);
    memcpy(f.ram + 0x2000, "ABCDE", 5);
    load_code(&f, CODE, code, sizeof(code));
    boot_regs(&f, &r);
    g_assert_cmpint(f.m->accel->set_regs(f.m, 0, &r), ==, 0);
    g_assert_cmpint(f.m->accel->start(f.m, &err), ==, 0);
    g_assert_no_error(err);

    WAIT_FOR(&f, f.done);
    big_lock();
    g_assert_cmpuint(f.port_log->len, ==, G_N_ELEMENTS(want));
    for (guint i = 0; i < G_N_ELEMENTS(want); i++) {
        PortWrite *w = &g_array_index(f.port_log, PortWrite, i);
        g_assert_cmphex(w->value, ==, want[i].value);
        g_assert_cmpuint(w->size, ==, want[i].size);
    }
    g_assert_cmpuint(f.mmio_log->len, ==, 3);
    MmioAccess *a = &g_array_index(f.mmio_log, MmioAccess, 0);
    g_assert_true(a->write);
    g_assert_cmphex(a->offset, ==, 0);
    g_assert_cmphex(a->value, ==, 0xdeadbeef);
    g_assert_cmpuint(a->size, ==, 4);
    a = &g_array_index(f.mmio_log, MmioAccess, 1);
    g_assert_true(a->write);
    g_assert_cmphex(a->offset, ==, 6);
    g_assert_cmphex(a->value, ==, 0x1234);
    g_assert_cmpuint(a->size, ==, 2);
    a = &g_array_index(f.mmio_log, MmioAccess, 2);
    g_assert_false(a->write);
    g_assert_cmphex(a->offset, ==, 4);
    g_assert_cmpuint(a->size, ==, 4);
    big_unlock();
    /* The ROM's bytes are what they were; RAM A kept its own. */
    g_assert_cmphex(*(uint32_t *)f.rom, ==, 0x0badf00d);
    g_assert_cmphex(*(uint32_t *)f.ram_a, ==, 0x11111111);
    fixture_free(&f);
}

static uint32_t ram_u32(Fixture *f, uint32_t addr)
{
    return __atomic_load_n((uint32_t *)(f->ram + addr), __ATOMIC_SEQ_CST);
}

static void test_pause_resume(void)
{
    static const uint8_t loop[] = {
        0xff, 0x05, 0x00, 0x40, 0x00, 0x00,         /* inc dword [0x4000]    */
        0xeb, 0xf8,                                 /* jmp back to the inc   */
    };
    static const uint8_t other[] = {
        0xc7, 0x05, 0x04, 0x40, 0x00, 0x00,         /* mov dword [0x4004],   */
        0xef, 0xbe, 0x00, 0x00,                     /*     0xbeef            */
        0xeb, 0xfe,                                 /* jmp $                 */
    };
    Fixture f;
    X86Registers r;
    GError *err = NULL;

    if (!kvm_usable()) {
        return;
    }
    fixture_init(&f, false);
    kvm_up(&f);
    load_code(&f, CODE, loop, sizeof(loop));
    load_code(&f, CODE + 0x100, other, sizeof(other));
    boot_regs(&f, &r);
    g_assert_cmpint(f.m->accel->set_regs(f.m, 0, &r), ==, 0);
    g_assert_cmpint(f.m->accel->start(f.m, &err), ==, 0);
    g_assert_no_error(err);

    gint64 deadline = g_get_monotonic_time() + 10 * G_TIME_SPAN_SECOND;
    while (ram_u32(&f, 0x4000) < 1000 && g_get_monotonic_time() < deadline) {
        g_usleep(1000);
    }
    g_assert_cmpuint(ram_u32(&f, 0x4000), >=, 1000);

    f.m->accel->pause(f.m);
    uint32_t frozen = ram_u32(&f, 0x4000);
    g_usleep(100 * 1000);
    g_assert_cmpuint(ram_u32(&f, 0x4000), ==, frozen);      /* stopped */
    g_assert_cmpint(f.m->accel->get_regs(f.m, 0, &r), ==, 0);
    g_assert_cmphex(r.rip, >=, CODE);
    g_assert_cmphex(r.rip, <, CODE + sizeof(loop));
    r.rip = CODE + 0x100;                                   /* go elsewhere */
    g_assert_cmpint(f.m->accel->set_regs(f.m, 0, &r), ==, 0);
    f.m->accel->resume(f.m);

    while (ram_u32(&f, 0x4004) != 0xbeef && g_get_monotonic_time() < deadline) {
        g_usleep(1000);
    }
    g_assert_cmphex(ram_u32(&f, 0x4004), ==, 0xbeef);
    g_assert_cmpuint(ram_u32(&f, 0x4000), ==, frozen);      /* never went back */
    fixture_free(&f);
}

static void test_userspace_irqchip_hlt(void)
{
    static const uint8_t code[] = {
        0xfb,                                       /* sti                   */
        0xf4,                                       /* hlt                   */
        0xe6, 0x9c,                                 /* out 0x9c, al          */
        0xe6, 0x98,                                 /* out 0x98, al: done    */
        0xeb, 0xfe,                                 /* jmp $                 */
    };
    /* Vector 0x40: note the interrupt, return as iretd would (popfd, then
     * ret 8: KVM's instruction emulator, which some hosts run every guest
     * instruction through, cannot emulate a protected-mode iret). */
    static const uint8_t handler[] = {
        0xe6, 0x9b,                                 /* out 0x9b, al          */
        0xff, 0x74, 0x24, 0x08,                     /* push dword [esp + 8]  */
        0x9d,                                       /* popfd                 */
        0xc2, 0x08, 0x00,                           /* ret 8                 */
    };
    Fixture f;
    X86Registers r;
    GError *err = NULL;

    if (!kvm_usable()) {
        return;
    }
    fixture_init(&f, true);
    f.m->intack = test_intack;
    kvm_up(&f);
    load_code(&f, CODE, code, sizeof(code));
    load_code(&f, 0x1200, handler, sizeof(handler));
    uint32_t gate[2] = { (0x08 << 16) | 0x1200, 0x8e00 };
    memcpy(f.ram + 0x5000 + 0x40 * 8, gate, sizeof(gate));
    boot_regs(&f, &r);
    g_assert_cmpint(f.m->accel->set_regs(f.m, 0, &r), ==, 0);
    g_assert_cmpint(f.m->accel->start(f.m, &err), ==, 0);
    g_assert_no_error(err);

    /* Asleep in hlt: nothing happens until an interrupt is pending. */
    g_usleep(200 * 1000);
    g_mutex_lock(&f.lock);
    g_assert_cmpint(f.nmarks, ==, 0);
    g_mutex_unlock(&f.lock);

    big_lock();
    f.m->intr_pending = true;           /* what pc_cpu_intr does */
    f.m->accel->kick(f.m, 0);
    big_unlock();

    WAIT_FOR(&f, f.done);
    g_mutex_lock(&f.lock);
    g_assert_cmpint(f.nmarks, ==, 2);
    g_assert_cmpint(f.marks[0], ==, 0x9b);      /* the handler ran first */
    g_assert_cmpint(f.marks[1], ==, 0x9c);      /* then the code after hlt */
    g_mutex_unlock(&f.lock);
    g_assert_false(f.m->intr_pending);          /* acknowledged, once */
    g_assert_cmpint(intacks, ==, 1);
    fixture_free(&f);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/kvm/regs-round-trip", test_regs_round_trip);
    g_test_add_func("/kvm/slots-io-mmio", test_slots_io_mmio);
    g_test_add_func("/kvm/pause-resume", test_pause_resume);
    g_test_add_func("/kvm/userspace-irqchip-hlt", test_userspace_irqchip_hlt);
    return g_test_run();
}
