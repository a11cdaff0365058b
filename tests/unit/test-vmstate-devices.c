/*
 * Save -> load round trips of every device's state table (and of the
 * emulated CPU's): a device of machine A is driven into a non-trivial
 * state through its ports, the machine's sections are saved and loaded
 * into a fresh machine B, and then both answer the same register reads,
 * drive the same interrupt lines and keep doing so as the (shared, manual)
 * virtual clock advances and the same accesses follow.  Re-saving B gives
 * the same bytes as A.
 */
#include <string.h>
#include <sys/mman.h>
#include <glib.h>
#include "hw/pc.h"
#include "hw/acpi.h"
#include "hw/apic.h"
#include "hw/i8042.h"
#include "hw/ioapic.h"
#include "hw/ps2.h"
#include "hw/serial-16550a.h"
#include "timer.h"
#include "vmstate.h"
#include "x86-cpu.h"

/* --- a bare machine: devices without an accelerator ------------------------ */

static void bare_gsi(void *opaque, int n, int level)
{
    pc_irqchip_set(opaque, n, level);
}

static void bare_cpu_intr(void *opaque, int n, int level)
{
    Machine *m = opaque;
    m->intr_pending = level;
}

static Machine *bare_new(void)
{
    Machine *m = g_new0(Machine, 1);
    m->cfg = g_new0(MachineConfig, 1);
    machine_config_init(m->cfg);
    m->cfg->serial[0] = g_strdup("null");
    m->cfg->serial[1] = g_strdup("null");
    m->cfg->nserial = 2;
    m->cfg->ram_size = 16 << 20;
    m->ncpus = 1;
    m->a20_enabled = true;
    m->as = as_new();
    m->pc = g_new0(PCDevices, 1);
    machine_set_current(m);
    for (int i = 0; i < PC_NUM_GSI; i++) {
        m->gsi[i] = irq_line_new(bare_gsi, m, i);
    }
    m->cpu_intr = irq_line_new(bare_cpu_intr, m, 0);
    g_assert_cmpint(pc_ram_init(m, NULL), ==, 0);
    GError *err = NULL;
    if (pc_devices_init(m, &err) < 0) {
        g_error("pc_devices_init: %s", err->message);
    }
    return m;
}

static void bare_free(Machine *m)
{
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

/* Save every section of `a`, load them into `b`; re-saving `b` gives the
 * same bytes. */
static void transfer(Machine *a, Machine *b)
{
    GByteArray *out = g_byte_array_new(), *again = g_byte_array_new();
    GError *err = NULL;

    g_assert_cmpint(vmstate_list_save(a->vmstate, out, &err), ==, 0);
    VMStateStream *st = vmstate_stream_parse(out->data, out->len, &err);
    g_assert_nonnull(st);
    if (vmstate_list_load(b->vmstate, st, &err) < 0 ||
        vmstate_stream_check_consumed(st, &err) < 0) {
        g_error("load: %s", err->message);
    }
    vmstate_stream_free(st);
    g_assert_cmpint(vmstate_list_save(b->vmstate, again, &err), ==, 0);
    g_assert_cmpmem(again->data, again->len, out->data, out->len);
    g_byte_array_unref(again);
    g_byte_array_unref(out);
}

static uint8_t inb(Machine *m, uint16_t port)
{
    return as_port_read(m->as, port, 1);
}

static void outb(Machine *m, uint16_t port, uint8_t v)
{
    as_port_write(m->as, port, v, 1);
}

/* The same write on both machines. */
static void outb2(Machine *a, Machine *b, uint16_t port, uint8_t v)
{
    outb(a, port, v);
    outb(b, port, v);
}

/* The same read on both machines gives the same value. */
static uint32_t same_in(Machine *a, Machine *b, uint16_t port, unsigned size)
{
    uint32_t va = as_port_read(a->as, port, size);
    uint32_t vb = as_port_read(b->as, port, size);
    if (va != vb) {
        g_error("port 0x%x: %#x before the round trip, %#x after", port, va, vb);
    }
    return va;
}

static void same_lines(Machine *a, Machine *b)
{
    for (int i = 0; i < PC_NUM_GSI; i++) {
        if (a->gsi[i]->level != b->gsi[i]->level) {
            g_error("GSI %d: level %d before the round trip, %d after", i,
                    a->gsi[i]->level, b->gsi[i]->level);
        }
    }
    g_assert_cmpint(a->intr_pending, ==, b->intr_pending);
}

typedef struct Pair {
    Machine *a, *b;
} Pair;

static Pair pair_new(void)
{
    vclock_set_manual(1000000);
    Machine *a = bare_new();
    /* B comes to life later: what its devices derive from the time of
     * their creation differs from A's unless the round trip carries it. */
    vclock_advance(333333333);
    return (Pair){ a, bare_new() };
}

static void pair_free(Pair p)
{
    bare_free(p.b);
    bare_free(p.a);
}

/* --- devices ------------------------------------------------------------------ */

static void pic_compare(Machine *a, Machine *b)
{
    for (int base = 0x20; base <= 0xa0; base += 0x80) {
        outb2(a, b, base, 0x0a);            /* OCW3: read IRR */
        same_in(a, b, base, 1);
        outb2(a, b, base, 0x0b);            /* OCW3: read ISR */
        same_in(a, b, base, 1);
        same_in(a, b, base + 1, 1);         /* IMR */
    }
    same_in(a, b, 0x4d0, 1);
    same_in(a, b, 0x4d1, 1);
    same_lines(a, b);
}

static void test_pic(void)
{
    Pair p = pair_new();
    Machine *a = p.a, *b = p.b;
    static const uint16_t init[][2] = {
        { 0x20, 0x11 }, { 0x21, 0x08 }, { 0x21, 0x04 }, { 0x21, 0x01 },
        { 0xa0, 0x11 }, { 0xa1, 0x70 }, { 0xa1, 0x02 }, { 0xa1, 0x01 },
        { 0x21, 0x98 }, { 0xa1, 0x00 }, { 0x4d1, 0x0c },
    };
    for (size_t i = 0; i < G_N_ELEMENTS(init); i++) {
        outb(a, init[i][0], init[i][1]);
    }
    /* Lines no device of the bare machine drives: the test is their
     * source, on both machines, as a device's post_load re-drives its own. */
    static const int lines[][2] = { { 5, 1 }, { 10, 1 }, { 6, 1 } };
    for (size_t i = 0; i < G_N_ELEMENTS(lines); i++) {
        irq_set(a->gsi[lines[i][0]], lines[i][1]);
    }
    g_assert_true(a->intr_pending);
    g_assert_cmpint(a->intack(a), ==, 0x72);    /* IRQ 10 (slave IR2), in service */
    transfer(a, b);
    for (size_t i = 0; i < G_N_ELEMENTS(lines); i++) {
        irq_set(b->gsi[lines[i][0]], lines[i][1]);
    }
    pic_compare(a, b);
    /* They go on alike: acknowledges, EOIs, new requests. */
    for (int round = 0; round < 4; round++) {
        g_assert_cmpint(a->intack(a), ==, b->intack(b));
        outb2(a, b, 0xa0, 0x20);
        outb2(a, b, 0x20, 0x20);
        irq_set(a->gsi[5 + round], round & 1);
        irq_set(b->gsi[5 + round], round & 1);
        pic_compare(a, b);
    }
    pair_free(p);
}

static void pit_compare(Machine *a, Machine *b)
{
    outb2(a, b, 0x43, 0xce);                /* read-back: counts of ch 0-2 */
    for (int ch = 0; ch < 3; ch++) {
        same_in(a, b, 0x40 + ch, 1);
        same_in(a, b, 0x40 + ch, 1);
    }
    outb2(a, b, 0x43, 0xee);                /* read-back: status of ch 0-2 */
    for (int ch = 0; ch < 3; ch++) {
        same_in(a, b, 0x40 + ch, 1);
    }
    same_in(a, b, 0x61, 1);
    same_lines(a, b);
}

static void test_pit(void)
{
    Pair p = pair_new();
    Machine *a = p.a, *b = p.b;
    outb(a, 0x21, 0xfe);                    /* let IRQ 0 through the 8259 */
    outb(a, 0x43, 0x34);                    /* ch 0: mode 2, LSB+MSB */
    outb(a, 0x40, 0xe8);
    outb(a, 0x40, 0x03);
    outb(a, 0x61, 0x03);                    /* gate 2 on, speaker on */
    outb(a, 0x43, 0xb6);                    /* ch 2: mode 3 */
    outb(a, 0x42, 0x34);
    outb(a, 0x42, 0x12);
    outb(a, 0x43, 0x70);                    /* ch 1: mode 0, LSB+MSB ... */
    outb(a, 0x41, 0x80);                    /* ... only the LSB so far */
    vclock_advance(333333);
    outb(a, 0x43, 0x00);                    /* latch ch 0, not read yet */
    transfer(a, b);
    /* Channel 0's next edge comes from its restored timer alone: no PIT
     * access in between. */
    vclock_advance(900000);
    pic_compare(a, b);
    g_assert_true(b->intr_pending);
    g_assert_cmpint(inb(a, 0x40), ==, inb(b, 0x40));     /* the latched count */
    g_assert_cmpint(inb(a, 0x40), ==, inb(b, 0x40));
    outb2(a, b, 0x41, 0x00);                /* ch 1's MSB completes its count */
    pit_compare(a, b);
    for (int i = 0; i < 20; i++) {
        vclock_advance(123457);             /* timers of both machines fire */
        pic_compare(a, b);
        g_assert_cmpint(a->intack(a), ==, b->intack(b));
        outb2(a, b, 0x20, 0x20);
        pit_compare(a, b);
    }
    pair_free(p);
}

static void rtc_compare(Machine *a, Machine *b)
{
    for (int reg = 0; reg < 0x80; reg++) {
        if (reg == 0x0c) {
            continue;                       /* register C: read last */
        }
        outb2(a, b, 0x70, reg);
        same_in(a, b, 0x71, 1);
    }
    same_lines(a, b);
    outb2(a, b, 0x70, 0x0c);
    same_in(a, b, 0x71, 1);
    same_lines(a, b);
}

static void test_rtc(void)
{
    Pair p = pair_new();
    Machine *a = p.a, *b = p.b;
    static const uint8_t regs[][2] = {
        { 0x0b, 0x86 },                     /* SET, binary, 24 h */
        { 0x00, 30 }, { 0x02, 59 }, { 0x04, 23 }, { 0x07, 28 }, { 0x08, 2 },
        { 0x09, 99 }, { 0x01, 32 }, { 0x03, 59 }, { 0x05, 23 },
        { 0x0a, 0x2e },                     /* 4 Hz periodic */
        { 0x0b, 0x66 },                     /* PIE, AIE, binary, 24 h, running */
        { 0x40, 0x55 }, { 0x7f, 0xaa },
    };
    outb(a, 0xa1, 0x00);
    for (size_t i = 0; i < G_N_ELEMENTS(regs); i++) {
        outb(a, 0x70, regs[i][0]);
        outb(a, 0x71, regs[i][1]);
    }
    vclock_advance(1300 * 1000000LL);
    outb(a, 0x70, 0x0c);                    /* reading C lowers IRQ 8 and arms */
    inb(a, 0x71);                           /* the timer for the next period */
    g_assert_cmpint(a->gsi[8]->level, ==, 0);
    outb(a, 0x70, 0x8d);                    /* index with the NMI mask bit */
    transfer(a, b);
    /* The next periodic interrupt comes from the restored timer alone. */
    vclock_advance(260 * 1000000LL);
    same_lines(a, b);
    g_assert_cmpint(b->gsi[8]->level, ==, 1);
    same_in(a, b, 0x71, 1);                 /* register D through the saved index */
    rtc_compare(a, b);
    for (int i = 0; i < 6; i++) {
        vclock_advance(400 * 1000000LL);    /* through the alarm and midnight */
        rtc_compare(a, b);
    }
    pair_free(p);
}

static void test_i8042(void)
{
    Pair p = pair_new();
    Machine *a = p.a, *b = p.b;
    outb(a, 0x60, 0xed);                    /* keyboard: set LEDs ... */
    g_assert_cmpint(inb(a, 0x60), ==, PS2_ACK);
    outb(a, 0x60, 0x05);                    /* ... scroll and caps */
    g_assert_cmpint(inb(a, 0x60), ==, PS2_ACK);
    outb(a, 0x64, 0xa8);                    /* aux interface on */
    outb(a, 0x64, 0xd4);                    /* to the mouse: */
    outb(a, 0x60, 0xf4);                    /* enable reporting */
    g_assert_cmpint(inb(a, 0x60), ==, PS2_ACK);
    i8042_key_event(a->pc->i8042, 0x1c, true);      /* A */
    i8042_key_event(a->pc->i8042, 0x1c, false);
    i8042_key_event(a->pc->i8042, 0xe075, true);    /* cursor up */
    i8042_mouse_event(a->pc->i8042, 5, -3, 0, PS2_MOUSE_LEFT);
    inb(a, 0x60);
    outb(a, 0x64, 0xd1);                    /* write output port: */
    outb(a, 0x60, 0xdd);                    /* A20 off (and the rest) */
    g_assert_false(a->a20_enabled);
    transfer(a, b);
    g_assert_false(b->a20_enabled);
    g_assert_cmpint(ps2_kbd_leds(i8042_keyboard(b->pc->i8042)), ==, 0x05);
    for (int i = 0; i < 16; i++) {
        same_in(a, b, 0x64, 1);
        same_lines(a, b);
        same_in(a, b, 0x60, 1);
    }
    outb2(a, b, 0x64, 0x20);                /* read the command byte */
    same_in(a, b, 0x60, 1);
    pair_free(p);
}

static void test_port92(void)
{
    Pair p = pair_new();
    Machine *a = p.a, *b = p.b;
    outb(a, 0x64, 0xd1);
    outb(a, 0x60, 0xdd);                    /* i8042 A20 off */
    outb(b, 0x92, 0x02);                    /* B starts with port 0x92's on */
    outb(a, 0x92, 0x08);                    /* A: only the CMOS lock bit */
    g_assert_false(a->a20_enabled);
    g_assert_true(b->a20_enabled);
    transfer(a, b);
    g_assert_false(b->a20_enabled);
    same_in(a, b, 0x92, 1);
    outb2(a, b, 0x92, 0x0a);
    g_assert_true(a->a20_enabled && b->a20_enabled);
    same_in(a, b, 0x92, 1);
    pair_free(p);
}

static void serial_compare(Machine *a, Machine *b, uint16_t base, int reads)
{
    same_in(a, b, base + 2, 1);             /* IIR (may clear THRE) */
    same_in(a, b, base + 5, 1);             /* LSR */
    same_in(a, b, base + 6, 1);             /* MSR */
    same_in(a, b, base + 7, 1);             /* SCR */
    same_in(a, b, base + 1, 1);             /* IER */
    same_in(a, b, base + 3, 1);             /* LCR */
    same_in(a, b, base + 4, 1);             /* MCR */
    same_lines(a, b);
    for (int i = 0; i < reads; i++) {
        same_in(a, b, base, 1);             /* RBR */
        same_in(a, b, base + 2, 1);
        same_in(a, b, base + 5, 1);
        same_lines(a, b);
    }
}

static void test_serial(void)
{
    Pair p = pair_new();
    Machine *a = p.a, *b = p.b;
    static const uint8_t setup[][2] = {
        { 3, 0x80 }, { 0, 0x0c }, { 1, 0x00 }, { 3, 0x1b },    /* 9600, 8E1 */
        { 2, 0xc7 }, { 1, 0x0f }, { 4, 0x0b }, { 7, 0x5a },
    };
    outb(a, 0x21, 0x00);
    for (size_t i = 0; i < G_N_ELEMENTS(setup); i++) {
        outb(a, 0x3f8 + setup[i][0], setup[i][1]);
        outb(a, 0x2f8 + setup[i][0], setup[i][1] ^ (i == 7 ? 0xff : 0));
    }
    Serial16550A *u = a->pc->serial->port[0];
    const char *text = "resume me";
    for (const char *c = text; *c; c++) {
        serial16550a_receive(u, *c, *c == ' ' ? UART_LSR_PE : 0);
    }
    inb(a, 0x3f8);                          /* two bytes taken: the FIFO */
    inb(a, 0x3f8);                          /* no longer starts at 0 */
    outb(a, 0x3f8, 'x');                    /* transmit (instantly, unpaced) */
    vclock_advance(100000);
    transfer(a, b);
    /* The character timeout comes from the restored deadline alone. */
    vclock_advance(20 * 1000000LL);
    same_lines(a, b);
    g_assert_cmpint(b->gsi[4]->level, ==, 1);
    serial_compare(a, b, 0x2f8, 0);
    serial_compare(a, b, 0x3f8, 3);
    vclock_advance(20 * 1000000LL);
    serial_compare(a, b, 0x3f8, 8);
    pair_free(p);
}

static void acpi_compare(Machine *a, Machine *b)
{
    same_in(a, b, ACPI_PM_BASE + 0, 2);
    same_in(a, b, ACPI_PM_BASE + 2, 2);
    same_in(a, b, ACPI_PM_BASE + 4, 2);
    same_in(a, b, ACPI_PM_BASE + 8, 4);     /* the PM timer: the virtual clock */
    same_lines(a, b);
}

static void test_acpi_pm(void)
{
    Pair p = pair_new();
    Machine *a = p.a, *b = p.b;
    as_port_write(a->as, ACPI_PM_BASE + 2, ACPI_PM1_PWRBTN | ACPI_PM1_TMR, 2);
    acpi_pm_press_power_button(a->pc->acpi_pm);
    g_assert_cmpint(a->gsi[ACPI_SCI_GSI]->level, ==, 1);
    transfer(a, b);
    acpi_compare(a, b);
    as_port_write(a->as, ACPI_PM_BASE, ACPI_PM1_PWRBTN, 2);
    as_port_write(b->as, ACPI_PM_BASE, ACPI_PM1_PWRBTN, 2);
    acpi_compare(a, b);
    /* The timer's bit 31 toggles after 2^31 ticks (about 600 s): the
     * re-armed timer sets TMR_STS in both. */
    vclock_advance(601 * 1000000000LL);
    acpi_compare(a, b);
    g_assert_cmpint(b->gsi[ACPI_SCI_GSI]->level, ==, 1);
    pair_free(p);
}

static void test_fw_cfg_debug_ports(void)
{
    Pair p = pair_new();
    Machine *a = p.a, *b = p.b;
    as_port_write(a->as, 0x510, 0x0019, 2); /* the file directory */
    for (int i = 0; i < 9; i++) {
        inb(a, 0x511);                      /* count, then into entry 0 */
    }
    outb(a, 0x80, 0x42);
    transfer(a, b);
    for (int i = 0; i < 64; i++) {
        same_in(a, b, 0x511, 1);
    }
    g_assert_cmpint(inb(b, 0x80), ==, 0x42);
    pair_free(p);
}

static void apic_compare(Machine *a, Machine *b)
{
    LocalApic *x = pc_cpu_apic(a, 0), *y = pc_cpu_apic(b, 0);
    for (uint32_t reg = 0x20; reg <= 0x3e0; reg += 0x10) {
        if (reg == APIC_REG_EOI || reg == APIC_REG_ESR || (reg > 0x390 && reg < 0x3e0)) {
            continue;
        }
        g_assert_cmphex(apic_reg_read(x, reg), ==, apic_reg_read(y, reg));
    }
    g_assert_cmphex(apic_get_base_msr(x), ==, apic_get_base_msr(y));
    g_assert_cmpint(apic_has_interrupt(x), ==, apic_has_interrupt(y));
    same_lines(a, b);
}

static void test_apic_ioapic(void)
{
    Pair p = pair_new();
    Machine *a = p.a, *b = p.b;
    LocalApic *x = pc_cpu_apic(a, 0);
    apic_reg_write(x, APIC_REG_SVR, 0x1ff);
    apic_reg_write(x, APIC_REG_TPR, 0x20);
    apic_reg_write(x, APIC_REG_LDR, 0x01000000);
    apic_reg_write(x, APIC_REG_TIMER_DCR, 0x3);
    apic_reg_write(x, APIC_REG_LVT_TIMER, (APIC_TIMER_PERIODIC << APIC_LVT_TIMER_SHIFT) | 0x40);
    apic_reg_write(x, APIC_REG_TIMER_ICR, 100000);
    IOApic *io = a->pc->ioapic;
    ioapic_reg_write(io, IOAPIC_REG_REDTBL + 2 * 4, 0x31);      /* IRQ 4 -> 0x31 */
    ioapic_reg_write(io, IOAPIC_REG_REDTBL + 2 * 4 + 1, 0x00000000);
    ioapic_reg_write(io, IOAPIC_REG_ID, 0x02000000);
    vclock_advance(1000000);
    transfer(a, b);
    apic_compare(a, b);
    for (int reg = 0; reg < 0x40; reg++) {
        g_assert_cmphex(ioapic_reg_read(io, reg), ==, ioapic_reg_read(b->pc->ioapic, reg));
    }
    /* The page is mapped in B at the same place: MMIO reaches the APIC. */
    g_assert_cmphex(as_mmio_read(b->as, APIC_DEFAULT_BASE + APIC_REG_TPR, 4), ==, 0x20);
    for (int i = 0; i < 5; i++) {
        vclock_advance(7 * 1000000LL);      /* periodic timer interrupts */
        apic_compare(a, b);
        g_assert_cmpint(pc_cpu_interrupt_ack(a, 0), ==, pc_cpu_interrupt_ack(b, 0));
        apic_reg_write(x, APIC_REG_EOI, 0);
        apic_reg_write(pc_cpu_apic(b, 0), APIC_REG_EOI, 0);
    }
    pair_free(p);
}

/* --- the emulated CPU ------------------------------------------------------- */

typedef struct TestCpu {
    AddressSpace *as;
    uint8_t *ram;
    X86CPU *cpu;
} TestCpu;

/* Flat 32-bit code at 0x1000: a loop whose flags stay lazy between blocks. */
static const uint8_t cpu_code[] = {
    0xb8, 0x05, 0x00, 0x00, 0x00,       /* mov eax, 5 */
    0xb9, 0x00, 0x10, 0x00, 0x00,       /* mov ecx, 0x1000 */
    0x01, 0xc8,                         /* L: add eax, ecx */
    0xd1, 0xc0,                         /* rol eax, 1 */
    0x31, 0xc3,                         /* xor ebx, eax */
    0x49,                               /* dec ecx */
    0x75, 0xf7,                         /* jnz L */
    0xf4,                               /* hlt */
};

static TestCpu cpu_new(void)
{
    TestCpu t = { .as = as_new(), .ram = g_malloc0(1 << 20) };
    as_add_ram(t.as, "ram", 0, 1 << 20, t.ram);
    memcpy(t.ram + 0x1000, cpu_code, sizeof(cpu_code));
    X86CPUBus bus = { .as = t.as };
    t.cpu = x86_cpu_new(&bus);
    x86_cpu_set_single_step(t.cpu, true);
    return t;
}

static void cpu_free(TestCpu t)
{
    x86_cpu_free(t.cpu);
    as_free(t.as);
    g_free(t.ram);
}

static void same_regs(X86CPU *x, X86CPU *y)
{
    X86Registers rx, ry;
    x86_cpu_get_regs(x, &rx);
    x86_cpu_get_regs(y, &ry);
    g_assert_cmpmem(&rx, sizeof(rx), &ry, sizeof(ry));
    g_assert_cmpint(x86_cpu_halted(x), ==, x86_cpu_halted(y));
}

static void test_cpu(void)
{
    TestCpu a = cpu_new(), b = cpu_new();
    X86Registers r;
    x86_regs_flat32(&r, 0x08, 0x10);
    r.rip = 0x1000;
    r.gpr[X86_RSP] = 0x8000;
    r.gpr[X86_RDX] = 0x12345678;
    r.cr2 = 0xdead0000;
    r.gdt = (X86Table){ 0x500, 0x17 };
    x86_cpu_set_regs(a.cpu, &r);

    g_assert_cmpint(x86_cpu_exec(a.cpu, 503), ==, X86_EXIT_BUDGET);
    GByteArray *out = g_byte_array_new();
    g_assert_cmpint(vmstate_save_section(out, "emu-cpu.0", &x86_cpu_vmstate, a.cpu, NULL), ==, 0);
    VMStateStream *st = vmstate_stream_parse(out->data, out->len, NULL);
    g_assert_cmpint(vmstate_stream_load(st, "emu-cpu.0", &x86_cpu_vmstate, b.cpu, NULL), ==, 0);
    vmstate_stream_free(st);
    same_regs(a.cpu, b.cpu);

    /* Both run on to the same results, flags included. */
    for (int i = 0; i < 50; i++) {
        x86_cpu_exec(a.cpu, 97);
        x86_cpu_exec(b.cpu, 97);
        same_regs(a.cpu, b.cpu);
    }
    x86_cpu_set_single_step(a.cpu, false);
    x86_cpu_set_single_step(b.cpu, false);
    g_assert_cmpint(x86_cpu_exec(a.cpu, 1 << 20), ==, X86_EXIT_HLT);
    g_assert_cmpint(x86_cpu_exec(b.cpu, 1 << 20), ==, X86_EXIT_HLT);
    same_regs(a.cpu, b.cpu);

    /* A halted CPU stays halted across the round trip. */
    TestCpu c = cpu_new();
    g_byte_array_set_size(out, 0);
    g_assert_cmpint(vmstate_save_section(out, "emu-cpu.0", &x86_cpu_vmstate, a.cpu, NULL), ==, 0);
    st = vmstate_stream_parse(out->data, out->len, NULL);
    g_assert_cmpint(vmstate_stream_load(st, "emu-cpu.0", &x86_cpu_vmstate, c.cpu, NULL), ==, 0);
    vmstate_stream_free(st);
    g_assert_true(x86_cpu_halted(c.cpu));
    same_regs(a.cpu, c.cpu);

    g_byte_array_unref(out);
    cpu_free(c);
    cpu_free(b);
    cpu_free(a);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/vmstate-devices/i8259", test_pic);
    g_test_add_func("/vmstate-devices/i8254-port61", test_pit);
    g_test_add_func("/vmstate-devices/mc146818-rtc", test_rtc);
    g_test_add_func("/vmstate-devices/i8042-ps2", test_i8042);
    g_test_add_func("/vmstate-devices/port92", test_port92);
    g_test_add_func("/vmstate-devices/serial-16550a", test_serial);
    g_test_add_func("/vmstate-devices/acpi-pm", test_acpi_pm);
    g_test_add_func("/vmstate-devices/fw-cfg-debug-ports", test_fw_cfg_debug_ports);
    g_test_add_func("/vmstate-devices/apic-ioapic", test_apic_ioapic);
    g_test_add_func("/vmstate-devices/x86-cpu", test_cpu);
    return g_test_run();
}
