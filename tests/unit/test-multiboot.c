/*
 * The Multiboot v1 loader (hw/multiboot.c) on a PC memory layout
 * (hw/pc-ram.c, hw/e820.c): synthetic a.out-kludge and ELF32 kernels,
 * modules, the information structure and memory map, the machine state,
 * and the errors for bad headers and kernels that do not fit.
 */
#include <string.h>
#include <sys/mman.h>
#include <glib.h>
#include "hw/multiboot.h"
#include "hw/pc.h"

#define MiB (1024 * 1024)

typedef struct Fixture {
    MachineConfig cfg;
    Machine *m;
    E820Map map;
} Fixture;

static void setup(Fixture *f, gconstpointer data)
{
    machine_config_init(&f->cfg);
    f->cfg.ram_size = 32 * MiB;
    f->m = g_new0(Machine, 1);
    f->m->cfg = &f->cfg;
    f->m->as = as_new();
    g_assert_cmpint(pc_ram_init(f->m, NULL), ==, 0);
    e820_build_pc(&f->map, f->m->below_4g, f->m->above_4g, true);
    /* Dirty RAM: the loader must zero what it owes zeros. */
    memset(f->m->ram, 0xcc, f->m->ram_size);
}

static void teardown(Fixture *f, gconstpointer data)
{
    as_free(f->m->as);
    munmap(f->m->ram, f->m->ram_size);
    g_free(f->m);
    machine_config_clear(&f->cfg);
}

static uint32_t rd32(const uint8_t *p)
{
    return p[0] | p[1] << 8 | p[2] << 16 | (uint32_t)p[3] << 24;
}

static uint64_t rd64(const uint8_t *p)
{
    return rd32(p) | (uint64_t)rd32(p + 4) << 32;
}

static void wr32(uint8_t *p, uint32_t v)
{
    for (int i = 0; i < 4; i++) {
        p[i] = v >> (8 * i);
    }
}

static void wr16(uint8_t *p, uint16_t v)
{
    p[0] = v;
    p[1] = v >> 8;
}

static const uint8_t *guest(Fixture *f, uint64_t addr)
{
    g_assert_cmphex(addr, <, f->m->below_4g);
    return f->m->ram + addr;
}

/* An a.out-kludge kernel: header at 0x100 of a 0x3000-byte file loaded at
 * 1 MiB, 0x2800 bytes of it loaded, bss up to 0x105000. */
#define AOUT_SIZE       0x3000
#define AOUT_HDR        0x100
#define AOUT_LOAD       0x100000u
#define AOUT_LOAD_END   0x102800u
#define AOUT_BSS_END    0x105000u
#define AOUT_ENTRY      0x100200u

static void put_header(uint8_t *img, size_t off, uint32_t flags)
{
    wr32(img + off, MULTIBOOT_HEADER_MAGIC);
    wr32(img + off + 4, flags);
    wr32(img + off + 8, -(MULTIBOOT_HEADER_MAGIC + flags));
}

static uint8_t *make_aout(uint32_t flags)
{
    uint8_t *img = g_malloc(AOUT_SIZE);
    for (int i = 0; i < AOUT_SIZE; i++) {
        img[i] = i * 13 + 5;
    }
    put_header(img, AOUT_HDR, flags | MULTIBOOT_AOUT_KLUDGE);
    wr32(img + AOUT_HDR + 12, AOUT_LOAD + AOUT_HDR);
    wr32(img + AOUT_HDR + 16, AOUT_LOAD);
    wr32(img + AOUT_HDR + 20, AOUT_LOAD_END);
    wr32(img + AOUT_HDR + 24, AOUT_BSS_END);
    wr32(img + AOUT_HDR + 28, AOUT_ENTRY);
    return img;
}

static void check_flat32(const X86Registers *r)
{
    g_assert_true(r->cr0 & X86_CR0_PE);
    g_assert_false(r->cr0 & X86_CR0_PG);
    g_assert_false(r->rflags & X86_FLAGS_IF);
    g_assert_false(r->rflags & (1u << 17));             /* VM */
    g_assert_false(r->efer & X86_EFER_LMA);
    const X86Segment *cs = &r->seg[X86_SEG_CS];
    g_assert_cmphex(cs->base, ==, 0);
    g_assert_cmphex(cs->limit, ==, 0xffffffff);
    g_assert_cmpuint(cs->db, ==, 1);
    g_assert_cmpuint(cs->type & 0x8, ==, 0x8);           /* code */
    for (int s = X86_SEG_ES; s <= X86_SEG_GS; s++) {
        if (s == X86_SEG_CS) {
            continue;
        }
        g_assert_cmphex(r->seg[s].base, ==, 0);
        g_assert_cmphex(r->seg[s].limit, ==, 0xffffffff);
        g_assert_cmpuint(r->seg[s].type & 0xa, ==, 0x2);  /* data, writable */
    }
}

static void test_aout_modules(Fixture *f, gconstpointer data)
{
    uint8_t *img = make_aout(MULTIBOOT_PAGE_ALIGN | MULTIBOOT_MEMORY_INFO);
    uint8_t *m1 = g_malloc(5000), m2[10];
    memset(m1, 0x11, 5000);
    memcpy(m2, "0123456789", 10);
    MultibootModule mods[] = {
        { m1, 5000, "/boot/mod1 arg=1" },
        { m2, sizeof(m2), "/boot/mod2" },
    };
    MultibootArgs a = {
        .kernel_name = "aout", .kernel = img, .kernel_size = AOUT_SIZE,
        .cmdline = "aout console=com1", .mods = mods, .nmods = 2, .e820 = &f->map,
    };
    X86Registers r;
    MultibootLayout l;
    GError *err = NULL;
    g_assert_cmpint(multiboot_load(f->m->as, &a, &r, &l, &err), ==, 0);
    g_assert_no_error(err);

    /* Machine state (3.2). */
    check_flat32(&r);
    g_assert_cmphex(r.gpr[X86_RAX], ==, MULTIBOOT_BOOTLOADER_MAGIC);
    g_assert_cmphex(r.gpr[X86_RBX], ==, l.info);
    g_assert_cmphex(r.rip, ==, AOUT_ENTRY);
    g_assert_cmphex(r.gdt.base, ==, l.gdt);
    g_assert_cmphex(rd64(guest(f, l.gdt + MULTIBOOT_CS)), ==, 0x00cf9b000000ffffULL);
    g_assert_cmphex(rd64(guest(f, l.gdt + MULTIBOOT_DS)), ==, 0x00cf93000000ffffULL);

    /* The image: file bytes from offset 0 to load_end, then zeroed bss;
     * the file's tail past load_end is not loaded. */
    g_assert_cmpuint(l.header_offset, ==, AOUT_HDR);
    g_assert_cmphex(l.load_start, ==, AOUT_LOAD);
    g_assert_cmphex(l.load_end, ==, AOUT_BSS_END);
    g_assert_cmpmem(guest(f, AOUT_LOAD), AOUT_LOAD_END - AOUT_LOAD, img,
                    AOUT_LOAD_END - AOUT_LOAD);
    for (uint32_t p = AOUT_LOAD_END; p < AOUT_BSS_END; p++) {
        g_assert_cmpuint(*guest(f, p), ==, 0);
    }

    /* The information structure (3.3). */
    const uint8_t *mbi = guest(f, l.info);
    uint32_t flags = rd32(mbi + MBI_FLAGS);
    g_assert_cmphex(flags & (MBI_FLAG_MEM | MBI_FLAG_CMDLINE | MBI_FLAG_MODS |
                             MBI_FLAG_MMAP | MBI_FLAG_LOADER_NAME), ==,
                    MBI_FLAG_MEM | MBI_FLAG_CMDLINE | MBI_FLAG_MODS | MBI_FLAG_MMAP |
                    MBI_FLAG_LOADER_NAME);
    g_assert_false(flags & (1u << 1));                  /* no boot_device */
    g_assert_cmpuint(rd32(mbi + MBI_MEM_LOWER), ==, 639);
    g_assert_cmpuint(rd32(mbi + MBI_MEM_UPPER), ==, (32 * MiB - MiB) / 1024);
    g_assert_cmpstr((const char *)guest(f, rd32(mbi + MBI_CMDLINE)), ==,
                    "aout console=com1");
    g_assert_cmpstr((const char *)guest(f, rd32(mbi + MBI_LOADER_NAME)), ==, "vmkemu");

    g_assert_cmpuint(rd32(mbi + MBI_MODS_COUNT), ==, 2);
    g_assert_cmphex(rd32(mbi + MBI_MODS_ADDR), ==, l.mods);
    uint32_t prev_end = AOUT_BSS_END;
    for (int i = 0; i < 2; i++) {
        const uint8_t *mod = guest(f, l.mods + 16 * i);
        uint32_t start = rd32(mod), end = rd32(mod + 4);
        g_assert_cmphex(start % 4096, ==, 0);           /* page aligned */
        g_assert_cmphex(start, >=, prev_end);           /* after bss, no overlap */
        g_assert_cmpuint(end - start, ==, mods[i].size);
        g_assert_cmpmem(guest(f, start), mods[i].size, mods[i].data, mods[i].size);
        g_assert_cmpstr((const char *)guest(f, rd32(mod + 8)), ==, mods[i].cmdline);
        g_assert_cmpuint(rd32(mod + 12), ==, 0);
        prev_end = end;
    }
    g_assert_cmphex(l.info, >=, prev_end);

    /* The memory map is the e820 map. */
    g_assert_cmpuint(rd32(mbi + MBI_MMAP_LENGTH), ==, 24 * f->map.nr);
    g_assert_cmphex(rd32(mbi + MBI_MMAP_ADDR), ==, l.mmap);
    for (int i = 0; i < f->map.nr; i++) {
        const uint8_t *e = guest(f, l.mmap + 24 * i);
        g_assert_cmpuint(rd32(e), ==, 20);
        g_assert_cmphex(rd64(e + 4), ==, f->map.entry[i].addr);
        g_assert_cmphex(rd64(e + 12), ==, f->map.entry[i].size);
        g_assert_cmpuint(rd32(e + 20), ==, f->map.entry[i].type);
    }

    /* Loading again (a reset) after the guest scribbled gives the same. */
    memset(f->m->ram + MiB, 0xcc, 4 * MiB);
    X86Registers r2;
    MultibootLayout l2;
    g_assert_cmpint(multiboot_load(f->m->as, &a, &r2, &l2, NULL), ==, 0);
    g_assert_cmpmem(&r, sizeof(r), &r2, sizeof(r2));
    g_assert_cmpmem(&l, sizeof(l), &l2, sizeof(l2));
    g_assert_cmpuint(*guest(f, AOUT_BSS_END - 1), ==, 0);
    g_assert_cmpuint(rd32(guest(f, l.info + MBI_MODS_COUNT)), ==, 2);

    g_free(m1);
    g_free(img);
}

/* An ELF32 kernel linked at 0xc0100000 and loaded at 1 MiB: text with the
 * Multiboot header, data with a bss tail. */
static uint8_t *make_elf(size_t *len, int elf_class)
{
    *len = 0x2000;
    uint8_t *img = g_malloc0(*len);
    memcpy(img, "\177ELF", 4);
    img[4] = elf_class;
    img[5] = 1;                                 /* little-endian */
    img[6] = 1;
    wr16(img + 16, 2);                          /* ET_EXEC */
    wr16(img + 18, 3);                          /* EM_386 */
    wr32(img + 20, 1);
    wr32(img + 24, 0xc0100010);                 /* e_entry (virtual) */
    wr32(img + 28, 52);                         /* e_phoff */
    wr16(img + 40, 52);
    wr16(img + 42, 32);                         /* e_phentsize */
    wr16(img + 44, 3);                          /* e_phnum */
    /* PT_LOAD text: file 0x1000+0x800 -> 0x100000 */
    uint8_t *ph = img + 52;
    wr32(ph, 1);
    wr32(ph + 4, 0x1000);
    wr32(ph + 8, 0xc0100000);
    wr32(ph + 12, 0x100000);
    wr32(ph + 16, 0x800);
    wr32(ph + 20, 0x800);
    /* PT_NOTE: ignored */
    ph += 32;
    wr32(ph, 4);
    /* PT_LOAD data + bss: file 0x1800+0x100 -> 0x102000, 0x3000 in memory */
    ph += 32;
    wr32(ph, 1);
    wr32(ph + 4, 0x1800);
    wr32(ph + 8, 0xc0102000);
    wr32(ph + 12, 0x102000);
    wr32(ph + 16, 0x100);
    wr32(ph + 20, 0x3000);
    for (int i = 0x1000; i < 0x2000; i++) {
        img[i] = i ^ 0x5a;
    }
    put_header(img, 0x1004, MULTIBOOT_PAGE_ALIGN | MULTIBOOT_MEMORY_INFO);
    return img;
}

static void test_elf(Fixture *f, gconstpointer data)
{
    size_t len;
    uint8_t *img = make_elf(&len, 1);
    MultibootArgs a = {
        .kernel_name = "elf", .kernel = img, .kernel_size = len, .cmdline = "elf",
        .e820 = &f->map,
    };
    X86Registers r;
    MultibootLayout l;
    GError *err = NULL;
    g_assert_cmpint(multiboot_load(f->m->as, &a, &r, &l, &err), ==, 0);
    g_assert_no_error(err);
    check_flat32(&r);
    g_assert_cmphex(r.rip, ==, 0x100010);               /* virtual -> physical */
    g_assert_cmphex(l.load_start, ==, 0x100000);
    g_assert_cmphex(l.load_end, ==, 0x105000);
    g_assert_cmpmem(guest(f, 0x100000), 0x800, img + 0x1000, 0x800);
    g_assert_cmpmem(guest(f, 0x102000), 0x100, img + 0x1800, 0x100);
    for (uint32_t p = 0x102100; p < 0x105000; p++) {
        g_assert_cmpuint(*guest(f, p), ==, 0);
    }
    /* Between the segments nothing was written. */
    g_assert_cmpuint(*guest(f, 0x101000), ==, 0xcc);
    const uint8_t *mbi = guest(f, l.info);
    g_assert_cmpuint(rd32(mbi + MBI_MODS_COUNT), ==, 0);
    g_assert_cmphex(l.info, >=, 0x105000);
    g_free(img);
}

static void expect_error(Fixture *f, const uint8_t *img, size_t len,
                         const MultibootModule *mods, int nmods, const char *what)
{
    MultibootArgs a = {
        .kernel_name = "k.bin", .kernel = img, .kernel_size = len, .cmdline = "k",
        .mods = mods, .nmods = nmods, .e820 = &f->map,
    };
    X86Registers r;
    GError *err = NULL;
    if (multiboot_load(f->m->as, &a, &r, NULL, &err) >= 0) {
        g_error("loaded although it should fail with '%s'", what);
    }
    g_assert_nonnull(err);
    if (!strstr(err->message, what)) {
        g_error("message '%s' lacks '%s'", err->message, what);
    }
    g_assert_null(strchr(err->message, '\n'));
    g_assert_nonnull(strstr(err->message, mods ? "-initrd" : "k.bin"));
    g_error_free(err);
}

static void test_errors(Fixture *f, gconstpointer data)
{
    uint8_t *img = make_aout(0);

    wr32(img + AOUT_HDR + 8, 0x12345678);
    g_assert_cmpint(multiboot_find_header(img, AOUT_SIZE), ==, -2);
    expect_error(f, img, AOUT_SIZE, NULL, 0, "bad checksum");
    g_free(img);

    img = make_aout(MULTIBOOT_VIDEO_MODE);
    expect_error(f, img, AOUT_SIZE, NULL, 0, "video mode");
    g_free(img);
    img = make_aout(1u << 3);
    expect_error(f, img, AOUT_SIZE, NULL, 0, "0x0008");
    g_free(img);

    /* Loaded at 48 MiB of a 32 MiB guest; into the ISA hole. */
    img = make_aout(0);
    wr32(img + AOUT_HDR + 12, 0x3000000 + AOUT_HDR);
    wr32(img + AOUT_HDR + 16, 0x3000000);
    wr32(img + AOUT_HDR + 20, 0x3002800);
    wr32(img + AOUT_HDR + 24, 0x3005000);
    wr32(img + AOUT_HDR + 28, 0x3000200);
    expect_error(f, img, AOUT_SIZE, NULL, 0, "does not fit");
    wr32(img + AOUT_HDR + 12, 0x9f000 + AOUT_HDR);
    wr32(img + AOUT_HDR + 16, 0x9f000);
    wr32(img + AOUT_HDR + 20, 0);
    wr32(img + AOUT_HDR + 24, 0);
    wr32(img + AOUT_HDR + 28, 0x9f000);
    expect_error(f, img, AOUT_SIZE, NULL, 0, "does not fit");
    g_free(img);

    /* Entry outside; load_end past the file; header_addr below load. */
    img = make_aout(0);
    wr32(img + AOUT_HDR + 28, 0x200000);
    expect_error(f, img, AOUT_SIZE, NULL, 0, "entry point");
    g_free(img);
    img = make_aout(0);
    wr32(img + AOUT_HDR + 20, AOUT_LOAD + AOUT_SIZE + 1);
    expect_error(f, img, AOUT_SIZE, NULL, 0, "past the end");
    wr32(img + AOUT_HDR + 20, AOUT_LOAD_END);
    wr32(img + AOUT_HDR + 12, AOUT_LOAD - 4);
    expect_error(f, img, AOUT_SIZE, NULL, 0, "header_addr");
    g_free(img);

    /* A module too big for the guest. */
    img = make_aout(0);
    static uint8_t small[1];
    MultibootModule big = { small, 40 * MiB, "big.img" };
    expect_error(f, img, AOUT_SIZE, &big, 1, "does not fit");
    g_free(img);

    /* ELF64, or not ELF at all, without address fields. */
    size_t len;
    img = make_elf(&len, 2);
    expect_error(f, img, len, NULL, 0, "64-bit ELF");
    memcpy(img, "JUNK", 4);
    expect_error(f, img, len, NULL, 0, "not ELF");
    g_free(img);
    /* Bad program headers. */
    img = make_elf(&len, 1);
    wr16(img + 44, 300);                        /* 52 + 300 * 32 > file */
    expect_error(f, img, len, NULL, 0, "program headers");
    g_free(img);
    img = make_elf(&len, 1);
    wr32(img + 52 + 64 + 16, 0x4000);           /* filesz > memsz */
    expect_error(f, img, len, NULL, 0, "malformed");
    g_free(img);

    /* No header in the first 8 KiB (one just past it does not count). */
    img = g_malloc0(0x3000);
    put_header(img, 0x2000, 0);
    g_assert_cmpint(multiboot_find_header(img, 0x3000), ==, -1);
    put_header(img, 0x1ff4, 0);
    g_assert_cmpint(multiboot_find_header(img, 0x3000), ==, 0x1ff4);
    put_header(img, 0x1ff4, 0);
    g_assert_cmpint(multiboot_find_header(img, 0x1ff8), ==, -1);   /* cut short */
    g_free(img);
}

static void test_split_modules(void)
{
    gchar **v = multiboot_split_modules("/a/mod1 x=1 y,/b/mod2,,with,,commas z,,");
    g_assert_cmpuint(g_strv_length(v), ==, 2);
    g_assert_cmpstr(v[0], ==, "/a/mod1 x=1 y");
    g_assert_cmpstr(v[1], ==, "/b/mod2,with,commas z,");
    g_strfreev(v);
    v = multiboot_split_modules("single");
    g_assert_cmpuint(g_strv_length(v), ==, 1);
    g_assert_cmpstr(v[0], ==, "single");
    g_strfreev(v);
    v = multiboot_split_modules(",");
    g_assert_cmpuint(g_strv_length(v), ==, 0);
    g_strfreev(v);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
#define ADD(name, fn) g_test_add("/multiboot/" name, Fixture, NULL, setup, fn, teardown)
    ADD("aout-modules", test_aout_modules);
    ADD("elf", test_elf);
    ADD("errors", test_errors);
    g_test_add_func("/multiboot/split-modules", test_split_modules);
    return g_test_run();
}
