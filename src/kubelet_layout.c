// SPDX-License-Identifier: MIT
/* Parsing the names of the kubelet's pod cgroups and pod log directories. */
#include <ctype.h>
#include <string.h>

#include "kubelet_layout.h"

#define UUID_TEXT_LENGTH 36
#define STATIC_POD_UID_LENGTH 32
/* Container ids are 64 hex digits; shorter ones are accepted down to the
 * 12 digits runtimes print, in case a runtime shortens them. */
#define CONTAINER_ID_MIN_LENGTH 12
#define CONTAINER_ID_MAX_LENGTH 64

static const char *const qos_names[] = {
	[POD_QOS_GUARANTEED] = "guaranteed",
	[POD_QOS_BURSTABLE] = "burstable",
	[POD_QOS_BESTEFFORT] = "besteffort",
};

const char *pod_qos_name(enum pod_qos qos)
{
	return qos <= POD_QOS_BESTEFFORT ? qos_names[qos] : "unknown";
}

static bool ends_with(const char *s, size_t length, const char *suffix)
{
	size_t n = strlen(suffix);

	return length >= n && memcmp(s + length - n, suffix, n) == 0;
}

static bool all_hex(const char *s, size_t length)
{
	size_t i;

	for (i = 0; i < length; i++)
		if (!isxdigit((unsigned char)s[i]))
			return false;
	return true;
}

/*
 * A UID in any of its spellings: 8-4-4-4-12 hex with '-' (cgroupfs, logs) or
 * '_' (systemd, which reserves '-' for its own hierarchy), or a static pod's
 * 32 hex digits.  The canonical form has '-' and lower case, as in the logs.
 */
static bool canonical_uid(const char *text, size_t length, char uid[POD_UID_SIZE])
{
	size_t i;

	if (length == STATIC_POD_UID_LENGTH) {
		if (!all_hex(text, length))
			return false;
	} else if (length == UUID_TEXT_LENGTH) {
		for (i = 0; i < length; i++) {
			bool separator_place = i == 8 || i == 13 || i == 18 || i == 23;

			if (separator_place ? (text[i] != '-' && text[i] != '_') : !isxdigit((unsigned char)text[i]))
				return false;
		}
	} else {
		return false;
	}
	for (i = 0; i < length; i++)
		uid[i] = text[i] == '_' ? '-' : (char)tolower((unsigned char)text[i]);
	uid[length] = '\0';
	return true;
}

bool kubelet_qos_dir(const char *name, enum pod_qos *qos)
{
	size_t length = strlen(name);

	if (strcmp(name, "burstable") == 0 || ends_with(name, length, "-burstable.slice")) {
		*qos = POD_QOS_BURSTABLE;
		return true;
	}
	if (strcmp(name, "besteffort") == 0 || ends_with(name, length, "-besteffort.slice")) {
		*qos = POD_QOS_BESTEFFORT;
		return true;
	}
	return false;
}

bool kubelet_pod_dir(const char *name, char uid[POD_UID_SIZE])
{
	static const char slice[] = ".slice";
	size_t length = strlen(name);
	const char *marker = NULL, *p;

	if (ends_with(name, length, slice)) {
		length -= sizeof(slice) - 1;
		/* The last "-pod": a UID holds no '-' in systemd's spelling. */
		for (p = name; (p = strstr(p, "-pod")) && (size_t)(p - name) < length; p++)
			marker = p;
		if (!marker || marker == name)
			return false;
		marker += strlen("-pod");
		return canonical_uid(marker, length - (marker - name), uid);
	}
	if (strncmp(name, "pod", 3) != 0)
		return false;
	return canonical_uid(name + 3, length - 3, uid);
}

enum container_kind kubelet_container_dir(const char *name, const char **runtime)
{
	static const struct {
		const char *prefix;
		const char *runtime;
		enum container_kind kind;
	} prefixes[] = {
		/* Before "crio-": the longer prefix wins. */
		{ "crio-conmon-", "cri-o", CONTAINER_CONMON },
		{ "cri-containerd-", "containerd", CONTAINER_RUNTIME },
		{ "crio-", "cri-o", CONTAINER_RUNTIME },
		{ "docker-", "docker", CONTAINER_RUNTIME },
		{ "", "", CONTAINER_RUNTIME },
	};
	size_t length = strlen(name), i;

	*runtime = NULL;
	if (ends_with(name, length, ".scope"))
		length -= strlen(".scope");
	for (i = 0; i < sizeof(prefixes) / sizeof(prefixes[0]); i++) {
		size_t prefix_length = strlen(prefixes[i].prefix);
		size_t id_length = length - prefix_length;

		if (length < prefix_length || strncmp(name, prefixes[i].prefix, prefix_length) != 0)
			continue;
		if (id_length < CONTAINER_ID_MIN_LENGTH || id_length > CONTAINER_ID_MAX_LENGTH ||
		    !all_hex(name + prefix_length, id_length))
			continue;
		*runtime = prefixes[i].runtime;
		return prefixes[i].kind;
	}
	return CONTAINER_UNKNOWN;
}

bool kubelet_pod_log_dir(const char *name, struct pod_log_name *out)
{
	const char *first = strchr(name, '_'), *last = strrchr(name, '_');
	size_t namespace_length, name_length;

	if (!first || first == last)
		return false;
	namespace_length = first - name;
	name_length = last - first - 1;
	if (namespace_length == 0 || namespace_length >= sizeof(out->namespace_) || name_length == 0 ||
	    name_length >= sizeof(out->name))
		return false;
	if (!canonical_uid(last + 1, strlen(last + 1), out->uid))
		return false;
	memcpy(out->namespace_, name, namespace_length);
	out->namespace_[namespace_length] = '\0';
	memcpy(out->name, first + 1, name_length);
	out->name[name_length] = '\0';
	return true;
}
