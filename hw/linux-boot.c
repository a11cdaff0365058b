/*
 * Linux bzImage loader (Linux Documentation/arch/x86/boot.rst: "The Real-Mode
 * Kernel Header", "Details of Header Fields", "32-bit Boot Protocol",
 * "64-bit Boot Protocol"; zero-page.rst for struct boot_params).
 *
 * Direct boot (no firmware): the protected-mode kernel goes to its
 * pref_address when it is relocatable and fits there, else to 0x100000;
 * the initrd as high as RAM below 4 GiB and initrd_addr_max allow, above
 * the memory the kernel needs while it decompresses (init_size); the
 * command line at 0x20000; boot_params (a zeroed page with a copy of the
 * setup header, the e820 map and the RSDP address) at 0x7000; a GDT with
 * __BOOT_CS/__BOOT_DS at 0x500.  The 64-bit protocol adds page tables at
 * 0x1000 that identity-map the first 4 GiB with 2 MiB pages.  screen_info
 * stays zero: mode, columns and lines 0 tell the kernel there is no VGA
 * text console, so it uses the serial console it is given.
 */
#include <errno.h>
#include <stdarg.h>
#include <string.h>
#include "hw/linux-boot.h"

#define MiB ((uint64_t)1 << 20)

static uint64_t rd_le(const uint8_t *p, unsigned n)
{
    uint64_t v = 0;
    for (unsigned i = 0; i < n; i++) {
        v |= (uint64_t)p[i] << (8 * i);
    }
    return v;
}

static void wr_le(uint8_t *p, uint64_t v, unsigned n)
{
    for (unsigned i = 0; i < n; i++) {
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

bool linux_is_bzimage(const uint8_t *img, size_t len)
{
    return len >= LINUX_HDR_MAGIC + 4 &&
           rd_le(img + LINUX_HDR_MAGIC, 4) == LINUX_HDR_MAGIC_VALUE;
}

int linux_parse(const char *name, const uint8_t *img, size_t len,
                LinuxKernelInfo *k, GError **errp)
{
    memset(k, 0, sizeof(*k));
    if (!linux_is_bzimage(img, len) || len < 1024) {
        return fail(errp, "-kernel %s: not a Linux bzImage (no \"HdrS\" setup header)",
                    name);
    }
    k->version = rd_le(img + LINUX_HDR_VERSION, 2);
    if (k->version < LINUX_MIN_PROTOCOL) {
        return fail(errp, "-kernel %s: Linux boot protocol %u.%02u is too old; "
                    "vmkemu needs 2.06 or later (Linux 2.6.22+)", name,
                    k->version >> 8, k->version & 0xff);
    }
    k->loadflags = img[LINUX_HDR_LOADFLAGS];
    if (!(k->loadflags & LINUX_LOADED_HIGH)) {
        return fail(errp, "-kernel %s: a zImage (loaded low) is not supported; "
                    "use a bzImage", name);
    }
    k->setup_sects = img[LINUX_HDR_SETUP_SECTS] ? img[LINUX_HDR_SETUP_SECTS] : 4;
    k->setup_size = (k->setup_sects + 1) * 512;
    if (k->setup_size >= len) {
        return fail(errp, "-kernel %s: truncated: %zu bytes, but the setup code "
                    "alone is %zu", name, len, k->setup_size);
    }
    k->header_end = MIN(LINUX_HDR_MAGIC + (size_t)img[LINUX_HDR_JUMP + 1],
                        (size_t)LINUX_BP_HDR_END_MAX);
    k->pm_offset = k->setup_size;
    k->pm_size = len - k->setup_size;
    uint64_t syssize = rd_le(img + LINUX_HDR_SYSSIZE, 4) * 16ULL;
    if (syssize > k->pm_size) {
        return fail(errp, "-kernel %s: truncated: the header says the kernel has "
                    "%" G_GUINT64_FORMAT " bytes, the file %zu", name, syssize,
                    k->pm_size);
    }
    k->initrd_addr_max = rd_le(img + LINUX_HDR_INITRD_ADDR_MAX, 4);
    if (k->initrd_addr_max == 0) {
        k->initrd_addr_max = 0x37ffffff;
    }
    k->kernel_alignment = rd_le(img + LINUX_HDR_KERNEL_ALIGNMENT, 4);
    k->relocatable = img[LINUX_HDR_RELOCATABLE] != 0;
    k->cmdline_size = rd_le(img + LINUX_HDR_CMDLINE_SIZE, 4);
    if (k->relocatable && (k->kernel_alignment == 0 ||
                           (k->kernel_alignment & (k->kernel_alignment - 1)))) {
        return fail(errp, "-kernel %s: kernel_alignment 0x%x is not a power of two",
                    name, k->kernel_alignment);
    }
    if (k->version >= 0x020a) {
        k->min_alignment = img[LINUX_HDR_MIN_ALIGNMENT];
        k->pref_address = rd_le(img + LINUX_HDR_PREF_ADDRESS, 8);
        k->init_size = rd_le(img + LINUX_HDR_INIT_SIZE, 4);
    }
    if (k->pref_address == 0) {
        k->pref_address = LINUX_KERNEL_ADDR;
    }
    if (k->init_size == 0) {
        /* Before 2.10 the kernel does not say; decompressing needs about
         * the compressed plus the decompressed size. */
        k->init_size = MIN((uint64_t)k->pm_size * 4, (uint64_t)UINT32_MAX);
    }
    if (k->version >= 0x020c) {
        k->xloadflags = rd_le(img + LINUX_HDR_XLOADFLAGS, 2);
    }
    return 0;
}

/* The end of the memory the kernel uses before it reads the memory map:
 * the loaded image, init_size from its runtime start, and init_size from
 * pref_address, where a relocatable kernel loaded lower moves itself
 * (it never runs below LOAD_PHYSICAL_ADDR, which pref_address reports). */
static uint64_t linux_needed_end(const LinuxKernelInfo *k, uint64_t load,
                                 uint64_t runtime)
{
    uint64_t end = MAX(load + k->pm_size, runtime + k->init_size);
    return MAX(end, k->pref_address + k->init_size);
}

/* The end of the RAM range that starts at or holds 1 MiB. */
static uint64_t high_ram_end(const E820Map *map)
{
    const E820Entry *e = e820_find(map, LINUX_KERNEL_ADDR, E820_RAM);
    return e ? e->addr + e->size : 0;
}

/* Choose the initrd's place: as high as allowed, page aligned, above
 * `floor`.  Returns 0 and sets *addr, or fails. */
static int place_initrd(const LinuxBootArgs *a, const LinuxKernelInfo *k,
                        uint64_t ram_top, uint64_t floor, uint64_t *addr,
                        GError **errp)
{
    uint64_t top = MIN((uint64_t)k->initrd_addr_max + 1, ram_top);
    uint64_t size = a->initrd_size;
    if (size > top || ((top - size) & ~0xfffULL) < floor) {
        return fail(errp, "-initrd: %" G_GUINT64_FORMAT " KiB do not fit between the "
                    "kernel's end (0x%" G_GINT64_MODIFIER "x) and 0x%" G_GINT64_MODIFIER
                    "x (RAM end or initrd_addr_max); give more memory with -m",
                    (uint64_t)(size + 1023) / 1024, floor, top);
    }
    *addr = (top - size) & ~0xfffULL;
    return 0;
}

static int check_cmdline(const LinuxKernelInfo *k, const char *cmdline,
                         size_t *len, GError **errp)
{
    *len = strlen(cmdline);
    if (*len > k->cmdline_size) {
        return fail(errp, "-append: the command line is %zu bytes; this kernel "
                    "takes at most %u", *len, k->cmdline_size);
    }
    return 0;
}

static void write_gdt(AddressSpace *as, bool long_mode)
{
    uint8_t gdt[32] = {0};
    /* 4 GiB flat: base 0, limit 0xfffff pages; code type 0xb (execute/read,
     * accessed), data type 0x3 (read/write, accessed), present, DPL 0. */
    wr_le(gdt + LINUX_BOOT_CS, long_mode ? 0x00af9b000000ffffULL
                                         : 0x00cf9b000000ffffULL, 8);
    wr_le(gdt + LINUX_BOOT_DS, 0x00cf93000000ffffULL, 8);
    as_write(as, LINUX_GDT_ADDR, gdt, sizeof(gdt));
}

/* PML4 -> one PDPT -> four page directories of 2 MiB pages: 0-4 GiB. */
static void write_page_tables(AddressSpace *as)
{
    uint8_t *pt = g_malloc0(6 * 4096);
    uint64_t pml4 = LINUX_PAGE_TABLES_ADDR, pdpt = pml4 + 4096, pd = pdpt + 4096;

    wr_le(pt, pdpt | 0x3, 8);                                   /* P, RW */
    for (int i = 0; i < 4; i++) {
        wr_le(pt + 4096 + 8 * i, (pd + 4096 * i) | 0x3, 8);
        for (int j = 0; j < 512; j++) {
            uint64_t addr = ((uint64_t)i << 30) | ((uint64_t)j << 21);
            wr_le(pt + 8192 + 4096 * i + 8 * j, addr | 0x83, 8);  /* P, RW, PS */
        }
    }
    as_write(as, pml4, pt, 6 * 4096);
    g_free(pt);
}

static void set_entry_regs(X86Registers *r, bool long_mode, uint64_t entry)
{
    x86_regs_flat32(r, LINUX_BOOT_CS, LINUX_BOOT_DS);
    r->gdt.base = LINUX_GDT_ADDR;
    r->gdt.limit = 4 * 8 - 1;
    r->rip = entry;
    r->gpr[X86_RSI] = LINUX_BOOT_PARAMS_ADDR;
    r->gpr[X86_RSP] = LINUX_STACK_TOP;
    if (long_mode) {
        X86Segment *cs = &r->seg[X86_SEG_CS];
        cs->l = 1;
        cs->db = 0;
        r->cr3 = LINUX_PAGE_TABLES_ADDR;
        r->cr4 |= X86_CR4_PAE;
        r->efer |= X86_EFER_LME | X86_EFER_LMA;
        r->cr0 |= X86_CR0_PG;
    }
}

int linux_boot_load(AddressSpace *as, const LinuxBootArgs *a, X86Registers *regs,
                    LinuxBootLayout *layout, GError **errp)
{
    const char *name = a->kernel_name ? a->kernel_name : "kernel";
    const char *cmdline = a->cmdline ? a->cmdline : "";
    LinuxKernelInfo k;
    bool long_mode = a->entry_bits == 64;
    size_t cmdline_len;

    if (linux_parse(name, a->kernel, a->kernel_size, &k, errp) < 0) {
        return -EINVAL;
    }
    if (long_mode && !(k.xloadflags & LINUX_XLF_KERNEL_64)) {
        return fail(errp, "-kernel %s: the kernel has no 64-bit entry point "
                    "(XLF_KERNEL_64); use -linux-entry 32", name);
    }
    if (check_cmdline(&k, cmdline, &cmdline_len, errp) < 0) {
        return -EINVAL;
    }
    /* Low memory for the boot data. */
    if (!e820_contains(a->e820, 0, LINUX_CMDLINE_ADDR + cmdline_len + 1, E820_RAM)) {
        return fail(errp, "-kernel %s: conventional memory below 0x%" G_GINT64_MODIFIER
                    "x is not RAM", name,
                    (uint64_t)LINUX_CMDLINE_ADDR + cmdline_len + 1);
    }

    /* The kernel. */
    uint64_t ram_top = high_ram_end(a->e820);
    uint64_t load = LINUX_KERNEL_ADDR;
    if (k.relocatable && k.pref_address > LINUX_KERNEL_ADDR &&
        k.pref_address + MAX((uint64_t)k.init_size, k.pm_size) + a->initrd_size <= ram_top) {
        load = k.pref_address;
    }
    uint64_t runtime = k.relocatable ?
        (load + k.kernel_alignment - 1) & ~((uint64_t)k.kernel_alignment - 1) :
        k.pref_address;
    uint64_t kernel_end = linux_needed_end(&k, load, runtime);
    if (kernel_end > ram_top) {
        return fail(errp, "-kernel %s: the kernel needs RAM up to %" G_GUINT64_FORMAT
                    " MiB (init_size %u KiB from 0x%" G_GINT64_MODIFIER "x) but the "
                    "guest's RAM ends at %" G_GUINT64_FORMAT " MiB; give more memory with -m",
                    name, (kernel_end + MiB - 1) / MiB, k.init_size / 1024, runtime,
                    ram_top / MiB);
    }

    /* The initrd. */
    uint64_t initrd_addr = 0;
    if (a->initrd && a->initrd_size &&
        place_initrd(a, &k, ram_top, kernel_end, &initrd_addr, errp) < 0) {
        return -EINVAL;
    }

    /* boot_params: zeroed, with the setup header copied and filled in. */
    uint8_t *bp = g_malloc0(LINUX_BP_SIZE);
    const uint8_t *img = a->kernel;
    memcpy(bp + LINUX_HDR_SETUP_SECTS, img + LINUX_HDR_SETUP_SECTS,
           k.header_end - LINUX_HDR_SETUP_SECTS);
    wr_le(bp + LINUX_HDR_VID_MODE, 0xffff, 2);              /* "normal" */
    bp[LINUX_HDR_TYPE_OF_LOADER] = 0xff;                    /* undefined loader */
    bp[LINUX_HDR_LOADFLAGS] = (k.loadflags | LINUX_CAN_USE_HEAP) & ~LINUX_KEEP_SEGMENTS;
    wr_le(bp + LINUX_HDR_HEAP_END_PTR, LINUX_FW_HEAP_END_PTR, 2);
    wr_le(bp + LINUX_HDR_CODE32_START, load, 4);
    wr_le(bp + LINUX_HDR_RAMDISK_IMAGE, initrd_addr, 4);
    wr_le(bp + LINUX_HDR_RAMDISK_SIZE, initrd_addr ? a->initrd_size : 0, 4);
    wr_le(bp + LINUX_HDR_CMD_LINE_PTR, LINUX_CMDLINE_ADDR, 4);
    if (k.header_end > LINUX_HDR_SETUP_DATA + 8) {
        wr_le(bp + LINUX_HDR_SETUP_DATA, 0, 8);
    }
    /* A zero-page field (zero-page.rst), read by kernels since 4.20 and
     * ignored by older ones, so it is set whatever the protocol version;
     * the legacy scan of 0xe0000-0xfffff finds the same RSDP. */
    wr_le(bp + LINUX_BP_ACPI_RSDP_ADDR, a->rsdp_addr, 8);
    wr_le(bp + LINUX_BP_ALT_MEM_K, (ram_top - LINUX_KERNEL_ADDR) / 1024, 4);
    int n = MIN(a->e820->nr, LINUX_BP_E820_MAX);
    bp[LINUX_BP_E820_ENTRIES] = n;
    e820_to_bytes(a->e820, bp + LINUX_BP_E820_TABLE, n * E820_ENTRY_SIZE);

    /* Into guest memory. */
    as_write(as, load, img + k.pm_offset, k.pm_size);
    if (initrd_addr) {
        as_write(as, initrd_addr, a->initrd, a->initrd_size);
    }
    as_write(as, LINUX_CMDLINE_ADDR, cmdline, cmdline_len + 1);
    as_write(as, LINUX_BOOT_PARAMS_ADDR, bp, LINUX_BP_SIZE);
    g_free(bp);
    write_gdt(as, long_mode);
    if (long_mode) {
        write_page_tables(as);
    }

    uint64_t entry = long_mode ? load + 0x200 : load;
    set_entry_regs(regs, long_mode, entry);
    if (layout) {
        *layout = (LinuxBootLayout){
            .kernel_addr = load, .kernel_size = k.pm_size,
            .runtime_start = runtime, .init_size = k.init_size,
            .initrd_addr = initrd_addr, .initrd_size = initrd_addr ? a->initrd_size : 0,
            .cmdline_addr = LINUX_CMDLINE_ADDR, .cmdline_len = cmdline_len,
            .boot_params = LINUX_BOOT_PARAMS_ADDR, .gdt = LINUX_GDT_ADDR,
            .page_tables = long_mode ? LINUX_PAGE_TABLES_ADDR : 0,
            .entry = entry,
        };
    }
    return 0;
}

int linux_boot_for_firmware(const LinuxBootArgs *a, LinuxFirmwareBoot *fb,
                            GError **errp)
{
    const char *name = a->kernel_name ? a->kernel_name : "kernel";
    const char *cmdline = a->cmdline ? a->cmdline : "";
    LinuxKernelInfo k;
    size_t cmdline_len;

    memset(fb, 0, sizeof(*fb));
    if (linux_parse(name, a->kernel, a->kernel_size, &k, errp) < 0 ||
        check_cmdline(&k, cmdline, &cmdline_len, errp) < 0) {
        return -EINVAL;
    }
    /* The real-mode setup runs the kernel at 0x100000 (it moves itself to
     * its runtime address); firmware keeps its own data at the top of RAM,
     * so the initrd stays LINUX_FW_RESERVE below it. */
    uint64_t ram_top = high_ram_end(a->e820);
    uint64_t kernel_end = linux_needed_end(&k, LINUX_KERNEL_ADDR,
                                           k.relocatable ? LINUX_KERNEL_ADDR : k.pref_address);
    if (ram_top < LINUX_FW_RESERVE || kernel_end > ram_top - LINUX_FW_RESERVE) {
        return fail(errp, "-kernel %s: the kernel needs RAM up to %" G_GUINT64_FORMAT
                    " MiB; give more memory with -m", name,
                    (kernel_end + LINUX_FW_RESERVE + MiB - 1) / MiB);
    }
    uint64_t initrd_addr = 0;
    if (a->initrd && a->initrd_size &&
        place_initrd(a, &k, ram_top - LINUX_FW_RESERVE, kernel_end, &initrd_addr,
                     errp) < 0) {
        return -EINVAL;
    }

    fb->setup_size = k.setup_size;
    fb->setup = g_memdup2(a->kernel, k.setup_size);
    fb->setup_addr = LINUX_REALMODE_ADDR;
    uint8_t *h = fb->setup;
    wr_le(h + LINUX_HDR_VID_MODE, 0xffff, 2);
    h[LINUX_HDR_TYPE_OF_LOADER] = 0xff;
    h[LINUX_HDR_LOADFLAGS] |= LINUX_CAN_USE_HEAP;
    wr_le(h + LINUX_HDR_HEAP_END_PTR, LINUX_FW_HEAP_END_PTR, 2);
    wr_le(h + LINUX_HDR_CMD_LINE_PTR, LINUX_CMDLINE_ADDR, 4);
    wr_le(h + LINUX_HDR_RAMDISK_IMAGE, initrd_addr, 4);
    wr_le(h + LINUX_HDR_RAMDISK_SIZE, initrd_addr ? a->initrd_size : 0, 4);

    fb->kernel = a->kernel + k.pm_offset;
    fb->kernel_size = k.pm_size;
    fb->kernel_addr = LINUX_KERNEL_ADDR;
    fb->cmdline = g_strndup(cmdline, cmdline_len);
    fb->cmdline_size = cmdline_len + 1;
    fb->cmdline_addr = LINUX_CMDLINE_ADDR;
    fb->initrd_addr = initrd_addr;
    fb->initrd_size = initrd_addr ? a->initrd_size : 0;
    return 0;
}

void linux_firmware_boot_clear(LinuxFirmwareBoot *fb)
{
    g_free(fb->setup);
    g_free(fb->cmdline);
    memset(fb, 0, sizeof(*fb));
}
