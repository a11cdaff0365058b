#!/bin/bash
# Interop test of scripts/guest-assets (docs/guest-assets.md): it fetches
# Debian's kernels and busybox-static through apt and builds the test-guest
# images; QEMU (Debian's qemu-system-x86, TCG) is the peer that proves the
# images boot, run their command and power off, until vmkemu boots them.
# TAP; skips when apt or QEMU is not there.

src=${VMKEMU_SRC:-$(cd "$(dirname "$0")/../.." && pwd)}
ga="$src/scripts/guest-assets"
md5_zero32m=58f06dd588d8ffb3beb46ada6309436b
boot_timeout=90

tmp=$(mktemp -d) || { echo "Bail out! mktemp -d failed"; exit 1; }
trap 'rm -rf "$tmp"' EXIT

for tool in apt-get dpkg-deb cpio; do
	if ! command -v "$tool" >/dev/null 2>&1; then
		echo "1..0 # SKIP $tool not available"
		exit 0
	fi
done

n=0 failed=0
ok() {
	n=$((n + 1))
	if [ "$1" = 0 ]; then echo "ok $n - $2"; else echo "not ok $n - $2"; failed=$((failed + 1)); fi
}
skip() { n=$((n + 1)); echo "ok $n - $1 # SKIP $2"; }
diag() { sed 's/^/# /' "$@"; }

echo "1..13"

# 1: build both guests (fetching if the cache is cold)
"$ga" >"$tmp/out1" 2>"$tmp/err1"
rc=$?
if [ $rc != 0 ] && [ "$(id -u)" != 0 ]; then
	# Not root: apt may be unable to add i386 or update its lists.
	diag "$tmp/err1"
	for i in $(seq 1 13); do skip "guest assets" "guest-assets needs root here"; done
	exit 0
fi
declare -A kernel initrd
while read -r a k i; do kernel[$a]=$k; initrd[$a]=$i; done <"$tmp/out1"
good=0
[ $rc = 0 ] && [ "$(wc -l <"$tmp/out1")" = 2 ] || good=1
for a in amd64 i386; do
	[ -s "${kernel[$a]:-/nonexistent}" ] && [ -s "${initrd[$a]:-/nonexistent}" ] || good=1
	# a bzImage has "HdrS" at offset 0x202; newc archives start "070701"
	[ "$(dd if="${kernel[$a]:-/dev/null}" bs=1 skip=514 count=4 2>/dev/null)" = HdrS ] || good=1
	[ "$(gzip -dc "${initrd[$a]:-/dev/null}" 2>/dev/null | head -c 6)" = 070701 ] || good=1
done
[ $good = 0 ] || { diag "$tmp/out1" "$tmp/err1"; }
ok $good "guest-assets builds vmlinuz + initramfs (bzImage, gzip'd newc) for amd64 and i386"

# 2: a second run finds everything up to date and touches nothing
stat -c '%n %Y %s' "${kernel[@]}" "${initrd[@]}" >"$tmp/stat1" 2>&1
"$ga" >"$tmp/out2" 2>"$tmp/err2"
rc=$?
stat -c '%n %Y %s' "${kernel[@]}" "${initrd[@]}" >"$tmp/stat2" 2>&1
good=0
[ $rc = 0 ] && cmp -s "$tmp/out1" "$tmp/out2" && cmp -s "$tmp/stat1" "$tmp/stat2" &&
	[ "$(grep -c 'up to date' "$tmp/err2")" = 2 ] || { good=1; diag "$tmp/err2"; }
ok $good "a second run is a no-op: same paths, files untouched, 'up to date'"

# 3: --print-dir prints the cache directory the images are in
dir=$("$ga" --print-dir)
k=${kernel[amd64]}
[ -n "$dir" ] && [ "${k%/*}" = "$dir" ] && case ${k##*/} in vmlinuz-amd64.*) true ;; *) false ;; esac
ok $? "--print-dir prints the cache directory"

# 4: a bad argument is one clear line and a non-zero exit
"$ga" --arch sparc >"$tmp/out4" 2>"$tmp/err4"
rc=$?
[ $rc != 0 ] && [ ! -s "$tmp/out4" ] && [ "$(wc -l <"$tmp/err4")" = 1 ] &&
	grep -q "^guest-assets: --arch 'sparc'" "$tmp/err4"
ok $? "--arch sparc fails with one 'guest-assets:' line"

# boot ARCH LOG APPEND [QEMU-ARGS...]: boot under QEMU with TCG; sets qrc
boot() {
	local a=$1 log=$2 append=$3 qemu
	shift 3
	case "$a" in amd64) qemu=qemu-system-x86_64 ;; i386) qemu=qemu-system-i386 ;; esac
	timeout -k 5 "$boot_timeout" "$qemu" -accel tcg -m 256 -nographic -no-reboot -nic none \
		-kernel "${kernel[$a]}" -initrd "${initrd_override:-${initrd[$a]}}" \
		-append "console=ttyS0 panic=-1 $append" "$@" </dev/null >"$log" 2>&1
	qrc=$?
}
powered_off() { [ "$qrc" = 0 ] && grep -q 'reboot: Power down' "$1"; }

# 5-10: each arch boots, runs the built-in md5 command and powers off
for a in amd64 i386; do
	case "$a" in amd64) qemu=qemu-system-x86_64 ;; i386) qemu=qemu-system-i386 ;; esac
	if ! command -v "$qemu" >/dev/null 2>&1; then
		for t in BOOT-OK md5 poweroff; do skip "$a guest: $t" "$qemu not installed"; done
		continue
	fi
	log="$tmp/boot-$a.log"
	boot "$a" "$log" "quiet vmkemu.cmd=md5"
	grep -Eq $'^BOOT-OK [0-9]+\.[0-9]{2}\r?$' "$log"
	ok $? "$a guest prints BOOT-OK <uptime>"
	grep -q "^$md5_zero32m  -" "$log" && grep -q '^VMKEMU-END status=0' "$log"
	ok $? "$a guest: vmkemu.cmd=md5 prints the md5 of 32 MiB of zeroes, status 0"
	powered_off "$log"
	good=$?
	[ $good = 0 ] || { echo "# qemu exit status $qrc"; tail -n 20 "$log" | diag; }
	ok $good "$a guest powers off and QEMU exits"
done

# 11-12: an --add-script script, with modules, reads an ext4 disk (amd64)
if command -v qemu-system-x86_64 >/dev/null 2>&1 && command -v mke2fs >/dev/null 2>&1; then
	mkdir -p "$tmp/files"
	head -c 100000 /dev/urandom >"$tmp/files/payload"
	want=$(md5sum <"$tmp/files/payload" | cut -d' ' -f1)
	truncate -s 16M "$tmp/disk.img"
	mke2fs -q -F -t ext4 -d "$tmp/files" "$tmp/disk.img" >/dev/null 2>&1
	cat >"$tmp/disk-check" <<'EOF'
mkdir -p /mnt
mount -t ext4 -o ro /dev/sda /mnt || exit 9
echo "payload-md5 $(md5sum < /mnt/payload)"
exit 3
EOF
	"$ga" --arch amd64 --add-script "$tmp/disk-check" >"$tmp/out11" 2>"$tmp/err11"
	rc=$?
	read -r _ _ extra <"$tmp/out11"
	good=0
	[ $rc = 0 ] && [ -s "$extra" ] && [ "$extra" != "${initrd[amd64]}" ] || { good=1; diag "$tmp/err11"; }
	ok $good "--add-script builds a separate image with the script"
	initrd_override=$extra boot amd64 "$tmp/boot-disk.log" \
		"quiet vmkemu.modules=ata_piix,sd_mod,ext4 vmkemu.script=disk-check" \
		-drive "file=$tmp/disk.img,format=raw,if=ide"
	grep -q "^payload-md5 $want  -" "$tmp/boot-disk.log" &&
		grep -q '^VMKEMU-END status=3' "$tmp/boot-disk.log" && powered_off "$tmp/boot-disk.log"
	good=$?
	[ $good = 0 ] || { echo "# qemu exit status $qrc"; tail -n 20 "$tmp/boot-disk.log" | diag; }
	ok $good "vmkemu.script + vmkemu.modules: the guest mounts ext4 on IDE and reads the file; status 3 passed out"
else
	skip "--add-script image" "qemu-system-x86_64 or mke2fs not installed"
	skip "ext4 disk read by an added script" "qemu-system-x86_64 or mke2fs not installed"
fi

# 13: vmkemu.run with a quoted pipeline (i386)
if command -v qemu-system-i386 >/dev/null 2>&1; then
	boot i386 "$tmp/boot-run.log" 'quiet vmkemu.run="echo run-$((6*7)) | tr a-z A-Z"'
	grep -q '^RUN-42' "$tmp/boot-run.log" && grep -q '^VMKEMU-END status=0' "$tmp/boot-run.log" &&
		powered_off "$tmp/boot-run.log"
	good=$?
	[ $good = 0 ] || { echo "# qemu exit status $qrc"; tail -n 20 "$tmp/boot-run.log" | diag; }
	ok $good "i386 guest: vmkemu.run=\"...\" runs a quoted pipeline"
else
	skip "vmkemu.run" "qemu-system-i386 not installed"
fi

[ $failed = 0 ]
