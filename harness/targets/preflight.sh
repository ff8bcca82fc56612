# nslab preflight: what a target offers the scenarios, as KEY=VALUE lines, once per target before they run.
# POSIX sh for dash, bash and busybox ash; builtins where it can (each process costs time in a TCG guest).
# The tool names to look for arrive as positional parameters and are only ever expanded as "$t".
# Uid: real, effective, saved, fs; the effective one is what `id -u` says.
while read -r k a b rest; do
  case $k in Uid:) echo "uid=$b" ;; CapEff:) echo "capeff=$a" ;; esac
done < /proc/self/status
# One ls for all namespace links (ls's own, the same as this shell's): "... pid -> pid:[4026531836]".
# Read from a here-document, not a pipe: one process fewer.
while read -r line; do
  case $line in *" -> "*) t=${line% -> *}; echo "ns.${t##* }=${line##* -> }" ;; esac
done << EOF
$(ls -l /proc/self/ns/ 2> /dev/null)
EOF
# One grep for all sysctls ("path:value"; -s: a missing one is no error). Not read: an integer sysctl
# answers a read at a non-zero offset with EOF, and read takes a byte at a time.
while IFS=: read -r f value; do
  [ -n "$f" ] && echo "sysctl.${f#/proc/sys/}=$value"
done << EOF
$(grep -s -H '' /proc/sys/user/max_user_namespaces /proc/sys/kernel/unprivileged_userns_clone /proc/sys/kernel/apparmor_restrict_unprivileged_userns)
EOF
read -r release < /proc/sys/kernel/osrelease
config=''
if [ -r /proc/config.gz ]; then config=$(zcat /proc/config.gz 2>/dev/null)
elif [ -r "/boot/config-$release" ]; then config=$(cat "/boot/config-$release")
fi
[ -n "$config" ] && printf '%s\n' "$config" | while read -r line; do
  case $line in
    CONFIG_UTS_NS=* | CONFIG_IPC_NS=* | CONFIG_USER_NS=* | CONFIG_PID_NS=* | CONFIG_NET_NS=* | CONFIG_TIME_NS=* | CONFIG_CGROUPS=*)
      echo "config.$line" ;;
    "# CONFIG_"*" is not set") t=${line#\# }; t=${t%% *}
      case $t in CONFIG_UTS_NS | CONFIG_IPC_NS | CONFIG_USER_NS | CONFIG_PID_NS | CONFIG_NET_NS | CONFIG_TIME_NS | CONFIG_CGROUPS) echo "config.$t=n" ;; esac ;;
  esac
done
for t in "$@"; do
  if command -v "$t" > /dev/null 2>&1; then echo "tool.$t=yes"; else echo "tool.$t=no"; fi
done
if command -v unshare > /dev/null 2>&1; then
  v=$(unshare --version 2>&1)
  echo "unshare=${v%%
*}"
fi
exit 0
