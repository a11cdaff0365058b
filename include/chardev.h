/*
 * Character backends for serial ports and consoles:
 *   stdio        the terminal (raw mode while the VM runs), or pipes
 *   file:PATH    output appended to PATH, no input
 *   unix:PATH    a UNIX stream socket; ",server" listens (",nowait" does
 *                not wait for the first client), otherwise connects
 *   null         output dropped, no input
 * Input arrives through the GLib main loop, under the big lock.
 */
#ifndef VMKEMU_CHARDEV_H
#define VMKEMU_CHARDEV_H

#include <stddef.h>
#include <stdint.h>
#include <glib.h>

typedef struct Chardev Chardev;

/* How much input the frontend can take now, and the input itself. */
typedef size_t (*ChardevCanRead)(void *opaque);
typedef void (*ChardevRead)(void *opaque, const uint8_t *buf, size_t len);

Chardev *chardev_open(const char *spec, GError **errp);
void chardev_close(Chardev *cd);
/* Write all of buf (blocking briefly if needed); output to a closed or
 * absent peer is dropped. */
void chardev_write(Chardev *cd, const uint8_t *buf, size_t len);
void chardev_set_frontend(Chardev *cd, ChardevCanRead can_read,
                          ChardevRead read, void *opaque);
/* The frontend can take input again: re-poll the source. */
void chardev_accept_input(Chardev *cd);

#endif
