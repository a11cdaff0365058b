/*
 * A small builder for ACPI Machine Language byte code (ACPI 6.x chapter 20,
 * "ACPI Machine Language (AML) Specification"), enough for vmkemu's DSDT:
 * names, integers, strings, packages, buffers, scopes, devices, methods
 * and resource templates (I/O ports, address space windows).
 *
 * A node is either plain bytes or a block (scope, device, method, package,
 * buffer) whose PkgLength is computed when it is appended to its parent.
 * aml_append() takes ownership of the child.  Names are ASL-style paths:
 * "\\_SB.FWCF", "_S5", "^PCI0.ISA"; each segment is at most four characters
 * and is padded with '_'.
 */
#ifndef VMKEMU_HW_AML_BUILDER_H
#define VMKEMU_HW_AML_BUILDER_H

#include <stdbool.h>
#include <stdint.h>
#include <glib.h>

typedef struct Aml Aml;

/* Bytes of a finished term list (e.g. a DSDT body). */
Aml *aml_new(void);
void aml_free(Aml *a);
void aml_append(Aml *parent, Aml *child);
/* The encoded bytes of `a` (serialized as a term, blocks included). */
GByteArray *aml_to_bytes(Aml *a);

/* Data objects. */
Aml *aml_int(uint64_t v);           /* Zero/One/Ones or Byte/Word/DWord/QWord */
Aml *aml_string(const char *s);     /* ASCII, no NUL inside */
Aml *aml_name(const char *path);    /* a NameString reference */
Aml *aml_eisaid(const char *id);    /* "PNP0A03" -> compressed DWord */
Aml *aml_package(void);             /* NumElements counts appended children */
Aml *aml_buffer(const uint8_t *data, unsigned len);

/* Named objects and blocks. */
Aml *aml_name_decl(const char *name, Aml *value);      /* Name(name, value) */
Aml *aml_scope(const char *path);
Aml *aml_device(const char *name);
Aml *aml_method(const char *name, unsigned nargs, bool serialized);
Aml *aml_return(Aml *value);

/* Resource templates (ACPI 6.x 6.4): a buffer ending with an End Tag. */
Aml *aml_resource_template(void);
/* I/O port descriptor (6.4.2.5), 16-bit decode. */
Aml *aml_io(uint16_t min, uint16_t max, uint8_t align, uint8_t len);

/* Address space descriptors (6.4.3.5.2 DWord, 6.4.3.5.3 Word) of a
 * bridge's window: ResourceProducer, MinFixed, MaxFixed, PosDecode, no
 * translation, length max - min + 1. */
Aml *aml_word_bus_number(uint16_t min, uint16_t max);
Aml *aml_word_io(uint16_t min, uint16_t max);                 /* EntireRange */
Aml *aml_dword_memory(uint32_t min, uint32_t max);            /* Cacheable, RW */

/* Exposed for tests: the PkgLength encoding of a length that already counts
 * the PkgLength bytes themselves; returns the number of bytes (1-4) or 0
 * when too long. */
unsigned aml_encode_pkglength(uint32_t total, uint8_t out[4]);

#endif
