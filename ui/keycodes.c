/*
 * QMP qcodes to PC scan code set 2 (IBM PC/AT keyboard, scan code set 2;
 * the codes are facts of the hardware).  Covers the keys an administrator
 * sends to a VM: letters, digits, function keys, modifiers, editing and
 * cursor keys, and punctuation.
 */
#include <string.h>
#include "keycodes.h"

static const struct {
    const char *qcode;
    uint16_t set2;
} keys[] = {
    { "a", 0x1c }, { "b", 0x32 }, { "c", 0x21 }, { "d", 0x23 }, { "e", 0x24 },
    { "f", 0x2b }, { "g", 0x34 }, { "h", 0x33 }, { "i", 0x43 }, { "j", 0x3b },
    { "k", 0x42 }, { "l", 0x4b }, { "m", 0x3a }, { "n", 0x31 }, { "o", 0x44 },
    { "p", 0x4d }, { "q", 0x15 }, { "r", 0x2d }, { "s", 0x1b }, { "t", 0x2c },
    { "u", 0x3c }, { "v", 0x2a }, { "w", 0x1d }, { "x", 0x22 }, { "y", 0x35 },
    { "z", 0x1a },
    { "1", 0x16 }, { "2", 0x1e }, { "3", 0x26 }, { "4", 0x25 }, { "5", 0x2e },
    { "6", 0x36 }, { "7", 0x3d }, { "8", 0x3e }, { "9", 0x46 }, { "0", 0x45 },
    { "f1", 0x05 }, { "f2", 0x06 }, { "f3", 0x04 }, { "f4", 0x0c },
    { "f5", 0x03 }, { "f6", 0x0b }, { "f7", 0x83 }, { "f8", 0x0a },
    { "f9", 0x01 }, { "f10", 0x09 }, { "f11", 0x78 }, { "f12", 0x07 },
    { "esc", 0x76 }, { "ret", 0x5a }, { "spc", 0x29 }, { "tab", 0x0d },
    { "backspace", 0x66 }, { "caps_lock", 0x58 }, { "num_lock", 0x77 },
    { "scroll_lock", 0x7e },
    { "shift", 0x12 }, { "shift_r", 0x59 }, { "ctrl", 0x14 }, { "ctrl_r", 0xe014 },
    { "alt", 0x11 }, { "alt_r", 0xe011 }, { "meta_l", 0xe01f }, { "meta_r", 0xe027 },
    { "menu", 0xe02f },
    { "insert", 0xe070 }, { "delete", 0xe071 }, { "home", 0xe06c }, { "end", 0xe069 },
    { "pgup", 0xe07d }, { "pgdn", 0xe07a },
    { "up", 0xe075 }, { "down", 0xe072 }, { "left", 0xe06b }, { "right", 0xe074 },
    { "minus", 0x4e }, { "equal", 0x55 }, { "bracket_left", 0x54 },
    { "bracket_right", 0x5b }, { "backslash", 0x5d }, { "semicolon", 0x4c },
    { "apostrophe", 0x52 }, { "grave_accent", 0x0e }, { "comma", 0x41 },
    { "dot", 0x49 }, { "slash", 0x4a },
    { "kp_0", 0x70 }, { "kp_1", 0x69 }, { "kp_2", 0x72 }, { "kp_3", 0x7a },
    { "kp_4", 0x6b }, { "kp_5", 0x73 }, { "kp_6", 0x74 }, { "kp_7", 0x6c },
    { "kp_8", 0x75 }, { "kp_9", 0x7d }, { "kp_decimal", 0x71 }, { "kp_add", 0x79 },
    { "kp_subtract", 0x7b }, { "kp_multiply", 0x7c }, { "kp_divide", 0xe04a },
    { "kp_enter", 0xe05a },
};

uint16_t keycode_qcode_to_set2(const char *qcode)
{
    for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
        if (!strcmp(keys[i].qcode, qcode)) {
            return keys[i].set2;
        }
    }
    return 0;
}
