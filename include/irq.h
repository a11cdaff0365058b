/*
 * Interrupt lines.  A device holds an IrqLine and sets its level; the line
 * calls the handler of whatever it is wired to (an interrupt controller
 * input, a CPU's INTR pin, a test's probe).  Edge-triggered receivers look
 * for the 0 -> 1 change themselves.
 */
#ifndef VMKEMU_IRQ_H
#define VMKEMU_IRQ_H

#include <stdbool.h>

typedef void (*IrqHandler)(void *opaque, int n, int level);

typedef struct IrqLine {
    IrqHandler handler;
    void *opaque;
    int n;
    int level;          /* last level set, for tests and suspend */
} IrqLine;

IrqLine *irq_line_new(IrqHandler handler, void *opaque, int n);
void irq_line_free(IrqLine *line);
/* An array of `count` lines numbered 0..count-1 sharing one handler. */
IrqLine **irq_lines_new(IrqHandler handler, void *opaque, int count);
void irq_lines_free(IrqLine **lines, int count);

void irq_set(IrqLine *line, int level);   /* NULL line: nothing happens */
static inline void irq_raise(IrqLine *line) { irq_set(line, 1); }
static inline void irq_lower(IrqLine *line) { irq_set(line, 0); }
void irq_pulse(IrqLine *line);            /* raise then lower */

#endif
