/*
 * Guest-visible state as data: what suspend writes to a .std file and
 * resume reads back (docs/std-format.md describes the bytes).
 *
 * A device describes its state once, as a table of fields (name, offset in
 * its struct, type, array length, the section version that added it), with
 * optional hooks: pre_save (make lazy state concrete, read state held by
 * the kernel) and post_load (check invariants the device relies on, re-arm
 * what follows from the fields: timers, interrupt line levels).  Saving
 * walks the table into a self-describing byte stream; loading matches the
 * stream's fields to the table by name and refuses, with one line naming
 * the section and field, anything that does not fit: an unknown or missing
 * section or field, another type or size, a newer section version.
 *
 * Sections are named objects ("i8259", "serial.0", "emu-cpu.0") of one
 * stream; a VMStateList is the machine's ordered list of them.
 */
#ifndef VMKEMU_VMSTATE_H
#define VMKEMU_VMSTATE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <glib.h>

typedef enum VMStateType {
    VMS_BOOL = 1,   /* bool, one byte 0 or 1 in the stream */
    VMS_U8,
    VMS_U16,
    VMS_U32,
    VMS_U64,
    VMS_I32,        /* int32_t / int */
    VMS_I64,
    VMS_BUFFER,     /* `size` raw bytes (byte arrays, kernel ABI structs) */
    VMS_VTIMER,     /* a VTimer * member: its deadline (-1 idle); load re-arms */
    VMS_STRUCT,     /* a nested struct described by `vmsd`, elements `size` apart */
} VMStateType;

typedef struct VMStateDescription VMStateDescription;

typedef struct VMStateField {
    const char *name;           /* NULL ends a table */
    size_t offset;
    VMStateType type;
    uint32_t count;             /* array elements; 0 means a single value */
    size_t size;                /* VMS_BUFFER: bytes; VMS_STRUCT: element stride */
    const VMStateDescription *vmsd;     /* VMS_STRUCT */
    uint32_t version_min;       /* section version that added the field (0 = 1) */
} VMStateField;

struct VMStateDescription {
    const char *name;           /* for messages */
    uint32_t version;           /* what this build writes (>= 1) */
    uint32_t minimum_version;   /* oldest version it still reads (0 = 1) */
    /* Before the fields are read for saving. */
    int (*pre_save)(void *opaque, GError **errp);
    /* Before loaded values overwrite the fields (let go of what the old
     * values hold, such as an MMIO mapping). */
    void (*pre_load)(void *opaque);
    /* After every field was stored; `version` is the stream's. */
    int (*post_load)(void *opaque, uint32_t version, GError **errp);
    const VMStateField *fields;
};

/* --- table helpers ---------------------------------------------------------
 * Each checks at compile time that the member has the C type the stream
 * type expects, so a table cannot silently disagree with its struct. */
#define VMS_TYPE_IS(st, f, ctype) \
    (0 * sizeof(char[__builtin_types_compatible_p(__typeof__(((st *)0)->f), ctype) ? 1 : -1]))

#define VMSTATE_SCALAR(st, f, t, ctype) \
    { .name = #f, .offset = offsetof(st, f) + VMS_TYPE_IS(st, f, ctype), .type = (t) }
#define VMSTATE_ARRAY(st, f, t, ctype, n) \
    { .name = #f, .offset = offsetof(st, f) + VMS_TYPE_IS(st, f, ctype[n]), \
      .type = (t), .count = (n) }

#define VMSTATE_BOOL(st, f)     VMSTATE_SCALAR(st, f, VMS_BOOL, bool)
#define VMSTATE_UINT8(st, f)    VMSTATE_SCALAR(st, f, VMS_U8, uint8_t)
#define VMSTATE_UINT16(st, f)   VMSTATE_SCALAR(st, f, VMS_U16, uint16_t)
#define VMSTATE_UINT32(st, f)   VMSTATE_SCALAR(st, f, VMS_U32, uint32_t)
#define VMSTATE_UINT64(st, f)   VMSTATE_SCALAR(st, f, VMS_U64, uint64_t)
#define VMSTATE_INT32(st, f)    VMSTATE_SCALAR(st, f, VMS_I32, int32_t)
#define VMSTATE_INT64(st, f)    VMSTATE_SCALAR(st, f, VMS_I64, int64_t)
#define VMSTATE_BOOL_ARRAY(st, f, n)    VMSTATE_ARRAY(st, f, VMS_BOOL, bool, n)
#define VMSTATE_UINT8_ARRAY(st, f, n)   VMSTATE_ARRAY(st, f, VMS_U8, uint8_t, n)
#define VMSTATE_UINT16_ARRAY(st, f, n)  VMSTATE_ARRAY(st, f, VMS_U16, uint16_t, n)
#define VMSTATE_UINT32_ARRAY(st, f, n)  VMSTATE_ARRAY(st, f, VMS_U32, uint32_t, n)
#define VMSTATE_UINT64_ARRAY(st, f, n)  VMSTATE_ARRAY(st, f, VMS_U64, uint64_t, n)
#define VMSTATE_VTIMER(st, f)   VMSTATE_SCALAR(st, f, VMS_VTIMER, VTimer *)
/* Any member saved as its raw bytes. */
#define VMSTATE_BUFFER(st, f) \
    { .name = #f, .offset = offsetof(st, f), .type = VMS_BUFFER, \
      .size = sizeof(((st *)0)->f) }
/* A member (or array of `n`) of struct type `et`, described by `sub`. */
#define VMSTATE_STRUCT(st, f, sub, et) \
    { .name = #f, .offset = offsetof(st, f) + VMS_TYPE_IS(st, f, et), \
      .type = VMS_STRUCT, .size = sizeof(et), .vmsd = &(sub) }
#define VMSTATE_STRUCT_ARRAY(st, f, n, sub, et) \
    { .name = #f, .offset = offsetof(st, f) + VMS_TYPE_IS(st, f, et[n]), \
      .type = VMS_STRUCT, .count = (n), .size = sizeof(et), .vmsd = &(sub) }
#define VMSTATE_END { .name = NULL }

/* --- one object ------------------------------------------------------------ */

/* Append the fields of `opaque` (runs pre_save first). */
int vmstate_save_fields(GByteArray *out, const VMStateDescription *vmsd,
                        void *opaque, GError **errp);
/* Store the fields of a stream of version `version` into `opaque`, then run
 * post_load.  Messages name `what` (the section). */
int vmstate_load_fields(const uint8_t *data, size_t len, uint32_t version,
                        const VMStateDescription *vmsd, void *opaque,
                        const char *what, GError **errp);

/* --- sections -------------------------------------------------------------- */

/* Append one section: its id, the description's version, its fields. */
int vmstate_save_section(GByteArray *out, const char *id,
                         const VMStateDescription *vmsd, void *opaque,
                         GError **errp);

/* A parsed stream of sections (the bytes must outlive it). */
typedef struct VMStateStream VMStateStream;

VMStateStream *vmstate_stream_parse(const uint8_t *data, size_t len, GError **errp);
void vmstate_stream_free(VMStateStream *s);
/* Load section `id` into `opaque`; a missing section is an error. */
int vmstate_stream_load(VMStateStream *s, const char *id,
                        const VMStateDescription *vmsd, void *opaque,
                        GError **errp);
bool vmstate_stream_has(const VMStateStream *s, const char *id);
/* Every section was loaded; otherwise an error names the first one left. */
int vmstate_stream_check_consumed(const VMStateStream *s, GError **errp);
/* The section ids, in stream order (NULL-terminated; g_free the array only). */
const char **vmstate_stream_ids(const VMStateStream *s);

/* --- the machine's list of sections ---------------------------------------- */

typedef struct VMStateList VMStateList;

VMStateList *vmstate_list_new(void);
void vmstate_list_free(VMStateList *l);
/* Register an object under a unique id (copied). */
void vmstate_list_add(VMStateList *l, const char *id,
                      const VMStateDescription *vmsd, void *opaque);
/* Forget every entry whose object is `opaque` (the device was freed). */
void vmstate_list_remove(VMStateList *l, void *opaque);
int vmstate_list_save(VMStateList *l, GByteArray *out, GError **errp);
/* Load every registered section (each must be in the stream). */
int vmstate_list_load(VMStateList *l, VMStateStream *s, GError **errp);
/* The registered ids, in order, joined by `sep` (g_free it). */
char *vmstate_list_ids(VMStateList *l, const char *sep);

#endif
