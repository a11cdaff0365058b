/*
 * Interrupt lines (see include/irq.h).
 */
#include <glib.h>
#include "irq.h"

IrqLine *irq_line_new(IrqHandler handler, void *opaque, int n)
{
    IrqLine *line = g_new0(IrqLine, 1);
    line->handler = handler;
    line->opaque = opaque;
    line->n = n;
    return line;
}

void irq_line_free(IrqLine *line)
{
    g_free(line);
}

IrqLine **irq_lines_new(IrqHandler handler, void *opaque, int count)
{
    IrqLine **lines = g_new0(IrqLine *, count);
    for (int i = 0; i < count; i++) {
        lines[i] = irq_line_new(handler, opaque, i);
    }
    return lines;
}

void irq_lines_free(IrqLine **lines, int count)
{
    if (!lines) {
        return;
    }
    for (int i = 0; i < count; i++) {
        irq_line_free(lines[i]);
    }
    g_free(lines);
}

void irq_set(IrqLine *line, int level)
{
    if (!line) {
        return;
    }
    line->level = level != 0;
    if (line->handler) {
        line->handler(line->opaque, line->n, line->level);
    }
}

void irq_pulse(IrqLine *line)
{
    irq_set(line, 1);
    irq_set(line, 0);
}
