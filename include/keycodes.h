/*
 * Key names as QMP's send-key spells them ("qcodes") and their PC scan
 * codes (set 2, the code a PS/2 keyboard sends; 0xe0xx for extended keys).
 */
#ifndef VMKEMU_KEYCODES_H
#define VMKEMU_KEYCODES_H

#include <stdint.h>

/* The set-2 code of a qcode, or 0 when vmkemu does not know the name. */
uint16_t keycode_qcode_to_set2(const char *qcode);

#endif
