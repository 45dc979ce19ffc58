/* SPDX-License-Identifier: MIT */
#ifndef RUNWAY_KUBELET_LAYOUT_H
#define RUNWAY_KUBELET_LAYOUT_H

/*
 * The names the kubelet and the container runtimes give to what they create on
 * a node, parsed with tolerant patterns (kind, k3s and distributions differ in
 * prefixes, never in these endings):
 *
 *   systemd driver:  kubepods.slice/kubepods-<qos>.slice/kubepods-<qos>-pod<uid, - as _>.slice/<runtime>-<id>.scope
 *   cgroupfs driver: kubepods/<qos>/pod<uid>/<id>
 *   Guaranteed pods sit directly under kubepods, with no QoS level.
 *   pod logs:        /var/log/pods/<namespace>_<pod>_<uid>/<container>/
 *
 * Pure functions of a name: no file is read here.
 */

#include <stdbool.h>
#include <stddef.h>

/* A UID as the API server writes it (8-4-4-4-12 hex) or a static pod's
 * 32-hex hash, plus the NUL. */
#define POD_UID_SIZE 37
/* Namespaces are DNS labels (63), pod names DNS subdomains (253). */
#define POD_NAMESPACE_SIZE 64
#define POD_NAME_SIZE 254

enum pod_qos {
	POD_QOS_GUARANTEED,
	POD_QOS_BURSTABLE,
	POD_QOS_BESTEFFORT,
};

const char *pod_qos_name(enum pod_qos qos);

/* "burstable", "besteffort" (cgroupfs) or "<prefix>-burstable.slice",
 * "<prefix>-besteffort.slice" (systemd): a QoS level directory. */
bool kubelet_qos_dir(const char *name, enum pod_qos *qos);

/* "pod<uid>" (cgroupfs) or "<prefix>-pod<uid with _>.slice" (systemd): a
 * pod directory.  Writes the UID with dashes, lower case. */
bool kubelet_pod_dir(const char *name, char uid[POD_UID_SIZE]);

enum container_kind {
	CONTAINER_UNKNOWN, /* a child cgroup of a pod with a name we do not know */
	CONTAINER_RUNTIME, /* <runtime>-<id>.scope, crio-<id> or a bare <id> */
	CONTAINER_CONMON,  /* CRI-O's conmon monitor: not the pod's own code */
};

/* What a child cgroup of a pod directory is; *runtime is "containerd",
 * "cri-o", "docker", "" (a bare id: containerd or docker under cgroupfs) or
 * NULL for CONTAINER_UNKNOWN. */
enum container_kind kubelet_container_dir(const char *name, const char **runtime);

struct pod_log_name {
	char namespace_[POD_NAMESPACE_SIZE];
	char name[POD_NAME_SIZE];
	char uid[POD_UID_SIZE];
};

/* "<namespace>_<pod>_<uid>": neither a namespace nor a pod name can hold '_'. */
bool kubelet_pod_log_dir(const char *name, struct pod_log_name *out);

#endif
