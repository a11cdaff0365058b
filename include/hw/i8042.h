/*
 * Intel 8042 keyboard controller as in the PC/AT and PS/2: data port 0x60,
 * status/command port 0x64, keyboard on IRQ 1, auxiliary (mouse) port on
 * IRQ 12, the A20 gate and CPU reset on its output port.
 * References: IBM PS/2 Hardware Interface Technical Reference, "Keyboard
 * and Auxiliary Device Controller"; IBM PC/AT Technical Reference, 8042.
 */
#ifndef VMKEMU_HW_I8042_H
#define VMKEMU_HW_I8042_H

#include <stdbool.h>
#include <stdint.h>
#include "machine.h"
#include "hw/ps2.h"

#define I8042_DATA_PORT     0x60
#define I8042_CMD_PORT      0x64

/* Status register (port 0x64 read). */
#define I8042_STR_OBF       0x01    /* output buffer full */
#define I8042_STR_IBF       0x02    /* input buffer full */
#define I8042_STR_SYS       0x04    /* system flag */
#define I8042_STR_CMD       0x08    /* last write was to port 0x64 */
#define I8042_STR_UNLOCKED  0x10    /* keyboard not inhibited by the keylock */
#define I8042_STR_AUXOBF    0x20    /* the output buffer holds aux data */
#define I8042_STR_TIMEOUT   0x40
#define I8042_STR_PARITY    0x80

/* Command byte (controller RAM byte 0). */
#define I8042_CTR_KBDINT    0x01    /* IRQ 1 when keyboard data is in the buffer */
#define I8042_CTR_AUXINT    0x02    /* IRQ 12 when aux data is in the buffer */
#define I8042_CTR_SYS       0x04
#define I8042_CTR_KBDDIS    0x10    /* keyboard clock held low */
#define I8042_CTR_AUXDIS    0x20    /* aux clock held low */
#define I8042_CTR_XLATE     0x40    /* translate keyboard codes to set 1 */

/* Command byte at power-on: both interrupts, translation (as firmware and
 * DOS-era guests expect), both interfaces enabled. */
#define I8042_CTR_POWER_ON  (I8042_CTR_KBDINT | I8042_CTR_AUXINT | I8042_CTR_XLATE)

/* Output port bits (commands 0xd0/0xd1). */
#define I8042_OUT_RESET     0x01    /* 0 holds the CPU in reset */
#define I8042_OUT_A20       0x02
#define I8042_OUT_KBD_OBF   0x10    /* IRQ 1 line */
#define I8042_OUT_AUX_OBF   0x20    /* IRQ 12 line */

typedef struct I8042 I8042;

/* The controller of machine `m`: ports 0x60 and 0x64, m->gsi[1] and
 * m->gsi[12], the keyboard and mouse behind it, a reset hook.  It drives
 * m->a20_enabled (together with port 0x92) and asks for a guest reset with
 * machine_request_reset(m, SHUTDOWN_GUEST_RESET).  NULL with *errp set if
 * the ports are taken. */
I8042 *i8042_new(Machine *m, GError **errp);
void i8042_free(I8042 *s);
/* Power-on state of the controller, keyboard and mouse. */
void i8042_reset(I8042 *s);

PS2Keyboard *i8042_keyboard(I8042 *s);
PS2Mouse *i8042_mouse(I8042 *s);

/* Display side (see ps2.h for the meaning of the arguments). */
void i8042_key_event(I8042 *s, uint16_t key, bool down);
void i8042_mouse_event(I8042 *s, int dx, int dy, int dz, unsigned buttons);

/* The A20 gate is the OR of output port bit 1 and port 0x92 bit 1. */
void i8042_set_a20_port92(I8042 *s, bool enabled);

/* The controller's state for suspend/resume (include/vmstate.h); the
 * keyboard and mouse have their own (ps2.h). */
extern const struct VMStateDescription i8042_vmstate;

#endif
