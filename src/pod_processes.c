// SPDX-License-Identifier: MIT
/* The processes of a pod and whether one of them is a server to watch. */
#include <dirent.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "kubelet_layout.h"
#include "pod_processes.h"
#include "target.h"

#define CMDLINE_READ_MAX 4096

/* /proc/PID/cmdline with its NULs as spaces; "" for a kernel thread or a
 * process that is gone. */
static void read_cmdline(const char *proc_dir, int pid, char *out, size_t size)
{
	char path[PATH_MAX];
	ssize_t n = 0;
	int fd;

	out[0] = '\0';
	snprintf(path, sizeof(path), "%s/%d/cmdline", proc_dir, pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return;
	n = read(fd, out, size - 1);
	close(fd);
	if (n <= 0)
		return;
	while (n > 0 && out[n - 1] == '\0')
		n--;
	out[n] = '\0';
	for (ssize_t i = 0; i < n; i++)
		if (out[i] == '\0')
			out[i] = ' ';
}

/* The pause process of the sandbox: argv[0] is ".../pause". */
static bool is_pause_command(const char *cmdline)
{
	size_t length = strcspn(cmdline, " ");
	const char *base = cmdline;

	for (size_t i = 0; i < length; i++)
		if (cmdline[i] == '/')
			base = cmdline + i + 1;
	return length - (base - cmdline) == 5 && strncmp(base, "pause", 5) == 0;
}

static void append_text(char *buf, size_t size, const char *text)
{
	size_t used = strlen(buf);

	if (used + 1 >= size)
		return;
	snprintf(buf + used, size - used, "%s%.*s", used ? "; " : "", 48, text);
}

/* Adds one container's processes to `out`, unless it is the sandbox. */
static void add_container(struct pod_processes *out, const char *dir, const char *proc_dir, const regex_t *match)
{
	char cmdline[CMDLINE_READ_MAX];
	size_t first = out->count, i;
	bool all_pause = true;

	out->count = cgroup_tree_pids(dir, out->pids, out->count, POD_MAX_PIDS);
	if (out->count == first)
		return;
	for (i = first; i < out->count; i++) {
		read_cmdline(proc_dir, out->pids[i], cmdline, sizeof(cmdline));
		out->matches[i] = cmdline[0] && regexec(match, cmdline, 0, NULL, 0) == 0;
		if (!is_pause_command(cmdline))
			all_pause = false;
		if (out->matches[i] && !out->first_match) {
			out->first_match = out->pids[i];
			/* Cut to the field's size: it is for the log. */
			snprintf(out->first_match_command, sizeof(out->first_match_command), "%.*s",
				 (int)sizeof(out->first_match_command) - 1, cmdline);
		} else if (!out->matches[i] && cmdline[0] && !is_pause_command(cmdline)) {
			append_text(out->others, sizeof(out->others), cmdline);
		}
	}
	if (all_pause) {
		out->count = first;
		return;
	}
	out->containers++;
}

void pod_processes_read(const char *pod_dir, const char *proc_dir, const regex_t *match,
			struct pod_processes *out)
{
	char path[PATH_MAX];
	struct dirent *entry;
	DIR *d;

	memset(out, 0, sizeof(*out));
	d = opendir(pod_dir);
	if (!d)
		return;
	while ((entry = readdir(d))) {
		const char *runtime;

		if (entry->d_type != DT_DIR || entry->d_name[0] == '.')
			continue;
		if (kubelet_container_dir(entry->d_name, &runtime) == CONTAINER_CONMON)
			continue;
		if ((size_t)snprintf(path, sizeof(path), "%s/%s", pod_dir, entry->d_name) < sizeof(path))
			add_container(out, path, proc_dir, match);
	}
	closedir(d);
}

size_t pod_processes_matching(const struct pod_processes *p, int *pids, size_t max)
{
	size_t count = 0, i;

	for (i = 0; i < p->count && count < max; i++)
		if (p->matches[i])
			pids[count++] = p->pids[i];
	return count;
}

int pod_any_pid(const char *pod_dir)
{
	char path[PATH_MAX];
	struct dirent *entry;
	size_t count = 0;
	int pid = 0;
	DIR *d;

	d = opendir(pod_dir);
	if (!d)
		return 0;
	while (!count && (entry = readdir(d))) {
		const char *runtime;

		if (entry->d_type != DT_DIR || entry->d_name[0] == '.')
			continue;
		/* conmon runs in the node's network namespace, not the pod's. */
		if (kubelet_container_dir(entry->d_name, &runtime) == CONTAINER_CONMON)
			continue;
		if ((size_t)snprintf(path, sizeof(path), "%s/%s", pod_dir, entry->d_name) < sizeof(path))
			count = cgroup_tree_pids(path, &pid, count, 1);
	}
	closedir(d);
	return count ? pid : 0;
}
