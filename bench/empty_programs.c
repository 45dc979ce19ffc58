// SPDX-License-Identifier: MIT
/*
 * Loads one of part 7's floor objects (bench/empty_programs.bpf.o,
 * bench/least_work.bpf.o): its cgroup programs on a target's cgroup, its
 * tracepoints node-wide.  Prints "ready" when attached, then
 * holds them until SIGTERM or SIGINT (the links go with the process).
 *
 *   empty_programs OBJECT CGROUP_PATH
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <bpf/libbpf.h>

static volatile sig_atomic_t stop;

static void on_signal(int sig)
{
	(void)sig;
	stop = 1;
}

int main(int argc, char **argv)
{
	struct bpf_program *prog;
	struct bpf_object *obj;
	int cgroup_fd;

	if (argc != 3) {
		fprintf(stderr, "usage: empty_programs OBJECT CGROUP_PATH\n");
		return 2;
	}
	cgroup_fd = open(argv[2], O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (cgroup_fd < 0) {
		fprintf(stderr, "empty_programs: %s: %s\n", argv[2], strerror(errno));
		return 2;
	}
	obj = bpf_object__open_file(argv[1], NULL);
	if (!obj || bpf_object__load(obj)) {
		fprintf(stderr, "empty_programs: cannot load %s\n", argv[1]);
		return 1;
	}
	bpf_object__for_each_program(prog, obj) {
		struct bpf_link *link = bpf_program__type(prog) == BPF_PROG_TYPE_CGROUP_SKB ?
						bpf_program__attach_cgroup(prog, cgroup_fd) :
						bpf_program__attach(prog);

		if (!link) {
			fprintf(stderr, "empty_programs: cannot attach %s\n", bpf_program__name(prog));
			return 1;
		}
	}
	signal(SIGTERM, on_signal);
	signal(SIGINT, on_signal);
	printf("ready\n");
	fflush(stdout);
	while (!stop)
		pause();
	return 0;
}
