/*
 * Intel 8042 keyboard controller of the PC/AT and PS/2 (ports 0x60/0x64).
 * References: IBM PS/2 Hardware Interface Technical Reference, "Keyboard
 * and Auxiliary Device Controller" (status register, command byte, commands
 * 0x20-0x3f read RAM, 0x60-0x7f write RAM, 0xa4 password test, 0xa7/0xa8
 * aux disable/enable, 0xa9 aux interface test, 0xaa self-test (0x55), 0xab
 * keyboard interface test, 0xad/0xae keyboard disable/enable, 0xc0 read
 * input port, 0xd0/0xd1 read/write output port, 0xd2/0xd3 write keyboard /
 * aux output buffer, 0xd4 write to aux device, 0xe0 read test inputs,
 * 0xf0-0xff pulse output port); vendor technical references (Compaq, HP) for
 * 0xdd/0xdf A20 off/on and for 0xaa inhibiting both interfaces.
 *
 * One output buffer serves the controller, the keyboard and the aux device.
 * When it is empty the controller moves the next byte from the keyboard
 * (translated to set 1 when the command byte says so) or else from the aux
 * device, unless that interface is disabled.  A controller command's answer
 * overwrites the buffer, as on the chip.  IRQ 1 / IRQ 12 follow "buffer
 * full with keyboard / aux data" gated by the command byte; reading port
 * 0x60 drops the line before the next byte is loaded, so every byte is a new
 * edge for the 8259.
 */
#include <string.h>
#include <glib.h>
#include "hw/i8042.h"
#include "hw/pc.h"
#include "log.h"
#include "vmstate.h"

/* Input port (command 0xc0): keyboard not inhibited, no manufacturing
 * jumper, colour display. */
#define I8042_INPUT_PORT    0xa0
/* Output port lines that read back as written (bits 4/5 show the IRQs). */
#define I8042_OUT_POWER_ON  0xcf

struct I8042 {
    Machine *m;
    IrqLine *kbd_irq, *aux_irq;
    PS2Keyboard *kbd;
    PS2Mouse *mouse;

    uint8_t ram[32];        /* ram[0] is the command byte */
    uint8_t out;            /* output buffer */
    bool obf;               /* output buffer full */
    bool obf_aux;           /* ... with aux data */
    bool last_was_cmd;      /* status bit 3 */
    uint8_t outport;        /* output port as last written */
    uint8_t pending;        /* command waiting for its data byte, or 0 */
    bool xlate_break;       /* translation saw F0, the next code is a break */
    bool a20_port92;        /* the other input of the A20 gate */
};

static uint8_t i8042_ctr(const I8042 *s)
{
    return s->ram[0];
}

static void i8042_update_irqs(I8042 *s)
{
    int kbd = s->obf && !s->obf_aux && (i8042_ctr(s) & I8042_CTR_KBDINT);
    int aux = s->obf && s->obf_aux && (i8042_ctr(s) & I8042_CTR_AUXINT);
    if (s->kbd_irq && s->kbd_irq->level != kbd) {
        irq_set(s->kbd_irq, kbd);
    }
    if (s->aux_irq && s->aux_irq->level != aux) {
        irq_set(s->aux_irq, aux);
    }
}

static void i8042_update_a20(I8042 *s)
{
    s->m->a20_enabled = (s->outport & I8042_OUT_A20) || s->a20_port92;
}

static void i8042_request_reset(I8042 *s, const char *why)
{
    vlog("i8042: %s: CPU reset", why);
    machine_request_reset(s->m, SHUTDOWN_GUEST_RESET);
}

static void i8042_set_out(I8042 *s, uint8_t v, bool aux)
{
    s->out = v;
    s->obf = true;
    s->obf_aux = aux;
    i8042_update_irqs(s);
}

/* Fill an empty output buffer from the devices whose interface is enabled. */
static void i8042_service(I8042 *s)
{
    if (s->obf) {
        return;
    }
    if (!(i8042_ctr(s) & I8042_CTR_KBDDIS)) {
        while (ps2_kbd_has_data(s->kbd)) {
            uint8_t b = ps2_kbd_read(s->kbd);
            if (i8042_ctr(s) & I8042_CTR_XLATE) {
                if (b == 0xf0) {
                    s->xlate_break = true;
                    continue;
                }
                b = ps2_set2_to_set1(b) | (s->xlate_break ? 0x80 : 0);
                s->xlate_break = false;
            }
            i8042_set_out(s, b, false);
            return;
        }
    }
    if (!(i8042_ctr(s) & I8042_CTR_AUXDIS) && ps2_mouse_has_data(s->mouse)) {
        i8042_set_out(s, ps2_mouse_read(s->mouse), true);
    }
}

static void i8042_device_notify(void *opaque)
{
    i8042_service(opaque);
}

static void i8042_write_ctr(I8042 *s, uint8_t v)
{
    s->ram[0] = v;
    i8042_update_irqs(s);
    i8042_service(s);
}

static uint8_t i8042_read_outport(const I8042 *s)
{
    uint8_t v = s->outport & I8042_OUT_POWER_ON;
    if (s->obf && !s->obf_aux) {
        v |= I8042_OUT_KBD_OBF;
    }
    if (s->obf && s->obf_aux) {
        v |= I8042_OUT_AUX_OBF;
    }
    return v;
}

static void i8042_write_outport(I8042 *s, uint8_t v)
{
    s->outport = v;
    i8042_update_a20(s);
    if (!(v & I8042_OUT_RESET)) {
        i8042_request_reset(s, "output port bit 0 cleared");
    }
}

static void i8042_command(I8042 *s, uint8_t cmd)
{
    s->pending = 0;
    if (cmd >= 0x20 && cmd <= 0x3f) {           /* read controller RAM */
        i8042_set_out(s, s->ram[cmd & 0x1f], false);
        return;
    }
    if (cmd >= 0x60 && cmd <= 0x7f) {           /* write controller RAM */
        s->pending = cmd;
        return;
    }
    if (cmd >= 0xf0) {                          /* pulse output port bits 3-0 */
        if (!(cmd & I8042_OUT_RESET)) {
            i8042_request_reset(s, "command 0xfe");
        }
        return;
    }
    switch (cmd) {
    case 0xa4:                                  /* password installed? */
        i8042_set_out(s, 0xf1, false);          /* no */
        break;
    case 0xa7:
        i8042_write_ctr(s, i8042_ctr(s) | I8042_CTR_AUXDIS);
        break;
    case 0xa8:
        i8042_write_ctr(s, i8042_ctr(s) & ~I8042_CTR_AUXDIS);
        break;
    case 0xa9:                                  /* aux interface test */
    case 0xab:                                  /* keyboard interface test */
        i8042_set_out(s, 0x00, false);          /* no error */
        break;
    case 0xaa:                                  /* self-test */
        s->ram[0] |= I8042_CTR_SYS | I8042_CTR_KBDDIS | I8042_CTR_AUXDIS;
        s->xlate_break = false;
        i8042_set_out(s, 0x55, false);
        break;
    case 0xad:
        i8042_write_ctr(s, i8042_ctr(s) | I8042_CTR_KBDDIS);
        break;
    case 0xae:
        i8042_write_ctr(s, i8042_ctr(s) & ~I8042_CTR_KBDDIS);
        break;
    case 0xc0:
        i8042_set_out(s, I8042_INPUT_PORT, false);
        break;
    case 0xd0:
        i8042_set_out(s, i8042_read_outport(s), false);
        break;
    case 0xd1: case 0xd2: case 0xd3: case 0xd4:
        s->pending = cmd;
        break;
    case 0xdd:                                  /* A20 off */
        s->outport &= ~I8042_OUT_A20;
        i8042_update_a20(s);
        break;
    case 0xdf:                                  /* A20 on */
        s->outport |= I8042_OUT_A20;
        i8042_update_a20(s);
        break;
    case 0xe0:                                  /* test inputs T0/T1 */
        i8042_set_out(s, 0x00, false);
        break;
    default:
        vlog("i8042: unknown controller command 0x%02x ignored", cmd);
        break;
    }
}

static void i8042_data(I8042 *s, uint8_t v)
{
    uint8_t cmd = s->pending;

    s->pending = 0;
    if (cmd >= 0x60 && cmd <= 0x7f) {
        if (cmd == 0x60) {
            i8042_write_ctr(s, v);
        } else {
            s->ram[cmd & 0x1f] = v;
        }
        return;
    }
    switch (cmd) {
    case 0xd1:
        i8042_write_outport(s, v);
        break;
    case 0xd2:                                  /* as if from the keyboard */
        i8042_set_out(s, v, false);
        break;
    case 0xd3:                                  /* as if from the aux device */
        i8042_set_out(s, v, true);
        break;
    case 0xd4:
        ps2_mouse_write(s->mouse, v);
        break;
    default:
        ps2_kbd_write(s->kbd, v);
        break;
    }
}

static uint64_t i8042_data_read(void *opaque, uint64_t off, unsigned size)
{
    I8042 *s = opaque;
    uint8_t v = s->out;

    if (s->obf) {
        s->obf = false;
        s->obf_aux = false;
        i8042_update_irqs(s);
        i8042_service(s);
    }
    return v;
}

static void i8042_data_write(void *opaque, uint64_t off, uint64_t v, unsigned size)
{
    I8042 *s = opaque;
    s->last_was_cmd = false;
    i8042_data(s, v);
}

static uint64_t i8042_status_read(void *opaque, uint64_t off, unsigned size)
{
    I8042 *s = opaque;
    uint8_t st = I8042_STR_UNLOCKED;

    st |= s->obf ? I8042_STR_OBF : 0;
    st |= s->obf && s->obf_aux ? I8042_STR_AUXOBF : 0;
    st |= i8042_ctr(s) & I8042_CTR_SYS ? I8042_STR_SYS : 0;
    st |= s->last_was_cmd ? I8042_STR_CMD : 0;
    return st;
}

static void i8042_command_write(void *opaque, uint64_t off, uint64_t v, unsigned size)
{
    I8042 *s = opaque;
    s->last_was_cmd = true;
    i8042_command(s, v);
}

static const IoOps i8042_data_ops = { i8042_data_read, i8042_data_write, 1 };
static const IoOps i8042_cmd_ops = { i8042_status_read, i8042_command_write, 1 };

void i8042_reset(I8042 *s)
{
    memset(s->ram, 0, sizeof(s->ram));
    s->ram[0] = I8042_CTR_POWER_ON;
    s->out = 0;
    s->obf = s->obf_aux = false;
    s->last_was_cmd = false;
    s->outport = I8042_OUT_POWER_ON;
    s->pending = 0;
    s->xlate_break = false;
    s->a20_port92 = false;
    ps2_kbd_reset(s->kbd);
    ps2_mouse_reset(s->mouse);
    i8042_update_a20(s);
    i8042_update_irqs(s);
}

static void i8042_reset_hook(void *opaque)
{
    i8042_reset(opaque);
}

/* The controller's lines and the A20 gate follow from the restored state. */
static int i8042_post_load(void *opaque, uint32_t version, GError **errp)
{
    I8042 *s = opaque;
    i8042_update_a20(s);
    i8042_update_irqs(s);
    return 0;
}

const VMStateDescription i8042_vmstate = {
    .name = "i8042",
    .version = 1,
    .post_load = i8042_post_load,
    .fields = (const VMStateField[]){
        VMSTATE_UINT8_ARRAY(I8042, ram, 32),
        VMSTATE_UINT8(I8042, out),
        VMSTATE_BOOL(I8042, obf),
        VMSTATE_BOOL(I8042, obf_aux),
        VMSTATE_BOOL(I8042, last_was_cmd),
        VMSTATE_UINT8(I8042, outport),
        VMSTATE_UINT8(I8042, pending),
        VMSTATE_BOOL(I8042, xlate_break),
        VMSTATE_BOOL(I8042, a20_port92),
        VMSTATE_END
    },
};

I8042 *i8042_new(Machine *m, GError **errp)
{
    I8042 *s = g_new0(I8042, 1);

    s->m = m;
    s->kbd_irq = m->gsi[1];
    s->aux_irq = m->gsi[12];
    s->kbd = ps2_kbd_new(i8042_device_notify, s);
    s->mouse = ps2_mouse_new(i8042_device_notify, s);
    if (as_add_ports(m->as, "i8042-data", I8042_DATA_PORT, 1, &i8042_data_ops, s) < 0) {
        g_set_error(errp, G_FILE_ERROR, G_FILE_ERROR_EXIST,
                    "i8042: port 0x60 is already taken");
        goto fail;
    }
    if (as_add_ports(m->as, "i8042-cmd", I8042_CMD_PORT, 1, &i8042_cmd_ops, s) < 0) {
        g_set_error(errp, G_FILE_ERROR, G_FILE_ERROR_EXIST,
                    "i8042: port 0x64 is already taken");
        as_remove_ports(m->as, I8042_DATA_PORT);
        goto fail;
    }
    i8042_reset(s);
    machine_add_reset_hook(m, i8042_reset_hook, s);
    return s;

fail:
    ps2_kbd_free(s->kbd);
    ps2_mouse_free(s->mouse);
    g_free(s);
    return NULL;
}

void i8042_free(I8042 *s)
{
    if (!s) {
        return;
    }
    as_remove_ports(s->m->as, I8042_DATA_PORT);
    as_remove_ports(s->m->as, I8042_CMD_PORT);
    ps2_kbd_free(s->kbd);
    ps2_mouse_free(s->mouse);
    g_free(s);
}

PS2Keyboard *i8042_keyboard(I8042 *s)
{
    return s->kbd;
}

PS2Mouse *i8042_mouse(I8042 *s)
{
    return s->mouse;
}

void i8042_key_event(I8042 *s, uint16_t key, bool down)
{
    ps2_kbd_key_event(s->kbd, key, down);
}

void i8042_mouse_event(I8042 *s, int dx, int dy, int dz, unsigned buttons)
{
    ps2_mouse_event(s->mouse, dx, dy, dz, buttons);
}

void i8042_set_a20_port92(I8042 *s, bool enabled)
{
    s->a20_port92 = enabled;
    i8042_update_a20(s);
}
