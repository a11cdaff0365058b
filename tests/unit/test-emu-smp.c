/*
 * Several vCPUs under the emulator's accelerator (accel/emu.c), driven
 * through AccelOps on a PC machine assembled by hand (no main loop): the
 * boot CPU starts CPU 1 with INIT and a startup IPI, both count in RAM;
 * pause, save (one section pair per vCPU), load into a second machine
 * with a copy of the RAM, and both CPUs go on counting there; a reset puts
 * CPU 1 back to waiting for a SIPI.
 */
#include <string.h>
#include <sys/mman.h>
#include <glib.h>
#include "accel.h"
#include "hw/pc.h"
#include "vmstate.h"

#define BSP_CODE    0x1000
#define AP_PAGE     0x2000          /* SIPI vector 2 */
#define BSP_COUNT   0x500
#define AP_COUNT    0x504

/* 32-bit, flat: INIT and SIPI to APIC ID 1, then count at BSP_COUNT. */
static const uint8_t bsp_code[] = {
    0xc7, 0x05, 0x10, 0x03, 0xe0, 0xfe, 0x00, 0x00, 0x00, 0x01,   /* ICR_HI = 1 << 24 */
    0xc7, 0x05, 0x00, 0x03, 0xe0, 0xfe, 0x00, 0x45, 0x00, 0x00,   /* ICR_LO = INIT */
    0xc7, 0x05, 0x00, 0x03, 0xe0, 0xfe, 0x02, 0x46, 0x00, 0x00,   /* ICR_LO = SIPI 2 */
    0xff, 0x05, 0x00, 0x05, 0x00, 0x00,                           /* inc dword [0x500] */
    0xeb, 0xf8,                                                   /* jmp back */
};
/* 32-bit, flat: only count (no SIPI sent). */
static const uint8_t bsp_count_only[] = {
    0xff, 0x05, 0x00, 0x05, 0x00, 0x00,                           /* inc dword [0x500] */
    0xeb, 0xf8,
};
/* 16-bit real mode at 0200:0000: count at AP_COUNT. */
static const uint8_t ap_code[] = {
    0x66, 0xff, 0x06, 0x04, 0x05,                                 /* inc dword [0x504] */
    0xeb, 0xf9,
};

static void gsi_set(void *opaque, int n, int level)
{
    pc_irqchip_set(opaque, n, level);
}

static void cpu_intr(void *opaque, int n, int level)
{
    Machine *m = opaque;
    m->intr_pending = level;
}

static Machine *machine_new_emu(int ncpus)
{
    Machine *m = g_new0(Machine, 1);
    m->cfg = g_new0(MachineConfig, 1);
    machine_config_init(m->cfg);
    m->cfg->ram_size = 16 << 20;
    m->cfg->smp = ncpus;
    m->ncpus = ncpus;
    m->a20_enabled = true;
    m->as = as_new();
    m->pc = g_new0(PCDevices, 1);
    machine_set_current(m);
    for (int i = 0; i < PC_NUM_GSI; i++) {
        m->gsi[i] = irq_line_new(gsi_set, m, i);
    }
    m->cpu_intr = irq_line_new(cpu_intr, m, 0);
    g_assert_cmpint(pc_ram_init(m, NULL), ==, 0);
    m->accel = &accel_emu_ops;
    g_assert_cmpint(pc_devices_init(m, NULL), ==, 0);
    g_assert_cmpint(m->accel->init(m, NULL), ==, 0);
    return m;
}

static void machine_free_emu(Machine *m)
{
    m->accel->destroy(m);
    pc_devices_free(m);
    for (int i = 0; i < PC_NUM_GSI; i++) {
        irq_line_free(m->gsi[i]);
    }
    irq_line_free(m->cpu_intr);
    as_free(m->as);
    munmap(m->ram, m->ram_size);
    g_free(m->pc);
    machine_config_clear(m->cfg);
    g_free(m->cfg);
    machine_set_current(NULL);
    g_free(m);
}

static uint32_t count(Machine *m, uint32_t addr)
{
    return __atomic_load_n((uint32_t *)(m->ram + addr), __ATOMIC_RELAXED);
}

/* Wait (up to 30 s) until the counter at `addr` passes `above`. */
static bool counts_past(Machine *m, uint32_t addr, uint32_t above)
{
    for (int i = 0; i < 30000; i++) {
        if (count(m, addr) > above) {
            return true;
        }
        g_usleep(1000);
    }
    return false;
}

static void boot_bsp(Machine *m, const uint8_t *code, size_t len)
{
    X86Registers r;
    memcpy(m->ram + BSP_CODE, code, len);
    x86_regs_flat32(&r, 0x08, 0x10);
    r.rip = BSP_CODE;
    g_assert_cmpint(m->accel->set_regs(m, 0, &r), ==, 0);
}

static void test_start_save_load(void)
{
    Machine *a = machine_new_emu(2);
    memcpy(a->ram + AP_PAGE, ap_code, sizeof(ap_code));
    boot_bsp(a, bsp_code, sizeof(bsp_code));
    X86Registers r;

    /* Before the start, CPU 1 holds its power-on state (waiting). */
    g_assert_cmpint(a->accel->get_regs(a, 1, &r), ==, 0);
    g_assert_cmphex(r.rip, ==, 0xfff0);
    g_assert_cmpint(a->accel->get_regs(a, 2, &r), ==, -EINVAL);

    g_assert_cmpint(a->accel->start(a, NULL), ==, 0);
    g_assert_true(counts_past(a, BSP_COUNT, 1000));
    g_assert_true(counts_past(a, AP_COUNT, 1000));
    a->accel->pause(a);
    uint32_t bsp_n = count(a, BSP_COUNT), ap_n = count(a, AP_COUNT);
    g_usleep(20000);
    g_assert_cmpuint(count(a, BSP_COUNT), ==, bsp_n);  /* paused: both stopped */
    g_assert_cmpuint(count(a, AP_COUNT), ==, ap_n);
    g_assert_cmpint(a->accel->get_regs(a, 1, &r), ==, 0);
    g_assert_cmphex(r.seg[X86_SEG_CS].selector, ==, 0x0200);    /* started at SIPI 2 */
    g_assert_cmphex(r.seg[X86_SEG_CS].base, ==, AP_PAGE);

    GByteArray *state = g_byte_array_new();
    GError *err = NULL;
    g_assert_cmpint(a->accel->save_state(a, state, &err), ==, 0);
    g_autofree uint8_t *ram = g_memdup2(a->ram, a->ram_size);
    X86Registers ra[2];
    for (int k = 0; k < 2; k++) {
        g_assert_cmpint(a->accel->get_regs(a, k, &ra[k]), ==, 0);
    }
    VMStateStream *st = vmstate_stream_parse(state->data, state->len, &err);
    g_assert_nonnull(st);
    g_assert_true(vmstate_stream_has(st, "emu-cpu.0"));
    g_assert_true(vmstate_stream_has(st, "emu-cpu.1"));
    g_assert_true(vmstate_stream_has(st, "emu-vcpu.1"));
    vmstate_stream_free(st);
    machine_free_emu(a);

    /* A second machine: the same RAM, the saved CPUs. */
    Machine *b = machine_new_emu(2);
    memcpy(b->ram, ram, b->ram_size);
    st = vmstate_stream_parse(state->data, state->len, &err);
    if (b->accel->load_state(b, st, &err) < 0) {
        g_error("load: %s", err->message);
    }
    g_assert_cmpint(vmstate_stream_check_consumed(st, &err), ==, 0);
    vmstate_stream_free(st);
    for (int k = 0; k < 2; k++) {
        X86Registers rb;
        g_assert_cmpint(b->accel->get_regs(b, k, &rb), ==, 0);
        g_assert_cmpmem(&rb, sizeof(rb), &ra[k], sizeof(ra[k]));
    }
    g_assert_cmpint(b->accel->start(b, NULL), ==, 0);
    g_assert_true(counts_past(b, BSP_COUNT, bsp_n + 1000));
    g_assert_true(counts_past(b, AP_COUNT, ap_n + 1000));   /* not waiting for a SIPI */

    /* Reset: CPU 1 waits for a SIPI again; a BSP that sends none runs
     * alone. */
    b->accel->pause(b);
    machine_run_reset_hooks(b);
    memset(b->ram + BSP_COUNT, 0, 8);
    boot_bsp(b, bsp_count_only, sizeof(bsp_count_only));
    b->accel->resume(b);
    g_assert_true(counts_past(b, BSP_COUNT, 100000));
    g_assert_cmpuint(count(b, AP_COUNT), ==, 0);
    b->accel->pause(b);
    g_assert_cmpint(b->accel->get_regs(b, 1, &r), ==, 0);
    g_assert_cmphex(r.rip, ==, 0xfff0);
    g_byte_array_unref(state);
    machine_free_emu(b);
}

/* Length of the first section of a state stream (util/vmstate.c: name
 * length byte, name, 32-bit version, 64-bit payload length, payload). */
static size_t first_section_len(const GByteArray *b)
{
    size_t n = b->data[0];
    uint64_t len = 0;
    for (int k = 7; k >= 0; k--) {
        len = (len << 8) | b->data[1 + n + 4 + k];
    }
    return 1 + n + 4 + 8 + len;
}

/* Streams of one CPU: the "emu-vcpu.0" section is optional (streams from
 * before SMP have none); one that makes the boot CPU wait for a SIPI is
 * refused. */
static void test_vcpu_sections(void)
{
    Machine *a = machine_new_emu(1);
    boot_bsp(a, bsp_count_only, sizeof(bsp_count_only));
    GByteArray *full = g_byte_array_new();
    GError *err = NULL;
    g_assert_cmpint(a->accel->save_state(a, full, &err), ==, 0);
    VMStateStream *st = vmstate_stream_parse(full->data, full->len, &err);
    const char **ids = vmstate_stream_ids(st);
    g_assert_cmpstr(ids[0], ==, "emu-cpu.0");
    g_assert_cmpstr(ids[1], ==, "emu-vcpu.0");
    g_assert_null(ids[2]);
    g_free(ids);
    vmstate_stream_free(st);
    machine_free_emu(a);

    Machine *b = machine_new_emu(1);
    size_t cpu_len = first_section_len(full);
    st = vmstate_stream_parse(full->data, cpu_len, &err);
    g_assert_nonnull(st);
    g_assert_cmpint(b->accel->load_state(b, st, &err), ==, 0);
    g_assert_cmpint(vmstate_stream_check_consumed(st, &err), ==, 0);
    vmstate_stream_free(st);

    /* Set wait_sipi in emu-vcpu.0 (a field is its name, a type byte, a
     * 32-bit count, a 32-bit element size, a 64-bit length, the data). */
    GByteArray *bad = g_byte_array_new();
    g_byte_array_append(bad, full->data, full->len);
    static const char field[] = "\x09wait_sipi";
    uint8_t *f = memmem(bad->data + cpu_len, bad->len - cpu_len, field, sizeof(field) - 1);
    g_assert_nonnull(f);
    uint8_t *value = f + (sizeof(field) - 1) + 1 + 4 + 4 + 8;
    g_assert_cmpuint(value[0], ==, 0);
    value[0] = 1;
    st = vmstate_stream_parse(bad->data, bad->len, &err);
    g_assert_nonnull(st);
    g_assert_cmpint(b->accel->load_state(b, st, &err), <, 0);
    g_assert_nonnull(strstr(err->message, "boot CPU"));
    g_clear_error(&err);
    vmstate_stream_free(st);
    machine_free_emu(b);
    g_byte_array_unref(bad);
    g_byte_array_unref(full);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/emu-smp/start-save-load-reset", test_start_save_load);
    g_test_add_func("/emu-smp/vcpu-sections", test_vcpu_sections);
    return g_test_run();
}
