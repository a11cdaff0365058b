/*
 * The Linux bzImage loader (hw/linux-boot.c) on a PC memory layout, and the
 * PC's -kernel path (hw/pc-kernel.c, hw/pc-firmware.c): a synthetic bzImage
 * with a real setup header layout is loaded and boot_params, the e820 map,
 * the command line and initrd placement, the GDT, the 64-bit page tables
 * and the entry registers are checked.  When the guest assets are built
 * (scripts/guest-assets), Debian's real kernels are parsed and loaded too.
 */
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>
#include <glib.h>
#include <glib/gstdio.h>
#include "hw/linux-boot.h"
#include "hw/pc-firmware.h"
#include "hw/fw-cfg.h"
#include "hw/acpi.h"

#define MiB (1024 * 1024ULL)

/* --- a synthetic bzImage ------------------------------------------------- */

typedef struct KernelOpts {
    uint16_t version;
    uint8_t setup_sects;        /* 0 means 4 */
    uint8_t loadflags;
    bool relocatable;
    uint32_t alignment;
    uint64_t pref_address;
    uint32_t init_size;
    uint32_t initrd_addr_max;
    uint32_t cmdline_size;
    uint16_t xloadflags;
    size_t pm_size;
} KernelOpts;

static const KernelOpts default_opts = {
    .version = 0x020f, .setup_sects = 4, .loadflags = LINUX_LOADED_HIGH,
    .relocatable = true, .alignment = 0x200000, .pref_address = 0x1000000,
    .init_size = 0x800000, .initrd_addr_max = 0x7fffffff, .cmdline_size = 2047,
    .xloadflags = LINUX_XLF_KERNEL_64 | LINUX_XLF_CAN_BE_LOADED_ABOVE_4G,
    .pm_size = 0x30000,
};

static void w16(uint8_t *p, uint16_t v) { p[0] = v; p[1] = v >> 8; }
static void w32(uint8_t *p, uint32_t v) { for (int i = 0; i < 4; i++) p[i] = v >> (8 * i); }
static void w64(uint8_t *p, uint64_t v) { w32(p, v); w32(p + 4, v >> 32); }
static uint16_t r16(const uint8_t *p) { return p[0] | p[1] << 8; }
static uint32_t r32(const uint8_t *p) { return r16(p) | (uint32_t)r16(p + 2) << 16; }
static uint64_t r64(const uint8_t *p) { return r32(p) | (uint64_t)r32(p + 4) << 32; }

static uint8_t *make_bzimage(const KernelOpts *o, size_t *len)
{
    size_t setup = ((o->setup_sects ? o->setup_sects : 4) + 1) * 512;
    *len = setup + o->pm_size;
    uint8_t *img = g_malloc0(*len);
    for (size_t i = 0; i < setup; i++) {
        img[i] = 0xf4;                          /* the real-mode code: hlt */
    }
    memset(img + 0x1f1, 0, 0x290 - 0x1f1);
    img[LINUX_HDR_SETUP_SECTS] = o->setup_sects;
    w32(img + LINUX_HDR_SYSSIZE, (o->pm_size + 15) / 16);
    w16(img + 0x1fc, 0x0801);                   /* root_dev: copied as is */
    w16(img + LINUX_HDR_BOOT_FLAG, 0xaa55);
    img[LINUX_HDR_JUMP] = 0xeb;
    img[LINUX_HDR_JUMP + 1] = 0x6a;             /* header ends at 0x26c */
    memcpy(img + LINUX_HDR_MAGIC, "HdrS", 4);
    w16(img + LINUX_HDR_VERSION, o->version);
    img[LINUX_HDR_LOADFLAGS] = o->loadflags;
    w32(img + LINUX_HDR_CODE32_START, 0x100000);
    w32(img + LINUX_HDR_INITRD_ADDR_MAX, o->initrd_addr_max);
    w32(img + LINUX_HDR_KERNEL_ALIGNMENT, o->alignment);
    img[LINUX_HDR_RELOCATABLE] = o->relocatable;
    img[LINUX_HDR_MIN_ALIGNMENT] = 13;
    w16(img + LINUX_HDR_XLOADFLAGS, o->xloadflags);
    w32(img + LINUX_HDR_CMDLINE_SIZE, o->cmdline_size);
    w32(img + 0x248, 0x1234);                   /* payload_offset: copied */
    w64(img + LINUX_HDR_PREF_ADDRESS, o->pref_address);
    w32(img + LINUX_HDR_INIT_SIZE, o->init_size);
    for (size_t i = 0; i < o->pm_size; i++) {
        img[setup + i] = (i * 31 + 7) ^ (i >> 8);
    }
    return img;
}

/* --- a PC with RAM ------------------------------------------------------- */

typedef struct Fixture {
    MachineConfig cfg;
    Machine *m;
    E820Map map;
} Fixture;

static void pc_setup(Fixture *f, uint64_t ram)
{
    machine_config_init(&f->cfg);
    f->cfg.ram_size = ram;
    f->m = g_new0(Machine, 1);
    f->m->cfg = &f->cfg;
    f->m->ncpus = 1;
    f->m->as = as_new();
    g_assert_cmpint(pc_ram_init(f->m, NULL), ==, 0);
    e820_build_pc(&f->map, f->m->below_4g, f->m->above_4g, true);
    memset(f->m->ram, 0xcc, 2 * MiB);
}

static void setup(Fixture *f, gconstpointer data)
{
    pc_setup(f, 64 * MiB);
}

static void teardown(Fixture *f, gconstpointer data)
{
    as_free(f->m->as);
    munmap(f->m->ram, f->m->ram_size);
    g_free(f->m);
    machine_config_clear(&f->cfg);
}

static const uint8_t *guest(Fixture *f, uint64_t addr, uint64_t len)
{
    g_assert_cmphex(addr + len, <=, f->m->below_4g);
    return f->m->ram + addr;
}

static int load(Fixture *f, const uint8_t *img, size_t len, const uint8_t *initrd,
                size_t initrd_size, const char *cmdline, int bits, X86Registers *r,
                LinuxBootLayout *l, GError **err)
{
    LinuxBootArgs a = {
        .kernel_name = "bzImage", .kernel = img, .kernel_size = len,
        .initrd = initrd, .initrd_size = initrd_size, .cmdline = cmdline,
        .entry_bits = bits, .e820 = &f->map, .rsdp_addr = 0xe0000,
    };
    return linux_boot_load(f->m->as, &a, r, l, err);
}

static void check_boot_params(Fixture *f, const uint8_t *img, const LinuxBootLayout *l,
                              const char *cmdline)
{
    const uint8_t *bp = guest(f, LINUX_BOOT_PARAMS_ADDR, LINUX_BP_SIZE);
    /* The setup header: copied byte for byte but for the fields a loader
     * writes... */
    static const struct { int off, len; } written[] = {
        { LINUX_HDR_VID_MODE, 2 }, { LINUX_HDR_TYPE_OF_LOADER, 1 },
        { LINUX_HDR_LOADFLAGS, 1 }, { LINUX_HDR_CODE32_START, 4 },
        { LINUX_HDR_RAMDISK_IMAGE, 4 }, { LINUX_HDR_RAMDISK_SIZE, 4 },
        { LINUX_HDR_HEAP_END_PTR, 2 }, { LINUX_HDR_CMD_LINE_PTR, 4 },
        { LINUX_HDR_SETUP_DATA, 8 },
    };
    size_t hdr_end = 0x202 + img[0x201];
    for (size_t i = LINUX_HDR_SETUP_SECTS; i < hdr_end; i++) {
        bool w = false;
        for (size_t k = 0; k < G_N_ELEMENTS(written); k++) {
            w |= i >= (size_t)written[k].off && i < (size_t)(written[k].off + written[k].len);
        }
        if (!w && bp[i] != img[i]) {
            g_error("boot_params byte 0x%zx is 0x%02x, the image has 0x%02x", i, bp[i], img[i]);
        }
    }
    g_assert_cmpmem(bp + LINUX_HDR_MAGIC, 4, "HdrS", 4);
    /* ...nothing past its end... */
    for (size_t i = hdr_end; i < LINUX_BP_HDR_END_MAX; i++) {
        g_assert_cmpuint(bp[i], ==, 0);
    }
    /* ...and filled in. */
    g_assert_cmphex(bp[LINUX_HDR_TYPE_OF_LOADER], ==, 0xff);
    g_assert_cmphex(bp[LINUX_HDR_LOADFLAGS] & (LINUX_LOADED_HIGH | LINUX_CAN_USE_HEAP), ==,
                    LINUX_LOADED_HIGH | LINUX_CAN_USE_HEAP);
    g_assert_cmphex(r16(bp + LINUX_HDR_VID_MODE), ==, 0xffff);
    g_assert_cmphex(r32(bp + LINUX_HDR_CODE32_START), ==, l->kernel_addr);
    g_assert_cmphex(r32(bp + LINUX_HDR_CMD_LINE_PTR), ==, LINUX_CMDLINE_ADDR);
    g_assert_cmphex(r32(bp + LINUX_BP_EXT_CMD_LINE_PTR), ==, 0);
    g_assert_cmpstr((const char *)guest(f, LINUX_CMDLINE_ADDR, strlen(cmdline) + 1), ==,
                    cmdline);
    g_assert_cmphex(r32(bp + LINUX_HDR_RAMDISK_IMAGE), ==, l->initrd_addr);
    g_assert_cmphex(r32(bp + LINUX_HDR_RAMDISK_SIZE), ==, l->initrd_size);
    g_assert_cmphex(r64(bp + LINUX_BP_ACPI_RSDP_ADDR), ==, 0xe0000);
    g_assert_cmpuint(bp[LINUX_BP_SENTINEL], ==, 0);
    /* screen_info all zero: no VGA text console. */
    for (int i = 0; i < 0x40; i++) {
        g_assert_cmpuint(bp[LINUX_BP_SCREEN_INFO + i], ==, 0);
    }
    /* The e820 map. */
    g_assert_cmpuint(bp[LINUX_BP_E820_ENTRIES], ==, f->map.nr);
    for (int i = 0; i < f->map.nr; i++) {
        const uint8_t *e = bp + LINUX_BP_E820_TABLE + 20 * i;
        g_assert_cmphex(r64(e), ==, f->map.entry[i].addr);
        g_assert_cmphex(r64(e + 8), ==, f->map.entry[i].size);
        g_assert_cmpuint(r32(e + 16), ==, f->map.entry[i].type);
    }
    g_assert_cmphex(r32(bp + LINUX_BP_ALT_MEM_K), ==, (f->m->below_4g - MiB) / 1024);
}

static void check_gdt(Fixture *f, bool long_mode)
{
    const uint8_t *gdt = guest(f, LINUX_GDT_ADDR, 32);
    g_assert_cmphex(r64(gdt), ==, 0);
    g_assert_cmphex(r64(gdt + LINUX_BOOT_CS), ==,
                    long_mode ? 0x00af9b000000ffffULL : 0x00cf9b000000ffffULL);
    g_assert_cmphex(r64(gdt + LINUX_BOOT_DS), ==, 0x00cf93000000ffffULL);
}

static void check_segments(const X86Registers *r, bool long_mode)
{
    const X86Segment *cs = &r->seg[X86_SEG_CS];
    g_assert_cmphex(cs->selector, ==, LINUX_BOOT_CS);
    g_assert_cmphex(cs->base, ==, 0);
    g_assert_cmphex(cs->limit, ==, 0xffffffff);
    g_assert_cmpuint(cs->type, ==, 0xb);                /* execute/read */
    g_assert_cmpuint(cs->l, ==, long_mode);
    g_assert_cmpuint(cs->db, ==, !long_mode);
    static const int data_segs[] = { X86_SEG_DS, X86_SEG_ES, X86_SEG_SS };
    for (size_t i = 0; i < G_N_ELEMENTS(data_segs); i++) {
        const X86Segment *s = &r->seg[data_segs[i]];
        g_assert_cmphex(s->selector, ==, LINUX_BOOT_DS);
        g_assert_cmphex(s->base, ==, 0);
        g_assert_cmphex(s->limit, ==, 0xffffffff);
        g_assert_cmpuint(s->type, ==, 0x3);             /* read/write */
    }
    g_assert_cmphex(r->gdt.base, ==, LINUX_GDT_ADDR);
    g_assert_cmpuint(r->gdt.limit, >=, LINUX_BOOT_DS + 7);
    g_assert_false(r->rflags & X86_FLAGS_IF);
    g_assert_cmphex(r->gpr[X86_RSI], ==, LINUX_BOOT_PARAMS_ADDR);
}

static void test_load32(Fixture *f, gconstpointer data)
{
    size_t len;
    uint8_t *img = make_bzimage(&default_opts, &len);
    uint8_t *initrd = g_malloc(3 * MiB + 123);
    for (size_t i = 0; i < 3 * MiB + 123; i++) {
        initrd[i] = i % 251;
    }
    const char *cmdline = "console=ttyS0 root=/dev/ram0 quiet";
    X86Registers r;
    LinuxBootLayout l;
    GError *err = NULL;

    g_assert_cmpint(load(f, img, len, initrd, 3 * MiB + 123, cmdline, 32, &r, &l, &err),
                    ==, 0);
    g_assert_no_error(err);

    /* Relocatable and room: at pref_address; entry at its start. */
    g_assert_cmphex(l.kernel_addr, ==, 0x1000000);
    g_assert_cmpmem(guest(f, l.kernel_addr, len - 2560), len - 2560, img + 2560, len - 2560);
    g_assert_cmphex(r.rip, ==, l.kernel_addr);
    check_segments(&r, false);
    g_assert_true(r.cr0 & X86_CR0_PE);
    g_assert_false(r.cr0 & X86_CR0_PG);
    g_assert_false(r.efer & X86_EFER_LME);
    g_assert_cmphex(r.gpr[X86_RBX] | r.gpr[X86_RDI] | r.gpr[X86_RBP], ==, 0);
    check_gdt(f, false);

    /* The initrd: top of RAM below 4 GiB, page aligned, above the kernel's
     * init_size, bytes intact. */
    g_assert_cmphex(l.initrd_addr % 4096, ==, 0);
    g_assert_cmphex(l.initrd_addr + l.initrd_size, <=, f->m->below_4g);
    g_assert_cmphex(l.initrd_addr + l.initrd_size + 4096, >, f->m->below_4g);
    g_assert_cmphex(l.initrd_addr, >=, l.runtime_start + l.init_size);
    g_assert_cmpmem(guest(f, l.initrd_addr, l.initrd_size), l.initrd_size, initrd,
                    3 * MiB + 123);
    check_boot_params(f, img, &l, cmdline);
    const uint8_t *bp = guest(f, LINUX_BOOT_PARAMS_ADDR, LINUX_BP_SIZE);
    g_assert_cmphex(r16(bp + 0x1fc), ==, 0x0801);        /* root_dev */
    g_assert_cmphex(r32(bp + 0x248), ==, 0x1234);        /* payload_offset */
    g_assert_cmphex(bp[0x26c], ==, 0);
    g_free(initrd);
    g_free(img);
}

static void test_initrd_addr_max(Fixture *f, gconstpointer data)
{
    KernelOpts o = default_opts;
    o.initrd_addr_max = 0x27fffff;              /* highest byte: 40 MiB - 1 */
    size_t len;
    uint8_t *img = make_bzimage(&o, &len);
    uint8_t *initrd = g_malloc0(MiB);
    X86Registers r;
    LinuxBootLayout l;
    g_assert_cmpint(load(f, img, len, initrd, MiB, "", 32, &r, &l, NULL), ==, 0);
    g_assert_cmphex(l.initrd_addr, ==, 0x2800000 - MiB);
    /* A 60 MiB initrd in 64 MiB: no room above the kernel. */
    GError *err = NULL;
    g_free(initrd);
    initrd = g_malloc0(60 * MiB);
    g_assert_cmpint(load(f, img, len, initrd, 60 * MiB, "", 32, &r, &l, &err), <, 0);
    g_assert_nonnull(strstr(err->message, "-initrd"));
    g_assert_nonnull(strstr(err->message, "-m"));
    g_clear_error(&err);
    g_free(initrd);
    g_free(img);
}

static void test_cmdline_limits(Fixture *f, gconstpointer data)
{
    KernelOpts o = default_opts;
    o.cmdline_size = 16;
    size_t len;
    uint8_t *img = make_bzimage(&o, &len);
    X86Registers r;
    LinuxBootLayout l;
    GError *err = NULL;
    /* Exactly cmdline_size characters is allowed, one more is not. */
    g_assert_cmpint(load(f, img, len, NULL, 0, "0123456789abcdef", 32, &r, &l, NULL), ==, 0);
    g_assert_cmpuint(l.cmdline_len, ==, 16);
    g_assert_cmpmem(guest(f, LINUX_CMDLINE_ADDR, 17), 17, "0123456789abcdef", 17);
    g_assert_cmpint(load(f, img, len, NULL, 0, "0123456789abcdefg", 32, &r, &l, &err), <, 0);
    g_assert_nonnull(strstr(err->message, "-append"));
    g_assert_nonnull(strstr(err->message, "16"));
    g_clear_error(&err);
    /* No -append: an empty string, still pointed to. */
    g_assert_cmpint(load(f, img, len, NULL, 0, NULL, 32, &r, &l, NULL), ==, 0);
    g_assert_cmpuint(*guest(f, LINUX_CMDLINE_ADDR, 1), ==, 0);
    const uint8_t *bp = guest(f, LINUX_BOOT_PARAMS_ADDR, LINUX_BP_SIZE);
    g_assert_cmphex(r32(bp + LINUX_HDR_CMD_LINE_PTR), ==, LINUX_CMDLINE_ADDR);
    g_assert_cmphex(r32(bp + LINUX_HDR_RAMDISK_IMAGE), ==, 0);
    g_free(img);
}

/* Walk the guest's 4-level page tables. */
static bool translate(Fixture *f, uint64_t cr3, uint64_t va, uint64_t *pa)
{
    uint64_t e = r64(guest(f, (cr3 & ~0xfffULL) + 8 * ((va >> 39) & 511), 8));
    if (!(e & 1)) {
        return false;
    }
    e = r64(guest(f, (e & 0xffffffffff000ULL) + 8 * ((va >> 30) & 511), 8));
    if (!(e & 1)) {
        return false;
    }
    g_assert_false(e & 0x80);                           /* no 1 GiB pages */
    e = r64(guest(f, (e & 0xffffffffff000ULL) + 8 * ((va >> 21) & 511), 8));
    if (!(e & 1)) {
        return false;
    }
    g_assert_true(e & 0x80);                            /* 2 MiB page */
    g_assert_true(e & 0x2);                             /* writable */
    *pa = (e & 0xfffffffe00000ULL) | (va & 0x1fffff);
    return true;
}

static void test_load64(Fixture *f, gconstpointer data)
{
    size_t len;
    uint8_t *img = make_bzimage(&default_opts, &len);
    X86Registers r;
    LinuxBootLayout l;
    GError *err = NULL;
    g_assert_cmpint(load(f, img, len, NULL, 0, "x", 64, &r, &l, &err), ==, 0);
    g_assert_no_error(err);
    g_assert_cmphex(r.rip, ==, l.kernel_addr + 0x200);
    check_segments(&r, true);
    check_gdt(f, true);
    g_assert_true(r.cr0 & X86_CR0_PE);
    g_assert_true(r.cr0 & X86_CR0_PG);
    g_assert_true(r.cr4 & X86_CR4_PAE);
    g_assert_true(r.efer & X86_EFER_LME);
    g_assert_true(r.efer & X86_EFER_LMA);
    g_assert_cmphex(r.cr3, ==, LINUX_PAGE_TABLES_ADDR);
    g_assert_cmphex(l.page_tables, ==, LINUX_PAGE_TABLES_ADDR);
    /* Identity for all of the first 4 GiB; nothing above. */
    static const uint64_t probes[] = {
        0, 0x7000, 0x20000, 0x1000000, 0x1000200, 0x3fffffff, 0x40000000,
        0x12345678, 0xc0000000, 0xfee00000, 0xfffff000, 0xffffffff,
    };
    for (size_t i = 0; i < G_N_ELEMENTS(probes); i++) {
        uint64_t pa = 0;
        g_assert_true(translate(f, r.cr3, probes[i], &pa));
        g_assert_cmphex(pa, ==, probes[i]);
    }
    uint64_t pa;
    g_assert_false(translate(f, r.cr3, 0x100000000ULL, &pa));
    check_boot_params(f, img, &l, "x");

    /* A kernel without the 64-bit entry point refuses -linux-entry 64. */
    KernelOpts o = default_opts;
    o.xloadflags = 0;
    g_free(img);
    img = make_bzimage(&o, &len);
    g_assert_cmpint(load(f, img, len, NULL, 0, "x", 64, &r, &l, &err), <, 0);
    g_assert_nonnull(strstr(err->message, "XLF_KERNEL_64"));
    g_clear_error(&err);
    g_free(img);
}

static void test_placement(Fixture *f, gconstpointer data)
{
    KernelOpts o = default_opts;
    size_t len;
    X86Registers r;
    LinuxBootLayout l;
    GError *err = NULL;

    /* Not relocatable: 0x100000, whatever pref_address says; the kernel
     * will run from pref_address, so the initrd stays above that. */
    o.relocatable = false;
    uint8_t *img = make_bzimage(&o, &len);
    uint8_t initrd[100] = {0};
    g_assert_cmpint(load(f, img, len, initrd, sizeof(initrd), "", 32, &r, &l, NULL), ==, 0);
    g_assert_cmphex(l.kernel_addr, ==, 0x100000);
    g_assert_cmphex(l.runtime_start, ==, 0x1000000);
    g_assert_cmphex(r.rip, ==, 0x100000);
    g_free(img);

    /* Relocatable but pref_address + init_size past RAM: 0x100000, runtime
     * aligned up to kernel_alignment. */
    o = default_opts;
    o.init_size = 50 * MiB;
    img = make_bzimage(&o, &len);
    g_assert_cmpint(load(f, img, len, NULL, 0, "", 32, &r, &l, &err), <, 0);
    g_assert_nonnull(strstr(err->message, "give more memory"));
    g_clear_error(&err);
    g_free(img);
    o.pref_address = 0x100000;
    o.init_size = 20 * MiB;
    img = make_bzimage(&o, &len);
    g_assert_cmpint(load(f, img, len, NULL, 0, "", 32, &r, &l, NULL), ==, 0);
    g_assert_cmphex(l.kernel_addr, ==, 0x100000);
    g_assert_cmphex(l.runtime_start, ==, 0x200000);
    g_free(img);

    /* setup_sects 0 means 4. */
    o = default_opts;
    o.setup_sects = 0;
    img = make_bzimage(&o, &len);
    LinuxKernelInfo k;
    g_assert_cmpint(linux_parse("k", img, len, &k, NULL), ==, 0);
    g_assert_cmpuint(k.setup_sects, ==, 4);
    g_assert_cmpuint(k.pm_offset, ==, 2560);
    g_assert_cmpuint(k.header_end, ==, 0x26c);
    g_free(img);
}

static void expect_parse_error(const KernelOpts *o, size_t cut, const char *what)
{
    size_t len;
    uint8_t *img = make_bzimage(o, &len);
    LinuxKernelInfo k;
    GError *err = NULL;
    g_assert_cmpint(linux_parse("bz.img", img, cut ? cut : len, &k, &err), <, 0);
    if (!strstr(err->message, what) || !strstr(err->message, "bz.img")) {
        g_error("message '%s' lacks '%s'", err->message, what);
    }
    g_error_free(err);
    g_free(img);
}

static void test_parse_errors(void)
{
    KernelOpts o = default_opts;
    o.version = 0x0205;
    expect_parse_error(&o, 0, "2.05 is too old; vmkemu needs 2.06");
    o = default_opts;
    o.loadflags = 0;
    expect_parse_error(&o, 0, "zImage");
    o = default_opts;
    expect_parse_error(&o, 2560 + 0x100, "truncated");          /* syssize */
    expect_parse_error(&o, 2000, "truncated");                  /* setup */
    o.alignment = 0x300000;
    expect_parse_error(&o, 0, "power of two");

    uint8_t junk[4096] = {0};
    LinuxKernelInfo k;
    GError *err = NULL;
    g_assert_false(linux_is_bzimage(junk, sizeof(junk)));
    g_assert_cmpint(linux_parse("junk", junk, sizeof(junk), &k, &err), <, 0);
    g_assert_nonnull(strstr(err->message, "not a Linux bzImage"));
    g_error_free(err);

    /* Parsed fields. */
    size_t len;
    uint8_t *img = make_bzimage(&default_opts, &len);
    g_assert_cmpint(linux_parse("k", img, len, &k, NULL), ==, 0);
    g_assert_cmphex(k.version, ==, 0x020f);
    g_assert_true(k.relocatable);
    g_assert_cmphex(k.kernel_alignment, ==, 0x200000);
    g_assert_cmphex(k.pref_address, ==, 0x1000000);
    g_assert_cmphex(k.init_size, ==, 0x800000);
    g_assert_cmphex(k.initrd_addr_max, ==, 0x7fffffff);
    g_assert_cmpuint(k.cmdline_size, ==, 2047);
    g_assert_cmphex(k.xloadflags, ==, default_opts.xloadflags);
    g_assert_cmpuint(k.pm_size, ==, default_opts.pm_size);
    g_free(img);
}

static void test_for_firmware(Fixture *f, gconstpointer data)
{
    size_t len;
    uint8_t *img = make_bzimage(&default_opts, &len);
    uint8_t initrd[5000];
    memset(initrd, 0x42, sizeof(initrd));
    E820Map fwmap;
    e820_build_pc_firmware(&fwmap, f->m->below_4g, 0);
    LinuxBootArgs a = {
        .kernel_name = "bz", .kernel = img, .kernel_size = len,
        .initrd = initrd, .initrd_size = sizeof(initrd), .cmdline = "console=ttyS0",
        .e820 = &fwmap,
    };
    LinuxFirmwareBoot fb;
    g_assert_cmpint(linux_boot_for_firmware(&a, &fb, NULL), ==, 0);
    g_assert_cmpuint(fb.setup_size, ==, 2560);
    g_assert_cmphex(fb.setup_addr, ==, LINUX_REALMODE_ADDR);
    g_assert_cmphex(fb.kernel_addr, ==, 0x100000);
    g_assert_cmpuint(fb.kernel_size, ==, default_opts.pm_size);
    g_assert_true(fb.kernel == img + 2560);
    g_assert_cmpstr(fb.cmdline, ==, "console=ttyS0");
    g_assert_cmpuint(fb.cmdline_size, ==, 14);
    /* The setup code itself is untouched; the header is filled in for the
     * 16-bit protocol. */
    g_assert_cmpuint(fb.setup[0], ==, 0xf4);
    g_assert_cmphex(fb.setup[LINUX_HDR_TYPE_OF_LOADER], ==, 0xff);
    g_assert_true(fb.setup[LINUX_HDR_LOADFLAGS] & LINUX_CAN_USE_HEAP);
    g_assert_cmphex(r16(fb.setup + LINUX_HDR_HEAP_END_PTR), ==, 0xfe00);
    g_assert_cmphex(r32(fb.setup + LINUX_HDR_CMD_LINE_PTR), ==, fb.cmdline_addr);
    g_assert_cmphex(r32(fb.setup + LINUX_HDR_RAMDISK_IMAGE), ==, fb.initrd_addr);
    g_assert_cmphex(r32(fb.setup + LINUX_HDR_RAMDISK_SIZE), ==, sizeof(initrd));
    /* Below the RAM firmware keeps for itself at the top. */
    g_assert_cmphex(fb.initrd_addr + sizeof(initrd), <=, f->m->below_4g - LINUX_FW_RESERVE);
    g_assert_cmphex(fb.initrd_addr % 4096, ==, 0);
    linux_firmware_boot_clear(&fb);
    g_free(img);
}

/* --- the PC's -kernel path ---------------------------------------------- */

static void pc_firmware_setup(Fixture *f, bool bios)
{
    if (bios) {
        f->cfg.bios = g_strdup("bios.bin");     /* only its presence matters */
    }
    f->m->pc = g_new0(PCDevices, 1);
    for (int i = 0; i < PC_NUM_GSI; i++) {
        f->m->gsi[i] = irq_line_new(NULL, NULL, i);
    }
    machine_set_current(f->m);
    f->m->pc->acpi_pm = acpi_pm_new(f->m);
    f->m->pc->fw_cfg = fw_cfg_new(f->m->as);
    g_assert_cmpint(pc_firmware_init(f->m, NULL), ==, 0);
}

static void pc_firmware_teardown(Fixture *f)
{
    pc_firmware_free(f->m);
    fw_cfg_free(f->m->pc->fw_cfg);
    acpi_pm_free(f->m->pc->acpi_pm);
    for (int i = 0; i < PC_NUM_GSI; i++) {
        irq_line_free(f->m->gsi[i]);
    }
    g_free(f->m->pc);
    machine_set_current(NULL);
}

static gchar *write_temp(const void *data, size_t len, const char *tmpl)
{
    GError *err = NULL;
    gchar *path = NULL;
    gint fd = g_file_open_tmp(tmpl, &path, &err);
    g_assert_no_error(err);
    close(fd);
    g_assert_true(g_file_set_contents(path, data, len, NULL));
    return path;
}

static void test_pc_direct(Fixture *f, gconstpointer data)
{
    size_t len;
    uint8_t *img = make_bzimage(&default_opts, &len);
    gchar *kpath = write_temp(img, len, "vmkemu-bz-XXXXXX");
    gchar *ipath = write_temp("INITRD", 6, "vmkemu-initrd-XXXXXX");
    f->cfg.kernel = g_strdup(kpath);
    f->cfg.initrd = g_strdup(ipath);
    f->cfg.append = g_strdup("console=ttyS0");
    pc_firmware_setup(f, false);

    GError *err = NULL;
    g_assert_cmpint(pc_kernel_load(f->m, &err), ==, 0);
    g_assert_no_error(err);
    const uint8_t *bp = guest(f, LINUX_BOOT_PARAMS_ADDR, LINUX_BP_SIZE);
    /* The RSDP the zero page names is a valid one, at 0xe0000 in RAM. */
    uint64_t rsdp = r64(bp + LINUX_BP_ACPI_RSDP_ADDR);
    g_assert_cmphex(rsdp, ==, 0xe0000);
    uint8_t buf[36];
    as_read(f->m->as, rsdp, buf, 36);
    g_assert_cmpmem(buf, 8, "RSD PTR ", 8);
    g_assert_cmpuint(acpi_checksum(buf, 36), ==, 0);
    /* e820: the ACPI area is reserved. */
    g_assert_true(e820_contains(&f->m->pc->firmware->e820, 0xe0000, 0x20000, E820_RESERVED));
    g_assert_cmpuint(bp[LINUX_BP_E820_ENTRIES], ==, f->m->pc->firmware->e820.nr);
    g_assert_cmphex(f->m->boot_regs.rip, ==, 0x1000000);
    g_assert_cmphex(f->m->boot_regs.gpr[X86_RSI], ==, LINUX_BOOT_PARAMS_ADDR);
    uint32_t initrd_at = r32(bp + LINUX_HDR_RAMDISK_IMAGE);
    g_assert_cmpmem(guest(f, initrd_at, 6), 6, "INITRD", 6);

    /* A reset reloads from the copy read at start: the file may be gone. */
    g_unlink(kpath);
    memset(f->m->ram + LINUX_BOOT_PARAMS_ADDR, 0, 4096);
    memset(f->m->ram + 0xe0000, 0, 64);
    machine_run_reset_hooks(f->m);
    g_assert_cmpint(pc_kernel_load(f->m, NULL), ==, 0);
    g_assert_cmpmem(guest(f, LINUX_BOOT_PARAMS_ADDR + LINUX_HDR_MAGIC, 4), 4, "HdrS", 4);
    as_read(f->m->as, rsdp, buf, 36);
    g_assert_cmpmem(buf, 8, "RSD PTR ", 8);

    /* -linux-entry 64 through the machine configuration. */
    f->cfg.linux_entry = 64;
    g_assert_cmpint(pc_kernel_load(f->m, NULL), ==, 0);
    g_assert_cmphex(f->m->boot_regs.rip, ==, 0x1000200);
    g_assert_true(f->m->boot_regs.efer & X86_EFER_LMA);

    pc_firmware_teardown(f);
    g_unlink(ipath);
    g_free(kpath);
    g_free(ipath);
    g_free(img);
}

static const uint8_t *fw_item(Fixture *f, uint16_t key, size_t *len)
{
    const uint8_t *p = fw_cfg_item(f->m->pc->fw_cfg, key, len);
    g_assert_nonnull(p);
    return p;
}

static void test_pc_bios_fw_cfg(Fixture *f, gconstpointer data)
{
    size_t len, n;
    uint8_t *img = make_bzimage(&default_opts, &len);
    gchar *kpath = write_temp(img, len, "vmkemu-bz-XXXXXX");
    gchar *ipath = write_temp("INITRD-DATA", 11, "vmkemu-initrd-XXXXXX");
    f->cfg.kernel = g_strdup(kpath);
    f->cfg.initrd = g_strdup(ipath);
    f->cfg.append = g_strdup("console=ttyS0");
    f->cfg.smp = 2;
    f->m->ncpus = 2;
    pc_firmware_setup(f, true);
    FwCfg *fc = f->m->pc->fw_cfg;

    /* With -bios: no ACPI area mapped, the tables are fw_cfg files. */
    g_assert_null(as_find(f->m->as, 0xe0000));
    g_assert_cmpint(fw_cfg_find_file(fc, "etc/acpi/rsdp"), >, 0);
    g_assert_cmpint(fw_cfg_find_file(fc, "etc/acpi/tables"), >, 0);
    g_assert_cmpint(fw_cfg_find_file(fc, "etc/table-loader"), >, 0);
    g_assert_cmpint(fw_cfg_find_file(fc, "bootorder"), >, 0);
    int e820 = fw_cfg_find_file(fc, "etc/e820");
    const uint8_t *e = fw_item(f, e820, &n);
    g_assert_cmpuint(n, ==, 20);
    g_assert_cmphex(r64(e), ==, 0);
    g_assert_cmphex(r64(e + 8), ==, 64 * MiB);
    g_assert_cmpuint(r32(e + 16), ==, E820_RAM);
    g_assert_cmpuint(r16(fw_item(f, FW_CFG_NB_CPUS, &n)), ==, 2);
    g_assert_cmphex(r64(fw_item(f, FW_CFG_RAM_SIZE, &n)), ==, 64 * MiB);
    g_assert_cmpuint(r16(fw_item(f, FW_CFG_BOOT_DEVICE, &n)), ==, 'c');

    pc_firmware_add_boot_device(f->m, "/pci@i0cf8/ide@1,1/drive@0/disk@0");
    const uint8_t *bo = fw_item(f, fw_cfg_find_file(fc, "bootorder"), &n);
    g_assert_cmpmem(bo, n, "/pci@i0cf8/ide@1,1/drive@0/disk@0\n", 34);

    /* The kernel goes to firmware; the CPU starts at the reset vector. */
    g_assert_cmpint(pc_kernel_load(f->m, NULL), ==, 0);
    g_assert_cmphex(f->m->boot_regs.rip, ==, 0xfff0);
    g_assert_cmphex(f->m->boot_regs.seg[X86_SEG_CS].base, ==, 0xffff0000);
    g_assert_cmphex(r32(fw_item(f, FW_CFG_KERNEL_ADDR, &n)), ==, 0x100000);
    g_assert_cmpuint(r32(fw_item(f, FW_CFG_KERNEL_SIZE, &n)), ==, default_opts.pm_size);
    const uint8_t *kd = fw_item(f, FW_CFG_KERNEL_DATA, &n);
    g_assert_cmpmem(kd, n, img + 2560, len - 2560);
    g_assert_cmphex(r32(fw_item(f, FW_CFG_SETUP_ADDR, &n)), ==, LINUX_REALMODE_ADDR);
    g_assert_cmpuint(r32(fw_item(f, FW_CFG_SETUP_SIZE, &n)), ==, 2560);
    const uint8_t *sd = fw_item(f, FW_CFG_SETUP_DATA, &n);
    g_assert_cmpuint(n, ==, 2560);
    g_assert_cmphex(sd[LINUX_HDR_TYPE_OF_LOADER], ==, 0xff);
    uint32_t initrd_addr = r32(fw_item(f, FW_CFG_INITRD_ADDR, &n));
    g_assert_cmphex(r32(sd + LINUX_HDR_RAMDISK_IMAGE), ==, initrd_addr);
    g_assert_cmpuint(r32(fw_item(f, FW_CFG_INITRD_SIZE, &n)), ==, 11);
    g_assert_cmpmem(fw_item(f, FW_CFG_INITRD_DATA, &n), n, "INITRD-DATA", 11);
    g_assert_cmphex(r32(fw_item(f, FW_CFG_CMDLINE_ADDR, &n)), ==, LINUX_CMDLINE_ADDR);
    g_assert_cmpuint(r32(fw_item(f, FW_CFG_CMDLINE_SIZE, &n)), ==, 14);
    g_assert_cmpmem(fw_item(f, FW_CFG_CMDLINE_DATA, &n), n, "console=ttyS0", 14);

    pc_firmware_teardown(f);
    g_unlink(kpath);
    g_unlink(ipath);
    g_free(kpath);
    g_free(ipath);
    g_free(img);
}

static void test_pc_not_a_kernel(Fixture *f, gconstpointer data)
{
    uint8_t junk[8192] = { 1, 2, 3 };
    gchar *kpath = write_temp(junk, sizeof(junk), "vmkemu-junk-XXXXXX");
    f->cfg.kernel = g_strdup(kpath);
    pc_firmware_setup(f, false);
    GError *err = NULL;
    g_assert_cmpint(pc_kernel_load(f->m, &err), <, 0);
    g_assert_nonnull(strstr(err->message, "not a Multiboot kernel or Linux bzImage"));
    g_assert_nonnull(strstr(err->message, kpath));
    g_clear_error(&err);
    g_free(f->cfg.kernel);
    f->cfg.kernel = g_strdup("/nonexistent/vmlinuz");
    g_assert_cmpint(pc_kernel_load(f->m, &err), <, 0);
    g_assert_nonnull(strstr(err->message, "-kernel"));
    g_assert_nonnull(strstr(err->message, "/nonexistent/vmlinuz"));
    g_clear_error(&err);
    pc_firmware_teardown(f);
    g_unlink(kpath);
    g_free(kpath);
}

/* --- Debian's kernels, when scripts/guest-assets has fetched them -------- */

static gchar *asset(const char *name)
{
    const char *dir = g_getenv("VMKEMU_GUEST_CACHE");
    gchar *path = dir ? g_build_filename(dir, name, NULL)
                      : g_build_filename(g_get_home_dir(), ".cache", "vmkemu", "guests",
                                         name, NULL);
    if (!g_file_test(path, G_FILE_TEST_IS_REGULAR)) {
        g_free(path);
        return NULL;
    }
    return path;
}

static void real_kernel(const char *arch, bool is64)
{
    gchar *vmlinuz_name = g_strdup_printf("vmlinuz-%s", arch);
    gchar *initrd_name = g_strdup_printf("initramfs-%s.cpio.gz", arch);
    gchar *kpath = asset(vmlinuz_name), *ipath = asset(initrd_name);
    g_free(vmlinuz_name);
    g_free(initrd_name);
    if (!kpath || !ipath) {
        g_test_skip("guest assets not built (scripts/guest-assets)");
        g_free(kpath);
        g_free(ipath);
        return;
    }
    gchar *img = NULL, *initrd = NULL;
    gsize len = 0, ilen = 0;
    g_assert_true(g_file_get_contents(kpath, &img, &len, NULL));
    g_assert_true(g_file_get_contents(ipath, &initrd, &ilen, NULL));

    LinuxKernelInfo k;
    GError *err = NULL;
    g_assert_cmpint(linux_parse(kpath, (uint8_t *)img, len, &k, &err), ==, 0);
    g_assert_no_error(err);
    g_assert_cmphex(k.version, >=, 0x020c);
    g_assert_true(k.relocatable);
    g_assert_true(k.loadflags & LINUX_LOADED_HIGH);
    g_assert_cmpuint(k.cmdline_size, >=, 255);
    g_assert_cmphex(k.pref_address, >=, 0x100000);
    g_assert_cmpuint(k.init_size, >, k.pm_size);
    g_assert_cmpuint(!!(k.xloadflags & LINUX_XLF_KERNEL_64), ==, is64);

    Fixture f;
    pc_setup(&f, 256 * MiB);
    X86Registers r;
    LinuxBootLayout l;
    const char *cmdline = "console=ttyS0 panic=-1";
    g_assert_cmpint(load(&f, (uint8_t *)img, len, (uint8_t *)initrd, ilen, cmdline, 32,
                         &r, &l, &err), ==, 0);
    g_assert_no_error(err);
    g_assert_cmphex(l.kernel_addr, ==, k.pref_address);
    g_assert_cmphex(r.rip, ==, l.kernel_addr);
    g_assert_cmphex(l.initrd_addr, >=, k.pref_address + k.init_size);
    g_assert_cmphex(l.initrd_addr + ilen, <=, MIN(256 * MiB, (uint64_t)k.initrd_addr_max + 1));
    g_assert_cmpmem(guest(&f, l.initrd_addr, ilen), ilen, initrd, ilen);
    check_boot_params(&f, (uint8_t *)img, &l, cmdline);
    int r64rc = load(&f, (uint8_t *)img, len, NULL, 0, cmdline, 64, &r, &l, &err);
    if (is64) {
        g_assert_cmpint(r64rc, ==, 0);
        g_assert_cmphex(r.rip, ==, l.kernel_addr + 0x200);
    } else {
        g_assert_cmpint(r64rc, <, 0);
        g_clear_error(&err);
    }
    teardown(&f, NULL);
    g_free(img);
    g_free(initrd);
    g_free(kpath);
    g_free(ipath);
}

static void test_debian_amd64(void)
{
    real_kernel("amd64", true);
}

static void test_debian_i386(void)
{
    real_kernel("i386", false);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
#define ADD(name, fn) g_test_add("/linux-boot/" name, Fixture, NULL, setup, fn, teardown)
    ADD("load32", test_load32);
    ADD("load64", test_load64);
    ADD("initrd-addr-max", test_initrd_addr_max);
    ADD("cmdline-limits", test_cmdline_limits);
    ADD("placement", test_placement);
    ADD("for-firmware", test_for_firmware);
    ADD("pc-direct", test_pc_direct);
    ADD("pc-bios-fw-cfg", test_pc_bios_fw_cfg);
    ADD("pc-not-a-kernel", test_pc_not_a_kernel);
    g_test_add_func("/linux-boot/parse-errors", test_parse_errors);
    g_test_add_func("/linux-boot/debian-amd64", test_debian_amd64);
    g_test_add_func("/linux-boot/debian-i386", test_debian_i386);
    return g_test_run();
}
