/*
 * Character backends for serial ports and consoles:
 *   stdio        the terminal (raw mode while the VM runs), or pipes
 *   file:PATH    output appended to PATH, no input
 *   unix:PATH    a UNIX stream socket; ",server" listens (",nowait" does
 *                not wait for the first client), otherwise connects
 *   null         output dropped, no input
 * Input arrives through the GLib main loop, under the big lock.
 *
 * On a terminal, stdio takes escapes after Ctrl-A: x quits, b sends a
 * break, Ctrl-A sends Ctrl-A itself, h lists them.
 *
 * Output never blocks the VM for long: what a peer does not take at once is
 * kept in a bounded buffer that the main loop drains; once that is full the
 * writer waits briefly and then drops (and says so once in the log).
 */
#ifndef VMKEMU_CHARDEV_H
#define VMKEMU_CHARDEV_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <glib.h>

typedef struct Chardev Chardev;

/* How much input the frontend can take now, and the input itself. */
typedef size_t (*ChardevCanRead)(void *opaque);
typedef void (*ChardevRead)(void *opaque, const uint8_t *buf, size_t len);

/* Things that happen on the line besides bytes. */
typedef enum ChardevEvent {
    CHARDEV_EVENT_OPENED,   /* a peer connected (socket backends) */
    CHARDEV_EVENT_CLOSED,   /* the peer went away */
    CHARDEV_EVENT_BREAK,    /* the peer sent a break (Ctrl-A b on stdio) */
} ChardevEvent;
typedef void (*ChardevEventFn)(void *opaque, ChardevEvent event);

/* Open a backend from its -serial spec.  Errors read "SPEC: reason"; the
 * caller prefixes the option ("-serial unix:/x: Connection refused"). */
Chardev *chardev_open(const char *spec, GError **errp);
void chardev_close(Chardev *cd);
/* Write all of buf (blocking briefly if needed); output to a closed or
 * absent peer is dropped. */
void chardev_write(Chardev *cd, const uint8_t *buf, size_t len);
void chardev_set_frontend(Chardev *cd, ChardevCanRead can_read,
                          ChardevRead read, void *opaque);
/* Events go to the frontend's opaque; NULL stops them. */
void chardev_set_event_handler(Chardev *cd, ChardevEventFn event);
/* The frontend can take input again: re-poll the source. */
void chardev_accept_input(Chardev *cd);

/* The spec it was opened with, and whether a peer is there to talk to
 * (always true for stdio/file/null; sockets: while connected). */
const char *chardev_spec(const Chardev *cd);
bool chardev_connected(const Chardev *cd);
/* Output bytes dropped so far because the peer was stuck or absent. */
uint64_t chardev_dropped(const Chardev *cd);

/* --- the buffer backend, for tests -------------------------------------
 * Output is collected in memory; input is queued and handed to the frontend
 * as far as its can_read allows, the rest when it calls
 * chardev_accept_input.  No main loop is involved. */
Chardev *chardev_open_buffer(void);
/* Everything written since the last call (NUL-terminated for convenience;
 * g_free it), its length in *len. */
uint8_t *chardev_buffer_take_output(Chardev *cd, size_t *len);
void chardev_buffer_push_input(Chardev *cd, const uint8_t *buf, size_t len);
size_t chardev_buffer_pending_input(const Chardev *cd);
/* Deliver an event to the frontend, as a real line would. */
void chardev_buffer_send_event(Chardev *cd, ChardevEvent event);

#endif
