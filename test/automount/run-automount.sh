#!/usr/bin/env bash
# Runs the real automount daemon against a master map, inside the private
# mount namespace this script is started in (unshare -m --propagation
# private), touches each path given, and reports what happened.
#
#   run-automount.sh WORKDIR MASTER_MAP STEP...
#
# A STEP is a path to list, or "run:COMMAND" to run with bash in between
# (automount's pid file is /run/automount.pid).
#
# WORKDIR holds: hosts (our /etc/hosts), autofs.conf, maybe mount.nfs (the fake
# mount helper). It receives: automount.pid (for the test's cleanup),
# automount.log, and one line per listed PATH in results:
# "PATH<TAB>STATUS<TAB>LISTING"; a failing run: step ends the script (exit 95).
set -u
work=$1 master=$2
shift 2

mount -t tmpfs tmpfs /run || exit 90
mount --bind "$work/hosts" /etc/hosts || exit 91
mount --bind "$work/autofs.conf" /etc/autofs.conf || exit 92
# The stand-in mount helper, where the test gives one (no NFS client in this kernel).
if [ -e "$work/mount.nfs" ]; then mount --bind "$work/mount.nfs" /usr/sbin/mount.nfs || exit 93; fi

# setsid: processes in automount's own process group never trigger mounts.
setsid automount -f -d -p /run/automount.pid "$master" >"$work/automount.log" 2>&1 &
pid=$!
echo "$pid" >"$work/automount.pid"

# Ready when automount reports every master map entry mounted and ready.
entries=$(grep -cvE '^[[:space:]]*(#|$)' "$master")
ready() { [ "$(grep -c 'st_ready(): state = 0' "$work/automount.log")" -ge "$entries" ]; }
for _ in $(seq 1 200); do
  ready && break
  kill -0 "$pid" 2>/dev/null || break
  sleep 0.05
done
if ! ready; then
  echo "automount did not mount its maps: $(tail -n 5 "$work/automount.log" | tr '\n' '|')" >&2
  kill -KILL "$pid" 2>/dev/null
  exit 94
fi

: >"$work/results"
for path in "$@"; do
  if [[ $path == run:* ]]; then
    bash -c "${path#run:}" >>"$work/run.log" 2>&1 || { echo "step failed: ${path#run:}: $(tail -n 3 "$work/run.log" | tr '\n' '|')" >&2; kill -KILL "$pid"; exit 95; }
    continue
  fi
  listing=$(ls -A "$path" 2>"$work/ls.err")
  status=$?
  [ $status -eq 0 ] || listing=$(tr '\n' ' ' <"$work/ls.err")
  printf '%s\t%s\t%s\n' "$path" "$status" "$(echo $listing)" >>"$work/results"
done
grep -E " (nfs|nfs4|none|tmpfs) " /proc/self/mounts | grep "$work" >"$work/mounts" || true

kill -TERM "$pid"
for _ in $(seq 1 100); do
  kill -0 "$pid" 2>/dev/null || break
  sleep 0.05
done
kill -KILL "$pid" 2>/dev/null
wait "$pid" 2>/dev/null
exit 0
