#!/bin/sh
# Prints the cgroup v2 directory of the pod this container runs in: the
# parent of the container's own cgroup, under the cgroup2 mount.
#
# It needs the host's view of cgroups.  A container with a private cgroup
# namespace (the default on cgroup-v2-only nodes) sees its own cgroup as "/",
# and the parent of that is no pod: the script says so and exits 2 rather
# than print the mount root, which would make runway-bpfd watch the whole node.
set -eu
mount=$(awk '$3 == "cgroup2" { print $2; exit }' /proc/mounts)
[ -n "$mount" ] || { echo "pod-cgroup.sh: no cgroup2 mount in /proc/mounts" >&2; exit 2; }
own=$(sed -n 's/^0:://p' /proc/self/cgroup)
[ -n "$own" ] || { echo "pod-cgroup.sh: no cgroup v2 line in /proc/self/cgroup" >&2; exit 2; }
case "$own" in
/)
	echo "pod-cgroup.sh: /proc/self/cgroup shows this container's cgroup as \"/\": it has a private cgroup namespace (or runs in the root cgroup), so the pod's cgroup cannot be found from here; pass runway-bpfd --cgroup the pod's cgroup as the node sees it (e.g. /kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod<UID>.slice)" >&2
	exit 2 ;;
/..*)
	# A namespace root below our own cgroup: paths outside it show as "/..".
	echo "pod-cgroup.sh: /proc/self/cgroup says $own: this process is outside its cgroup namespace's root; pass runway-bpfd --cgroup the pod's path explicitly" >&2
	exit 2 ;;
esac
pod=$(dirname "$own")
if [ "$pod" = / ]; then
	echo "pod-cgroup.sh: the parent of this container's cgroup $own is the root cgroup, not a pod: run the sidecar in a pod, or pass runway-bpfd --cgroup explicitly" >&2
	exit 2
fi
echo "$mount$pod"
