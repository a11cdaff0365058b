/*
 * The decode cache: guest code decoded once into X86Block arrays of
 * pre-decoded instructions, found by guest-physical address, EIP and decode
 * mode, and dropped when the guest writes the code.
 *
 * Each guest-physical page holding decoded code has an X86CodePage with a
 * 64-bit mask of the 64-byte chunks that code covers.  The soft TLB sends
 * writes to such pages through the slow path (TLB_SLOW on tag_w), which calls
 * x86_code_write(); a write touching a covered chunk invalidates every block
 * of the page (self-modifying code), a write elsewhere in the page only costs
 * the slow path.  Invalidated blocks are unlinked at once, their instructions
 * patched to leave the dispatch loop, and freed at the next safe point
 * (x86_code_reap), so an instruction that writes its own block finishes and
 * the block ends after it.
 *
 * Chained successors (X86Insn.chain) only ever point into the same page, and
 * never at a block spanning two pages, so dropping a page's blocks together
 * never leaves a dangling chain.  The cache is bounded: past its limit the
 * whole cache is dropped (at a safe point) and decoding starts afresh.
 *
 * Several CPUs run in turn by one thread may share one cache
 * (x86_cpu_share_code): blocks depend on guest-physical memory and the
 * decode mode only, and the jump cache is validated against the running
 * CPU's own translation.  A page that gets code has its write entries
 * marked slow in the soft TLB of every sharing CPU, so a write by any CPU
 * drops the blocks all of them use.
 */
#include <glib.h>
#include "x86-internal.h"

#define JC_BITS     12
#define JC_SIZE     (1u << JC_BITS)
#define HASH_BITS   15
#define HASH_SIZE   (1u << HASH_BITS)

typedef struct X86CodePage {
    uint64_t ppage;
    uint64_t mask;              /* 64-byte chunks covered by decoded code */
    X86Block *blocks;           /* via page_next[] */
} X86CodePage;

struct X86CodeCache {
    GHashTable *pages;          /* ppage >> 12 -> X86CodePage */
    X86Block *hash[HASH_SIZE];
    X86Block *jc[JC_SIZE];      /* by linear address */
    X86Block *dead;             /* invalidated, freed by x86_code_reap */
    uint64_t bytes, limit;
    bool flush_pending;
    GPtrArray *cpus;            /* the sharing CPUs; NULL: one, unshared */
    struct X86Jit *jit;         /* host code of translated blocks (jit.c) */
    X86Insn tmp[X86_MAX_BLOCK_INSNS + 1];
};

static X86Insn *h_stale(X86CPU *cpu, X86Insn *i)
{
    /* The block was invalidated while it ran: resume from this insn. */
    return x86_goto(cpu, i->eip);
}

X86CodeCache *x86_code_new(void)
{
    X86CodeCache *cc = g_new0(X86CodeCache, 1);
    cc->pages = g_hash_table_new_full(g_direct_hash, g_direct_equal, NULL, g_free);
    cc->limit = 32ULL << 20;
    cc->jit = x86_jit_new();
    return cc;
}

static inline unsigned hash_of(uint64_t phys, uint32_t eip)
{
    uint64_t h = (phys ^ ((uint64_t)eip << 20)) * 0x9e3779b97f4a7c15ULL;
    return (unsigned)(h >> (64 - HASH_BITS));
}

static inline unsigned jc_of(uint32_t lin)
{
    return (lin ^ (lin >> JC_BITS)) & (JC_SIZE - 1);
}

static X86CodePage *page_get(X86CodeCache *cc, uint64_t ppage)
{
    return g_hash_table_lookup(cc->pages, GSIZE_TO_POINTER((gsize)(ppage >> 12)));
}

bool x86_code_page_has_code(X86CPU *cpu, uint64_t ppage)
{
    X86CodePage *p = page_get(cpu->code, ppage);
    return p && p->mask;
}

static uint64_t chunk_bits(uint32_t off, uint32_t len)
{
    uint32_t first = off >> 6, last = (off + len - 1) >> 6;
    if (last > 63) {
        last = 63;
    }
    uint64_t hi = last == 63 ? ~0ULL : ((1ULL << (last + 1)) - 1);
    return hi & ~((1ULL << first) - 1);
}

/* Unlink a block from the hash and page lists; patch it; queue it. */
static void block_kill(X86CodeCache *cc, X86Block *b)
{
    X86Block **pp = &cc->hash[hash_of(b->phys, b->eip)];
    while (*pp && *pp != b) {
        pp = &(*pp)->hash_next;
    }
    if (*pp) {
        *pp = b->hash_next;
    }
    for (int k = 0; k < 2; k++) {
        X86CodePage *pg = b->page[k];
        if (!pg) {
            continue;
        }
        X86Block **q = &pg->blocks;
        while (*q) {
            X86Block *x = *q;
            int xk = x->page[0] == pg ? 0 : 1;
            if (x == b) {
                *q = x->page_next[xk];
                break;
            }
            q = &x->page_next[xk];
        }
        b->page[k] = NULL;
    }
    for (uint32_t n = 0; n <= b->ninsns; n++) {
        b->insns[n].fn = h_stale;
        b->insns[n].chain = NULL;
    }
    /* Its host code is never entered again: chained jumps into it come
     * only from blocks of the same page, which die with it, and running
     * code checks `cached` after every call that could have killed it. */
    b->jit_body = b->jit_chain = b->jit_chain_fast = NULL;
    b->cached = false;
    b->hash_next = cc->dead;
    cc->dead = b;
}

static void jc_purge(X86CodeCache *cc)
{
    for (unsigned k = 0; k < JC_SIZE; k++) {
        if (cc->jc[k] && !cc->jc[k]->cached) {
            cc->jc[k] = NULL;
        }
    }
}

static void page_invalidate(X86CPU *cpu, X86CodePage *pg)
{
    X86CodeCache *cc = cpu->code;
    while (pg->blocks) {
        block_kill(cc, pg->blocks);
    }
    pg->mask = 0;
    jc_purge(cc);
    cpu->stats.code_invalidations++;
}

void x86_code_write(X86CPU *cpu, uint64_t pa, unsigned size)
{
    X86CodePage *pg = page_get(cpu->code, pa & ~0xfffULL);
    if (!pg || !(pg->mask & chunk_bits(pa & 0xfff, size))) {
        return;
    }
    page_invalidate(cpu, pg);
}

void x86_cpu_invalidate_phys(X86CPU *cpu, uint64_t addr, uint64_t len)
{
    uint64_t end = addr + len;
    for (uint64_t pa = addr & ~0xfffULL; pa < end; pa += 4096) {
        X86CodePage *pg = page_get(cpu->code, pa);
        if (pg && pg->mask) {
            uint64_t lo = MAX(pa, addr), hi = MIN(pa + 4096, end);
            if (pg->mask & chunk_bits(lo & 0xfff, hi - lo)) {
                page_invalidate(cpu, pg);
            }
        }
    }
}

void x86_code_flush(X86CPU *cpu)
{
    X86CodeCache *cc = cpu->code;
    GHashTableIter it;
    gpointer v;

    g_hash_table_iter_init(&it, cc->pages);
    while (g_hash_table_iter_next(&it, NULL, &v)) {
        X86CodePage *pg = v;
        while (pg->blocks) {
            block_kill(cc, pg->blocks);
        }
        pg->mask = 0;
    }
    /* Uncached blocks are already on the dead list. */
    memset(cc->jc, 0, sizeof(cc->jc));
    x86_jit_reset(cc->jit);
}

void x86_code_drop_jit(X86CPU *cpu)
{
    GHashTableIter it;
    gpointer v;

    g_hash_table_iter_init(&it, cpu->code->pages);
    while (g_hash_table_iter_next(&it, NULL, &v)) {
        X86CodePage *pg = v;
        for (X86Block *b = pg->blocks; b; b = b->page_next[b->page[0] == pg ? 0 : 1]) {
            b->jit_body = b->jit_chain = b->jit_chain_fast = NULL;
            b->hits = 0;
        }
    }
}

struct X86Jit *x86_code_jit(X86CPU *cpu)
{
    return cpu->code->jit;
}

void x86_cpu_flush_code(X86CPU *cpu)
{
    x86_code_flush(cpu);
    x86_code_reap(cpu);
}

void x86_code_reap(X86CPU *cpu)
{
    X86CodeCache *cc = cpu->code;
    if (!cc->dead) {
        return;
    }
    while (cc->dead) {
        X86Block *b = cc->dead;
        cc->dead = b->hash_next;
        cc->bytes -= b->alloc_size;
        g_free(b);
    }
    /* Pages left without code are dropped from the table. */
    if (g_hash_table_size(cc->pages) > 4096) {
        GHashTableIter it;
        gpointer v;
        g_hash_table_iter_init(&it, cc->pages);
        while (g_hash_table_iter_next(&it, NULL, &v)) {
            X86CodePage *pg = v;
            if (!pg->blocks) {
                g_hash_table_iter_remove(&it);
            }
        }
    }
    cpu->stats.code_bytes = cc->bytes;
}

void x86_code_free(X86CodeCache *cc)
{
    if (!cc) {
        return;
    }
    GHashTableIter it;
    gpointer v;
    g_hash_table_iter_init(&it, cc->pages);
    while (g_hash_table_iter_next(&it, NULL, &v)) {
        X86CodePage *pg = v;
        while (pg->blocks) {
            block_kill(cc, pg->blocks);
        }
    }
    while (cc->dead) {
        X86Block *b = cc->dead;
        cc->dead = b->hash_next;
        g_free(b);
    }
    g_hash_table_destroy(cc->pages);
    if (cc->cpus) {
        g_ptr_array_free(cc->cpus, TRUE);
    }
    x86_jit_free(cc->jit);
    g_free(cc);
}

void x86_code_release(X86CPU *cpu)
{
    X86CodeCache *cc = cpu->code;
    cpu->code = NULL;
    if (cc && cc->cpus) {
        g_ptr_array_remove(cc->cpus, cpu);
        if (cc->cpus->len > 0) {
            return;             /* the others still use it */
        }
    }
    x86_code_free(cc);
}

void x86_cpu_share_code(X86CPU *cpu, X86CPU *with)
{
    X86CodeCache *cc = with->code;
    if (cpu->code == cc) {
        return;
    }
    x86_code_release(cpu);
    if (!cc->cpus) {
        cc->cpus = g_ptr_array_new();
        g_ptr_array_add(cc->cpus, with);
    }
    g_ptr_array_add(cc->cpus, cpu);
    cpu->code = cc;
    /* Write entries made before did not know the shared code pages. */
    x86_tlb_flush(cpu, true);
}

void x86_cpu_set_code_cache_limit(X86CPU *cpu, uint64_t bytes)
{
    cpu->code->limit = bytes < (1u << 20) ? (1u << 20) : bytes;
}

static void page_add_block(X86CPU *cpu, X86Block *b, int k, uint64_t ppage,
                           uint32_t off, uint32_t len)
{
    X86CodeCache *cc = cpu->code;
    X86CodePage *pg = page_get(cc, ppage);
    if (!pg) {
        pg = g_new0(X86CodePage, 1);
        pg->ppage = ppage;
        g_hash_table_insert(cc->pages, GSIZE_TO_POINTER((gsize)(ppage >> 12)), pg);
    }
    bool had_code = pg->mask != 0;
    pg->mask |= chunk_bits(off, len);
    b->page[k] = pg;
    b->page_next[k] = pg->blocks;
    pg->blocks = b;
    if (!had_code) {
        if (cc->cpus) {
            for (guint k = 0; k < cc->cpus->len; k++) {
                x86_tlb_protect_phys(g_ptr_array_index(cc->cpus, k), ppage);
            }
        } else {
            x86_tlb_protect_phys(cpu, ppage);
        }
    }
}

/* Fetch-side translation of the linear address `lin` (may fault). */
static X86TLBEntry *fetch_entry(X86CPU *cpu, uint32_t lin)
{
    X86TLBEntry *e = tlb_entry(cpu, lin, cpu->mmu_idx);
    if ((x86_tlb_cold(cpu, e)->tag_x & ~TLB_SLOW) != (lin & ~0xfffu)) {
        e = x86_tlb_fill(cpu, lin, ACC_X, cpu->mmu_idx);
    }
    return e;
}

static const uint8_t *fetch_ptr(X86CPU *cpu, X86TLBEntry *e, uint32_t lin,
                                uint8_t *buf, unsigned len)
{
    if (e->addend) {
        return (const uint8_t *)(e->addend + lin);
    }
    /* Code in MMIO: read it (the block will not be cached). */
    as_read(cpu->bus.as, x86_tlb_cold(cpu, e)->ppage | (lin & 0xfff), buf, len);
    return buf;
}

static X86Block *block_new(X86CodeCache *cc, int n)
{
    size_t sz = sizeof(X86Block) + (size_t)(n + 1) * sizeof(X86Insn);
    X86Block *b = g_malloc(sz);
    memset(b, 0, sizeof(*b));
    b->alloc_size = sz;
    cc->bytes += sz;
    return b;
}

X86Block *x86_block_lookup(X86CPU *cpu)
{
    X86CodeCache *cc = cpu->code;
    uint32_t eip = cpu->eip, mode = cpu->mode;
    X86Seg *cs = &cpu->seg[R_CS];
    uint32_t lin = cs->base + eip;

    if (unlikely(cpu->dbg_exec) &&
        (eip > cs->limit ||
         (x86_tlb_cold(cpu, tlb_entry(cpu, lin, cpu->mmu_idx))->tag_x & ~TLB_SLOW) !=
             (lin & ~0xfffu))) {
        x86_dbg_fetch_check(cpu, lin);  /* a breakpoint comes before a fetch fault */
    }
    if (unlikely(eip > cs->limit)) {
        x86_raise(cpu, EXC_GP, 0);
    }
    X86TLBEntry *e = fetch_entry(cpu, lin);
    uint64_t pa = x86_tlb_cold(cpu, e)->ppage | (lin & 0xfff);
    unsigned j = jc_of(lin);
    X86Block *b = cc->jc[j];
    if (likely(b && b->phys == pa && b->eip == eip && b->mode == mode)) {
        return b;
    }
    for (b = cc->hash[hash_of(pa, eip)]; b; b = b->hash_next) {
        if (b->phys == pa && b->eip == eip && b->mode == mode) {
            cc->jc[j] = b;
            return b;
        }
    }

    /* Decode a new block. */
    if (cc->bytes > cc->limit) {
        x86_code_flush(cpu);
        x86_code_reap(cpu);
        cpu->stats.code_flushes++;
    }
    bool cacheable = e->addend != 0;
    uint8_t mmio_buf[4096];
    uint32_t page_left = 0x1000 - (lin & 0xfff);
    uint32_t lim_left = cs->limit - eip + 1;      /* 0 means 4 GiB */
    uint32_t avail = page_left;
    if (lim_left && lim_left < avail) {
        avail = lim_left;
    }
    const uint8_t *code = fetch_ptr(cpu, e, lin, mmio_buf, cacheable ? avail : MIN(avail, 16u));
    int max = (mode & BM_SINGLE) ? 1 : X86_MAX_BLOCK_INSNS;
    if (!cacheable) {
        avail = MIN(avail, 16u);
        max = 1;
    }
    uint32_t bytes = 0;
    int n = x86_decode_block(cpu, eip, mode, code, avail, cc->tmp, max, &bytes);
    uint64_t pa2 = ~0ULL;
    if (n == 0) {
        /* The first instruction continues on the next page (or past the
         * limit): decode it alone from a joined buffer. */
        uint8_t buf[16];
        unsigned first = MIN(avail, 15u);
        memcpy(buf, code, first);
        unsigned more = 15 - first;
        if (avail == page_left && (!lim_left || lim_left > page_left)) {
            unsigned lim_more = lim_left ? lim_left - page_left : 15;
            more = MIN(more, lim_more);
            if (more) {
                X86TLBEntry *e2 = fetch_entry(cpu, lin + page_left);
                uint8_t mb[16];
                const uint8_t *c2 = fetch_ptr(cpu, e2, lin + page_left, mb, more);
                memcpy(buf + first, c2, more);
                pa2 = x86_tlb_cold(cpu, e2)->ppage;
                cacheable = cacheable && e2->addend != 0;
            }
        } else {
            more = 0;
        }
        n = x86_decode_block(cpu, eip, mode, buf, first + more, cc->tmp, 1, &bytes);
        if (n == 0) {
            /* Still incomplete: beyond the CS limit (#GP) or a 15+ byte
             * instruction (decoded as #GP by the decoder). */
            x86_raise(cpu, EXC_GP, 0);
        }
        if (bytes <= first) {
            pa2 = ~0ULL;
        }
    }

    if (unlikely(cpu->dbg_exec)) {
        n = x86_dbg_mark_block(cpu, cc->tmp, n, &bytes);     /* instruction breakpoints */
    }
    b = block_new(cc, n);
    b->phys = pa;
    b->eip = eip;
    b->mode = mode;
    b->ninsns = n;
    b->size = bytes;
    memcpy(b->insns, cc->tmp, (size_t)(n + 1) * sizeof(X86Insn));
    cpu->stats.blocks_decoded++;
    if (!cacheable) {
        b->hash_next = cc->dead;
        cc->dead = b;
        return b;
    }
    uint32_t off = lin & 0xfff;
    page_add_block(cpu, b, 0, pa & ~0xfffULL, off, MIN(bytes, 0x1000 - off));
    if (pa2 != ~0ULL) {
        page_add_block(cpu, b, 1, pa2, 0, bytes - (0x1000 - off));
    }
    b->cached = true;
    unsigned h = hash_of(pa, eip);
    b->hash_next = cc->hash[h];
    cc->hash[h] = b;
    cc->jc[j] = b;
    cpu->stats.code_bytes = cc->bytes;
    return b;
}

X86Block *x86_block_find(X86CPU *cpu)
{
    X86CodeCache *cc = cpu->code;
    uint32_t eip = cpu->eip, mode = cpu->mode;
    X86Seg *cs = &cpu->seg[R_CS];
    uint32_t lin = cs->base + eip;

    if (unlikely(eip > cs->limit)) {
        return NULL;
    }
    X86TLBEntry *e = tlb_entry(cpu, lin, cpu->mmu_idx);
    X86TLBCold *c = x86_tlb_cold(cpu, e);
    if ((c->tag_x & ~TLB_SLOW) != (lin & ~0xfffu)) {
        return NULL;
    }
    uint64_t pa = c->ppage | (lin & 0xfff);
    unsigned j = jc_of(lin);
    X86Block *b = cc->jc[j];
    if (likely(b && b->phys == pa && b->eip == eip && b->mode == mode)) {
        return b;
    }
    for (b = cc->hash[hash_of(pa, eip)]; b; b = b->hash_next) {
        if (b->phys == pa && b->eip == eip && b->mode == mode) {
            cc->jc[j] = b;
            return b;
        }
    }
    return NULL;
}

X86Block *x86_block_chain_target(X86CPU *cpu, X86Block *from, uint32_t eip)
{
    X86CodeCache *cc = cpu->code;
    uint32_t cs_base = cpu->seg[R_CS].base;
    uint32_t from_lin = cs_base + from->eip, lin = cs_base + eip;

    if (!from->cached || from->page[1] || ((from_lin ^ lin) & ~0xfffu) ||
        (from->mode & BM_SINGLE) || eip > cpu->seg[R_CS].limit) {
        return NULL;
    }
    uint64_t pa = (from->phys & ~0xfffULL) | (lin & 0xfff);
    for (X86Block *b = cc->hash[hash_of(pa, eip)]; b; b = b->hash_next) {
        if (b->phys == pa && b->eip == eip && b->mode == cpu->mode && !b->page[1]) {
            return b;
        }
    }
    return NULL;
}

X86Insn *x86_goto_chain_slow(X86CPU *cpu, X86Insn *i, uint32_t eip)
{
    if (!i->chain) {
        i->chain = x86_block_chain_target(cpu, cpu->cur_block, eip);
    }
    return NULL;
}
