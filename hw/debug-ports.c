/*
 * Three debugging ports every PC emulator user knows:
 *   0x80  POST code: the last value written is logged and reads back.
 *   0xe9  debug console: bytes written go to stdout; reads give 0xe9, which
 *         is how guests detect it (the Bochs convention).
 *   0xf4  test exit: a write of N ends vmkemu with status (N << 1) | 1, so
 *         a test guest can report pass/fail without an exit code of 0.
 */
#include <stdio.h>
#include <unistd.h>
#include "hw/pc.h"
#include "log.h"
#include "vmstate.h"

struct DebugPorts {
    Machine *m;
    uint8_t post_code;
};

static uint64_t post_read(void *opaque, uint64_t off, unsigned size)
{
    DebugPorts *d = opaque;
    return d->post_code;
}

static void post_write(void *opaque, uint64_t off, uint64_t v, unsigned size)
{
    DebugPorts *d = opaque;
    d->post_code = v;
    vlog("POST code 0x%02x", d->post_code);
}

static const IoOps post_ops = { post_read, post_write, 1 };

static uint64_t debugcon_read(void *opaque, uint64_t off, unsigned size)
{
    return 0xe9;
}

static void debugcon_write(void *opaque, uint64_t off, uint64_t v, unsigned size)
{
    uint8_t c = v;
    ssize_t r = write(STDOUT_FILENO, &c, 1);
    (void)r;
}

static const IoOps debugcon_ops = { debugcon_read, debugcon_write, 1 };

static void exit_write(void *opaque, uint64_t off, uint64_t v, unsigned size)
{
    DebugPorts *d = opaque;
    uint32_t n = (uint32_t)v;
    vlog("test-exit port: guest wrote 0x%x, exit status %d", n, ((n << 1) | 1) & 0xff);
    machine_request_shutdown(d->m, SHUTDOWN_EXIT_PORT, (int)((n << 1) | 1));
}

static const IoOps exit_ops = { NULL, exit_write, 4 };

const VMStateDescription debug_ports_vmstate = {
    .name = "debug-ports",
    .version = 1,
    .fields = (const VMStateField[]){
        VMSTATE_UINT8(DebugPorts, post_code),
        VMSTATE_END
    },
};

DebugPorts *debug_ports_new(Machine *m)
{
    DebugPorts *d = g_new0(DebugPorts, 1);
    d->m = m;
    as_add_ports(m->as, "post", 0x80, 1, &post_ops, d);
    as_add_ports(m->as, "debugcon", 0xe9, 1, &debugcon_ops, d);
    as_add_ports(m->as, "test-exit", 0xf4, 4, &exit_ops, d);
    return d;
}

void debug_ports_free(DebugPorts *d)
{
    g_free(d);
}
