/*
 * The virtual clock and its timers.
 *
 * Virtual time is in nanoseconds since the machine was created.  It runs with
 * the host's monotonic clock while the VM runs and stands still while it is
 * stopped.  Timers fire from the main loop (under the big lock).  For tests
 * the clock can be switched to manual: it then moves only by vclock_advance,
 * which fires due timers synchronously, in deadline order.
 */
#ifndef VMKEMU_TIMER_H
#define VMKEMU_TIMER_H

#include <stdbool.h>
#include <stdint.h>

#define NS_PER_SEC  1000000000LL

typedef struct VTimer VTimer;
typedef void (*VTimerFn)(void *opaque);

int64_t vclock_ns(void);
void vclock_stop(void);
void vclock_start(void);
bool vclock_running(void);
/* Make the virtual time `ns` now (resume from a .std); the clock keeps
 * running or standing as it was. */
void vclock_set(int64_t ns);

/* Manual clock (tests): from now on time moves only by vclock_advance. */
void vclock_set_manual(int64_t start_ns);
void vclock_advance(int64_t ns);

VTimer *vtimer_new(VTimerFn fn, void *opaque);
void vtimer_free(VTimer *t);
/* Arm (or re-arm) to fire once at virtual time `deadline_ns`. */
void vtimer_mod(VTimer *t, int64_t deadline_ns);
void vtimer_del(VTimer *t);
bool vtimer_pending(const VTimer *t);
int64_t vtimer_deadline(const VTimer *t);   /* -1 when not pending */

/* Main-loop side: fire every due timer; return ns until the next deadline
 * (-1 when none).  Called by the main loop's timer source. */
int64_t vtimers_run_due(void);
/* Called whenever the earliest deadline may have moved (hook for waking the
 * main loop); set by the main loop. */
void vtimers_set_wakeup(void (*fn)(void));

#endif
