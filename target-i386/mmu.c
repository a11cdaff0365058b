/*
 * Paging and the soft TLB.
 *
 * Linear addresses translate through 32-bit paging (4 KiB pages, 4 MiB
 * pages with CR4.PSE) or PAE paging (4 KiB and 2 MiB pages, NX with
 * EFER.NXE), Intel SDM vol. 3, chapter 4 (4.3 32-bit paging, 4.4 PAE, 4.7
 * page-fault exceptions, 4.10 caching translations).  Translations are cached
 * in a direct-mapped soft TLB per privilege class (supervisor / user) that
 * holds host pointers for RAM; everything else (MMIO, ROM writes, writes to
 * pages holding decoded code, page-crossing accesses) takes the slow paths
 * here.  Large pages are cached as 4 KiB entries; INVLPG inside the range
 * ever covered by a large page flushes everything.
 */
#include "x86-internal.h"

static void tlb_entry_clear(X86CPU *cpu, X86TLBEntry *e)
{
    X86TLBCold *c = x86_tlb_cold(cpu, e);
    e->tag_r = e->tag_w = c->tag_x = TLB_INVALID;
    c->global = 0;
}

void x86_tlb_flush(X86CPU *cpu, bool global_too)
{
    for (int s = 0; s < 2; s++) {
        for (unsigned k = 0; k < X86_TLB_SIZE; k++) {
            X86TLBEntry *e = &cpu->tlb[s][k];
            if (global_too || !cpu->tlbc[s][k].global) {
                tlb_entry_clear(cpu, e);
            }
        }
    }
    cpu->stats.tlb_flushes++;
    if (global_too) {
        cpu->tlb_large_lo = ~0ULL;
        cpu->tlb_large_hi = 0;
    }
}

void x86_tlb_flush_page(X86CPU *cpu, uint32_t lin)
{
    if (lin >= cpu->tlb_large_lo && lin < cpu->tlb_large_hi) {
        x86_tlb_flush(cpu, true);
        return;
    }
    for (int s = 0; s < 2; s++) {
        X86TLBEntry *e = tlb_entry(cpu, lin, s);
        uint32_t page = lin & ~0xfffu;
        if (((e->tag_r & ~TLB_SLOW) == page) || ((e->tag_w & ~TLB_SLOW) == page) ||
            ((x86_tlb_cold(cpu, e)->tag_x & ~TLB_SLOW) == page)) {
            tlb_entry_clear(cpu, e);
        }
    }
}

void x86_tlb_protect_phys(X86CPU *cpu, uint64_t ppage)
{
    for (int s = 0; s < 2; s++) {
        for (unsigned k = 0; k < X86_TLB_SIZE; k++) {
            X86TLBEntry *e = &cpu->tlb[s][k];
            if (cpu->tlbc[s][k].ppage == ppage && !(e->tag_w & TLB_INVALID)) {
                e->tag_w |= TLB_SLOW;
            }
        }
    }
}

/* --- slow-path checks: alignment (#AC) and data breakpoints ------------------ */

/*
 * Alignment checking (SDM vol. 3, 6.15 "Interrupt 17", table 6-7): with
 * CR0.AM, EFLAGS.AC and CPL 3, a data or stack access at an address that is
 * not a multiple of its size faults with #AC(0).  While that holds, tlb_cur
 * points at tlb_none, so every access of the current privilege comes here
 * through the slow paths (the fast paths cost nothing when it is off).
 * Accesses checked are the pieces the instructions access memory in
 * (words, dwords, with the stack); wider operands check their own
 * alignment first (x86_align_check: x87 m64/m80 and save areas, MMX/SSE
 * 64-bit operands, CMPXCHG8B).  Not checked: code fetches, supervisor
 * (implicit) accesses such as descriptor-table, TSS and IDT reads and the
 * stack of an event delivered to an inner ring, 16-byte SSE operands
 * (#GP for the aligned forms, none for MOVUPS/MOVDQU), FXSAVE/FXRSTOR
 * (#GP), packed BCD and byte accesses.
 */
void x86_update_mem_checks(X86CPU *cpu)
{
    bool ac = (cpu->cr0 & CR0_AM) && (cpu->eflags & FL_AC) && cpu->cpl == 3;
    cpu->mem_checks = (ac ? MEMCHK_ALIGN : 0) | (cpu->dbg_data ? MEMCHK_DATA_BP : 0);
    cpu->ac_suspended = 0;
    cpu->tlb_cur = ac ? cpu->tlb_none : cpu->tlb[cpu->mmu_idx];
}

void x86_align_fault(X86CPU *cpu)
{
    x86_raise(cpu, EXC_AC, 0);
}

void x86_mem_check(X86CPU *cpu, uint32_t lin, unsigned size, int idx, bool write)
{
    if ((cpu->mem_checks & MEMCHK_ALIGN) && idx == 1 && (lin & (size - 1))) {
        x86_align_fault(cpu);
    }
    if (cpu->mem_checks & MEMCHK_DATA_BP) {
        x86_dbg_data(cpu, lin, size, write);
    }
}

/* --- physical memory ------------------------------------------------------ */

static void *phys_ptr(X86CPU *cpu, uint64_t pa, unsigned len, bool write)
{
    return as_ram_ptr(cpu->bus.as, pa, len, write);
}

uint32_t x86_phys_ld32(X86CPU *cpu, uint64_t pa)
{
    void *p = phys_ptr(cpu, pa, 4, false);
    uint32_t v;
    if (p) {
        return ld32u(p);
    }
    as_read(cpu->bus.as, pa, &v, 4);
    return v;
}

uint64_t x86_phys_ld64(X86CPU *cpu, uint64_t pa)
{
    void *p = phys_ptr(cpu, pa, 8, false);
    uint64_t v;
    if (p) {
        memcpy(&v, p, 8);
        return v;
    }
    as_read(cpu->bus.as, pa, &v, 8);
    return v;
}

void x86_phys_st32(X86CPU *cpu, uint64_t pa, uint32_t v)
{
    void *p = phys_ptr(cpu, pa, 4, true);
    if (x86_code_page_has_code(cpu, pa & ~0xfffULL)) {
        x86_code_write(cpu, pa, 4);
    }
    if (p) {
        st32u(p, v);
    } else {
        as_write(cpu->bus.as, pa, &v, 4);
    }
}

void x86_phys_st64(X86CPU *cpu, uint64_t pa, uint64_t v)
{
    void *p = phys_ptr(cpu, pa, 8, true);
    if (x86_code_page_has_code(cpu, pa & ~0xfffULL)) {
        x86_code_write(cpu, pa, 8);
    }
    if (p) {
        memcpy(p, &v, 8);
    } else {
        as_write(cpu->bus.as, pa, &v, 8);
    }
}

/* --- page walk -------------------------------------------------------------- */

typedef struct Walk {
    uint64_t pa;            /* physical page address */
    bool user, writable, exec, dirty, global, large;
} Walk;

static void NORETURN page_fault(X86CPU *cpu, uint32_t lin, uint32_t err)
{
    cpu->cr2 = lin;
    x86_raise(cpu, EXC_PF, (int)err);
}

#define PAE_ADDR_MASK   0x0000000ffffff000ULL

static bool access_ok(X86CPU *cpu, const Walk *w, int acc, int idx)
{
    if (idx == 1 && !w->user) {
        return false;
    }
    if (acc == ACC_W && !w->writable && (idx == 1 || (cpu->cr0 & CR0_WP))) {
        return false;
    }
    if (acc == ACC_X && !w->exec) {
        return false;
    }
    return true;
}

static uint32_t pf_code(X86CPU *cpu, int acc, int idx, bool present)
{
    uint32_t err = present ? PFEC_P : 0;
    if (acc == ACC_W) {
        err |= PFEC_W;
    }
    if (idx == 1) {
        err |= PFEC_U;
    }
    if (acc == ACC_X && (cpu->cr4 & CR4_PAE) && (cpu->efer & X86_EFER_NXE)) {
        err |= PFEC_I;
    }
    return err;
}

/* Set A (and D) bits in a 32-bit entry when they are not yet set. */
static void update32(X86CPU *cpu, uint64_t pa, uint32_t ent, uint32_t bits)
{
    if ((ent & bits) != bits) {
        x86_phys_st32(cpu, pa, ent | bits);
    }
}

static void update64(X86CPU *cpu, uint64_t pa, uint64_t ent, uint64_t bits)
{
    if ((ent & bits) != bits) {
        x86_phys_st64(cpu, pa, ent | bits);
    }
}

static void walk32(X86CPU *cpu, uint32_t lin, int acc, int idx, Walk *w)
{
    uint32_t a20 = cpu->a20_mask;
    uint64_t pde_pa = ((cpu->cr3 & 0xfffff000u) | ((lin >> 20) & 0xffc)) & a20;
    uint32_t pde = x86_phys_ld32(cpu, pde_pa);

    if (!(pde & PTE_P)) {
        page_fault(cpu, lin, pf_code(cpu, acc, idx, false));
    }
    if ((pde & PTE_PS) && (cpu->cr4 & CR4_PSE)) {
        w->user = pde & PTE_U;
        w->writable = pde & PTE_W;
        w->exec = true;
        if (!access_ok(cpu, w, acc, idx)) {
            page_fault(cpu, lin, pf_code(cpu, acc, idx, true));
        }
        update32(cpu, pde_pa, pde, PTE_A | (acc == ACC_W ? PTE_D : 0));
        w->dirty = (pde & PTE_D) || acc == ACC_W;
        w->global = (pde & PTE_G) && (cpu->cr4 & CR4_PGE);
        w->large = true;
        w->pa = ((pde & 0xffc00000u) | (lin & 0x003ff000u)) & a20;
        return;
    }
    uint64_t pte_pa = ((pde & 0xfffff000u) | ((lin >> 10) & 0xffc)) & a20;
    uint32_t pte = x86_phys_ld32(cpu, pte_pa);
    if (!(pte & PTE_P)) {
        page_fault(cpu, lin, pf_code(cpu, acc, idx, false));
    }
    w->user = pde & pte & PTE_U;
    w->writable = pde & pte & PTE_W;
    w->exec = true;
    if (!access_ok(cpu, w, acc, idx)) {
        page_fault(cpu, lin, pf_code(cpu, acc, idx, true));
    }
    update32(cpu, pde_pa, pde, PTE_A);
    update32(cpu, pte_pa, pte, PTE_A | (acc == ACC_W ? PTE_D : 0));
    w->dirty = (pte & PTE_D) || acc == ACC_W;
    w->global = (pte & PTE_G) && (cpu->cr4 & CR4_PGE);
    w->large = false;
    w->pa = (pte & 0xfffff000u) & a20;
}

static void walk_pae(X86CPU *cpu, uint32_t lin, int acc, int idx, Walk *w)
{
    uint64_t a20 = (uint64_t)(int64_t)(int32_t)cpu->a20_mask;
    bool nxe = cpu->efer & X86_EFER_NXE;
    uint64_t rsvd = 0xfff0000000000000ULL & ~(nxe ? PTE_NX : 0);
    uint64_t rsvd_hi = 0x000ffff000000000ULL;   /* above MAXPHYADDR = 36 */
    uint64_t pdpte = cpu->pdpte[lin >> 30];

    if (!(pdpte & PTE_P)) {
        page_fault(cpu, lin, pf_code(cpu, acc, idx, false));
    }
    uint64_t pde_pa = ((pdpte & PAE_ADDR_MASK) | ((lin >> 18) & 0xff8)) & a20;
    uint64_t pde = x86_phys_ld64(cpu, pde_pa);
    if (!(pde & PTE_P)) {
        page_fault(cpu, lin, pf_code(cpu, acc, idx, false));
    }
    if ((pde & (rsvd | rsvd_hi)) || ((pde & PTE_PS) && (pde & 0x1fe000ULL))) {
        page_fault(cpu, lin, pf_code(cpu, acc, idx, true) | PFEC_RSVD);
    }
    if (pde & PTE_PS) {
        w->user = pde & PTE_U;
        w->writable = pde & PTE_W;
        w->exec = !(nxe && (pde & PTE_NX));
        if (!access_ok(cpu, w, acc, idx)) {
            page_fault(cpu, lin, pf_code(cpu, acc, idx, true));
        }
        update64(cpu, pde_pa, pde, PTE_A | (acc == ACC_W ? PTE_D : 0));
        w->dirty = (pde & PTE_D) || acc == ACC_W;
        w->global = (pde & PTE_G) && (cpu->cr4 & CR4_PGE);
        w->large = true;
        w->pa = ((pde & 0x0000000fffe00000ULL) | (lin & 0x001ff000u)) & a20;
        return;
    }
    uint64_t pte_pa = ((pde & PAE_ADDR_MASK) | ((lin >> 9) & 0xff8)) & a20;
    uint64_t pte = x86_phys_ld64(cpu, pte_pa);
    if (!(pte & PTE_P)) {
        page_fault(cpu, lin, pf_code(cpu, acc, idx, false));
    }
    if (pte & (rsvd | rsvd_hi)) {
        page_fault(cpu, lin, pf_code(cpu, acc, idx, true) | PFEC_RSVD);
    }
    w->user = pde & pte & PTE_U;
    w->writable = pde & pte & PTE_W;
    w->exec = !(nxe && ((pde | pte) & PTE_NX));
    if (!access_ok(cpu, w, acc, idx)) {
        page_fault(cpu, lin, pf_code(cpu, acc, idx, true));
    }
    update64(cpu, pde_pa, pde, PTE_A);
    update64(cpu, pte_pa, pte, PTE_A | (acc == ACC_W ? PTE_D : 0));
    w->dirty = (pte & PTE_D) || acc == ACC_W;
    w->global = (pte & PTE_G) && (cpu->cr4 & CR4_PGE);
    w->large = false;
    w->pa = (pte & PAE_ADDR_MASK) & a20;
}

X86TLBEntry *x86_tlb_fill(X86CPU *cpu, uint32_t lin, int acc, int idx)
{
    Walk w;
    uint32_t page = lin & ~0xfffu;
    X86TLBEntry *e = tlb_entry(cpu, lin, idx);

    if (cpu->cr0 & CR0_PG) {
        if (cpu->cr4 & CR4_PAE) {
            walk_pae(cpu, lin, acc, idx, &w);
        } else {
            walk32(cpu, lin, acc, idx, &w);
        }
        if (w.large) {
            uint64_t lo = lin & ((cpu->cr4 & CR4_PAE) ? ~0x1fffffu : ~0x3fffffu);
            uint64_t hi = lo + ((cpu->cr4 & CR4_PAE) ? 0x200000u : 0x400000u);
            if (lo < cpu->tlb_large_lo) {
                cpu->tlb_large_lo = lo;
            }
            if (hi > cpu->tlb_large_hi) {
                cpu->tlb_large_hi = hi;
            }
        }
    } else {
        w = (Walk){ .pa = page & cpu->a20_mask, .user = true, .writable = true,
                    .exec = true, .dirty = true };
    }

    const MemRegion *r = as_find(cpu->bus.as, w.pa);
    bool host = r && r->kind != REGION_MMIO && w.pa - r->base + 4096 <= r->size;
    bool ram = host && r->kind == REGION_RAM;

    X86TLBCold *c = x86_tlb_cold(cpu, e);
    c->ppage = w.pa;
    c->global = w.global;
    c->user_page = w.user;
    c->is_ram = ram;
    c->is_rom = host && !ram;
    e->addend = host ? (uintptr_t)(r->host + (w.pa - r->base)) - page : 0;

    /* Read: always allowed once the walk succeeded for a read. */
    bool can_read = idx == 0 || w.user;
    bool can_write = (idx == 0 || w.user) &&
                     (w.writable || (idx == 0 && !(cpu->cr0 & CR0_WP))) && w.dirty;
    e->tag_r = can_read ? (page | (host ? 0 : TLB_SLOW)) : TLB_INVALID;
    c->tag_x = (can_read && w.exec) ? (page | (host ? 0 : TLB_SLOW)) : TLB_INVALID;
    if (can_write) {
        bool slow = !ram || x86_code_page_has_code(cpu, w.pa);
        e->tag_w = page | (slow ? TLB_SLOW : 0);
    } else {
        e->tag_w = TLB_INVALID;
    }
    if (unlikely(cpu->dbg_data)) {
        /* Pages holding a data breakpoint: accesses go through the slow
         * paths, which check them. */
        if (!(e->tag_r & TLB_INVALID) && x86_dbg_page_slow(cpu, page, false)) {
            e->tag_r |= TLB_SLOW;
        }
        if (!(e->tag_w & TLB_INVALID) && x86_dbg_page_slow(cpu, page, true)) {
            e->tag_w |= TLB_SLOW;
        }
    }
    return e;
}

static inline bool tag_match(uint32_t tag, uint32_t lin)
{
    return (tag & ~TLB_SLOW) == (lin & ~0xfffu);
}

/* --- slow paths --------------------------------------------------------------- */

static uint32_t mmio_read(X86CPU *cpu, uint64_t pa, unsigned size)
{
    uint32_t v;
    if (cpu->bus.mmio_read) {
        v = cpu->bus.mmio_read(cpu->bus.opaque, pa, size);
    } else {
        v = as_mmio_read(cpu->bus.as, pa, size);
    }
    x86_check_as_generation(cpu);
    return v;
}

static void mmio_write(X86CPU *cpu, uint64_t pa, uint32_t v, unsigned size)
{
    if (cpu->bus.mmio_write) {
        cpu->bus.mmio_write(cpu->bus.opaque, pa, v, size);
    } else {
        as_mmio_write(cpu->bus.as, pa, v, size);
    }
    x86_check_as_generation(cpu);
}

/* One access within a page. */
static uint32_t ld_page(X86CPU *cpu, uint32_t lin, unsigned size, int idx)
{
    X86TLBEntry *e = tlb_entry(cpu, lin, idx);
    if (!tag_match(e->tag_r, lin)) {
        e = x86_tlb_fill(cpu, lin, ACC_R, idx);
    }
    if (e->addend) {
        uint8_t *p = (uint8_t *)(e->addend + lin);
        switch (size) {
        case 1: return *p;
        case 2: return ld16u(p);
        default: return ld32u(p);
        }
    }
    return mmio_read(cpu, x86_tlb_cold(cpu, e)->ppage | (lin & 0xfff), size);
}

static X86TLBEntry *translate_w(X86CPU *cpu, uint32_t lin, int idx)
{
    X86TLBEntry *e = tlb_entry(cpu, lin, idx);
    if (!tag_match(e->tag_w, lin)) {
        e = x86_tlb_fill(cpu, lin, ACC_W, idx);
    }
    return e;
}

static void st_page(X86CPU *cpu, X86TLBEntry *e, uint32_t lin, uint32_t v,
                    unsigned size)
{
    X86TLBCold *c = x86_tlb_cold(cpu, e);
    uint64_t pa = c->ppage | (lin & 0xfff);
    if (c->is_ram) {
        if (e->tag_w & TLB_SLOW) {
            x86_code_write(cpu, pa, size);
            if (!x86_code_page_has_code(cpu, c->ppage) &&
                !(cpu->dbg_data && x86_dbg_page_slow(cpu, lin & ~0xfffu, true))) {
                e->tag_w &= ~TLB_SLOW;
            }
        }
        uint8_t *p = (uint8_t *)(e->addend + lin);
        switch (size) {
        case 1: *p = v; break;
        case 2: st16u(p, v); break;
        default: st32u(p, v); break;
        }
    } else if (!c->is_rom) {
        mmio_write(cpu, pa, v, size);
    }
}

uint32_t x86_ld_slow(X86CPU *cpu, uint32_t lin, unsigned size, int idx)
{
    if (unlikely(cpu->mem_checks)) {
        x86_mem_check(cpu, lin, size, idx, false);
    }
    if (likely((lin & 0xfff) + size <= 0x1000)) {
        return ld_page(cpu, lin, size, idx);
    }
    uint32_t v = 0;
    for (unsigned k = 0; k < size; k++) {
        v |= ld_page(cpu, lin + k, 1, idx) << (8 * k);
    }
    return v;
}

void x86_probe_write(X86CPU *cpu, uint32_t lin, unsigned size, int idx)
{
    translate_w(cpu, lin, idx);
    if ((lin & 0xfff) + size > 0x1000) {
        translate_w(cpu, lin + size - 1, idx);
    }
}

void x86_st_slow(X86CPU *cpu, uint32_t lin, uint32_t v, unsigned size, int idx)
{
    if (unlikely(cpu->mem_checks)) {
        x86_mem_check(cpu, lin, size, idx, true);
    }
    if (likely((lin & 0xfff) + size <= 0x1000)) {
        st_page(cpu, translate_w(cpu, lin, idx), lin, v, size);
        return;
    }
    /* Both pages must be writable before either is written. */
    x86_probe_write(cpu, lin, size, idx);
    for (unsigned k = 0; k < size; k++) {
        st_page(cpu, translate_w(cpu, lin + k, idx), lin + k, (v >> (8 * k)) & 0xff, 1);
    }
}

uint64_t x86_ld64_lin(X86CPU *cpu, uint32_t lin, int idx)
{
    uint64_t lo = x86_ld_slow(cpu, lin, 4, idx);
    uint64_t hi = x86_ld_slow(cpu, lin + 4, 4, idx);
    return lo | (hi << 32);
}

void x86_st64_lin(X86CPU *cpu, uint32_t lin, uint64_t v, int idx)
{
    x86_probe_write(cpu, lin, 8, idx);
    x86_st_slow(cpu, lin, (uint32_t)v, 4, idx);
    x86_st_slow(cpu, lin + 4, (uint32_t)(v >> 32), 4, idx);
}
