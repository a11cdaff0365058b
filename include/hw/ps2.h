/*
 * PS/2 devices as the i8042 sees them: a byte stream to the host (a queue
 * the controller drains) and bytes from the host (commands).  Two devices:
 * the MF2 keyboard (hw/ps2-kbd.c) and the PS/2 mouse (hw/ps2-mouse.c).
 * References: IBM PS/2 Hardware Interface Technical Reference, "Keyboard and
 * Auxiliary Device Controller"; Microsoft Keyboard Scan Code Specification
 * (scan code sets 1 and 2).
 */
#ifndef VMKEMU_HW_PS2_H
#define VMKEMU_HW_PS2_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Responses and codes common to both devices. */
#define PS2_ACK             0xfa
#define PS2_RESEND          0xfe
#define PS2_BAT_OK          0xaa

/* Called whenever the device queued bytes for the host. */
typedef void (*PS2NotifyFn)(void *opaque);

#define PS2_QUEUE_SIZE 256

typedef struct PS2Queue {
    uint8_t data[PS2_QUEUE_SIZE];
    uint16_t rptr;
    uint16_t count;
} PS2Queue;

static inline void ps2_queue_clear(PS2Queue *q)
{
    q->rptr = q->count = 0;
}

static inline unsigned ps2_queue_room(const PS2Queue *q)
{
    return PS2_QUEUE_SIZE - q->count;
}

/* Append one byte; false (byte dropped) when the queue is full. */
static inline bool ps2_queue_push(PS2Queue *q, uint8_t b)
{
    if (q->count >= PS2_QUEUE_SIZE) {
        return false;
    }
    q->data[(q->rptr + q->count) % PS2_QUEUE_SIZE] = b;
    q->count++;
    return true;
}

/* Remove the oldest byte; the queue must not be empty. */
static inline uint8_t ps2_queue_pop(PS2Queue *q)
{
    uint8_t b = q->data[q->rptr];
    q->rptr = (q->rptr + 1) % PS2_QUEUE_SIZE;
    q->count--;
    return b;
}

/* --- keyboard ------------------------------------------------------------- */

typedef struct PS2Keyboard PS2Keyboard;

/* Keyboard buffer of an MF2 keyboard; a further scan code is replaced by
 * one overrun code (0x00 in set 2, 0xff in set 1). */
#define PS2_KBD_BUFFER      16

/* LED bits (command 0xed). */
#define PS2_LED_SCROLL      0x01
#define PS2_LED_NUM         0x02
#define PS2_LED_CAPS        0x04

PS2Keyboard *ps2_kbd_new(PS2NotifyFn notify, void *opaque);
void ps2_kbd_free(PS2Keyboard *k);
/* Power-on state: scan code set 2, scanning on, LEDs off, queue empty. */
void ps2_kbd_reset(PS2Keyboard *k);
/* A byte from the host (command or command parameter). */
void ps2_kbd_write(PS2Keyboard *k, uint8_t byte);
bool ps2_kbd_has_data(const PS2Keyboard *k);
/* The next byte to the host; the last one again when the queue is empty. */
uint8_t ps2_kbd_read(PS2Keyboard *k);

/* Display side.  `key` is the key's scan code set 2 make code, with 0xe0 in
 * the high byte for the E0-prefixed keys (0xe075 = cursor up).  The keyboard
 * sends it in its current set (set 2: [e0] [f0] code; set 1: [e0] code, code
 * | 0x80 on release).  Dropped while scanning is disabled. */
void ps2_kbd_key_event(PS2Keyboard *k, uint16_t key, bool down);
/* Raw scan code set 2 bytes (for Pause, Print Screen and the like);
 * converted to set 1 when the keyboard is in set 1. */
void ps2_kbd_put_scancodes(PS2Keyboard *k, const uint8_t *set2, size_t n);
uint8_t ps2_kbd_leds(const PS2Keyboard *k);
int ps2_kbd_scancode_set(const PS2Keyboard *k);
bool ps2_kbd_scanning(const PS2Keyboard *k);

/* Scan code set 2 to set 1, one byte, as the i8042's translation does
 * (without the F0 break prefix, which the caller folds into bit 7). */
uint8_t ps2_set2_to_set1(uint8_t code);

/* --- mouse ---------------------------------------------------------------- */

typedef struct PS2Mouse PS2Mouse;

/* Buttons of ps2_mouse_event. */
#define PS2_MOUSE_LEFT      0x01
#define PS2_MOUSE_RIGHT     0x02
#define PS2_MOUSE_MIDDLE    0x04
#define PS2_MOUSE_BUTTON4   0x08
#define PS2_MOUSE_BUTTON5   0x10

PS2Mouse *ps2_mouse_new(PS2NotifyFn notify, void *opaque);
void ps2_mouse_free(PS2Mouse *m);
/* Power-on state: stream mode, reporting off, 100 samples/s, 4 counts/mm,
 * scaling 1:1, device ID 0, queue empty. */
void ps2_mouse_reset(PS2Mouse *m);
void ps2_mouse_write(PS2Mouse *m, uint8_t byte);
bool ps2_mouse_has_data(const PS2Mouse *m);
uint8_t ps2_mouse_read(PS2Mouse *m);

/* Display side: relative motion in host pixels (dx right, dy DOWN, dz
 * wheel towards the user) and the buttons now held (PS2_MOUSE_*).  Sent as
 * movement packets while reporting is on in stream mode; kept for command
 * 0xeb in remote mode; dropped otherwise. */
void ps2_mouse_event(PS2Mouse *m, int dx, int dy, int dz, unsigned buttons);
uint8_t ps2_mouse_id(const PS2Mouse *m);   /* 0, 3 (wheel) or 4 (5 buttons) */

/* Each device's state for suspend/resume (include/vmstate.h). */
extern const struct VMStateDescription ps2_kbd_vmstate;
extern const struct VMStateDescription ps2_mouse_vmstate;

#endif
