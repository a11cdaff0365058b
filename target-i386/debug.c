/*
 * Debug registers and the debug exception (#DB, vector 1): breakpoints on
 * instruction execution, data writes, data reads and writes, and I/O port
 * accesses (DR0-DR3 with the L/G, R/W and LEN fields of DR7), the DR6
 * status bits, DR7.GD general detection, the single-step trap (EFLAGS.TF),
 * the task-switch trap (TSS T bit), EFLAGS.RF, and MOV SS / POP SS holding
 * debug traps for one instruction.
 * Reference: Intel SDM vol. 3, 17.2 (debug registers, breakpoint field
 * recognition), 17.3 (debug exception conditions: 17.3.1.1 instruction
 * breakpoints and RF, 17.3.1.2 data and I/O breakpoints and repeated
 * strings, 17.3.1.3 general detect, 17.3.1.4 single step, 17.3.1.5 task
 * switch), 6.8.3 (MOV SS and debug exceptions), table 6-2 (priorities).
 *
 * How it meets the engine (target-i386/README.md, "Debug registers"):
 * - instruction breakpoints: blocks are decoded with a check instruction
 *   (x86_h_dbg_ibp) in front of every instruction whose page offset is an
 *   enabled breakpoint's; changing them drops the decode cache;
 * - data breakpoints: TLB entries of the pages they lie on take the slow
 *   path (x86_dbg_page_slow), which calls x86_dbg_data; a hit ends the
 *   running block after the instruction (its page's blocks are dropped)
 *   and makes REP strings stop after the iteration;
 * - traps wait in cpu->dbg_trap / dbg_dr6 and are delivered by the loop's
 *   slow entry (x86_dbg_enter) before interrupts are looked at.
 * With no breakpoint enabled and TF clear none of this is on any path.
 */
#include "x86-internal.h"

/* The byte range of breakpoint n: LEN 00/01/11 = 1/2/4 bytes; 10 is
 * undefined on this family (SDM 17.2.4 note) and taken as 8 bytes, as later
 * processors do.  The low address bits under the length are ignored. */
static void bp_range(X86CPU *cpu, int n, uint32_t *start, uint32_t *len)
{
    static const uint8_t lens[4] = { 1, 2, 8, 4 };
    uint32_t l = lens[(cpu->dr[7] >> (18 + 4 * n)) & 3];
    *len = l;
    *start = cpu->dr[n] & ~(l - 1);
}

static inline unsigned bp_rw(X86CPU *cpu, int n)
{
    return (cpu->dr[7] >> (16 + 4 * n)) & 3;
}

static inline bool overlaps(uint32_t a, uint32_t alen, uint32_t b, uint32_t blen)
{
    return (uint64_t)a < (uint64_t)b + blen && (uint64_t)b < (uint64_t)a + alen;
}

void x86_dbg_update(X86CPU *cpu)
{
    uint32_t d7 = cpu->dr[7];
    uint8_t exec = 0, data = 0, io = 0;
    for (int n = 0; n < 4; n++) {
        if (!((d7 >> (2 * n)) & 3)) {
            continue;
        }
        switch (bp_rw(cpu, n)) {
        case 0:
            exec |= 1u << n;
            break;
        case 2:
            /* I/O with CR4.DE; undefined (ignored) without. */
            if (cpu->cr4 & CR4_DE) {
                io |= 1u << n;
            }
            break;
        default:
            data |= 1u << n;
            break;
        }
    }
    uint32_t seen[6] = { cpu->dr[0], cpu->dr[1], cpu->dr[2], cpu->dr[3],
                         d7 & ~(DR7_GD | 0x300u), cpu->cr4 & CR4_DE };
    bool changed = memcmp(seen, cpu->dbg_seen, sizeof(seen)) != 0;
    if (changed && (exec | cpu->dbg_exec)) {
        /* Blocks carry the checks of the breakpoints they were decoded with. */
        x86_code_flush(cpu);
    }
    if (changed && (data | cpu->dbg_data)) {
        /* TLB entries carry the slow marks of the data breakpoints. */
        x86_tlb_flush(cpu, true);
    }
    memcpy(cpu->dbg_seen, seen, sizeof(seen));
    cpu->dbg_exec = exec;
    cpu->dbg_data = data;
    cpu->dbg_io = io;
    x86_update_mem_checks(cpu);
}

bool x86_dbg_page_slow(X86CPU *cpu, uint32_t page, bool write)
{
    for (int n = 0; n < 4; n++) {
        if (!(cpu->dbg_data & (1u << n)) || (!write && bp_rw(cpu, n) != 3)) {
            continue;
        }
        uint32_t start, len;
        bp_range(cpu, n, &start, &len);
        if (overlaps(start, len, page, 0x1000)) {
            return true;
        }
    }
    return false;
}

/* A breakpoint condition met by the running instruction: the #DB trap
 * follows the instruction (or the REP iteration). */
static void trap_pending(X86CPU *cpu, uint32_t dr6_bits)
{
    cpu->dbg_dr6 |= dr6_bits;
    cpu->rep_limit = 0;
    if (cpu->dbg_trap) {
        return;
    }
    cpu->dbg_trap = true;
    cpu->irq_shadow = true;         /* the trap goes before interrupts */
    /* Leave the block after this instruction: dropping the blocks of its
     * page replaces the rest with exits (as self-modifying code does). */
    X86Block *b = cpu->cur_block;
    if (cpu->cur_insn && b && b->cached) {
        x86_cpu_invalidate_phys(cpu, b->phys, 1);
    }
}

/* Breakpoints of kind `rw_ok` (a mask over R/W values) matched by the
 * access: bit n for every breakpoint that matches, enabled or not. */
static unsigned matches(X86CPU *cpu, uint32_t addr, unsigned size, unsigned rw_ok)
{
    unsigned hit = 0;
    for (int n = 0; n < 4; n++) {
        unsigned rw = bp_rw(cpu, n);
        if (!(rw_ok & (1u << rw))) {
            continue;
        }
        uint32_t start = cpu->dr[n], len = 1;
        if (rw != 0) {
            /* Instruction breakpoints are the first byte of an instruction
             * (LEN other than 00 is undefined for them). */
            bp_range(cpu, n, &start, &len);
        }
        if (overlaps(start, len, addr, size)) {
            hit |= 1u << n;
        }
    }
    return hit;
}

void x86_dbg_data(X86CPU *cpu, uint32_t lin, unsigned size, bool write)
{
    if (cpu->delivering == EXC_DB) {
        return;     /* the #DB delivery's own stack and IDT accesses */
    }
    unsigned hit = matches(cpu, lin, size, write ? 0xa : 0x8);     /* R/W 01, 11 */
    /* B0-B3 may also report matches of breakpoints that are not enabled
     * (SDM 17.2.3); only an enabled one makes the trap. */
    if (hit & cpu->dbg_data) {
        trap_pending(cpu, hit);
    }
}

void x86_dbg_io(X86CPU *cpu, uint16_t port, unsigned size)
{
    if (!(cpu->cr4 & CR4_DE)) {
        return;
    }
    unsigned hit = matches(cpu, port, size, 0x4);                  /* R/W 10 */
    if (hit & cpu->dbg_io) {
        trap_pending(cpu, hit);
    }
}

void x86_dbg_task_trap(X86CPU *cpu)
{
    cpu->dbg_dr6 |= DR6_BT;
    cpu->dbg_trap = true;
    cpu->irq_shadow = true;
    cpu->rep_limit = 0;
}

void x86_dbg_general_detect(X86CPU *cpu)
{
    if (cpu->dr[7] & DR7_GD) {
        cpu->dr[6] = (cpu->dr[6] & ~0xfu) | DR6_BD;
        cpu->dr[7] &= ~DR7_GD;      /* the handler may use the registers */
        x86_raise(cpu, EXC_DB, -1);
    }
}

/* Deliver the pending #DB trap (at an instruction boundary, from the loop). */
static void deliver_trap(X86CPU *cpu)
{
    uint32_t bits = cpu->dbg_dr6;
    cpu->dbg_dr6 = 0;
    cpu->dbg_trap = false;
    cpu->dbg_deferred = false;
    cpu->irq_shadow = false;
    cpu->movss_shadow = false;
    cpu->rep_limit = x86_rep_limit(cpu);
    /* B0-B3 say which breakpoints this trap is for; BD, BS and BT stay
     * until software clears them. */
    cpu->dr[6] = (cpu->dr[6] & ~0xfu) | bits;
    cpu->dr[7] &= ~DR7_GD;
    cpu->delivering = EXC_DB;
    x86_deliver(cpu, EXC_DB, -1, false, cpu->eip, false);
    cpu->delivering = -1;
}

X86Block *x86_dbg_enter(X86CPU *cpu)
{
    if (cpu->dbg_trap && !cpu->movss_shadow) {
        deliver_trap(cpu);
        return NULL;
    }
    /* STI / MOV SS shadow: one instruction runs before interrupts are
     * looked at again; a trap held by MOV SS is delivered after it. */
    bool single = cpu->irq_shadow;
    /* Instruction breakpoints are inhibited after MOV SS (SDM 17.3.1.1
     * "may not be triggered") and suppressed by RF. */
    bool skip_ibp = cpu->movss_shadow;
    cpu->dbg_deferred = cpu->dbg_trap;
    cpu->irq_shadow = false;
    cpu->movss_shadow = false;
    if (cpu->rf_clear) {
        cpu->rf_clear = false;
        if (cpu->eflags & FL_RF) {
            /* RF is cleared as the instruction starts, after the check
             * for instruction breakpoints, which it suppresses. */
            cpu->eflags &= ~FL_RF;
            skip_ibp = true;
        }
    }
    X86Block *b;
    cpu->ibp_skip_fetch = skip_ibp;
    if (single) {
        uint32_t mode = cpu->mode;
        cpu->mode |= BM_SINGLE;
        b = x86_block_lookup(cpu);
        cpu->mode = mode;
    } else {
        b = x86_block_lookup(cpu);
    }
    cpu->ibp_skip_fetch = false;
    cpu->ibp_skip = skip_ibp ? b->insns : NULL;
    if (cpu->dbg_trap) {
        cpu->irq_shadow = true;
    }
    return b;
}

void x86_dbg_leave(X86CPU *cpu, uint32_t slow)
{
    union {
        struct {
            bool irq_shadow, tf_step, rf_clear, dbg_trap;
        };
        uint32_t all;
    } s = { .all = slow };
    _Static_assert(sizeof(s) == sizeof(cpu->loop_slow), "loop_slow layout");
    _Static_assert(offsetof(X86CPU, tf_step) == offsetof(X86CPU, loop_slow) + 1,
                   "loop_slow layout");

    cpu->ibp_skip = NULL;
    if (s.tf_step) {
        /* TF was set as the instruction began: single-step trap after it
         * (SDM 17.3.1.4), together with any breakpoint it hit. */
        cpu->dbg_dr6 |= DR6_BS;
        cpu->dbg_trap = true;
        cpu->irq_shadow = true;
    }
    if (cpu->dbg_trap && !cpu->movss_shadow) {
        deliver_trap(cpu);
    }
}

void x86_dbg_fault(X86CPU *cpu)
{
    /* The faulting instruction did not complete: its breakpoint traps are
     * dropped; one held over from before a MOV SS stays. */
    if (cpu->dbg_trap && !cpu->dbg_deferred) {
        cpu->dbg_trap = false;
        cpu->dbg_dr6 = 0;
    }
    cpu->irq_shadow = cpu->dbg_trap;
    cpu->movss_shadow = false;
    cpu->ibp_skip = NULL;
    cpu->rep_limit = x86_rep_limit(cpu);
    if (cpu->ac_suspended) {
        x86_align_resume(cpu);
    }
}

/* The check placed before an instruction that may carry an instruction
 * breakpoint: a fault before the instruction, unless RF suppresses it. */
static HANDLER(dbg_ibp)
{
    if (i == cpu->ibp_skip) {
        cpu->ibp_skip = NULL;
        return i + 1;
    }
    unsigned hit = matches(cpu, cpu->seg[R_CS].base + i->eip, 1, 0x1);
    if (!(hit & cpu->dbg_exec)) {
        return i + 1;
    }
    cpu->dr[6] = (cpu->dr[6] & ~0xfu) | hit;
    cpu->dr[7] &= ~DR7_GD;
    cpu->dbg_ibp_fault = true;      /* RF is not set in the pushed EFLAGS */
    x86_raise(cpu, EXC_DB, -1);
}

/* An instruction breakpoint outranks a fault on fetching its instruction
 * (SDM vol. 3, table 6-2: code breakpoint before code-segment limit and
 * code page faults): the block lookup calls this while breakpoints are
 * enabled and the fetch at `lin` may fault, before trying it. */
void x86_dbg_fetch_check(X86CPU *cpu, uint32_t lin)
{
    if (cpu->ibp_skip_fetch) {
        return;
    }
    unsigned hit = matches(cpu, lin, 1, 0x1);
    if (!(hit & cpu->dbg_exec)) {
        return;
    }
    cpu->dr[6] = (cpu->dr[6] & ~0xfu) | hit;
    cpu->dr[7] &= ~DR7_GD;
    cpu->dbg_ibp_fault = true;
    x86_raise(cpu, EXC_DB, -1);
}

int x86_dbg_mark_block(X86CPU *cpu, X86Insn *ins, int n, uint32_t *bytes)
{
    uint32_t offs[4];
    int noffs = 0;
    for (int b = 0; b < 4; b++) {
        if (cpu->dbg_exec & (1u << b)) {
            offs[noffs++] = cpu->dr[b] & 0xfff;
        }
    }
    /* Page offsets are the same in linear and physical addresses, so the
     * check is in place however the page is mapped; it compares the full
     * linear address when it runs. */
    X86Insn out[X86_MAX_BLOCK_INSNS + 1];
    uint32_t base = cpu->seg[R_CS].base, used = 0;
    int m = 0, k;
    for (k = 0; k < n; k++) {
        uint32_t off = (base + ins[k].eip) & 0xfff;
        bool check = false;
        for (int q = 0; q < noffs; q++) {
            check |= offs[q] == off;
        }
        if (m + 1 + check > X86_MAX_BLOCK_INSNS) {
            break;
        }
        if (check) {
            memset(&out[m], 0, sizeof(out[m]));
            out[m].fn = dbg_ibp;
            out[m].eip = ins[k].eip;
            m++;
        }
        out[m++] = ins[k];
        used += ins[k].len;
    }
    if (k < n) {
        /* Cut short: the block continues at the first instruction left out. */
        memset(&out[m], 0, sizeof(out[m]));
        out[m].fn = x86_h_block_end;
        out[m].eip = ins[k].eip;
        *bytes = used;
    } else {
        out[m] = ins[n];
    }
    memcpy(ins, out, (size_t)(m + 1) * sizeof(X86Insn));
    return m;
}

X86Insn *x86_rep_yield(X86CPU *cpu, X86Insn *i, int chunk)
{
    cpu->budget -= chunk;
    /* Events between iterations see RF = 1 (SDM 17.3.1.1): an interrupt
     * or trap handler returns into the same instruction without its
     * instruction breakpoint firing again.  Cleared as the insn resumes. */
    cpu->eflags |= FL_RF;
    cpu->rf_clear = true;
    return x86_goto(cpu, i->eip);
}
