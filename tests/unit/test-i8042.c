/*
 * i8042 keyboard controller, PS/2 keyboard and mouse, and port 0x92
 * (hw/i8042.c, hw/ps2-kbd.c, hw/ps2-mouse.c, hw/port92.c) at register
 * level: ports 0x60/0x64/0x92 through the machine's AddressSpace, IRQ 1 and
 * 12 on probe lines, A20 in m->a20_enabled, and reset requests carried out
 * by the real main-loop path (-no-reboot turns them into a shutdown whose
 * cause the test reads back).
 */
#include <glib.h>
#include "hw/i8042.h"
#include "hw/pc.h"
#include "hw/port92.h"
#include "main-loop.h"

typedef struct Fixture {
    MachineConfig cfg;
    Machine m;
    I8042 *kbc;
    Port92 *p92;
    int level[PC_NUM_GSI];
    int rises[PC_NUM_GSI];
} Fixture;

static void irq_probe(void *opaque, int n, int level)
{
    Fixture *f = opaque;
    if (level && !f->level[n]) {
        f->rises[n]++;
    }
    f->level[n] = level;
}

static Fixture *fx_new(void)
{
    Fixture *f = g_new0(Fixture, 1);
    GError *err = NULL;

    main_loop_init();
    machine_config_init(&f->cfg);
    f->cfg.no_reboot = true;           /* a reset request ends the machine */
    f->m.cfg = &f->cfg;
    f->m.as = as_new();
    f->m.a20_enabled = false;
    for (int i = 0; i < PC_NUM_GSI; i++) {
        f->m.gsi[i] = irq_line_new(irq_probe, f, i);
    }
    machine_set_current(&f->m);
    f->kbc = i8042_new(&f->m, &err);
    g_assert_no_error(err);
    f->p92 = port92_new(&f->m, f->kbc, &err);
    g_assert_no_error(err);
    return f;
}

static void fx_free(Fixture *f)
{
    /* Leave no request behind for the next test. */
    while (g_main_context_iteration(NULL, FALSE)) {
    }
    port92_free(f->p92);
    i8042_free(f->kbc);
    for (int i = 0; i < PC_NUM_GSI; i++) {
        irq_line_free(f->m.gsi[i]);
    }
    as_free(f->m.as);
    machine_set_current(NULL);
    machine_config_clear(&f->cfg);
    g_free(f);
}

static uint8_t status(Fixture *f)
{
    return as_port_read(f->m.as, 0x64, 1);
}

static void cmd(Fixture *f, uint8_t c)
{
    as_port_write(f->m.as, 0x64, c, 1);
}

static void data(Fixture *f, uint8_t v)
{
    as_port_write(f->m.as, 0x60, v, 1);
}

static uint8_t read_data(Fixture *f)
{
    return as_port_read(f->m.as, 0x60, 1);
}

/* Read one byte that must be there, from the keyboard (aux false) or the
 * aux device (aux true). */
static uint8_t expect_byte(Fixture *f, bool aux)
{
    uint8_t st = status(f);
    g_assert_true(st & I8042_STR_OBF);
    g_assert_cmpint(!!(st & I8042_STR_AUXOBF), ==, aux);
    return read_data(f);
}

static void expect_bytes(Fixture *f, bool aux, const uint8_t *want, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        g_assert_cmphex(expect_byte(f, aux), ==, want[i]);
    }
    g_assert_false(status(f) & I8042_STR_OBF);
}

#define EXPECT_KBD(f, ...) do { \
        static const uint8_t want_[] = { __VA_ARGS__ }; \
        expect_bytes((f), false, want_, sizeof(want_)); \
    } while (0)
#define EXPECT_AUX(f, ...) do { \
        static const uint8_t want_[] = { __VA_ARGS__ }; \
        expect_bytes((f), true, want_, sizeof(want_)); \
    } while (0)

static uint8_t read_ctr(Fixture *f)
{
    cmd(f, 0x20);
    return expect_byte(f, false);
}

static void write_ctr(Fixture *f, uint8_t v)
{
    cmd(f, 0x60);
    data(f, v);
}

/* Run the main loop's pending work; true if the machine was asked to reset
 * (under -no-reboot: ended with cause "guest reset"). */
static bool reset_requested(Fixture *f)
{
    while (g_main_context_iteration(NULL, FALSE)) {
    }
    if (f->m.state == RUN_STATE_SHUTDOWN) {
        g_assert_cmpint(f->m.shutdown_cause, ==, SHUTDOWN_GUEST_RESET);
        return true;
    }
    return false;
}

static void test_power_on(void)
{
    Fixture *f = fx_new();
    g_assert_true(f->m.a20_enabled);                /* the gate starts open */
    g_assert_cmphex(status(f), ==, I8042_STR_UNLOCKED);
    g_assert_cmphex(read_ctr(f), ==, I8042_CTR_POWER_ON);
    g_assert_cmphex(status(f), ==, I8042_STR_UNLOCKED | I8042_STR_CMD);
    g_assert_false(reset_requested(f));
    fx_free(f);
}

static void test_self_test(void)
{
    Fixture *f = fx_new();
    write_ctr(f, I8042_CTR_KBDINT);
    g_assert_false(status(f) & I8042_STR_SYS);
    cmd(f, 0xaa);
    g_assert_cmphex(status(f), ==, I8042_STR_OBF | I8042_STR_SYS | I8042_STR_CMD |
                                   I8042_STR_UNLOCKED);
    g_assert_cmpint(f->level[1], ==, 1);            /* controller data is IRQ 1 data */
    g_assert_cmphex(read_data(f), ==, 0x55);
    g_assert_cmpint(f->level[1], ==, 0);
    g_assert_false(status(f) & I8042_STR_OBF);
    /* Self-test inhibits both interfaces and sets the system flag. */
    g_assert_cmphex(read_ctr(f), ==, I8042_CTR_KBDINT | I8042_CTR_SYS |
                                     I8042_CTR_KBDDIS | I8042_CTR_AUXDIS);
    cmd(f, 0xab);
    EXPECT_KBD(f, 0x00);
    cmd(f, 0xa9);
    EXPECT_KBD(f, 0x00);
    cmd(f, 0xa4);
    EXPECT_KBD(f, 0xf1);                            /* no password */
    cmd(f, 0xc0);
    EXPECT_KBD(f, 0xa0);
    fx_free(f);
}

static void test_command_byte_and_ram(void)
{
    Fixture *f = fx_new();
    write_ctr(f, 0x65);
    g_assert_false(status(f) & I8042_STR_CMD);      /* last write went to 0x60 */
    g_assert_cmphex(read_ctr(f), ==, 0x65);
    g_assert_true(status(f) & I8042_STR_SYS);
    write_ctr(f, 0x00);
    g_assert_false(status(f) & I8042_STR_SYS);
    /* Controller RAM bytes 1-31. */
    cmd(f, 0x7f);
    data(f, 0x5a);
    cmd(f, 0x61);
    data(f, 0xa5);
    cmd(f, 0x3f);
    EXPECT_KBD(f, 0x5a);
    cmd(f, 0x21);
    EXPECT_KBD(f, 0xa5);
    g_assert_cmphex(read_ctr(f), ==, 0x00);
    /* 0xad/0xae and 0xa7/0xa8 flip bits 4 and 5. */
    cmd(f, 0xad);
    g_assert_cmphex(read_ctr(f), ==, I8042_CTR_KBDDIS);
    cmd(f, 0xa7);
    g_assert_cmphex(read_ctr(f), ==, I8042_CTR_KBDDIS | I8042_CTR_AUXDIS);
    cmd(f, 0xae);
    g_assert_cmphex(read_ctr(f), ==, I8042_CTR_AUXDIS);
    cmd(f, 0xa8);
    g_assert_cmphex(read_ctr(f), ==, 0x00);
    /* With the interrupt bit clear, data in the buffer raises no IRQ. */
    int rises = f->rises[1];
    cmd(f, 0x20);
    g_assert_true(status(f) & I8042_STR_OBF);
    g_assert_cmpint(f->level[1], ==, 0);
    g_assert_cmphex(read_data(f), ==, 0x00);
    g_assert_cmpint(f->rises[1], ==, rises);
    fx_free(f);
}

static void test_a20(void)
{
    Fixture *f = fx_new();
    cmd(f, 0xd0);
    EXPECT_KBD(f, 0xcf);                    /* reset line high, A20 on, lines idle */
    cmd(f, 0xdd);
    g_assert_false(f->m.a20_enabled);
    cmd(f, 0xd0);
    EXPECT_KBD(f, 0xcd);
    cmd(f, 0xdf);
    g_assert_true(f->m.a20_enabled);
    cmd(f, 0xd1);
    data(f, 0xdd);
    g_assert_false(f->m.a20_enabled);
    cmd(f, 0xd0);
    EXPECT_KBD(f, 0xcd);
    cmd(f, 0xd1);
    data(f, 0xdf);
    g_assert_true(f->m.a20_enabled);
    g_assert_false(reset_requested(f));

    /* Port 0x92 bit 1 is the other input of the gate. */
    cmd(f, 0xdd);
    g_assert_false(f->m.a20_enabled);
    g_assert_cmphex(as_port_read(f->m.as, 0x92, 1), ==, 0x00);
    as_port_write(f->m.as, 0x92, PORT92_A20, 1);
    g_assert_true(f->m.a20_enabled);
    g_assert_cmphex(as_port_read(f->m.as, 0x92, 1), ==, PORT92_A20);
    cmd(f, 0xdf);
    as_port_write(f->m.as, 0x92, 0x00, 1);
    g_assert_true(f->m.a20_enabled);                /* still on through the 8042 */
    cmd(f, 0xdd);
    g_assert_false(f->m.a20_enabled);
    /* Pulsing only bit 1 (0xfd) leaves the gate as it was. */
    cmd(f, 0xfd);
    g_assert_false(f->m.a20_enabled);
    g_assert_false(reset_requested(f));

    /* The reset hook restores the power-on state. */
    as_port_write(f->m.as, 0x92, PORT92_A20, 1);
    write_ctr(f, 0x00);
    machine_run_reset_hooks(&f->m);
    g_assert_true(f->m.a20_enabled);
    g_assert_cmphex(as_port_read(f->m.as, 0x92, 1), ==, 0x00);
    g_assert_cmphex(read_ctr(f), ==, I8042_CTR_POWER_ON);
    fx_free(f);
}

static void test_reset_pulse_fe(void)
{
    Fixture *f = fx_new();
    cmd(f, 0xff);                           /* pulses nothing */
    cmd(f, 0xfd);                           /* pulses A20 only */
    g_assert_false(reset_requested(f));
    cmd(f, 0xfe);
    g_assert_true(reset_requested(f));
    fx_free(f);
}

static void test_reset_output_port(void)
{
    Fixture *f = fx_new();
    cmd(f, 0xd1);
    data(f, 0xdf);
    g_assert_false(reset_requested(f));
    cmd(f, 0xd1);
    data(f, 0xde);                          /* bit 0 low: CPU reset */
    g_assert_true(reset_requested(f));
    fx_free(f);
}

static void test_reset_port92(void)
{
    Fixture *f = fx_new();
    as_port_write(f->m.as, 0x92, PORT92_A20, 1);
    g_assert_false(reset_requested(f));
    as_port_write(f->m.as, 0x92, PORT92_A20 | PORT92_FAST_RESET, 1);
    g_assert_true(reset_requested(f));
    fx_free(f);
}

static void test_port92_reset_needs_edge(void)
{
    Fixture *f = fx_new();
    as_port_write(f->m.as, 0x92, PORT92_FAST_RESET, 1);
    g_assert_true(reset_requested(f));
    /* Writing 1 again is no new edge; only the first request counted. */
    f->m.state = RUN_STATE_PRELAUNCH;
    as_port_write(f->m.as, 0x92, PORT92_FAST_RESET | PORT92_A20, 1);
    g_assert_false(reset_requested(f));
    fx_free(f);
}

static void test_keyboard_commands(void)
{
    Fixture *f = fx_new();
    write_ctr(f, I8042_CTR_KBDINT);         /* no translation */
    PS2Keyboard *k = i8042_keyboard(f->kbc);

    data(f, 0xff);                          /* reset */
    g_assert_cmpint(f->level[1], ==, 1);
    g_assert_cmpint(f->level[12], ==, 0);
    g_assert_cmphex(read_data(f), ==, 0xfa);
    g_assert_cmpint(f->level[1], ==, 1);    /* next byte loaded: a new edge */
    g_assert_cmphex(read_data(f), ==, 0xaa);
    g_assert_cmpint(f->level[1], ==, 0);
    g_assert_cmpint(f->rises[1], ==, 2);

    data(f, 0xee);
    EXPECT_KBD(f, 0xee);                    /* echo, no ack */
    data(f, 0xfe);
    EXPECT_KBD(f, 0xee);                    /* resend the last byte */
    data(f, 0xf2);
    EXPECT_KBD(f, 0xfa, 0xab, 0x83);        /* MF2 keyboard */
    data(f, 0xed);
    EXPECT_KBD(f, 0xfa);
    data(f, PS2_LED_CAPS | PS2_LED_NUM);
    EXPECT_KBD(f, 0xfa);
    g_assert_cmphex(ps2_kbd_leds(k), ==, PS2_LED_CAPS | PS2_LED_NUM);
    data(f, 0xf3);
    data(f, 0x20);
    EXPECT_KBD(f, 0xfa, 0xfa);
    data(f, 0xf0);
    data(f, 0x00);
    EXPECT_KBD(f, 0xfa, 0xfa, 0x02);        /* current set: 2 */
    data(f, 0xf0);
    data(f, 0x03);
    EXPECT_KBD(f, 0xfa, 0xfe);              /* set 3 is not offered */
    data(f, 0x01);                          /* not a command */
    EXPECT_KBD(f, 0xfe);
    /* A command where a parameter was due starts that command. */
    data(f, 0xed);
    data(f, 0xee);
    EXPECT_KBD(f, 0xfa, 0xee);
    g_assert_cmphex(ps2_kbd_leds(k), ==, PS2_LED_CAPS | PS2_LED_NUM);

    /* Default disable: keys are dropped until enabled. */
    data(f, 0xf5);
    EXPECT_KBD(f, 0xfa);
    i8042_key_event(f->kbc, 0x1c, true);
    g_assert_false(status(f) & I8042_STR_OBF);
    data(f, 0xf4);
    EXPECT_KBD(f, 0xfa);
    i8042_key_event(f->kbc, 0x1c, true);
    EXPECT_KBD(f, 0x1c);
    fx_free(f);
}

static void test_translation(void)
{
    Fixture *f = fx_new();
    write_ctr(f, I8042_CTR_KBDINT);

    /* Set 2 as the keyboard sends it. */
    i8042_key_event(f->kbc, 0x1c, true);            /* A */
    i8042_key_event(f->kbc, 0x1c, false);
    i8042_key_event(f->kbc, 0xe075, true);          /* cursor up */
    i8042_key_event(f->kbc, 0xe075, false);
    EXPECT_KBD(f, 0x1c, 0xf0, 0x1c, 0xe0, 0x75, 0xe0, 0xf0, 0x75);

    /* Translated to set 1 by the controller. */
    write_ctr(f, I8042_CTR_KBDINT | I8042_CTR_XLATE);
    i8042_key_event(f->kbc, 0x1c, true);
    i8042_key_event(f->kbc, 0x1c, false);
    i8042_key_event(f->kbc, 0xe075, true);
    i8042_key_event(f->kbc, 0xe075, false);
    i8042_key_event(f->kbc, 0x76, true);            /* Esc */
    i8042_key_event(f->kbc, 0x83, true);            /* F7 */
    EXPECT_KBD(f, 0x1e, 0x9e, 0xe0, 0x48, 0xe0, 0xc8, 0x01, 0x41);
    g_assert_cmpint(f->rises[1], ==, 8 + 8);
    /* Responses pass through the same table: the ID's 0x83 becomes 0x41. */
    data(f, 0xf2);
    EXPECT_KBD(f, 0xfa, 0xab, 0x41);

    /* A keyboard switched to set 1 sends set 1 itself. */
    write_ctr(f, I8042_CTR_KBDINT);
    data(f, 0xf0);
    data(f, 0x01);
    EXPECT_KBD(f, 0xfa, 0xfa);
    data(f, 0xf0);
    data(f, 0x00);
    EXPECT_KBD(f, 0xfa, 0xfa, 0x01);
    static const uint8_t pause_set2[] = { 0xe1, 0x14, 0x77, 0xe1, 0xf0, 0x14, 0xf0, 0x77 };
    ps2_kbd_put_scancodes(i8042_keyboard(f->kbc), pause_set2, sizeof(pause_set2));
    EXPECT_KBD(f, 0xe1, 0x1d, 0x45, 0xe1, 0x9d, 0xc5);
    i8042_key_event(f->kbc, 0x5a, true);            /* Enter */
    i8042_key_event(f->kbc, 0x5a, false);
    EXPECT_KBD(f, 0x1c, 0x9c);
    /* Keyboard reset goes back to set 2. */
    data(f, 0xff);
    EXPECT_KBD(f, 0xfa, 0xaa);
    g_assert_cmpint(ps2_kbd_scancode_set(i8042_keyboard(f->kbc)), ==, 2);
    fx_free(f);
}

static void test_keyboard_port_disabled(void)
{
    Fixture *f = fx_new();
    write_ctr(f, I8042_CTR_KBDINT | I8042_CTR_KBDDIS);
    i8042_key_event(f->kbc, 0x1c, true);
    g_assert_false(status(f) & I8042_STR_OBF);
    g_assert_cmpint(f->rises[1], ==, 0);
    cmd(f, 0xae);                                   /* the key waited in the keyboard */
    g_assert_cmpint(f->level[1], ==, 1);
    EXPECT_KBD(f, 0x1c);

    /* The keyboard's 16-byte buffer overruns while the port is held off. */
    cmd(f, 0xad);
    for (int i = 0; i < 20; i++) {
        i8042_key_event(f->kbc, 0x1c, true);
    }
    cmd(f, 0xae);
    for (int i = 0; i < PS2_KBD_BUFFER; i++) {
        g_assert_cmphex(expect_byte(f, false), ==, 0x1c);
    }
    EXPECT_KBD(f, 0x00);                            /* set 2 overrun code */
    i8042_key_event(f->kbc, 0x1c, true);            /* room again */
    EXPECT_KBD(f, 0x1c);

    /* Interrupts off: the byte waits, IRQ 1 stays low. */
    write_ctr(f, 0x00);
    i8042_key_event(f->kbc, 0x1c, false);
    g_assert_true(status(f) & I8042_STR_OBF);
    g_assert_cmpint(f->level[1], ==, 0);
    write_ctr(f, I8042_CTR_KBDINT);                 /* enabling raises it */
    g_assert_cmpint(f->level[1], ==, 1);
    EXPECT_KBD(f, 0xf0, 0x1c);
    fx_free(f);
}

static void test_write_buffers_d2_d3(void)
{
    Fixture *f = fx_new();
    write_ctr(f, I8042_CTR_KBDINT | I8042_CTR_AUXINT);
    cmd(f, 0xd2);
    data(f, 0x43);
    g_assert_cmpint(f->level[1], ==, 1);
    g_assert_cmpint(f->level[12], ==, 0);
    EXPECT_KBD(f, 0x43);
    cmd(f, 0xd3);
    data(f, 0x42);
    g_assert_cmpint(f->level[1], ==, 0);
    g_assert_cmpint(f->level[12], ==, 1);
    EXPECT_AUX(f, 0x42);
    g_assert_cmpint(f->level[12], ==, 0);
    /* Without the aux interrupt bit, aux data leaves IRQ 12 low. */
    write_ctr(f, I8042_CTR_KBDINT);
    cmd(f, 0xd3);
    data(f, 0x44);
    g_assert_true(status(f) & I8042_STR_AUXOBF);
    g_assert_cmpint(f->level[12], ==, 0);
    g_assert_cmpint(f->level[1], ==, 0);
    EXPECT_AUX(f, 0x44);
    g_assert_cmpint(f->rises[12], ==, 1);
    /* 0xd0 shows the IRQ lines in bits 4 and 5. */
    cmd(f, 0xd3);
    data(f, 0x11);
    cmd(f, 0xd0);
    EXPECT_KBD(f, 0xcf | I8042_OUT_AUX_OBF);
    fx_free(f);
}

static void test_aux_device(void)
{
    Fixture *f = fx_new();
    write_ctr(f, I8042_CTR_KBDINT | I8042_CTR_AUXINT);

    cmd(f, 0xd4);
    data(f, 0xff);                                  /* reset */
    g_assert_cmpint(f->level[12], ==, 1);
    g_assert_cmpint(f->level[1], ==, 0);
    EXPECT_AUX(f, 0xfa, 0xaa, 0x00);
    g_assert_cmpint(f->rises[12], ==, 3);
    g_assert_cmpint(f->rises[1], ==, 0);
    cmd(f, 0xd4);
    data(f, 0xf2);
    EXPECT_AUX(f, 0xfa, 0x00);                      /* standard mouse */
    cmd(f, 0xd4);
    data(f, 0xe9);                                  /* status */
    EXPECT_AUX(f, 0xfa, 0x00, 0x02, 100);

    /* IntelliMouse: rates 200, 100, 80 give ID 3 and a wheel byte. */
    static const uint8_t rates[] = { 200, 100, 80 };
    for (int i = 0; i < 3; i++) {
        cmd(f, 0xd4);
        data(f, 0xf3);
        cmd(f, 0xd4);
        data(f, rates[i]);
        EXPECT_AUX(f, 0xfa, 0xfa);
    }
    cmd(f, 0xd4);
    data(f, 0xf2);
    EXPECT_AUX(f, 0xfa, 0x03);
    cmd(f, 0xd4);
    data(f, 0xf3);
    cmd(f, 0xd4);
    data(f, 33);                                    /* not a rate */
    EXPECT_AUX(f, 0xfa, 0xfe);

    /* Movement is only reported once enabled. */
    i8042_mouse_event(f->kbc, 5, -3, 0, PS2_MOUSE_LEFT);
    g_assert_false(status(f) & I8042_STR_OBF);
    cmd(f, 0xd4);
    data(f, 0xf4);
    EXPECT_AUX(f, 0xfa);
    i8042_mouse_event(f->kbc, 5, -3, 1, PS2_MOUSE_LEFT);   /* right 5, up 3 */
    EXPECT_AUX(f, 0x09, 0x05, 0x03, 0x01);
    i8042_mouse_event(f->kbc, -5, 4, -2, PS2_MOUSE_LEFT | PS2_MOUSE_RIGHT);
    EXPECT_AUX(f, 0x08 | 0x03 | 0x10 | 0x20, 0xfb, 0xfc, 0xfe);
    i8042_mouse_event(f->kbc, 0, 0, 0, 0);          /* buttons released */
    EXPECT_AUX(f, 0x08, 0x00, 0x00, 0x00);
    /* A long move is split into packets of at most 255 counts. */
    i8042_mouse_event(f->kbc, 300, 0, 0, 0);
    EXPECT_AUX(f, 0x08, 0xff, 0x00, 0x00, 0x08, 45, 0x00, 0x00);
    cmd(f, 0xd4);
    data(f, 0xe9);
    EXPECT_AUX(f, 0xfa, 0x20, 0x02, 80);

    /* Aux port disabled: packets wait in the mouse. */
    cmd(f, 0xa7);
    i8042_mouse_event(f->kbc, 1, 0, 0, 0);
    g_assert_false(status(f) & I8042_STR_OBF);
    cmd(f, 0xa8);
    EXPECT_AUX(f, 0x08, 0x01, 0x00, 0x00);

    /* Remote mode: 0xeb reads the accumulated motion. */
    cmd(f, 0xd4);
    data(f, 0xf0);
    EXPECT_AUX(f, 0xfa);
    i8042_mouse_event(f->kbc, 2, 0, 0, PS2_MOUSE_MIDDLE);
    g_assert_false(status(f) & I8042_STR_OBF);
    cmd(f, 0xd4);
    data(f, 0xeb);
    EXPECT_AUX(f, 0xfa, 0x0c, 0x02, 0x00, 0x00);

    /* Wrap mode echoes until 0xec. */
    cmd(f, 0xd4);
    data(f, 0xee);
    EXPECT_AUX(f, 0xfa);
    cmd(f, 0xd4);
    data(f, 0x5a);
    EXPECT_AUX(f, 0x5a);
    cmd(f, 0xd4);
    data(f, 0xec);
    EXPECT_AUX(f, 0xfa);
    cmd(f, 0xd4);
    data(f, 0x5a);
    EXPECT_AUX(f, 0xfe);

    /* Mouse data never reaches IRQ 1. */
    g_assert_cmpint(f->rises[1], ==, 0);
    fx_free(f);
}

static void test_mouse_scaling(void)
{
    Fixture *f = fx_new();
    write_ctr(f, I8042_CTR_AUXINT);
    cmd(f, 0xd4);
    data(f, 0xe7);                                  /* 2:1 */
    cmd(f, 0xd4);
    data(f, 0xf4);
    EXPECT_AUX(f, 0xfa, 0xfa);
    static const int in[] = { 1, 2, 3, 4, 5, 6, -4 };
    static const uint8_t out[] = { 1, 1, 3, 6, 9, 12, 0xfa };
    for (guint i = 0; i < G_N_ELEMENTS(in); i++) {
        i8042_mouse_event(f->kbc, in[i], 0, 0, 0);
        g_assert_cmphex(expect_byte(f, true) & 0x10, ==, in[i] < 0 ? 0x10 : 0);
        g_assert_cmphex(expect_byte(f, true), ==, out[i]);
        g_assert_cmphex(expect_byte(f, true), ==, 0);
    }
    fx_free(f);
}

static void test_ports_refused_twice(void)
{
    Fixture *f = fx_new();
    GError *err = NULL;
    g_assert_null(i8042_new(&f->m, &err));
    g_assert_error(err, G_FILE_ERROR, G_FILE_ERROR_EXIST);
    g_clear_error(&err);
    g_assert_null(port92_new(&f->m, f->kbc, &err));
    g_assert_error(err, G_FILE_ERROR, G_FILE_ERROR_EXIST);
    g_clear_error(&err);
    /* The first controller still answers. */
    cmd(f, 0xaa);
    EXPECT_KBD(f, 0x55);
    fx_free(f);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/i8042/power-on", test_power_on);
    g_test_add_func("/i8042/self-test", test_self_test);
    g_test_add_func("/i8042/command-byte-and-ram", test_command_byte_and_ram);
    g_test_add_func("/i8042/a20", test_a20);
    g_test_add_func("/i8042/reset-fe", test_reset_pulse_fe);
    g_test_add_func("/i8042/reset-output-port", test_reset_output_port);
    g_test_add_func("/i8042/reset-port92", test_reset_port92);
    g_test_add_func("/i8042/port92-reset-edge", test_port92_reset_needs_edge);
    g_test_add_func("/i8042/keyboard-commands", test_keyboard_commands);
    g_test_add_func("/i8042/translation", test_translation);
    g_test_add_func("/i8042/keyboard-port-disabled", test_keyboard_port_disabled);
    g_test_add_func("/i8042/write-buffers", test_write_buffers_d2_d3);
    g_test_add_func("/i8042/aux-device", test_aux_device);
    g_test_add_func("/i8042/mouse-scaling", test_mouse_scaling);
    g_test_add_func("/i8042/ports-refused-twice", test_ports_refused_twice);
    return g_test_run();
}
