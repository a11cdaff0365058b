/*
 * vmkemu's command line (QEMU style: -m 256 -kernel FILE ...).
 */
#ifndef VMKEMU_SYSTEM_OPTIONS_H
#define VMKEMU_SYSTEM_OPTIONS_H

#include "machine.h"

/* Exit status for a bad command line, as QEMU-style tools use. */
#define EXIT_USAGE 2

/* Parse argv into cfg.  Returns 0 to run, 1 when it printed help or the
 * version (exit 0), -1 after printing a one-line error (exit EXIT_USAGE). */
int options_parse(int argc, char **argv, MachineConfig *cfg);
/* -v was given. */
bool options_verbose(void);

#endif
