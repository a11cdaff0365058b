/*
 * The PS/2 (MF2) keyboard behind the i8042's keyboard port.
 * References: IBM PS/2 Hardware Interface Technical Reference, "Keyboards
 * (101- and 102-Key)": commands 0xed set LEDs, 0xee echo, 0xf0 select scan
 * code set, 0xf2 read ID (0xab 0x83), 0xf3 typematic rate/delay, 0xf4
 * enable, 0xf5 default disable, 0xf6 set default, 0xf7-0xfd set 3 key types,
 * 0xfe resend, 0xff reset (0xfa, then BAT completion 0xaa), 0xfe for an
 * invalid command, a 16-byte buffer with an overrun code; Microsoft Keyboard
 * Scan Code Specification for which set 1 code each set 2 key code stands
 * for.  Scan code set 3 is not offered: selecting it is answered 0xfe.
 */
#include <glib.h>
#include "hw/ps2.h"
#include "vmstate.h"

#define KBD_TYPEMATIC_DEFAULT   0x2b    /* 10.9 characters/s, 500 ms delay */

struct PS2Keyboard {
    PS2NotifyFn notify;
    void *opaque;
    PS2Queue queue;
    uint8_t pending_cmd;    /* 0xed, 0xf0 or 0xf3 awaiting its parameter */
    uint8_t last_sent;      /* for 0xfe resend */
    bool scanning;
    bool overrun;           /* the overrun code is queued */
    uint8_t scancode_set;   /* 1 or 2 */
    uint8_t leds;
    uint8_t typematic;
};

/* Set 1 code of each set 2 key code (Microsoft Keyboard Scan Code
 * Specification, key by key).  Codes that name no key translate to
 * themselves; above 0x7f only F7 (0x83) and Alt+SysRq (0x84) are keys. */
static const uint8_t set2_to_set1[0x85] = {
    [0x01] = 0x43, /* F9 */         [0x03] = 0x3f, /* F5 */
    [0x04] = 0x3d, /* F3 */         [0x05] = 0x3b, /* F1 */
    [0x06] = 0x3c, /* F2 */         [0x07] = 0x58, /* F12 */
    [0x08] = 0x64, /* F13 */        [0x09] = 0x44, /* F10 */
    [0x0a] = 0x42, /* F8 */         [0x0b] = 0x40, /* F6 */
    [0x0c] = 0x3e, /* F4 */         [0x0d] = 0x0f, /* Tab */
    [0x0e] = 0x29, /* ` */          [0x0f] = 0x59, /* keypad = */
    [0x10] = 0x65, /* F14 */        [0x11] = 0x38, /* left Alt */
    [0x12] = 0x2a, /* left Shift */ [0x13] = 0x70, /* Katakana */
    [0x14] = 0x1d, /* left Ctrl */  [0x15] = 0x10, /* Q */
    [0x16] = 0x02, /* 1 */          [0x18] = 0x66, /* F15 */
    [0x1a] = 0x2c, /* Z */          [0x1b] = 0x1f, /* S */
    [0x1c] = 0x1e, /* A */          [0x1d] = 0x11, /* W */
    [0x1e] = 0x03, /* 2 */          [0x20] = 0x67, /* F16 */
    [0x21] = 0x2e, /* C */          [0x22] = 0x2d, /* X */
    [0x23] = 0x20, /* D */          [0x24] = 0x12, /* E */
    [0x25] = 0x05, /* 4 */          [0x26] = 0x04, /* 3 */
    [0x27] = 0x5c, /* keypad , */   [0x28] = 0x68, /* F17 */
    [0x29] = 0x39, /* Space */      [0x2a] = 0x2f, /* V */
    [0x2b] = 0x21, /* F */          [0x2c] = 0x14, /* T */
    [0x2d] = 0x13, /* R */          [0x2e] = 0x06, /* 5 */
    [0x30] = 0x69, /* F18 */        [0x31] = 0x31, /* N */
    [0x32] = 0x30, /* B */          [0x33] = 0x23, /* H */
    [0x34] = 0x22, /* G */          [0x35] = 0x15, /* Y */
    [0x36] = 0x07, /* 6 */          [0x38] = 0x6a, /* F19 */
    [0x3a] = 0x32, /* M */          [0x3b] = 0x24, /* J */
    [0x3c] = 0x16, /* U */          [0x3d] = 0x08, /* 7 */
    [0x3e] = 0x09, /* 8 */          [0x40] = 0x6b, /* F20 */
    [0x41] = 0x33, /* , */          [0x42] = 0x25, /* K */
    [0x43] = 0x17, /* I */          [0x44] = 0x18, /* O */
    [0x45] = 0x0b, /* 0 */          [0x46] = 0x0a, /* 9 */
    [0x48] = 0x6c, /* F21 */        [0x49] = 0x34, /* . */
    [0x4a] = 0x35, /* / */          [0x4b] = 0x26, /* L */
    [0x4c] = 0x27, /* ; */          [0x4d] = 0x19, /* P */
    [0x4e] = 0x0c, /* - */          [0x50] = 0x6d, /* F22 */
    [0x51] = 0x73, /* Ro */         [0x52] = 0x28, /* ' */
    [0x54] = 0x1a, /* [ */          [0x55] = 0x0d, /* = */
    [0x57] = 0x6e, /* F23 */        [0x58] = 0x3a, /* Caps Lock */
    [0x59] = 0x36, /* right Shift */[0x5a] = 0x1c, /* Enter */
    [0x5b] = 0x1b, /* ] */          [0x5d] = 0x2b, /* \ */
    [0x5f] = 0x76, /* F24 */        [0x61] = 0x56, /* 102nd key */
    [0x64] = 0x79, /* Henkan */     [0x66] = 0x0e, /* Backspace */
    [0x67] = 0x7b, /* Muhenkan */   [0x69] = 0x4f, /* keypad 1 */
    [0x6a] = 0x7d, /* Yen */        [0x6b] = 0x4b, /* keypad 4 */
    [0x6c] = 0x47, /* keypad 7 */   [0x70] = 0x52, /* keypad 0 */
    [0x71] = 0x53, /* keypad . */   [0x72] = 0x50, /* keypad 2 */
    [0x73] = 0x4c, /* keypad 5 */   [0x74] = 0x4d, /* keypad 6 */
    [0x75] = 0x48, /* keypad 8 */   [0x76] = 0x01, /* Esc */
    [0x77] = 0x45, /* Num Lock */   [0x78] = 0x57, /* F11 */
    [0x79] = 0x4e, /* keypad + */   [0x7a] = 0x51, /* keypad 3 */
    [0x7b] = 0x4a, /* keypad - */   [0x7c] = 0x37, /* keypad * */
    [0x7d] = 0x49, /* keypad 9 */   [0x7e] = 0x46, /* Scroll Lock */
    [0x83] = 0x41, /* F7 */         [0x84] = 0x54, /* Alt+SysRq */
};

uint8_t ps2_set2_to_set1(uint8_t code)
{
    if (code == 0x00) {
        return 0xff;        /* key detection error / overrun */
    }
    if (code < G_N_ELEMENTS(set2_to_set1) && set2_to_set1[code]) {
        return set2_to_set1[code];
    }
    return code;
}

static void kbd_reply(PS2Keyboard *k, uint8_t b)
{
    ps2_queue_push(&k->queue, b);
}

static void kbd_notify(PS2Keyboard *k)
{
    if (k->queue.count && k->notify) {
        k->notify(k->opaque);
    }
}

static void kbd_defaults(PS2Keyboard *k)
{
    k->typematic = KBD_TYPEMATIC_DEFAULT;
}

/* Queue scan code bytes within the keyboard's 16-byte buffer. */
static void kbd_queue_scancode(PS2Keyboard *k, uint8_t b)
{
    if (k->queue.count >= PS2_KBD_BUFFER) {
        if (!k->overrun) {
            kbd_reply(k, k->scancode_set == 1 ? 0xff : 0x00);
            k->overrun = true;
        }
        return;
    }
    kbd_reply(k, b);
}

void ps2_kbd_put_scancodes(PS2Keyboard *k, const uint8_t *set2, size_t n)
{
    bool brk = false;

    if (!k->scanning) {
        return;
    }
    for (size_t i = 0; i < n; i++) {
        uint8_t b = set2[i];
        if (k->scancode_set == 1) {
            if (b == 0xf0) {
                brk = true;
                continue;
            }
            if (b != 0xe0 && b != 0xe1) {
                b = ps2_set2_to_set1(b) | (brk ? 0x80 : 0);
                brk = false;
            }
        }
        kbd_queue_scancode(k, b);
    }
    kbd_notify(k);
}

void ps2_kbd_key_event(PS2Keyboard *k, uint16_t key, bool down)
{
    uint8_t seq[3];
    size_t n = 0;

    if ((key >> 8) == 0xe0) {
        seq[n++] = 0xe0;
    }
    if (!down) {
        seq[n++] = 0xf0;
    }
    seq[n++] = key & 0xff;
    ps2_kbd_put_scancodes(k, seq, n);
}

static void kbd_command(PS2Keyboard *k, uint8_t cmd)
{
    switch (cmd) {
    case 0xed:                      /* set/reset LEDs */
    case 0xf0:                      /* select alternate scan codes */
    case 0xf3:                      /* set typematic rate/delay */
        kbd_reply(k, PS2_ACK);
        k->pending_cmd = cmd;
        break;
    case 0xee:                      /* echo */
        kbd_reply(k, 0xee);
        break;
    case 0xf2:                      /* read ID: MF2 keyboard */
        kbd_reply(k, PS2_ACK);
        kbd_reply(k, 0xab);
        kbd_reply(k, 0x83);
        break;
    case 0xf4:                      /* enable */
        ps2_queue_clear(&k->queue);
        k->overrun = false;
        kbd_reply(k, PS2_ACK);
        k->scanning = true;
        break;
    case 0xf5:                      /* default disable */
    case 0xf6:                      /* set default */
        ps2_queue_clear(&k->queue);
        k->overrun = false;
        kbd_defaults(k);
        kbd_reply(k, PS2_ACK);
        k->scanning = cmd == 0xf6;
        break;
    case 0xf7: case 0xf8: case 0xf9: case 0xfa:
    case 0xfb: case 0xfc: case 0xfd:
        kbd_reply(k, PS2_ACK);      /* set 3 key types: no effect in set 2 */
        break;
    case 0xfe:                      /* resend */
        kbd_reply(k, k->last_sent);
        break;
    case 0xff:                      /* reset and basic assurance test */
        ps2_kbd_reset(k);
        kbd_reply(k, PS2_ACK);
        kbd_reply(k, PS2_BAT_OK);
        break;
    default:
        kbd_reply(k, PS2_RESEND);
        break;
    }
}

static void kbd_parameter(PS2Keyboard *k, uint8_t cmd, uint8_t v)
{
    switch (cmd) {
    case 0xed:
        k->leds = v & (PS2_LED_SCROLL | PS2_LED_NUM | PS2_LED_CAPS);
        kbd_reply(k, PS2_ACK);
        break;
    case 0xf3:
        k->typematic = v & 0x7f;
        kbd_reply(k, PS2_ACK);
        break;
    case 0xf0:
        if (v == 0) {
            kbd_reply(k, PS2_ACK);
            kbd_reply(k, k->scancode_set);
        } else if (v == 1 || v == 2) {
            k->scancode_set = v;
            kbd_reply(k, PS2_ACK);
        } else {
            kbd_reply(k, PS2_RESEND);
        }
        break;
    }
}

void ps2_kbd_write(PS2Keyboard *k, uint8_t b)
{
    uint8_t pending = k->pending_cmd;

    k->pending_cmd = 0;
    /* A command byte where a parameter was expected starts that command. */
    if (pending && b < 0xed) {
        kbd_parameter(k, pending, b);
    } else {
        kbd_command(k, b);
    }
    kbd_notify(k);
}

bool ps2_kbd_has_data(const PS2Keyboard *k)
{
    return k->queue.count > 0;
}

uint8_t ps2_kbd_read(PS2Keyboard *k)
{
    if (k->queue.count) {
        k->last_sent = ps2_queue_pop(&k->queue);
        if (k->queue.count < PS2_KBD_BUFFER) {
            k->overrun = false;
        }
    }
    return k->last_sent;
}

uint8_t ps2_kbd_leds(const PS2Keyboard *k)
{
    return k->leds;
}

int ps2_kbd_scancode_set(const PS2Keyboard *k)
{
    return k->scancode_set;
}

bool ps2_kbd_scanning(const PS2Keyboard *k)
{
    return k->scanning;
}

void ps2_kbd_reset(PS2Keyboard *k)
{
    ps2_queue_clear(&k->queue);
    k->pending_cmd = 0;
    k->overrun = false;
    k->scanning = true;
    k->scancode_set = 2;
    k->leds = 0;
    kbd_defaults(k);
}

static int kbd_post_load(void *opaque, uint32_t version, GError **errp)
{
    PS2Keyboard *k = opaque;
    if (k->queue.rptr >= PS2_QUEUE_SIZE || k->queue.count > PS2_QUEUE_SIZE ||
        (k->scancode_set != 1 && k->scancode_set != 2)) {
        g_set_error(errp, G_FILE_ERROR, G_FILE_ERROR_INVAL,
                    "queue position or scan code set out of range");
        return -1;
    }
    return 0;
}

const VMStateDescription ps2_kbd_vmstate = {
    .name = "ps2-kbd",
    .version = 1,
    .post_load = kbd_post_load,
    .fields = (const VMStateField[]){
        VMSTATE_UINT8_ARRAY(PS2Keyboard, queue.data, PS2_QUEUE_SIZE),
        VMSTATE_UINT16(PS2Keyboard, queue.rptr),
        VMSTATE_UINT16(PS2Keyboard, queue.count),
        VMSTATE_UINT8(PS2Keyboard, pending_cmd),
        VMSTATE_UINT8(PS2Keyboard, last_sent),
        VMSTATE_BOOL(PS2Keyboard, scanning),
        VMSTATE_BOOL(PS2Keyboard, overrun),
        VMSTATE_UINT8(PS2Keyboard, scancode_set),
        VMSTATE_UINT8(PS2Keyboard, leds),
        VMSTATE_UINT8(PS2Keyboard, typematic),
        VMSTATE_END
    },
};

PS2Keyboard *ps2_kbd_new(PS2NotifyFn notify, void *opaque)
{
    PS2Keyboard *k = g_new0(PS2Keyboard, 1);
    k->notify = notify;
    k->opaque = opaque;
    ps2_kbd_reset(k);
    return k;
}

void ps2_kbd_free(PS2Keyboard *k)
{
    g_free(k);
}
