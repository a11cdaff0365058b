/*
 * Suspend to disk and resume (ESX Server 1.0 manual, "Suspending and
 * Resuming Virtual Machines"): the flow around the .std file of
 * include/std-file.h.  A VM started from a .cfg has a suspend target, the
 * .std file in its suspend.directory; the monitor's vmkemu-suspend writes
 * it and ends vmkemu, and the next launch of the .cfg resumes from it.
 */
#ifndef VMKEMU_SUSPEND_H
#define VMKEMU_SUSPEND_H

#include <stdbool.h>
#include <stdint.h>
#include <glib.h>
#include "machine.h"

/* Where this process's VM suspends to: `std_path`, for the .cfg
 * `cfg_path` whose contents have the SHA-256 `cfg_digest`; with
 * `repeatable` (resume.repeatable = TRUE) an existing .std is the state
 * every launch resumes from and is never replaced. */
void suspend_set_target(const char *std_path, const char *cfg_path,
                        const uint8_t *cfg_digest, bool repeatable);
void suspend_clear_target(void);

/* Pause the machine, write the .std, send the SUSPEND event and ask the
 * main loop to end vmkemu with status 0.  On failure the machine runs on
 * as before and *errp says why.  *written gets the file's path. */
int machine_suspend(Machine *m, char **written, GError **errp);

#endif
