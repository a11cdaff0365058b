#!/usr/bin/env python3
# bench/vmkfstools, briefly: one run of each command on a 64 MiB disk.
# Correctness only (the script itself checks every output with qemu-img
# compare and fails when one differs); times are never asserted.
import os
import re
import shutil
import subprocess
import sys

SRC = os.environ.get("VMKEMU_SRC", ".")
BUILD = os.environ.get("VMKEMU_BUILD", ".")

if not shutil.which("qemu-img"):
    print("1..0 # SKIP qemu-img not installed (apt-get install qemu-utils)")
    sys.exit(0)

print("1..3")
env = dict(os.environ, VMKEMU_BUILD=BUILD,
           ASAN_OPTIONS=os.environ.get("ASAN_OPTIONS", "") + ":detect_leaks=0")
p = subprocess.run([sys.executable, os.path.join(SRC, "bench", "vmkfstools"),
                    "--runs", "1", "--size", "0.0625", "--quiet"],
                   capture_output=True, text=True, env=env)
out = p.stdout + p.stderr
print(f"{'ok' if p.returncode == 0 else 'not ok'} 1 - bench/vmkfstools "
      "--size 0.0625 runs, and every output compares equal")
if p.returncode != 0:
    for line in out.splitlines()[-20:]:
        print(f"#   {line}")
rows = {(m.group(1), m.group(2)) for m in
        re.finditer(r"^(export|import)\s+(vmkemu|qemu-img)\s+[0-9.]+",
                    out, re.M)}
want = {(op, tool) for op in ("export", "import")
        for tool in ("vmkemu", "qemu-img")}
print(f"{'ok' if rows == want else 'not ok'} 2 - the table has a row for "
      "each operation and tool")
ratios = re.findall(r"^(?:export|import)\s+vmkemu\s+[0-9.]+\s+[0-9.]+\s+"
                    r"[0-9]+\s+([0-9.]+)$", out, re.M)
print(f"{'ok' if len(ratios) == 2 else 'not ok'} 3 - a ratio for export and "
      "import")
if rows != want or len(ratios) != 2:
    for line in out.splitlines():
        print(f"#   {line}")
