/*
 * The portable emulator as an accelerator: runs target-i386 on a thread per
 * vCPU.  Not available until the CPU emulator issue lands.
 */
#include "accel.h"

static bool emu_available(const char **why)
{
    *why = "the CPU emulator is not available yet";
    return false;
}

const AccelOps accel_emu_ops = {
    .name = "emu",
    .available = emu_available,
};
