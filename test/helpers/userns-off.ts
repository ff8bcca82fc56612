/**
 * Words that run the rest as nobody inside a throwaway user namespace whose user.max_user_namespaces is 0:
 * a real host where user namespaces are switched off, without touching this machine's own sysctl. Needs
 * root (it writes the namespace's uid_map, 65536 ids, from outside).
 *
 * The namespace's first shell waits on a FIFO until its map is written, then execs a shell that is root
 * there with every capability (an exec before the map would have dropped them): it sets the sysctl,
 * which belongs to that namespace, and becomes nobody. Stdin passes through (the probe reads its script).
 */
const SCRIPT = `exec 3<&0
f=$(mktemp -u) && mkfifo "$f" || exit 70
unshare --user sh -c 'read -r _ < "$0"; rm -f "$0"; exec sh -c '\\''echo 0 > /proc/sys/user/max_user_namespaces || exit 70; exec setpriv --reuid=65534 --regid=65534 --clear-groups -- "$@"'\\'' sh "$@"' "$f" "$@" <&3 &
pid=$!
me=$(readlink /proc/self/ns/user)
while [ "$(readlink /proc/$pid/ns/user)" = "$me" ]; do :; done
echo '0 0 65536' > /proc/$pid/uid_map && echo '0 0 65536' > /proc/$pid/gid_map || exit 70
echo go > "$f"
wait $pid`;

export const USERNS_DISABLED = ['sh', '-c', SCRIPT, 'nslab-userns-off'];
