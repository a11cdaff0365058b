/*
 * Multiboot v1 loader (Multiboot Specification 0.6.96).
 *
 * The header (3.1.1) is searched in the first 8192 bytes, 32-bit aligned;
 * magic + flags + checksum must be 0 mod 2^32.  With flag 16 the a.out
 * kludge fields (3.1.3) say where to load, else the image must be a 32-bit
 * x86 ELF executable whose PT_LOAD segments go to their physical addresses
 * (the entry point is translated from virtual to physical when it lies in
 * a segment).  Of the required flags (bits 0-15) vmkemu honours page
 * alignment of modules (it always aligns them) and memory information (it
 * always gives it); a kernel that asks for a video mode (bit 2) or for an
 * unknown feature is refused, as 3.1.2 requires.
 *
 * Modules are placed page-aligned after the kernel's last byte (its bss
 * included), then one block with the information structure, the module
 * array, the memory map (the machine's e820 map), a flat GDT, the command
 * lines and the boot loader name "vmkemu".  Machine state (3.2): EAX =
 * 0x2BADB002, EBX = the information structure, flat 32-bit protected mode,
 * paging and interrupts off.
 */
#include <errno.h>
#include <stdarg.h>
#include <string.h>
#include "hw/multiboot.h"

#define PAGE 4096ULL

typedef struct Segment {
    uint64_t file_off, paddr, filesz, memsz;
} Segment;

static uint32_t rd32(const uint8_t *p)
{
    return p[0] | p[1] << 8 | p[2] << 16 | (uint32_t)p[3] << 24;
}

static uint16_t rd16(const uint8_t *p)
{
    return p[0] | p[1] << 8;
}

static void wr32(uint8_t *p, uint32_t v)
{
    for (int i = 0; i < 4; i++) {
        p[i] = v >> (8 * i);
    }
}

static void wr64(uint8_t *p, uint64_t v)
{
    for (int i = 0; i < 8; i++) {
        p[i] = v >> (8 * i);
    }
}

static int fail(GError **errp, const char *fmt, ...) G_GNUC_PRINTF(2, 3);
static int fail(GError **errp, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    gchar *msg = g_strdup_vprintf(fmt, ap);
    va_end(ap);
    g_set_error_literal(errp, G_FILE_ERROR, G_FILE_ERROR_INVAL, msg);
    g_free(msg);
    return -EINVAL;
}

int multiboot_find_header(const uint8_t *img, size_t len)
{
    int bad = -1;
    size_t limit = MIN(len, (size_t)MULTIBOOT_SEARCH);
    for (size_t off = 0; off + 12 <= limit; off += 4) {
        if (rd32(img + off) != MULTIBOOT_HEADER_MAGIC) {
            continue;
        }
        uint32_t sum = rd32(img + off) + rd32(img + off + 4) + rd32(img + off + 8);
        if (sum == 0) {
            return (int)off;
        }
        bad = -2;
    }
    return bad;
}

gchar **multiboot_split_modules(const char *spec)
{
    GPtrArray *items = g_ptr_array_new();
    GString *cur = g_string_new(NULL);
    for (const char *p = spec; ; p++) {
        if (*p == ',' && p[1] == ',') {
            g_string_append_c(cur, ',');
            p++;
        } else if (*p == ',' || *p == '\0') {
            if (cur->len) {
                g_ptr_array_add(items, g_strdup(cur->str));
            }
            g_string_truncate(cur, 0);
            if (*p == '\0') {
                break;
            }
        } else {
            g_string_append_c(cur, *p);
        }
    }
    g_string_free(cur, TRUE);
    g_ptr_array_add(items, NULL);
    return (gchar **)g_ptr_array_free(items, FALSE);
}

/* The a.out kludge: one segment from the header's address fields. */
static int segments_from_kludge(const MultibootArgs *a, size_t hdr, GArray *segs,
                                uint32_t *entry, GError **errp)
{
    const uint8_t *h = a->kernel + hdr;
    const char *name = a->kernel_name;
    if (hdr + 32 > a->kernel_size) {
        return fail(errp, "-kernel %s: Multiboot header at offset %zu is cut short "
                    "(flag 16 needs 32 bytes)", name, hdr);
    }
    uint32_t header_addr = rd32(h + 12), load_addr = rd32(h + 16);
    uint32_t load_end = rd32(h + 20), bss_end = rd32(h + 24);
    *entry = rd32(h + 28);
    if (load_addr > header_addr || header_addr - load_addr > hdr) {
        return fail(errp, "-kernel %s: Multiboot header: load_addr 0x%x and "
                    "header_addr 0x%x do not match the header's file offset %zu",
                    name, load_addr, header_addr, hdr);
    }
    uint64_t file_off = hdr - (header_addr - load_addr);
    uint64_t filesz = load_end ? (uint64_t)load_end - load_addr
                               : a->kernel_size - file_off;
    if (load_end && load_end < load_addr) {
        return fail(errp, "-kernel %s: Multiboot header: load_end_addr 0x%x is below "
                    "load_addr 0x%x", name, load_end, load_addr);
    }
    if (file_off + filesz > a->kernel_size) {
        return fail(errp, "-kernel %s: Multiboot header asks for %" G_GUINT64_FORMAT
                    " bytes from offset %" G_GUINT64_FORMAT ", past the end of the "
                    "file (%zu bytes)", name, filesz, file_off, a->kernel_size);
    }
    uint64_t memsz = filesz;
    if (bss_end) {
        if (bss_end < load_addr + filesz) {
            return fail(errp, "-kernel %s: Multiboot header: bss_end_addr 0x%x is "
                        "below the end of the loaded image", name, bss_end);
        }
        memsz = (uint64_t)bss_end - load_addr;
    }
    Segment s = { file_off, load_addr, filesz, memsz };
    g_array_append_val(segs, s);
    return 0;
}

/* ELF32 (System V ABI, i386 supplement): the PT_LOAD program headers. */
static int segments_from_elf(const MultibootArgs *a, GArray *segs,
                             uint32_t *entry, GError **errp)
{
    const uint8_t *e = a->kernel;
    size_t len = a->kernel_size;
    const char *name = a->kernel_name;

    if (len < 52 || memcmp(e, "\177ELF", 4) != 0) {
        return fail(errp, "-kernel %s: Multiboot kernel is not ELF and has no "
                    "address fields (header flag 16)", name);
    }
    if (e[4] == 2) {
        return fail(errp, "-kernel %s: 64-bit ELF; a Multiboot v1 kernel must be "
                    "32-bit ELF (or use the header's address fields)", name);
    }
    if (e[4] != 1 || e[5] != 1 || rd16(e + 18) != 3 || rd16(e + 16) != 2) {
        return fail(errp, "-kernel %s: not a little-endian i386 ELF executable", name);
    }
    uint32_t phoff = rd32(e + 28);
    uint16_t phentsize = rd16(e + 42), phnum = rd16(e + 44);
    *entry = rd32(e + 24);
    if (phnum == 0 || phentsize < 32 ||
        (uint64_t)phoff + (uint64_t)phnum * phentsize > len) {
        return fail(errp, "-kernel %s: ELF program headers are missing or cut short",
                    name);
    }
    bool entry_mapped = false;
    uint32_t entry_phys = *entry;
    for (unsigned i = 0; i < phnum; i++) {
        const uint8_t *ph = e + phoff + (size_t)i * phentsize;
        if (rd32(ph) != 1) {            /* PT_LOAD */
            continue;
        }
        uint64_t off = rd32(ph + 4), vaddr = rd32(ph + 8), paddr = rd32(ph + 12);
        uint64_t filesz = rd32(ph + 16), memsz = rd32(ph + 20);
        if (memsz == 0) {
            continue;
        }
        if (filesz > memsz || off + filesz > len || paddr + memsz > (1ULL << 32)) {
            return fail(errp, "-kernel %s: ELF segment %u is malformed (offset 0x%"
                        G_GINT64_MODIFIER "x, %" G_GUINT64_FORMAT " of %" G_GUINT64_FORMAT
                        " bytes at 0x%" G_GINT64_MODIFIER "x)", name, i, off, filesz,
                        memsz, paddr);
        }
        if (!entry_mapped && *entry >= vaddr && *entry - vaddr < memsz) {
            entry_phys = *entry - vaddr + paddr;
            entry_mapped = true;
        }
        Segment s = { off, paddr, filesz, memsz };
        g_array_append_val(segs, s);
    }
    if (segs->len == 0) {
        return fail(errp, "-kernel %s: ELF file has nothing to load", name);
    }
    *entry = entry_phys;
    return 0;
}

/* Lowest address >= *cursor, aligned, where `size` bytes of RAM below
 * 4 GiB are free; moves the cursor past them. */
static bool alloc_ram(const E820Map *map, uint64_t *cursor, uint64_t size,
                      uint64_t align, uint64_t *out)
{
    for (int i = 0; i < map->nr; i++) {
        const E820Entry *e = &map->entry[i];
        if (e->type != E820_RAM) {
            continue;
        }
        uint64_t at = MAX(*cursor, e->addr);
        at = (at + align - 1) & ~(align - 1);
        uint64_t end = e->addr + e->size;
        if (at + size <= end && at + size <= (1ULL << 32)) {
            *out = at;
            *cursor = at + size;
            return true;
        }
    }
    return false;
}

int multiboot_load(AddressSpace *as, const MultibootArgs *a, X86Registers *regs,
                   MultibootLayout *layout, GError **errp)
{
    const char *name = a->kernel_name ? a->kernel_name : "kernel";
    int hdr = multiboot_find_header(a->kernel, a->kernel_size);
    if (hdr == -2) {
        return fail(errp, "-kernel %s: Multiboot header has a bad checksum", name);
    }
    if (hdr < 0) {
        return fail(errp, "-kernel %s: no Multiboot header in the first 8 KiB", name);
    }
    uint32_t flags = rd32(a->kernel + hdr + 4);
    if (flags & MULTIBOOT_VIDEO_MODE) {
        return fail(errp, "-kernel %s: the Multiboot kernel requires a video mode "
                    "(header flag 2), which vmkemu cannot provide", name);
    }
    uint32_t unknown = flags & 0xffff & ~(MULTIBOOT_PAGE_ALIGN | MULTIBOOT_MEMORY_INFO);
    if (unknown) {
        return fail(errp, "-kernel %s: the Multiboot kernel requires features vmkemu "
                    "does not know (header flags 0x%04x)", name, unknown);
    }

    MultibootArgs named = *a;
    named.kernel_name = name;
    GArray *segs = g_array_new(FALSE, FALSE, sizeof(Segment));
    uint32_t entry = 0;
    int r = (flags & MULTIBOOT_AOUT_KLUDGE) ?
            segments_from_kludge(&named, hdr, segs, &entry, errp) :
            segments_from_elf(&named, segs, &entry, errp);
    if (r < 0) {
        g_array_unref(segs);
        return r;
    }

    uint64_t lo = UINT64_MAX, hi = 0;
    for (guint i = 0; i < segs->len; i++) {
        const Segment *s = &g_array_index(segs, Segment, i);
        if (!e820_contains(a->e820, s->paddr, s->memsz, E820_RAM)) {
            r = fail(errp, "-kernel %s: the kernel does not fit: %" G_GUINT64_FORMAT
                     " bytes at 0x%" G_GINT64_MODIFIER "x are not all guest RAM "
                     "(give more memory with -m)", name, s->memsz, s->paddr);
            goto out;
        }
        lo = MIN(lo, s->paddr);
        hi = MAX(hi, s->paddr + s->memsz);
    }
    if (entry < lo || entry >= hi) {
        r = fail(errp, "-kernel %s: entry point 0x%x lies outside the loaded image "
                 "(0x%" G_GINT64_MODIFIER "x-0x%" G_GINT64_MODIFIER "x)", name, entry,
                 lo, hi);
        goto out;
    }

    /* Place the modules, then the information block. */
    uint64_t cursor = hi;
    uint64_t *mod_addr = g_new0(uint64_t, a->nmods + 1);
    for (int i = 0; i < a->nmods; i++) {
        if (!alloc_ram(a->e820, &cursor, MAX(a->mods[i].size, (size_t)1), PAGE,
                       &mod_addr[i])) {
            r = fail(errp, "-initrd: module %d (%s, %zu KiB) does not fit in RAM "
                     "below 4 GiB after the kernel; give more memory with -m", i + 1,
                     a->mods[i].cmdline, (a->mods[i].size + 1023) / 1024);
            g_free(mod_addr);
            goto out;
        }
    }

    /* The block: info | modules | mmap | GDT | strings. */
    GByteArray *blk = g_byte_array_new();
    g_byte_array_set_size(blk, MBI_SIZE);
    uint32_t mods_off = blk->len;
    g_byte_array_set_size(blk, mods_off + MB_MOD_SIZE * a->nmods);
    uint32_t mmap_off = blk->len;
    g_byte_array_set_size(blk, mmap_off + MB_MMAP_ENTRY_SIZE * a->e820->nr);
    uint32_t gdt_off = (blk->len + 7) & ~7u;
    g_byte_array_set_size(blk, gdt_off + 32);
    uint32_t cmdline_off = blk->len;
    const char *cmdline = a->cmdline ? a->cmdline : name;
    g_byte_array_append(blk, (const guint8 *)cmdline, strlen(cmdline) + 1);
    uint32_t *mod_str_off = g_new0(uint32_t, a->nmods + 1);
    for (int i = 0; i < a->nmods; i++) {
        mod_str_off[i] = blk->len;
        const char *s = a->mods[i].cmdline ? a->mods[i].cmdline : "";
        g_byte_array_append(blk, (const guint8 *)s, strlen(s) + 1);
    }
    uint32_t name_off = blk->len;
    g_byte_array_append(blk, (const guint8 *)MB_BOOT_LOADER_NAME,
                        sizeof(MB_BOOT_LOADER_NAME));
    /* Everything past the original size was appended uninitialised by
     * set_size; the fixed parts are zeroed here. */
    memset(blk->data, 0, cmdline_off);

    uint64_t info;
    if (!alloc_ram(a->e820, &cursor, blk->len, PAGE, &info)) {
        r = fail(errp, "-kernel %s: no RAM below 4 GiB left for the Multiboot "
                 "information after the kernel and modules; give more memory with -m",
                 name);
        goto out_blk;
    }

    uint8_t *b = blk->data;
    const E820Entry *low = e820_find(a->e820, 0, E820_RAM);
    const E820Entry *high = e820_find(a->e820, 0x100000, E820_RAM);
    wr32(b + MBI_FLAGS, MBI_FLAG_MEM | MBI_FLAG_CMDLINE | MBI_FLAG_MODS |
         MBI_FLAG_MMAP | MBI_FLAG_LOADER_NAME);
    wr32(b + MBI_MEM_LOWER, low ? MIN(low->size, 640 * 1024ULL) / 1024 : 0);
    wr32(b + MBI_MEM_UPPER, high ? MIN(high->addr + high->size - 0x100000,
                                      0xffffffffULL * 1024) / 1024 : 0);
    wr32(b + MBI_CMDLINE, info + cmdline_off);
    wr32(b + MBI_MODS_COUNT, a->nmods);
    wr32(b + MBI_MODS_ADDR, info + mods_off);
    for (int i = 0; i < a->nmods; i++) {
        uint8_t *m = b + mods_off + MB_MOD_SIZE * i;
        wr32(m, mod_addr[i]);
        wr32(m + 4, mod_addr[i] + a->mods[i].size);
        wr32(m + 8, info + mod_str_off[i]);
    }
    for (int i = 0; i < a->e820->nr; i++) {
        uint8_t *m = b + mmap_off + MB_MMAP_ENTRY_SIZE * i;
        wr32(m, MB_MMAP_ENTRY_SIZE - 4);
        wr64(m + 4, a->e820->entry[i].addr);
        wr64(m + 12, a->e820->entry[i].size);
        wr32(m + 20, a->e820->entry[i].type);
    }
    wr32(b + MBI_MMAP_LENGTH, MB_MMAP_ENTRY_SIZE * a->e820->nr);
    wr32(b + MBI_MMAP_ADDR, info + mmap_off);
    wr32(b + MBI_LOADER_NAME, info + name_off);
    /* Flat 4 GiB code (0x10) and data (0x18) descriptors. */
    wr64(b + gdt_off + MULTIBOOT_CS, 0x00cf9b000000ffffULL);
    wr64(b + gdt_off + MULTIBOOT_DS, 0x00cf93000000ffffULL);

    /* Into guest memory: segments (bss zeroed), modules, the block. */
    for (guint i = 0; i < segs->len; i++) {
        const Segment *s = &g_array_index(segs, Segment, i);
        as_write(as, s->paddr, a->kernel + s->file_off, s->filesz);
        uint8_t *zero = g_malloc0(MIN(s->memsz - s->filesz, (uint64_t)1 << 20) + 1);
        for (uint64_t done = s->filesz; done < s->memsz; ) {
            uint64_t n = MIN(s->memsz - done, (uint64_t)1 << 20);
            as_write(as, s->paddr + done, zero, n);
            done += n;
        }
        g_free(zero);
    }
    for (int i = 0; i < a->nmods; i++) {
        as_write(as, mod_addr[i], a->mods[i].data, a->mods[i].size);
    }
    as_write(as, info, blk->data, blk->len);

    x86_regs_flat32(regs, MULTIBOOT_CS, MULTIBOOT_DS);
    regs->rip = entry;
    regs->gpr[X86_RAX] = MULTIBOOT_BOOTLOADER_MAGIC;
    regs->gpr[X86_RBX] = info;
    regs->gdt.base = info + gdt_off;
    regs->gdt.limit = 31;
    if (layout) {
        *layout = (MultibootLayout){
            .header_offset = hdr, .load_start = lo, .load_end = hi, .entry = entry,
            .info = info, .mods = info + mods_off, .mmap = info + mmap_off,
            .gdt = info + gdt_off,
        };
    }
    r = 0;
out_blk:
    g_byte_array_unref(blk);
    g_free(mod_str_off);
    g_free(mod_addr);
out:
    g_array_unref(segs);
    return r;
}
