#!/bin/sh
# Stands in for /usr/sbin/mount.nfs (and mount.nfs4) inside a test's mount
# namespace: records its arguments, then bind-mounts a local directory named
# after the requested server path onto the mount point.
#   mount.nfs4 SERVER:/PATH MOUNTPOINT [-s] -o OPTIONS
work=__WORK__
printf '%s\n' "$(basename "$0") $*" >>"$work/mount-calls"
spec=$1 dir=$2
export_dir="$work/exports/$(printf '%s' "$spec" | tr -c 'A-Za-z0-9._-' '_')"
mkdir -p "$export_dir"
: >"$export_dir/mounted-from-$(printf '%s' "$spec" | tr -c 'A-Za-z0-9._-' '_')"
exec mount --bind "$export_dir" "$dir"
