# nslab probe: POSIX sh for dash, bash and busybox ash. It starts the isolated side, observes it from
# inside and from outside, and prints records as KEY NUL VALUE NUL: a shell value cannot hold a NUL, so
# every other byte passes unescaped. Every scenario value arrives as a positional parameter and is only
# ever expanded as "$@" or "$var", never evaluated as shell text. Protocol (built by probe.ts):
#   $1 = fork or nofork (how the isolate argv makes its PID namespace, see NSLAB_NOFORK);
#   $2 = the outside built-ins the scenario asks for, one word, space-separated;
#   $3 = number of words in the isolate argv; then that argv, which ends in the runtime's inside shell
#   (`sh -c 'eval "$NSLAB_INNER"' nslab-inside` or its like) with the inside built-ins as one word and the
#   inside commands; then the outside commands. A command list is: COUNT { NAME ARGC ARG... }...
# Every process costs time in a TCG guest (about 10 ms an exec there), so built-ins are read from /proc
# with the shell's own read where they can be, and only the observations asked for are made.
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
# Whether the built-in $1 is among those asked for ($want).
wants() { case " $want " in *" $1 "*) return 0 ;; esac; return 1; }
# A small text file into $text, without a process (a trailing newline dropped, as $(cat) would).
slurp() {
  text=''; first=1
  [ -r "$1" ] || return 0
  while IFS= read -r l || [ -n "$l" ]; do
    if [ "$first" = 1 ]; then text=$l; first=0; else text="$text
$l"; fi
  done < "$1"
}
# One process, uname -a, as printed; the rest the kernel answers in these files (kernel.arch: uname -m).
uname_all() {
  emit "$1.uname" "$(uname -a)"
  if [ -r /proc/sys/kernel/arch ]; then read -r v < /proc/sys/kernel/arch; else v=$(uname -m); fi
  emit "$1.kernel.machine" "$v"
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
      emit "$1.$t" "${line##* -> }"; [ "$t" = pid ] && pid_link=${line##* -> } ;;
    esac
  done < "$NSLAB_DIR/ns.$$"
}
'
NSLAB_INNER="$NSLAB_COMMON"'
want=$1; shift
pid_link=''
{
  emit inside.pid "$$"; emit inside.ppid "$PPID"
  wants uname && uname_all inside
  wants hostname && { read -r v < /proc/sys/kernel/hostname; emit inside.hostname "$v"; }
  wants ns && ns_links inside.ns self
  wants ps && emit inside.ps "$(ps -e -o pid,ppid,args 2>/dev/null || ps -o pid,ppid,args 2>/dev/null || ps)"
  run_cmds inside "$@"
} > "$NSLAB_DIR/inside" 2> "$NSLAB_DIR/inside.err"
# Tell the outside who we are (our PID and PID namespace as we see them) through the FIFO it reads, then
# stay alive as we are until the outside has looked and kills us: we wait on a FIFO that only the outside
# holds open, so that we also end when it does.
[ -n "$pid_link" ] || pid_link=$(readlink /proc/self/ns/pid)
printf "me %s %s\n" "$$" "$pid_link" > "$NSLAB_DIR/me"
read -r v < "$NSLAB_DIR/hold"
'
# The inside of `unshare --pid` without --fork. This shell stays in the host's PID namespace; only its
# children enter the new one, the first as its PID 1, and once that has exited the namespace takes no new
# process: fork fails (ENOMEM). So it starts one process per command and no other, each exec'd straight
# from a command substitution under `command eval`: `command` makes eval an ordinary builtin, whose error
# (the failed fork) dash and busybox ash survive (bash exits); the message is kept as the output. It
# tells the outside its PID with "-" for its PID namespace (the outside's own), and waits on a FIFO that
# only the outside holds open, so that it ends when the outside does.
NSLAB_NOFORK='
shift
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
# The children of process $1 into $kids, from the kernel's lists (read, not cat: no process).
children_of() {
  kids=''
  for f in /proc/"$1"/task/*/children; do
    line=''; [ -r "$f" ] && { read -r line < "$f" || :; }; kids="$kids $line"
  done
}
# Ends the isolated process and its children: without a PID namespace, they would outlive it.
end_isolated() {
  children_of "$1"
  kill -9 $kids "$1" 2>/dev/null
}
# Whether our child $1 has ended (a zombie counts: nobody waits for it in a trap).
ended() {
  [ -r "/proc/$1/stat" ] || return 0
  read -r _ _ st _ < "/proc/$1/stat" 2> /dev/null || return 0
  [ "$st" = Z ]
}
cleanup() {
  [ -n "$pid" ] && end_isolated "$pid"
  if [ -n "$up" ]; then
    # A runtime (runc run, docker run) ends when its process does and then removes its container: give it
    # a moment before it is killed. Closing the FIFOs ends an inside that is still waiting on them.
    exec 3>&- 4>&-
    i=0
    while ! ended "$up" && [ "$i" -lt 30 ]; do sleep 0.1; i=$((i + 1)); done
    kill -9 "$up" 2>/dev/null
  fi
  rm -rf "$NSLAB_DIR"
}
trap cleanup EXIT
trap 'exit 130' INT TERM HUP

mode=$1; want=$2; n=$3; shift 3
# The effective uid, from the kernel's status (id -u would be a process).
while read -r k r e rest; do [ "$k" = Uid: ] && { emit probe.uid "$e"; break; }; done < /proc/self/status
wants uname && uname_all outside
wants hostname && { read -r v < /proc/sys/kernel/hostname; emit outside.hostname "$v"; }
wants hostNs && ns_links outside.hostNs $$

# The inside reports on a FIFO that we hold open for reading and writing, so that neither side blocks
# on open. When the isolate command ends, its wrapper writes "exited": a failed start never hangs us.
mkfifo "$NSLAB_DIR/me" "$NSLAB_DIR/hold" || exit 70
exec 3<> "$NSLAB_DIR/me"
if [ "$mode" = nofork ]; then NSLAB_INNER=$NSLAB_COMMON$NSLAB_NOFORK; fi
{ run_argv "$n" "$@" > /dev/null 2> "$NSLAB_DIR/isolate.err"; echo "exited $?" >&3; } &
up=$!
shift "$n"
# Opened after the start, so that the isolated side does not inherit it: its wait ends with us.
exec 4<> "$NSLAB_DIR/hold"

read -r what me_pid me_ns <&3
if [ "$what" != me ]; then
  wait "$up"; up=''
  emit probe.isolate.exit "$me_pid"
  all=''
  for f in isolate.err inside.err fork.err; do
    slurp "$NSLAB_DIR/$f"
    [ -n "$text" ] && all="$all${all:+
}$text"
  done
  emit probe.isolate.stderr "$all"
  exit 0
fi

# Without --fork the isolated shell is in our PID namespace (its children are not) and says "-".
if [ "$me_ns" = - ]; then me_ns=$(readlink /proc/self/ns/pid); fi
# The isolated process, seen from here: among the descendants of what we started, the one in the inside's
# PID namespace whose innermost PID is the one it told us, first among its descendants (children lists).
# The innermost PID first (a read), the namespace's link (a process) only for a process that matches.
is_inside() {
  inner=$1
  { while read -r k v; do [ "$k" = NSpid: ] && { inner=${v##*[!0-9]}; break; }; done < "/proc/$1/status"; } 2> /dev/null
  [ "$inner" = "$me_pid" ] || return 1
  [ "$(readlink "/proc/$1/ns/pid" 2>/dev/null)" = "$me_ns" ]
}
if [ -r "/proc/$up/task/$up/children" ]; then
  queue=$up
  while [ -z "$pid" ] && [ -n "$queue" ]; do
    next=''
    for p in $queue; do
      children_of "$p"
      for c in $kids; do
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
if [ -z "$pid" ]; then
  # Not found (it said a PID no process here has): a failure to isolate, at once. Our exit closes the FIFOs,
  # which ends the inside's wait, and so the runtime.
  emit probe.isolate.exit 125
  emit probe.isolate.stderr "the isolated process (PID $me_pid in $me_ns, as it says) is not among the processes here"
  exit 0
fi
emit outside.pid "$pid"
nspid=''
while read -r k v; do [ "$k" = NSpid: ] && nspid=$v; done < "/proc/$pid/status"
emit outside.nspid "$nspid"
wants ns && ns_links outside.ns "$pid"
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
# Not our FIFOs: a background process a command leaves must not keep the inside waiting.
run_cmds outside "$@" 3>&- 4>&-

cat "$NSLAB_DIR/inside"
end_isolated "$pid"
pid=''
wait "$up" 2>/dev/null
up=''
slurp "$NSLAB_DIR/inside.err"
emit probe.isolate.stderr "$text"
