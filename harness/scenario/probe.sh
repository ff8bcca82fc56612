# nslab probe: POSIX sh for dash, bash and busybox ash. It starts the isolated side, observes it from
# inside and from outside, and prints records as KEY NUL VALUE NUL: a shell value cannot hold a NUL, so
# every other byte passes unescaped. Every scenario value arrives as a positional parameter and is only
# ever expanded as "$@" or "$var", never evaluated as shell text. Protocol (built by probe.ts):
#   $1 = fork or nofork (how the isolate argv makes its PID namespace, see NSLAB_NOFORK);
#   $2 = number of words in the isolate argv; then that argv, which ends in
#   `sh -c 'eval "$NSLAB_INNER"' nslab-inside <inside commands>`; then the outside commands.
#   A command list is: COUNT { NAME ARGC ARG... }...
NSLAB_COMMON='
emit() { printf "%s\000%s\000" "$1" "$2"; }
# Runs the first $1 words of the remaining arguments as a command (no shell parsing).
run_argv() (
  n=$1; shift; rest=$(($# - n)); i=0
  while [ "$i" -lt "$n" ]; do set -- "$@" "$1"; shift; i=$((i + 1)); done
  shift "$rest"
  exec "$@"
)
run_cmds() {
  side=$1; shift; count=$1; shift
  while [ "$count" -gt 0 ]; do
    name=$1; argc=$2; shift 2
    out=$(run_argv "$argc" "$@" 2>&1); rc=$?
    emit "$side.run.$name.output" "$out"; emit "$side.run.$name.exit" "$rc"
    shift "$argc"; count=$((count - 1))
  done
}
# The kernel answers uname from these files; reading them costs no process (dash forks for every uname).
uname_all() {
  emit "$1.uname" "$(uname -a)"; emit "$1.kernel.machine" "$(uname -m)"
  read -r v < /proc/sys/kernel/ostype; emit "$1.kernel.name" "$v"
  read -r v < /proc/sys/kernel/osrelease; emit "$1.kernel.release" "$v"
  read -r v < /proc/sys/kernel/version; emit "$1.kernel.version" "$v"
  read -r v < /proc/sys/kernel/hostname; emit "$1.nodename" "$v"; emit "$1.hostname" "$v"
}
# One `ls -l` for all namespace links: "... pid -> pid:[4026531836]".
ns_links() {
  ls -l "/proc/$2/ns/" 2>/dev/null > "$NSLAB_DIR/ns.$$"
  while read -r line; do
    case $line in *" -> "*) ;; *) continue ;; esac
    t=${line% -> *}; t=${t##* }
    case $t in pid | pid_for_children | mnt | uts | ipc | net | user | cgroup | time | time_for_children)
      emit "$1.$t" "${line##* -> }" ;;
    esac
  done < "$NSLAB_DIR/ns.$$"
}
'
NSLAB_INNER="$NSLAB_COMMON"'
{
  emit inside.pid "$$"; emit inside.ppid "$PPID"; uname_all inside; ns_links inside.ns self
  emit inside.ps "$(ps -e -o pid,ppid,args 2>/dev/null || ps -o pid,ppid,args 2>/dev/null || ps)"
  run_cmds inside "$@"
} > "$NSLAB_DIR/inside" 2> "$NSLAB_DIR/inside.err"
# Tell the outside who we are (our PID and PID namespace as we see them) through the FIFO it reads, then
# stay alive as we are until the outside has looked and kills us; bounded, in case it never does.
printf "me %s %s\n" "$$" "$(readlink /proc/self/ns/pid)" > "$NSLAB_DIR/me"
sleep 60 & wait
'
# The inside of `unshare --pid` without --fork. This shell stays in the host's PID namespace; only its
# children enter the new one, the first as its PID 1, and once that has exited the namespace takes no new
# process: fork fails (ENOMEM). So it starts one process per command and no other, each exec'd straight
# from a command substitution under `command eval`: `command` makes eval an ordinary builtin, whose error
# (the failed fork) dash and busybox ash survive (bash exits); the message is kept as the output. It
# tells the outside its PID with "-" for its PID namespace (the outside's own), and waits on a FIFO that
# only the outside holds open, so that it ends when the outside does.
NSLAB_NOFORK='
exec_argv() {
  n=$1; shift; rest=$(($# - n)); i=0
  while [ "$i" -lt "$n" ]; do set -- "$@" "$1"; shift; i=$((i + 1)); done
  shift "$rest"
  exec "$@"
}
{
  emit inside.pid "$$"; emit inside.ppid "$PPID"
  read -r v < /proc/sys/kernel/hostname; emit inside.nodename "$v"; emit inside.hostname "$v"
  count=$1; shift
  while [ "$count" -gt 0 ]; do
    name=$1; argc=$2; shift 2; out=""
    command eval "out=\$(exec_argv \"\$argc\" \"\$@\" 2>&1)" 2> "$NSLAB_DIR/fork.err"; rc=$?
    while IFS= read -r line; do out=${out:+$out
}$line; done < "$NSLAB_DIR/fork.err"
    emit "inside.run.$name.output" "$out"; emit "inside.run.$name.exit" "$rc"
    shift "$argc"; count=$((count - 1))
  done
} > "$NSLAB_DIR/inside" 2> "$NSLAB_DIR/inside.err"
printf "me %s -\n" "$$" > "$NSLAB_DIR/me"
read -r v < "$NSLAB_DIR/hold"
'
eval "$NSLAB_COMMON"
set -u
NSLAB_DIR=$(mktemp -d) || exit 70
export NSLAB_DIR NSLAB_INNER
up=''
pid=''
# Ends the isolated process and its children: without a PID namespace, its `sleep` would outlive it.
end_isolated() {
  kill -9 $(cat /proc/"$1"/task/*/children 2>/dev/null) "$1" 2>/dev/null
}
cleanup() {
  [ -n "$pid" ] && end_isolated "$pid"
  [ -n "$up" ] && kill -9 "$up" 2>/dev/null
  rm -rf "$NSLAB_DIR"
}
trap cleanup EXIT
trap 'exit 130' INT TERM HUP

emit probe.uid "$(id -u)"
uname_all outside
ns_links outside.hostNs $$

# The inside reports on a FIFO that we hold open for reading and writing, so that neither side blocks
# on open. When the isolate command ends, its wrapper writes "exited": a failed start never hangs us.
mkfifo "$NSLAB_DIR/me" || exit 70
exec 3<> "$NSLAB_DIR/me"
mode=$1; n=$2; shift 2
if [ "$mode" = nofork ]; then
  NSLAB_INNER=$NSLAB_COMMON$NSLAB_NOFORK
  mkfifo "$NSLAB_DIR/hold" || exit 70
fi
{ run_argv "$n" "$@" > /dev/null 2> "$NSLAB_DIR/isolate.err"; echo "exited $?" >&3; } &
up=$!
shift "$n"
# Opened after the start, so that the isolated side does not inherit it: its wait ends with us.
if [ "$mode" = nofork ]; then exec 4<> "$NSLAB_DIR/hold"; fi

read -r what me_pid me_ns <&3
if [ "$what" != me ]; then
  wait "$up"; up=''
  emit probe.isolate.exit "$me_pid"
  emit probe.isolate.stderr "$(cat "$NSLAB_DIR/isolate.err" "$NSLAB_DIR/inside.err" "$NSLAB_DIR/fork.err" 2>/dev/null)"
  exit 0
fi

# Without --fork the isolated shell is in our PID namespace (its children are not) and says "-".
if [ "$me_ns" = - ]; then me_ns=$(readlink /proc/self/ns/pid); fi
# The isolated process, seen from here: among the descendants of what we started, the one in the inside's
# PID namespace whose innermost PID is the one it told us, first among its descendants (children lists).
is_inside() {
  [ "$(readlink "/proc/$1/ns/pid" 2>/dev/null)" = "$me_ns" ] || return 1
  while read -r k v; do
    [ "$k" = NSpid: ] && { [ "${v##*[!0-9]}" = "$me_pid" ]; return; }
  done < "/proc/$1/status"
  [ "$1" = "$me_pid" ]
}
if [ -r "/proc/$up/task/$up/children" ]; then
  queue=$up
  while [ -z "$pid" ] && [ -n "$queue" ]; do
    next=''
    for p in $queue; do
      for c in $(cat /proc/"$p"/task/*/children 2>/dev/null); do
        is_inside "$c" && { pid=$c; break 2; }
        next="$next $c"
      done
    done
    queue=$next
  done
fi
# Not among them when a daemon starts it (docker: containerd's shim), or without children lists: all of /proc.
if [ -z "$pid" ]; then
  for d in /proc/[0-9]*; do is_inside "${d#/proc/}" && { pid=${d#/proc/}; break; }; done
fi
emit outside.pid "$pid"
nspid=''
while read -r k v; do [ "$k" = NSpid: ] && nspid=$v; done < "/proc/$pid/status"
emit outside.nspid "$nspid"
ns_links outside.ns "$pid"
p=$pid; chain=''; depth=0
while [ -n "$p" ] && [ "$p" != 0 ] && [ "$depth" -lt 64 ]; do
  read -r comm < "/proc/$p/comm"
  chain="$chain$p $comm
"
  pp=''
  while read -r k v; do [ "$k" = PPid: ] && { pp=$v; break; }; done < "/proc/$p/status"
  p=$pp; depth=$((depth + 1))
done
emit outside.parents "$chain"
NSLAB_PID=$pid
export NSLAB_PID
run_cmds outside "$@"

cat "$NSLAB_DIR/inside"
end_isolated "$pid"
pid=''
wait "$up" 2>/dev/null
up=''
emit probe.isolate.stderr "$(cat "$NSLAB_DIR/inside.err" 2>/dev/null)"
