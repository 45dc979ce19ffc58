#!/bin/sh
# Prints the cgroup v2 directory of the pod this container runs in: the
# parent of the container's own cgroup, under the cgroup2 mount.
set -eu
mount=$(awk '$3 == "cgroup2" { print $2; exit }' /proc/mounts)
[ -n "$mount" ] || { echo "pod-cgroup.sh: no cgroup2 mount in /proc/mounts" >&2; exit 2; }
own=$(sed -n 's/^0:://p' /proc/self/cgroup)
[ -n "$own" ] || { echo "pod-cgroup.sh: no cgroup v2 line in /proc/self/cgroup" >&2; exit 2; }
echo "$mount$(dirname "$own")"
