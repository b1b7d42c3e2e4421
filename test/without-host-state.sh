#!/usr/bin/env bash
# Runs a command (the suite, the bench) where this machine's own efs-home
# cannot be seen: in a private mount namespace with an empty tmpfs over each
# of efs-home's default directories that exists here. The people who run the
# suite are administrators on machines that run efs-home: no test may read
# their config, cache or state, nor write a default path on the host.
# (Roots the tests build over / with overlayfs do not see these mounts; the
# overlay fixture, test/fixtures/deb.ts, cleans those itself.)
set -euo pipefail
if [ "${EFS_HOME_HOST_STATE_HIDDEN:-}" != 1 ]; then
  exec env EFS_HOME_HOST_STATE_HIDDEN=1 unshare -m --propagation private bash "$0" "$@"
fi
for dir in /etc/efs-home /var/cache/efs-home /var/lib/efs-home /run/efs-home; do
  if [ -d "$dir" ]; then mount -t tmpfs -o mode=0755 tmpfs "$dir"; fi
done
exec "$@"
