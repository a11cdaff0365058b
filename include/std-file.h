/*
 * The .std suspend file: the whole machine (CPU, every device, RAM
 * compressed with zlib) in one versioned, checksummed file, as the ESX
 * Server 1.0 manual's "Suspending and Resuming Virtual Machines" describes
 * it.  The format is specified in docs/std-format.md.
 */
#ifndef VMKEMU_STD_FILE_H
#define VMKEMU_STD_FILE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <glib.h>
#include "machine.h"

#define STD_MAGIC           "\x89VMKSTD\n"
#define STD_MAGIC_LEN       8
#define STD_FORMAT_VERSION  1
#define STD_HEADER_LEN      64
#define STD_DIGEST_LEN      32      /* SHA-256 */
#define STD_PAGE_SIZE       4096

/* Write the machine, paused or not yet started, to `path`: a temporary file
 * beside it, fsync'd, then renamed over `path` (a crash leaves the old file
 * or the new one, never half of one).  `cfg_digest` is the SHA-256 of the
 * .cfg's contents and `cfg_path` its name (both NULL without a .cfg).
 * Errors name the file. */
int std_save(Machine *m, const char *path, const uint8_t *cfg_digest,
             const char *cfg_path, GError **errp);

/* Check `path` and load it into `m`, a machine built from the same
 * configuration and not started.  Nothing of the machine changes until the
 * file's checksum, format version, configuration digest and machine
 * description all match; a failure after that leaves the machine unusable
 * (destroy it).  The error is one line: "PATH: what is wrong". */
int std_load(Machine *m, const char *path, const uint8_t *cfg_digest,
             GError **errp);
/* The same for bytes in memory; `what` names them in errors. */
int std_load_buffer(Machine *m, const uint8_t *data, size_t len,
                    const uint8_t *cfg_digest, const char *what, GError **errp);

/* SHA-256 of a file's contents (the .cfg); errors name the file. */
int std_file_digest(const char *path, uint8_t digest[STD_DIGEST_LEN], GError **errp);

#endif
