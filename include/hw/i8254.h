/*
 * Intel 8254 programmable interval timer at ports 0x40-0x43, clocked at
 * 1.193182 MHz from the virtual clock.  Channel 0's OUT drives ISA IRQ 0;
 * channel 2's gate and OUT belong to system control port B (0x61,
 * hw/pc-port61.c); channel 1's gate is tied high and its OUT unused.
 * Reference: Intel 8254 datasheet (order 231164).  See hw/i8254.c.
 */
#ifndef VMKEMU_HW_I8254_H
#define VMKEMU_HW_I8254_H

#include <stdbool.h>
#include <stdint.h>
#include "irq.h"
#include "memory.h"
#include "timer.h"

#define I8254_BASE          0x40
#define I8254_CLOCK_HZ      1193182
#define I8254_CHANNELS      3

/* One counter.  Times are in input-clock pulses counted from virtual time
 * 0: pulse k happens at ceil(k * 1e9 / I8254_CLOCK_HZ) ns.  The counting
 * element (CE) is not stepped; it is a function of the pulse number. */
typedef struct I8254Channel {
    /* programming */
    uint8_t control;        /* bits 5-0 of the last control word */
    uint8_t mode;           /* 0-5 (6 and 7 are 2 and 3) */
    uint8_t rw;             /* 1 LSB, 2 MSB, 3 LSB then MSB */
    bool bcd;
    uint16_t cr;            /* count register, as written */
    uint8_t cr_lsb;         /* rw 3: the LSB waiting for its MSB */
    bool cr_valid;          /* a whole count was written since the control word */
    bool write_msb;         /* rw 3: the next write is the MSB */
    bool read_msb;          /* rw 3: the next read is the MSB */
    bool gate;

    /* output latch (counter latch / read-back) and status latch */
    bool count_latched;
    uint16_t latched_count;
    bool status_latched;
    uint8_t latched_status;

    /* the counting element */
    uint8_t state;          /* I8254_CE_* */
    int64_t base_tick;      /* pulse at which the CE held base_ce (a load) */
    uint32_t base_ce;       /* CE value at base_tick (binary, < modulus) */
    uint32_t pre_ce;        /* CE value shown before base_tick */
    bool pre_out;           /* mode 1: OUT before base_tick (a retrigger keeps it low) */
    uint32_t n;             /* count in use (1..modulus) */
    int64_t event_tick;     /* one-shot modes: pulse of terminal count */
    int64_t first_rise;     /* modes 2, 3: first OUT rising edge */
    int64_t pending_tick;   /* modes 2, 3: pulse loading pending_n; -1 none */
    uint32_t pending_n;
    bool pending_low;       /* mode 3: pending_n starts with the low half */
    uint32_t held_ce;       /* CE while counting is stopped */
    int64_t held_remaining; /* modes 0, 4 held: pulses to terminal; -1 past */
    bool idle_out;          /* OUT while idle */
    int64_t cr_load_tick;   /* pulse at which the CR reaches the CE (null count) */

    /* the OUT line (channel 0 only) */
    IrqLine *out;
    VTimer *timer;
    bool out_level;         /* level last driven on `out` */
    int64_t out_eval_tick;  /* pulse of the last evaluation of OUT */
    int64_t last_timer_ns;  /* when the timer last ran */
} I8254Channel;

enum {
    I8254_CE_IDLE,          /* waiting for a count (or, modes 1/5, a trigger) */
    I8254_CE_RUN,           /* counting (or loaded and about to) */
    I8254_CE_HELD,          /* stopped by a low gate (modes 0, 2, 3, 4) */
};

typedef struct I8254 {
    I8254Channel ch[I8254_CHANNELS];
    AddressSpace *as;
} I8254;

/* Create the PIT on `as` (ports 0x40-0x43); channel 0's OUT drives `out0`.
 * Gates 0 and 1 start high, gate 2 low. */
I8254 *i8254_new(AddressSpace *as, IrqLine *out0);
void i8254_free(I8254 *pit);
/* Every channel as after control word 0x30 (mode 0, LSB then MSB, binary,
 * no count): OUT low, nothing counting.  Gate inputs are kept. */
void i8254_reset(I8254 *pit);

/* Level of channel `ch`'s GATE input; a rising edge is the trigger. */
void i8254_set_gate(I8254 *pit, int ch, bool level);
bool i8254_get_gate(const I8254 *pit, int ch);
/* Level of channel `ch`'s OUT now. */
bool i8254_get_out(I8254 *pit, int ch);
/* Frequency of a square wave / rate generator on `ch` in Hz, 0 when the
 * channel is in another mode or not counting. */
double i8254_get_frequency(I8254 *pit, int ch);

/* The counters' state for suspend/resume (include/vmstate.h); the timer of
 * channel 0 is re-armed from its saved deadline. */
extern const struct VMStateDescription i8254_vmstate;

#endif
