# Guest side of tests/hw/buslogic-linux.t (run by the busybox /init as
# /scripts/scsi-check.sh after modprobe BusLogic sd_mod sr_mod isofs):
# report the SCSI disk's size and contents, write a pattern through the
# page cache with fsync, read it back from the disk after dropping the
# caches; and when there is a SCSI CD-ROM, mount it and show hello.txt.
dev=/dev/sda
i=0
while [ ! -b $dev ] && [ $i -lt 30 ]; do
    sleep 1
    i=$((i + 1))
done
echo "SCSI-MODEL $(cat /sys/block/sda/device/vendor) $(cat /sys/block/sda/device/model)"
echo "SCSI-SIZE $(cat /sys/block/sda/size)"
echo "SCSI-MD5 $(md5sum < $dev | cut -d' ' -f1)"
yes vmkemu-scsi-pattern | head -c 1048576 > /tmp/pattern
dd if=/tmp/pattern of=$dev bs=65536 seek=64 conv=fsync 2>/dev/null
echo "SCSI-WRITE status=$?"
sync
echo 3 > /proc/sys/vm/drop_caches
grep -i buslogic /proc/interrupts | sed 's/^/SCSI-IRQ /'
echo "SCSI-READBACK $(dd if=$dev bs=65536 skip=64 count=16 2>/dev/null | md5sum | cut -d' ' -f1)"
if grep -qx 5 /sys/bus/scsi/devices/*/type 2>/dev/null; then
    i=0
    while [ ! -b /dev/sr0 ] && [ $i -lt 30 ]; do
        sleep 1
        i=$((i + 1))
    done
    mkdir -p /mnt/cd
    mount -t iso9660 -o ro /dev/sr0 /mnt/cd && echo "SCSI-CD $(cat /mnt/cd/hello.txt)"
    umount /mnt/cd
fi
