/*
 * The main loop and the big lock.
 *
 * The main thread runs a GLib main loop (monitor, display, timers, block and
 * net completions) and holds the big lock except while it waits in poll.
 * vCPU threads take the big lock around every call into device models, so
 * device models are single-threaded from their own point of view.
 */
#ifndef VMKEMU_MAIN_LOOP_H
#define VMKEMU_MAIN_LOOP_H

#include <stdbool.h>
#include <glib.h>

void big_lock(void);
void big_unlock(void);
bool big_lock_held(void);

/* Set up the default GLib context: timer source, lock-dropping poll. */
void main_loop_init(void);
/* Run until main_loop_quit(); returns the exit status given there. */
int main_loop_run(void);
void main_loop_quit(int status);
/* Wake the main loop from another thread (a request is waiting). */
void main_loop_wakeup(void);

#endif
