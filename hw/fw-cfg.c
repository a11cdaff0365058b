/*
 * QEMU-compatible firmware configuration device on I/O ports (QEMU
 * docs/specs/fw_cfg.rst):
 *
 *   0x510  selector, 16 bits, write-only; selecting resets the data offset
 *   0x511  data, 8 bits: each read returns the next byte of the selected
 *          item, 0 past its end; writes are ignored (as QEMU >= 2.4)
 *   0x514  DMA address, 64 bits big-endian as two 32-bit halves; writing
 *          the low half (0x518) runs the FWCfgDmaAccess at that address.
 *          Reads return the signature "QEMU CFG".
 *
 * Everything the guest hands to the DMA engine is checked: the descriptor
 * must lie in RAM, the transfer's buffer must lie wholly in RAM (ROM is
 * allowed as a source), the length may not wrap; a write must stay inside
 * a writable item.  Failures set the error bit in the control field and
 * change nothing else.
 */
#include <errno.h>
#include <string.h>
#include <glib.h>
#include "hw/fw-cfg.h"
#include "log.h"
#include "vmstate.h"

#define FW_CFG_GENERIC_ENTRIES  (FW_CFG_FILE_FIRST + FW_CFG_FILE_SLOTS)
#define FW_CFG_ARCH_ENTRIES     FW_CFG_FILE_FIRST
#define FW_CFG_KEY_INDEX(k)     ((k) & 0x3fff)

typedef struct FwCfgEntry {
    uint8_t *data;
    uint32_t len;
    bool present;
    bool writable;
    FwCfgWriteFn write_fn;
    void *write_opaque;
} FwCfgEntry;

struct FwCfg {
    AddressSpace *as;
    FwCfgEntry generic[FW_CFG_GENERIC_ENTRIES];
    FwCfgEntry arch[FW_CFG_ARCH_ENTRIES];
    char file_names[FW_CFG_FILE_SLOTS][FW_CFG_MAX_FILE_PATH];
    int nfiles;
    /* Guest-visible state. */
    uint16_t selector;
    uint32_t offset;
    uint8_t dma_addr[8];        /* big-endian, as the guest wrote it */
};

static FwCfgEntry *fw_cfg_entry(FwCfg *f, uint16_t key)
{
    unsigned idx = FW_CFG_KEY_INDEX(key);
    if (key & FW_CFG_ARCH_LOCAL) {
        return idx < FW_CFG_ARCH_ENTRIES ? &f->arch[idx] : NULL;
    }
    return idx < FW_CFG_GENERIC_ENTRIES ? &f->generic[idx] : NULL;
}

static int entry_set(FwCfgEntry *e, const void *data, size_t len)
{
    if (len > UINT32_MAX) {
        return -EFBIG;
    }
    g_free(e->data);
    e->data = len ? g_memdup2(data, len) : NULL;
    e->len = len;
    e->present = true;
    return 0;
}

static void put_be(uint8_t *p, uint64_t v, int n)
{
    for (int i = 0; i < n; i++) {
        p[i] = v >> (8 * (n - 1 - i));
    }
}

static uint64_t get_be(const uint8_t *p, int n)
{
    uint64_t v = 0;
    for (int i = 0; i < n; i++) {
        v = (v << 8) | p[i];
    }
    return v;
}

static void fw_cfg_update_dir(FwCfg *f)
{
    size_t len = 4 + (size_t)f->nfiles * FW_CFG_DIR_ENTRY_SIZE;
    uint8_t *dir = g_malloc0(len);

    put_be(dir, f->nfiles, 4);
    for (int i = 0; i < f->nfiles; i++) {
        uint8_t *e = dir + 4 + i * FW_CFG_DIR_ENTRY_SIZE;
        put_be(e, f->generic[FW_CFG_FILE_FIRST + i].len, 4);
        put_be(e + 4, FW_CFG_FILE_FIRST + i, 2);
        memcpy(e + 8, f->file_names[i], FW_CFG_MAX_FILE_PATH);
    }
    entry_set(&f->generic[FW_CFG_FILE_DIR], dir, len);
    g_free(dir);
}

int fw_cfg_add_bytes(FwCfg *f, uint16_t key, const void *data, size_t len)
{
    FwCfgEntry *e = fw_cfg_entry(f, key);
    if (!e || (key & FW_CFG_WRITE_CHANNEL) ||
        (!(key & FW_CFG_ARCH_LOCAL) && FW_CFG_KEY_INDEX(key) >= FW_CFG_FILE_FIRST) ||
        key == FW_CFG_FILE_DIR) {
        return -EINVAL;
    }
    return entry_set(e, data, len);
}

int fw_cfg_add_i16(FwCfg *f, uint16_t key, uint16_t v)
{
    uint8_t b[2] = { v, v >> 8 };
    return fw_cfg_add_bytes(f, key, b, sizeof(b));
}

int fw_cfg_add_i32(FwCfg *f, uint16_t key, uint32_t v)
{
    uint8_t b[4];
    for (int i = 0; i < 4; i++) {
        b[i] = v >> (8 * i);
    }
    return fw_cfg_add_bytes(f, key, b, sizeof(b));
}

int fw_cfg_add_i64(FwCfg *f, uint16_t key, uint64_t v)
{
    uint8_t b[8];
    for (int i = 0; i < 8; i++) {
        b[i] = v >> (8 * i);
    }
    return fw_cfg_add_bytes(f, key, b, sizeof(b));
}

int fw_cfg_add_string(FwCfg *f, uint16_t key, const char *s)
{
    return fw_cfg_add_bytes(f, key, s, strlen(s) + 1);
}

int fw_cfg_find_file(FwCfg *f, const char *name)
{
    for (int i = 0; i < f->nfiles; i++) {
        if (!strcmp(f->file_names[i], name)) {
            return FW_CFG_FILE_FIRST + i;
        }
    }
    return -ENOENT;
}

int fw_cfg_add_file_writable(FwCfg *f, const char *name, const void *data,
                             size_t len, FwCfgWriteFn fn, void *opaque)
{
    size_t nlen = strlen(name);
    if (nlen == 0 || nlen >= FW_CFG_MAX_FILE_PATH) {
        return -EINVAL;
    }
    int key = fw_cfg_find_file(f, name);
    if (key < 0) {
        if (f->nfiles >= FW_CFG_FILE_SLOTS) {
            return -ENOSPC;
        }
        key = FW_CFG_FILE_FIRST + f->nfiles;
        memset(f->file_names[f->nfiles], 0, FW_CFG_MAX_FILE_PATH);
        memcpy(f->file_names[f->nfiles], name, nlen);
        f->nfiles++;
    }
    FwCfgEntry *e = &f->generic[key];
    int r = entry_set(e, data, len);
    if (r < 0) {
        return r;
    }
    e->writable = fn != NULL;
    e->write_fn = fn;
    e->write_opaque = opaque;
    fw_cfg_update_dir(f);
    return key;
}

int fw_cfg_add_file(FwCfg *f, const char *name, const void *data, size_t len)
{
    return fw_cfg_add_file_writable(f, name, data, len, NULL, NULL);
}

const uint8_t *fw_cfg_item(FwCfg *f, uint16_t key, size_t *len)
{
    FwCfgEntry *e = fw_cfg_entry(f, key);
    if (!e || !e->present) {
        *len = 0;
        return NULL;
    }
    *len = e->len;
    return e->data;
}

static void fw_cfg_select(FwCfg *f, uint16_t key)
{
    f->selector = key;
    f->offset = 0;
}

/* The selected item, or NULL. */
static FwCfgEntry *fw_cfg_current(FwCfg *f)
{
    FwCfgEntry *e = fw_cfg_entry(f, f->selector);
    return e && e->present ? e : NULL;
}

static void fw_cfg_advance(FwCfg *f, uint64_t n)
{
    uint64_t off = (uint64_t)f->offset + n;
    f->offset = off > UINT32_MAX ? UINT32_MAX : off;
}

/* --- traditional interface ----------------------------------------------- */

static uint64_t fw_cfg_port_read(void *opaque, uint64_t off, unsigned size)
{
    FwCfg *f = opaque;
    if (off != 1) {
        return 0;               /* the selector is write-only */
    }
    FwCfgEntry *e = fw_cfg_current(f);
    if (!e || f->offset >= e->len) {
        return 0;
    }
    return e->data[f->offset++];
}

static void fw_cfg_port_write(void *opaque, uint64_t off, uint64_t v, unsigned size)
{
    FwCfg *f = opaque;
    if (off == 0) {
        fw_cfg_select(f, size == 1 ? (uint8_t)v : (uint16_t)v);
    }
    /* Writes to the data port are ignored. */
}

static const IoOps fw_cfg_port_ops = { fw_cfg_port_read, fw_cfg_port_write, 2 };

/* --- DMA ----------------------------------------------------------------- */

/* Is [addr, addr+len) wholly guest RAM (or ROM, when only read)? */
static bool guest_range_ok(AddressSpace *as, uint64_t addr, uint64_t len,
                           bool guest_written)
{
    if (len == 0) {
        return true;
    }
    if (addr + len < addr) {
        return false;
    }
    while (len) {
        const MemRegion *r = as_find(as, addr);
        if (!r || r->kind == REGION_MMIO || (guest_written && r->kind == REGION_ROM)) {
            return false;
        }
        uint64_t n = MIN(len, r->size - (addr - r->base));
        addr += n;
        len -= n;
    }
    return true;
}

static const uint8_t zeros[4096];

/* Item -> guest memory; past the item's end the guest gets zeros. */
static bool dma_read(FwCfg *f, uint64_t addr, uint32_t len)
{
    if (!guest_range_ok(f->as, addr, len, true)) {
        return false;
    }
    FwCfgEntry *e = fw_cfg_current(f);
    uint32_t avail = e && f->offset < e->len ? e->len - f->offset : 0;
    uint32_t n = MIN(len, avail);
    if (n) {
        as_write(f->as, addr, e->data + f->offset, n);
    }
    for (uint32_t done = n; done < len; ) {
        uint32_t k = MIN(len - done, (uint32_t)sizeof(zeros));
        as_write(f->as, addr + done, zeros, k);
        done += k;
    }
    fw_cfg_advance(f, len);
    return true;
}

/* Guest memory -> a writable item, never past its end. */
static bool dma_write(FwCfg *f, uint64_t addr, uint32_t len)
{
    FwCfgEntry *e = fw_cfg_current(f);
    if (!e || !e->writable || f->offset > e->len || len > e->len - f->offset ||
        !guest_range_ok(f->as, addr, len, false)) {
        return false;
    }
    uint32_t off = f->offset;
    if (len) {
        as_read(f->as, addr, e->data + off, len);
    }
    fw_cfg_advance(f, len);
    if (e->write_fn) {
        e->write_fn(e->write_opaque, off, len);
    }
    return true;
}

static void fw_cfg_dma_run(FwCfg *f, uint64_t desc)
{
    uint8_t d[16];

    /* The control word is written back, so the descriptor must be RAM. */
    if (!guest_range_ok(f->as, desc, sizeof(d), true)) {
        vlog("fw_cfg: DMA descriptor at 0x%" G_GINT64_MODIFIER "x is not in RAM; ignored",
             desc);
        return;
    }
    as_read(f->as, desc, d, sizeof(d));
    uint32_t control = get_be(d, 4);
    uint32_t length = get_be(d + 4, 4);
    uint64_t addr = get_be(d + 8, 8);
    bool ok = true;

    if (control & FW_CFG_DMA_CTL_SELECT) {
        fw_cfg_select(f, control >> 16);
    }
    if (control & FW_CFG_DMA_CTL_READ) {
        ok = dma_read(f, addr, length);
    } else if (control & FW_CFG_DMA_CTL_WRITE) {
        ok = dma_write(f, addr, length);
    } else if (control & FW_CFG_DMA_CTL_SKIP) {
        fw_cfg_advance(f, length);
    }
    uint8_t result[4];
    put_be(result, ok ? 0 : FW_CFG_DMA_CTL_ERROR, 4);
    as_write(f->as, desc, result, sizeof(result));
}

static uint64_t fw_cfg_dma_port_read(void *opaque, uint64_t off, unsigned size)
{
    uint8_t sig[8];
    uint64_t v = 0;
    put_be(sig, FW_CFG_DMA_SIGNATURE, 8);
    for (unsigned i = 0; i < size && off + i < 8; i++) {
        v |= (uint64_t)sig[off + i] << (8 * i);
    }
    return v;
}

static void fw_cfg_dma_port_write(void *opaque, uint64_t off, uint64_t v, unsigned size)
{
    FwCfg *f = opaque;
    bool trigger = false;

    /* Port writes put the value's bytes in address order, so the register
     * bytes are exactly what the guest wrote (big-endian). */
    for (unsigned i = 0; i < size && off + i < 8; i++) {
        f->dma_addr[off + i] = v >> (8 * i);
        trigger |= off + i == 7;
    }
    if (trigger) {
        uint64_t desc = get_be(f->dma_addr, 8);
        memset(f->dma_addr, 0, sizeof(f->dma_addr));
        fw_cfg_dma_run(f, desc);
    }
}

static const IoOps fw_cfg_dma_ops = { fw_cfg_dma_port_read, fw_cfg_dma_port_write, 4 };

/* --- life cycle ---------------------------------------------------------- */

/* The items are rebuilt from the configuration at every start; what the
 * guest changed is where it stands in them. */
const VMStateDescription fw_cfg_vmstate = {
    .name = "fw-cfg",
    .version = 1,
    .fields = (const VMStateField[]){
        VMSTATE_UINT16(FwCfg, selector),
        VMSTATE_UINT32(FwCfg, offset),
        VMSTATE_UINT8_ARRAY(FwCfg, dma_addr, 8),
        VMSTATE_END
    },
};

void fw_cfg_reset(FwCfg *f)
{
    fw_cfg_select(f, FW_CFG_SIGNATURE);
    memset(f->dma_addr, 0, sizeof(f->dma_addr));
}

FwCfg *fw_cfg_new(AddressSpace *as)
{
    FwCfg *f = g_new0(FwCfg, 1);
    f->as = as;
    entry_set(&f->generic[FW_CFG_SIGNATURE], "QEMU", 4);
    fw_cfg_add_i32(f, FW_CFG_ID, FW_CFG_VERSION | FW_CFG_VERSION_DMA);
    fw_cfg_update_dir(f);
    as_add_ports(as, "fw-cfg", FW_CFG_PORT_SEL, 2, &fw_cfg_port_ops, f);
    as_add_ports(as, "fw-cfg-dma", FW_CFG_PORT_DMA, 8, &fw_cfg_dma_ops, f);
    fw_cfg_reset(f);
    return f;
}

void fw_cfg_free(FwCfg *f)
{
    if (!f) {
        return;
    }
    as_remove_ports(f->as, FW_CFG_PORT_SEL);
    as_remove_ports(f->as, FW_CFG_PORT_DMA);
    for (int i = 0; i < FW_CFG_GENERIC_ENTRIES; i++) {
        g_free(f->generic[i].data);
    }
    for (int i = 0; i < FW_CFG_ARCH_ENTRIES; i++) {
        g_free(f->arch[i].data);
    }
    g_free(f);
}
