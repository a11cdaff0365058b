# Guest side of tests/net/user.t and tests/net/esx-mac.t (run by the test
# initramfs's /init as vmkemu.script=guest-net.sh, after
# vmkemu.modules=pcnet32): print eth0's address, bring eth0 up with busybox
# udhcpc, ping the user-mode network's gateway, fetch a file from the
# host's HTTP server through it when nettest_port=N (the server's port on
# the host's loopback, 10.0.2.2 from here) is on the kernel command line,
# and answer one connection forwarded from the host (hostfwd to port
# 7777).  Each step prints a line the host checks.
port=$(sed -n 's/.*nettest_port=\([0-9]*\).*/\1/p' /proc/cmdline)
echo "MAC $(cat /sys/class/net/eth0/address)"

cat > /tmp/udhcpc.sh <<'SCRIPT'
#!/bin/sh
case "$1" in
deconfig)
	ifconfig "$interface" 0.0.0.0 up ;;
bound|renew)
	ifconfig "$interface" "$ip" netmask "${subnet:-255.255.255.0}" up
	for gw in $router; do route add default gw "$gw" dev "$interface"; break; done
	echo "DHCP-BOUND $ip router $router dns $dns" ;;
esac
SCRIPT
chmod +x /tmp/udhcpc.sh
ifconfig lo 127.0.0.1 up
udhcpc -i eth0 -s /tmp/udhcpc.sh -q -n -t 5 -T 3 || echo "DHCP-FAILED"

if ping -c 3 -W 5 10.0.2.2 > /tmp/ping 2>&1; then
	echo "PING-OK $(grep 'packets transmitted' /tmp/ping)"
else
	echo "PING-FAILED"; cat /tmp/ping
fi

if [ -z "$port" ]; then
	:
elif timeout 300 wget -q -O /tmp/file "http://10.0.2.2:$port/file"; then
	echo "WGET-MD5 $(md5sum < /tmp/file | cut -d' ' -f1) $(wc -c < /tmp/file)"
else
	echo "WGET-FAILED"
fi

cat > /tmp/answer.sh <<'SCRIPT'
#!/bin/sh
read -r line
echo "guest-got:$line"
SCRIPT
chmod +x /tmp/answer.sh
echo "NC-LISTEN 7777"
nc -l -p 7777 -e /tmp/answer.sh
echo "NC-DONE $?"
ifconfig eth0 | grep -o 'RX packets[^(]*\|TX packets[^(]*\|RX bytes:[0-9]*\|TX bytes:[0-9]*' | tr '\n' ' '
echo
