/*
 * System instructions and state: control and debug registers, descriptor
 * table registers, LLDT/LTR/SLDT/STR, LAR/LSL/VERR/VERW/ARPL, CLI/STI/HLT,
 * port I/O with the IOPL and I/O permission bitmap checks, CPUID, RDTSC,
 * RDMSR/WRMSR, SYSENTER/SYSEXIT, and the x87 escape until the FPU lands.
 * Reference: Intel SDM vol. 2 (each instruction), vol. 3 chapter 2 (2.5
 * control registers), 17.2 (debug registers; their effects are debug.c's), 16.5 (I/O permission bit map), 5.8.7 (SYSENTER and
 * SYSEXIT), chapter 4 (4.10.4 TLB invalidation); CPUID leaf layout and the
 * architectural MSR numbers from vol. 2 CPUID and vol. 4.
 */
#include "x86-internal.h"
#include "timer.h"

HANDLER(x86_h_ud)
{
    x86_raise0(cpu, EXC_UD);
}

HANDLER(x86_h_gp0)
{
    x86_raise(cpu, EXC_GP, 0);
}

static inline bool prot(X86CPU *cpu)
{
    return cpu->cr0 & CR0_PE;
}

static inline bool v86(X86CPU *cpu)
{
    return cpu->eflags & FL_VM;
}

static inline int iopl(X86CPU *cpu)
{
    return (cpu->eflags & FL_IOPL) >> 12;
}

static void require_cpl0(X86CPU *cpu)
{
    if (cpu->cpl != 0) {
        x86_raise(cpu, EXC_GP, 0);
    }
}

HANDLER(x86_h_hlt)
{
    require_cpl0(cpu);
    cpu->halted = true;
    return x86_goto(cpu, next_eip(i));
}

/* PAUSE (F3 90): a spin-wait hint.  With several CPUs on one thread it
 * ends the slice so that the CPU being waited for runs. */
HANDLER(x86_h_pause)
{
    if (cpu->pause_exit) {
        x86_cpu_kick(cpu);
        return x86_goto(cpu, next_eip(i));
    }
    return i + 1;
}

HANDLER(x86_h_cli)
{
    if (prot(cpu) && (v86(cpu) ? iopl(cpu) < 3 : cpu->cpl > iopl(cpu))) {
        x86_raise(cpu, EXC_GP, 0);
    }
    cpu->eflags &= ~FL_IF;
    return i + 1;
}

HANDLER(x86_h_sti)
{
    if (prot(cpu) && (v86(cpu) ? iopl(cpu) < 3 : cpu->cpl > iopl(cpu))) {
        x86_raise(cpu, EXC_GP, 0);
    }
    if (!(cpu->eflags & FL_IF)) {
        cpu->eflags |= FL_IF;
        cpu->irq_shadow = true;
    }
    return x86_goto(cpu, next_eip(i));
}

/* --- port I/O --------------------------------------------------------------- */

void x86_check_as_generation(X86CPU *cpu)
{
    uint64_t g = as_generation(cpu->bus.as);
    if (g != cpu->as_gen) {
        cpu->as_gen = g;
        x86_tlb_flush(cpu, true);
    }
    bool a20 = cpu->bus.a20 ? *cpu->bus.a20 : true;
    if (a20 != cpu->a20_cached) {
        cpu->a20_cached = a20;
        cpu->a20_mask = a20 ? 0xffffffffu : ~(1u << 20);
        x86_tlb_flush(cpu, true);
    }
}

void x86_check_io(X86CPU *cpu, uint16_t port, unsigned size)
{
    if (!prot(cpu) || (!v86(cpu) && cpu->cpl <= iopl(cpu))) {
        return;
    }
    /* The I/O permission bit map of the 32-bit TSS. */
    X86Seg *tr = &cpu->seg[R_TR];
    int type = tr->attr & SA_TYPE;
    if ((tr->attr & SA_UNUSABLE) || (type != 9 && type != 11) || tr->limit < 0x67) {
        x86_raise(cpu, EXC_GP, 0);
    }
    uint32_t base = x86_sys_ld16(cpu, tr->base + 0x66);
    uint32_t off = base + port / 8;
    if (off + 1 > tr->limit) {
        x86_raise(cpu, EXC_GP, 0);
    }
    uint32_t bits = x86_sys_ld16(cpu, tr->base + off);
    uint32_t mask = ((1u << size) - 1) << (port & 7);
    if (bits & mask) {
        x86_raise(cpu, EXC_GP, 0);
    }
}

uint32_t x86_port_in(X86CPU *cpu, uint16_t port, unsigned size)
{
    uint32_t v;
    if (unlikely(cpu->dbg_io)) {
        x86_dbg_io(cpu, port, size);
    }
    if (cpu->bus.port_read) {
        v = cpu->bus.port_read(cpu->bus.opaque, port, size);
    } else {
        v = as_port_read(cpu->bus.as, port, size);
    }
    x86_check_as_generation(cpu);
    return size == 4 ? v : v & ((1u << (size * 8)) - 1);
}

void x86_port_out(X86CPU *cpu, uint16_t port, uint32_t v, unsigned size)
{
    if (unlikely(cpu->dbg_io)) {
        x86_dbg_io(cpu, port, size);
    }
    if (cpu->bus.port_write) {
        cpu->bus.port_write(cpu->bus.opaque, port, v, size);
    } else {
        as_port_write(cpu->bus.as, port, v, size);
    }
    x86_check_as_generation(cpu);
}

static inline void set_acc(X86CPU *cpu, unsigned size, uint32_t v)
{
    switch (size) {
    case 1: cpu->r[R_EAX].b[0] = v; break;
    case 2: cpu->r[R_EAX].w = v; break;
    default: cpu->r[R_EAX].d = v; break;
    }
}

static inline unsigned io_size(int sz)
{
    return sz == 0 ? 1 : sz == 1 ? 2 : 4;
}

#define DEF_IO(SZ)                                                          \
static HANDLER(in_imm_##SZ)                                                 \
{                                                                           \
    x86_check_io(cpu, i->imm, io_size(SZ));                                 \
    set_acc(cpu, io_size(SZ), x86_port_in(cpu, i->imm, io_size(SZ)));       \
    return i + 1;                                                           \
}                                                                           \
static HANDLER(in_dx_##SZ)                                                  \
{                                                                           \
    uint16_t port = cpu->r[R_EDX].w;                                        \
    x86_check_io(cpu, port, io_size(SZ));                                   \
    set_acc(cpu, io_size(SZ), x86_port_in(cpu, port, io_size(SZ)));         \
    return i + 1;                                                           \
}                                                                           \
static HANDLER(out_imm_##SZ)                                                \
{                                                                           \
    x86_check_io(cpu, i->imm, io_size(SZ));                                 \
    x86_port_out(cpu, i->imm, cpu->r[R_EAX].d, io_size(SZ));                \
    return x86_goto(cpu, next_eip(i));                                      \
}                                                                           \
static HANDLER(out_dx_##SZ)                                                 \
{                                                                           \
    uint16_t port = cpu->r[R_EDX].w;                                        \
    x86_check_io(cpu, port, io_size(SZ));                                   \
    x86_port_out(cpu, port, cpu->r[R_EAX].d, io_size(SZ));                  \
    return x86_goto(cpu, next_eip(i));                                      \
}
DEF_IO(0)
DEF_IO(1)
DEF_IO(2)
const X86Handler x86_h_in_imm[3] = { in_imm_0, in_imm_1, in_imm_2 };
const X86Handler x86_h_in_dx[3] = { in_dx_0, in_dx_1, in_dx_2 };
const X86Handler x86_h_out_imm[3] = { out_imm_0, out_imm_1, out_imm_2 };
const X86Handler x86_h_out_dx[3] = { out_dx_0, out_dx_1, out_dx_2 };

/* --- CPUID ---------------------------------------------------------------------- */

/* Leaf 1 EDX: only what is implemented (SDM vol. 2, CPUID, table 3-11). */
#define CPUID_1_EDX ((1u << 0) |    /* FPU (with CMOV: FCMOV, FCOMI) */ \
                     (1u << 2) |    /* DE: CR4.DE, I/O breakpoints */ \
                     (1u << 3) |    /* PSE */       \
                     (1u << 4) |    /* TSC */       \
                     (1u << 5) |    /* MSR */       \
                     (1u << 6) |    /* PAE */       \
                     (1u << 8) |    /* CX8 */       \
                     (1u << 11) |   /* SEP */       \
                     (1u << 13) |   /* PGE */       \
                     (1u << 15) |   /* CMOV */      \
                     (1u << 16) |   /* PAT */       \
                     CPUID_1_EDX_SIMD)
/* The SIMD part (sse.c): CLFLUSH, MMX, FXSAVE/FXRSTOR, SSE, SSE2. */
#define CPUID_1_EDX_SIMD ((1u << 19) | (1u << 23) | (1u << 24) | (1u << 25) | (1u << 26))
#define CPUID_80000001_EDX (1u << 20)   /* NX */
#define CPUID_1_EDX_APIC    (1u << 9)
#define CPUID_1_EDX_HTT     (1u << 28)
#define APIC_BASE_GLOBAL_ENABLE (1ULL << 11)

/* Does CPUID advertise the local APIC?  Only when the machine gives this
 * CPU one and IA32_APIC_BASE has it enabled (SDM vol. 3, 10.4.3). */
static bool cpuid_apic(X86CPU *cpu)
{
    return cpu->bus.apic_base_read &&
           (cpu->bus.apic_base_read(cpu->bus.opaque) & APIC_BASE_GLOBAL_ENABLE);
}

static void cpuid(X86CPU *cpu, uint32_t leaf, uint32_t sub, uint32_t r[4])
{
    static const char brand[48] = "vmkemu i686-class virtual CPU";
    (void)sub;
    r[0] = r[1] = r[2] = r[3] = 0;
    switch (leaf) {
    case 0:
        r[0] = 1;
        memcpy(&r[1], "Genu", 4);       /* EBX EDX ECX = "GenuineIntel" */
        memcpy(&r[3], "ineI", 4);
        memcpy(&r[2], "ntel", 4);
        break;
    case 1: {
        /* EBX: initial APIC ID, logical processors in the package, CLFLUSH
         * line size 64 bytes (8 * 8). */
        unsigned n = cpu->bus.package_cpus ? cpu->bus.package_cpus : 1;
        /* Family 6 model 13 stepping 8: the SSE2 + NX P6 of the Pentium M
         * (Linux takes SYSENTER from model 3 stepping 3 on). */
        r[0] = (6 << 8) | (13 << 4) | 8;
        r[1] = ((uint32_t)cpu->bus.initial_apic_id << 24) | (n << 16) | (8 << 8);
        r[3] = CPUID_1_EDX | (cpuid_apic(cpu) ? CPUID_1_EDX_APIC : 0) |
               (n > 1 ? CPUID_1_EDX_HTT : 0);
        break;
    }
    case 0x80000000:
        r[0] = 0x80000004;
        break;
    case 0x80000001:
        r[3] = CPUID_80000001_EDX;
        break;
    case 0x80000002: case 0x80000003: case 0x80000004:
        memcpy(r, brand + (leaf - 0x80000002) * 16, 16);
        break;
    default:
        if (leaf < 0x80000000u) {
            cpuid(cpu, 1, 0, r);        /* above the max basic leaf */
        }
        break;
    }
}

HANDLER(x86_h_cpuid)
{
    uint32_t r[4];
    cpuid(cpu, cpu->r[R_EAX].d, cpu->r[R_ECX].d, r);
    cpu->r[R_EAX].d = r[0];
    cpu->r[R_EBX].d = r[1];
    cpu->r[R_ECX].d = r[2];
    cpu->r[R_EDX].d = r[3];
    return i + 1;
}

/* --- TSC and MSRs ----------------------------------------------------------------- */

/* The TSC runs at 1 GHz of virtual time. */
uint64_t x86_rdtsc(X86CPU *cpu)
{
    return (uint64_t)vclock_ns() + cpu->tsc_offset;
}

HANDLER(x86_h_rdtsc)
{
    if ((cpu->cr4 & CR4_TSD) && cpu->cpl != 0 && prot(cpu)) {
        x86_raise(cpu, EXC_GP, 0);
    }
    uint64_t t = x86_rdtsc(cpu);
    cpu->r[R_EAX].d = (uint32_t)t;
    cpu->r[R_EDX].d = (uint32_t)(t >> 32);
    return i + 1;
}

HANDLER(x86_h_rdpmc)
{
    uint32_t c = cpu->r[R_ECX].d;
    if ((!(cpu->cr4 & CR4_PCE) && cpu->cpl != 0 && prot(cpu)) || c > 1) {
        x86_raise(cpu, EXC_GP, 0);
    }
    cpu->r[R_EAX].d = 0;
    cpu->r[R_EDX].d = 0;
    return i + 1;
}

int x86_rdmsr(X86CPU *cpu, uint32_t msr, uint64_t *val)
{
    switch (msr) {
    case 0x10: *val = x86_rdtsc(cpu); return 0;
    case 0x17: *val = 0; return 0;                          /* IA32_PLATFORM_ID */
    case 0x1b:
        *val = cpu->bus.apic_base_read ? cpu->bus.apic_base_read(cpu->bus.opaque)
                                       : cpu->apic_base;
        return 0;
    case 0x8b: *val = 0; return 0;                          /* IA32_BIOS_SIGN_ID */
    case 0x174: *val = cpu->sysenter_cs; return 0;
    case 0x175: *val = cpu->sysenter_esp; return 0;
    case 0x176: *val = cpu->sysenter_eip; return 0;
    case 0x1a0: *val = cpu->misc_enable; return 0;
    case 0x277: *val = cpu->pat; return 0;
    case 0xc0000080: *val = cpu->efer; return 0;
    }
    return -1;
}

int x86_wrmsr(X86CPU *cpu, uint32_t msr, uint64_t val)
{
    switch (msr) {
    case 0x10:
        cpu->tsc_offset = val - (uint64_t)vclock_ns();
        return 0;
    case 0x1b:
        if (cpu->bus.apic_base_write) {
            /* The APIC page may move or go: the TLB learns it from the
             * address space's generation. */
            int r = cpu->bus.apic_base_write(cpu->bus.opaque, val);
            x86_check_as_generation(cpu);
            return r < 0 ? -1 : 0;
        }
        cpu->apic_base = val & 0xfffff900ULL;
        return 0;
    case 0x8b:
        return 0;
    case 0x174: cpu->sysenter_cs = val & 0xffff; return 0;
    case 0x175: cpu->sysenter_esp = (uint32_t)val; return 0;
    case 0x176: cpu->sysenter_eip = (uint32_t)val; return 0;
    case 0x1a0: cpu->misc_enable = val; return 0;
    case 0x277:
        for (int k = 0; k < 8; k++) {
            uint8_t t = (val >> (8 * k)) & 0xff;
            if (t == 2 || t == 3 || t > 7) {
                return -1;
            }
        }
        cpu->pat = val;
        return 0;
    case 0xc0000080:
        if (val & ~(uint64_t)X86_EFER_NXE) {
            return -1;
        }
        if ((val ^ cpu->efer) & X86_EFER_NXE) {
            x86_tlb_flush(cpu, true);
        }
        cpu->efer = val;
        return 0;
    }
    return -1;
}

HANDLER(x86_h_rdmsr)
{
    uint64_t v;
    require_cpl0(cpu);
    if (x86_rdmsr(cpu, cpu->r[R_ECX].d, &v) < 0) {
        x86_raise(cpu, EXC_GP, 0);
    }
    cpu->r[R_EAX].d = (uint32_t)v;
    cpu->r[R_EDX].d = (uint32_t)(v >> 32);
    return i + 1;
}

HANDLER(x86_h_wrmsr)
{
    require_cpl0(cpu);
    uint64_t v = ((uint64_t)cpu->r[R_EDX].d << 32) | cpu->r[R_EAX].d;
    if (x86_wrmsr(cpu, cpu->r[R_ECX].d, v) < 0) {
        x86_raise(cpu, EXC_GP, 0);
    }
    return x86_goto(cpu, next_eip(i));
}

/* --- control registers --------------------------------------------------------------- */

static void load_pdptes(X86CPU *cpu, uint32_t cr3)
{
    uint64_t pd[4];
    uint64_t base = (cr3 & 0xffffffe0u) & cpu->a20_mask;
    for (int k = 0; k < 4; k++) {
        pd[k] = x86_phys_ld64(cpu, base + 8 * k);
        /* Reserved: bits 1-2, 5-8, 63-36 (MAXPHYADDR 36). */
        if ((pd[k] & PTE_P) && (pd[k] & 0xfffffff0000001e6ULL)) {
            x86_raise(cpu, EXC_GP, 0);
        }
    }
    memcpy(cpu->pdpte, pd, sizeof(pd));
}

static bool pae_paging(uint32_t cr0, uint32_t cr4)
{
    return (cr0 & CR0_PG) && (cr4 & CR4_PAE);
}

void x86_set_cr0(X86CPU *cpu, uint32_t v)
{
    v |= CR0_ET;
    v &= CR0_PE | CR0_MP | CR0_EM | CR0_TS | CR0_ET | CR0_NE | CR0_WP | CR0_AM |
         CR0_NW | CR0_CD | CR0_PG;
    if (((v & CR0_PG) && !(v & CR0_PE)) || ((v & CR0_NW) && !(v & CR0_CD))) {
        x86_raise(cpu, EXC_GP, 0);
    }
    uint32_t old = cpu->cr0;
    if (pae_paging(v, cpu->cr4) && !(old & CR0_PG)) {
        load_pdptes(cpu, cpu->cr3);
    }
    cpu->cr0 = v;
    if ((old ^ v) & (CR0_PG | CR0_WP | CR0_PE)) {
        x86_tlb_flush(cpu, true);
    }
    if ((old ^ v) & CR0_PE) {
        x86_update_mode(cpu);
    } else if ((old ^ v) & CR0_AM) {
        x86_update_mem_checks(cpu);
    }
}

void x86_set_cr3(X86CPU *cpu, uint32_t v)
{
    if (pae_paging(cpu->cr0, cpu->cr4)) {
        load_pdptes(cpu, v);
    }
    cpu->cr3 = v;
    x86_tlb_flush(cpu, false);
}

#define CR4_VALID (CR4_TSD | CR4_DE | CR4_PSE | CR4_PAE | CR4_PGE | CR4_PCE | \
                   CR4_OSFXSR | CR4_OSXMMEXCPT)

void x86_set_cr4(X86CPU *cpu, uint32_t v)
{
    if (v & ~CR4_VALID) {
        x86_raise(cpu, EXC_GP, 0);
    }
    uint32_t old = cpu->cr4;
    if (pae_paging(cpu->cr0, v) && !(old & CR4_PAE)) {
        load_pdptes(cpu, cpu->cr3);
    }
    cpu->cr4 = v;
    if ((old ^ v) & (CR4_PSE | CR4_PAE | CR4_PGE)) {
        x86_tlb_flush(cpu, true);
    }
    if ((old ^ v) & CR4_DE) {
        x86_dbg_update(cpu);        /* R/W = 10 means I/O only with DE */
    }
}

static void check_sys_access(X86CPU *cpu)
{
    if (v86(cpu)) {
        x86_raise(cpu, EXC_GP, 0);
    }
    require_cpl0(cpu);
}

HANDLER(x86_h_mov_r_cr)
{
    uint32_t v;
    check_sys_access(cpu);
    switch (i->reg) {
    case 0: v = cpu->cr0; break;
    case 2: v = cpu->cr2; break;
    case 3: v = cpu->cr3; break;
    case 4: v = cpu->cr4; break;
    default: x86_raise0(cpu, EXC_UD);
    }
    cpu->r[i->rm].d = v;
    return i + 1;
}

HANDLER(x86_h_mov_cr_r)
{
    uint32_t v = cpu->r[i->rm].d;
    if (i->reg != 0 && i->reg != 2 && i->reg != 3 && i->reg != 4) {
        x86_raise0(cpu, EXC_UD);
    }
    check_sys_access(cpu);
    switch (i->reg) {
    case 0: x86_set_cr0(cpu, v); break;
    case 2: cpu->cr2 = v; break;
    case 3: x86_set_cr3(cpu, v); break;
    case 4: x86_set_cr4(cpu, v); break;
    }
    return x86_goto(cpu, next_eip(i));
}

static int dr_index(X86CPU *cpu, int n)
{
    if (n == 4 || n == 5) {
        if (cpu->cr4 & CR4_DE) {
            x86_raise0(cpu, EXC_UD);
        }
        n += 2;
    }
    return n;
}

/* DR6: B0-B3, BD, BS, BT writable, bits 4-11 and 16-31 read as 1; DR7:
 * bit 10 reads as 1, bits 11, 12, 14 and 15 as 0 (SDM 17.2.3, 17.2.4). */
#define DR6_FIXED1      0xffff0ff0u
#define DR6_WRITABLE    0x0000e00fu
#define DR7_FIXED1      0x00000400u
#define DR7_WRITABLE    0xffff23ffu

HANDLER(x86_h_mov_r_dr)
{
    check_sys_access(cpu);
    int n = dr_index(cpu, i->reg);
    x86_dbg_general_detect(cpu);
    uint32_t v = cpu->dr[n];
    if (n == 6) {
        v = (v & DR6_WRITABLE) | DR6_FIXED1;
    } else if (n == 7) {
        v = (v & DR7_WRITABLE) | DR7_FIXED1;
    }
    cpu->r[i->rm].d = v;
    return i + 1;
}

HANDLER(x86_h_mov_dr_r)
{
    check_sys_access(cpu);
    int n = dr_index(cpu, i->reg);
    x86_dbg_general_detect(cpu);
    uint32_t v = cpu->r[i->rm].d;
    if (n == 6) {
        v = (v & DR6_WRITABLE) | DR6_FIXED1;
    } else if (n == 7) {
        v = (v & DR7_WRITABLE) | DR7_FIXED1;
    }
    cpu->dr[n] = v;
    x86_dbg_update(cpu);
    return x86_goto(cpu, next_eip(i));
}

HANDLER(x86_h_clts)
{
    check_sys_access(cpu);
    cpu->cr0 &= ~CR0_TS;
    return x86_goto(cpu, next_eip(i));
}

HANDLER(x86_h_invd)
{
    check_sys_access(cpu);
    return i + 1;
}

HANDLER(x86_h_invlpg)
{
    check_sys_access(cpu);
    x86_tlb_flush_page(cpu, cpu->seg[i->seg].base + x86_ea(cpu, i));
    return x86_goto(cpu, next_eip(i));
}

/* --- descriptor-table instructions ------------------------------------------------------ */

static void require_prot(X86CPU *cpu)
{
    if (!prot(cpu) || v86(cpu)) {
        x86_raise0(cpu, EXC_UD);
    }
}

/* Store a 16-bit selector to a register (zero-extended to the operand
 * size) or to memory (16 bits). */
static void store_sel(X86CPU *cpu, X86Insn *i, uint16_t v)
{
    if (i->flags & IF_MEM) {
        st16(cpu, i->seg, x86_ea(cpu, i), v);
    } else if (i->flags & IF_OP16) {
        cpu->r[i->rm].w = v;
    } else {
        cpu->r[i->rm].d = v;
    }
}

static uint16_t load_sel(X86CPU *cpu, X86Insn *i)
{
    if (i->flags & IF_MEM) {
        return ld16(cpu, i->seg, x86_ea(cpu, i));
    }
    return cpu->r[i->rm].w;
}

static void set_zf(X86CPU *cpu, bool z)
{
    x86_flags_materialize(cpu);
    cpu->eflags = (cpu->eflags & ~FL_ZF) | (z ? FL_ZF : 0);
}

/* VERR/VERW and LAR/LSL: is the descriptor visible at CPL and RPL? */
static bool desc_visible(X86CPU *cpu, uint16_t sel, uint32_t *lo, uint32_t *hi)
{
    if ((sel & ~3u) == 0 || x86_desc_fetch(cpu, sel, lo, hi) < 0) {
        return false;
    }
    uint16_t attr = x86_desc_attr(*hi);
    int dpl = (attr & SA_DPL) >> SA_DPL_SHIFT;
    bool conforming = (attr & SA_S) && (attr & ST_CODE) && (attr & ST_CONFORM);
    if (!conforming && (dpl < cpu->cpl || dpl < (sel & 3))) {
        return false;
    }
    return true;
}

HANDLER(x86_h_grp6)
{
    uint32_t lo, hi;
    require_prot(cpu);
    switch (i->reg) {
    case 0:
        store_sel(cpu, i, cpu->seg[R_LDTR].sel);
        break;
    case 1:
        store_sel(cpu, i, cpu->seg[R_TR].sel);
        break;
    case 2:
        require_cpl0(cpu);
        x86_load_ldt(cpu, load_sel(cpu, i));
        break;
    case 3:
        require_cpl0(cpu);
        x86_load_tr(cpu, load_sel(cpu, i));
        break;
    case 4:
    case 5: {
        uint16_t sel = load_sel(cpu, i);
        bool ok = desc_visible(cpu, sel, &lo, &hi);
        if (ok) {
            uint16_t a = x86_desc_attr(hi);
            if (!(a & SA_S)) {
                ok = false;
            } else if (i->reg == 4) {
                ok = !(a & ST_CODE) || (a & ST_READ);
            } else {
                ok = !(a & ST_CODE) && (a & ST_WRITE);
            }
        }
        set_zf(cpu, ok);
        break;
    }
    default:
        x86_raise0(cpu, EXC_UD);
    }
    return i + 1;
}

HANDLER(x86_h_grp7)
{
    uint32_t ea = x86_ea(cpu, i);
    bool op16 = i->flags & IF_OP16;
    switch (i->reg) {
    case 0:
    case 1: {
        uint16_t limit = i->reg == 0 ? cpu->gdt_limit : cpu->idt_limit;
        uint32_t base = i->reg == 0 ? cpu->gdt_base : cpu->idt_base;
        uint32_t lin = seg_w(cpu, i->seg, ea, 6);
        x86_probe_write(cpu, lin, 6, cpu->mmu_idx);
        st16(cpu, i->seg, ea, limit);
        st32(cpu, i->seg, (ea + 2) & i->amask, base);
        break;
    }
    case 2:
    case 3: {
        if (v86(cpu)) {
            x86_raise(cpu, EXC_GP, 0);
        }
        require_cpl0(cpu);
        uint16_t limit = ld16(cpu, i->seg, ea);
        uint32_t base = ld32(cpu, i->seg, (ea + 2) & i->amask);
        if (op16) {
            base &= 0xffffff;
        }
        if (i->reg == 2) {
            cpu->gdt_base = base;
            cpu->gdt_limit = limit;
        } else {
            cpu->idt_base = base;
            cpu->idt_limit = limit;
        }
        break;
    }
    case 4:
        if (i->flags & IF_MEM) {
            st16(cpu, i->seg, ea, cpu->cr0);
        } else if (op16) {
            cpu->r[i->rm].w = cpu->cr0;
        } else {
            cpu->r[i->rm].d = cpu->cr0;
        }
        break;
    case 6: {
        check_sys_access(cpu);
        uint16_t v = (i->flags & IF_MEM) ? ld16(cpu, i->seg, ea) : cpu->r[i->rm].w;
        /* LMSW sets PE but never clears it. */
        uint32_t n = (cpu->cr0 & ~(CR0_MP | CR0_EM | CR0_TS)) | (v & (CR0_PE | CR0_MP | CR0_EM | CR0_TS));
        x86_set_cr0(cpu, n);
        break;
    }
    case 7:
        return x86_h_invlpg(cpu, i);
    default:
        x86_raise0(cpu, EXC_UD);
    }
    return x86_goto(cpu, next_eip(i));
}

static void do_lar_lsl(X86CPU *cpu, X86Insn *i, bool lsl)
{
    uint32_t lo, hi;
    require_prot(cpu);
    uint16_t sel = load_sel(cpu, i);
    bool ok = desc_visible(cpu, sel, &lo, &hi);
    if (ok) {
        uint16_t a = x86_desc_attr(hi);
        if (!(a & SA_S)) {
            int t = a & SA_TYPE;
            /* Valid system types: TSS (1,3,9,11), LDT (2); LAR also gates. */
            bool valid = t == 1 || t == 2 || t == 3 || t == 9 || t == 11 ||
                         (!lsl && (t == 4 || t == 5 || t == 12));
            ok = valid;
        }
    }
    set_zf(cpu, ok);
    if (!ok) {
        return;
    }
    uint32_t v = lsl ? x86_desc_limit(hi, lo) : (hi & 0x00f0ff00u);
    if (i->flags & IF_OP16) {
        cpu->r[i->reg].w = v;
    } else {
        cpu->r[i->reg].d = v;
    }
}

HANDLER(x86_h_lar)
{
    do_lar_lsl(cpu, i, false);
    return i + 1;
}

HANDLER(x86_h_lsl)
{
    do_lar_lsl(cpu, i, true);
    return i + 1;
}

HANDLER(x86_h_arpl)
{
    require_prot(cpu);
    uint32_t lin = 0;
    uint16_t d;
    if (i->flags & IF_MEM) {
        lin = seg_w(cpu, i->seg, x86_ea(cpu, i), 2);
        x86_probe_write(cpu, lin, 2, cpu->mmu_idx);
        d = x86_ld_slow(cpu, lin, 2, cpu->mmu_idx);
    } else {
        d = cpu->r[i->rm].w;
    }
    uint16_t s = cpu->r[i->reg].w;
    bool adj = (d & 3) < (s & 3);
    if (adj) {
        d = (d & ~3) | (s & 3);
        if (i->flags & IF_MEM) {
            x86_st_slow(cpu, lin, d, 2, cpu->mmu_idx);
        } else {
            cpu->r[i->rm].w = d;
        }
    }
    set_zf(cpu, adj);
    return i + 1;
}

/* --- SYSENTER / SYSEXIT (SDM vol. 3, 5.8.7) ------------------------------------------- */

static void flat_seg(X86CPU *cpu, int s, uint16_t sel, int dpl, bool code)
{
    uint16_t attr = SA_P | SA_S | SA_DB | SA_G | SA_ACCESSED | (dpl << SA_DPL_SHIFT) |
                    (code ? ST_CODE | ST_READ : ST_WRITE);
    x86_seg_load_cache(cpu, s, sel, 0, 0xffffffffu, attr);
}

HANDLER(x86_h_sysenter)
{
    if (!prot(cpu) || (cpu->sysenter_cs & 0xfffc) == 0) {
        x86_raise(cpu, EXC_GP, 0);
    }
    x86_flags_materialize(cpu);
    cpu->eflags &= ~(FL_VM | FL_IF | FL_RF);
    x86_set_cpl(cpu, 0);
    flat_seg(cpu, R_CS, cpu->sysenter_cs & 0xfffc, 0, true);
    flat_seg(cpu, R_SS, (cpu->sysenter_cs & 0xfffc) + 8, 0, false);
    cpu->r[R_ESP].d = cpu->sysenter_esp;
    x86_update_mode(cpu);
    return x86_goto(cpu, cpu->sysenter_eip);
}

HANDLER(x86_h_sysexit)
{
    if (!prot(cpu) || v86(cpu) || cpu->cpl != 0 || (cpu->sysenter_cs & 0xfffc) == 0) {
        x86_raise(cpu, EXC_GP, 0);
    }
    x86_set_cpl(cpu, 3);
    flat_seg(cpu, R_CS, ((cpu->sysenter_cs & 0xfffc) + 16) | 3, 3, true);
    flat_seg(cpu, R_SS, ((cpu->sysenter_cs & 0xfffc) + 24) | 3, 3, false);
    cpu->r[R_ESP].d = cpu->r[R_ECX].d;
    x86_update_mode(cpu);
    return x86_goto(cpu, cpu->r[R_EDX].d);
}
