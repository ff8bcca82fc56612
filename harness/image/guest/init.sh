#!/bin/busybox sh
# nslab guest /init (debian builder): PID 1 of the VM. Mounts the basics, loads the virtio modules, brings
# up the network, runs what /etc/nslab/boot.conf lists (mapped from linuxkit.yml's onboot and services),
# then reaps children until poweroff. Console lines starting "nslab:" are read by the harness.
export PATH=/usr/sbin:/usr/bin:/sbin:/bin
/bin/busybox mkdir -p /proc /sys /dev /run /tmp /var/log /bin /sbin
/bin/busybox mount -t proc proc /proc
/bin/busybox mount -t devtmpfs devtmpfs /dev 2>/dev/null
exec < /dev/console > /dev/console 2>&1
echo "nslab: init"
[ -e /bin/ls ] || /bin/busybox --install -s /bin # links are made at build time when possible
mount -t sysfs sysfs /sys
mkdir -p /dev/pts /dev/shm
mount -t devpts -o gid=5,mode=620,ptmxmode=666 devpts /dev/pts
mount -t tmpfs -o mode=1777 tmpfs /tmp
mount -t tmpfs -o mode=755 tmpfs /run
mount -t cgroup2 cgroup2 /sys/fs/cgroup 2>/dev/null
for m in /lib/modules/nslab/*.ko; do [ -e "$m" ] && insmod "$m"; done
[ -s /etc/hostname ] && hostname -F /etc/hostname
ip link set lo up

# This boot's secrets (the guest's host key, the client's public key), the time and fresh entropy come over a
# virtio-serial port that only the host can write, once everything else is up. A VM saved while it waits
# here holds no secret, and every VM restored from it gets keys, a clock and a random state of its own.
secrets() {
  umask 077
  port=
  for n in /sys/class/virtio-ports/*/name; do
    d=${n%/name}
    read -r name < "$n" && [ "$name" = nslab.secrets ] && port=/dev/${d##*/}
  done
  [ -n "$port" ] || { echo "nslab: no secrets port (virtio-serial nslab.secrets)"; return 1; }
  echo "nslab: waiting for secrets"
  # Until the host connects, a read gets end-of-file at once: try again shortly, on the same descriptor.
  # Closing the port between tries lost the keys now and then: QEMU drops what the host wrote when the
  # guest closes the port just as it reads. Builtins only: after a restore every process start is slow
  # (QEMU translates the guest's code anew).
  exec 3< "$port"
  while :; do
    while read -r key value <&3; do
      case $key in
        time) now=$value ;; # set in the sshd entry, while the host's SSH connection is being made
        seed) echo "$value" > /dev/urandom ;;
        authorized_key) echo "$value" > /root/.ssh/authorized_keys ;;
        host_key) printf '%b' "$value" > /etc/dropbear/dropbear_ed25519_host_key ;;
        end)
          exec 3<&-
          umask 022
          echo "nslab: secrets received"
          return 0
          ;;
      esac
    done
    sleep 0.02
  done
}

# Whether a TCP socket listens on port $1 (4 hex digits, as the kernel's tables write it), IPv4 or IPv6.
# Builtins only, no command substitution: each fork costs time under TCG.
listening() {
  for table in /proc/net/tcp /proc/net/tcp6; do
    [ -r "$table" ] || continue
    while read -r _ local _ st _; do
      [ "${local##*:}" = "$1" ] && [ "$st" = 0A ] && return 0
    done < "$table"
  done
  return 1
}

# Runs once what every preflight and probe runs, while the host's SSH connection is being made (on the
# other vCPU): after a restore QEMU translates the guest's code anew (its translation cache is not saved),
# 10-20 ms a program the first time; done here, the first scenario finds it translated. Output discarded.
warm_up() {
  {
    d=$(mktemp -d) && mkfifo "$d/f" && rm -rf "$d"
    unshare --pid --fork --mount-proc sh -c \
      'ls -l /proc/self/ns/; ps -e -o pid,ppid,args; uname -a; readlink /proc/self/ns/pid; cat /proc/self/stat'
    grep -s -H '' /proc/sys/user/max_user_namespaces
    unshare --version
  } > /dev/null 2>&1
}

start() {
  case $1 in
    sysctl) for f in /etc/sysctl.d/*.conf /etc/sysctl.conf; do [ -r "$f" ] && sysctl -q -p "$f"; done ;;
    # QEMU's user network always offers the same lease: set it without a DHCP exchange (udhcpc and its
    # hook cost about 0.3 s under TCG, every process start counting).
    dhcpcd)
      ifconfig eth0 10.0.2.15 netmask 255.255.255.0 up && route add default gw 10.0.2.2
      echo "nameserver 10.0.2.3" > /etc/resolv.conf
      ;;
    rngd) : ;; # the kernel reads virtio-rng and RDRAND itself
    sshd)
      mkdir -p /root/.ssh /etc/dropbear && chmod 700 /root /root/.ssh
      # Started before the keys arrive, so that a restored guest has it listening already: with -R each
      # connection reads the host key file when it needs it. (With no file it would make a key: the host
      # connects only once the keys are in place, and a key of the guest's own would not match the pinned
      # one.) It reads whatever key files there are as it starts: the keys are taken only once it listens,
      # so that it never reads one half-written (it did, now and then, and exited).
      dropbear -R -s -g -p 22 -F -E 2>> /var/log/dropbear.log &
      i=0
      until listening 0016 || [ "$i" -ge 500 ]; do sleep 0.01; i=$((i + 1)); done
      [ -s /etc/dropbear/dropbear_ed25519_host_key ] || secrets # an initrd overlay may have brought them
      warm_up &
      warming=$!
      # The host's time, before "ready": no command sees the saved guest's clock.
      [ -n "${now:-}" ] && date -u -s "@$now" > /dev/null
      ;;
    getty) (while :; do setsid getty -n -l /bin/sh 115200 console; done) & ;;
    *) echo "nslab: unknown boot entry $1" ;;
  esac
}
while read -r when what; do
  case $when in onboot | service) start "$what" ;; esac
done < /etc/nslab/boot.conf
[ -n "${warming:-}" ] && wait "$warming" # before "ready": no scenario sees its processes
read -r uptime _ < /proc/uptime # a builtin: under TCG every process start counts
echo "nslab: ready $uptime"

trap 'echo "nslab: poweroff"; sync; poweroff -f' USR2 TERM INT
while :; do wait; sleep 1; done
