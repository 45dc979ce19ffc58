// SPDX-License-Identifier: MIT
/*
 * Node cost probe for `make bench`: tight loops of system calls that a
 * process the daemon does not watch makes, timed with CLOCK_MONOTONIC.
 *
 *   syscall_loop MODE ITERATIONS [REPEATS]
 *   syscall_loop interleaved CHUNKS TCP_OPS UNIX_OPS GETPPID_OPS
 *
 * MODE is one of
 *   getppid  getppid(): touches no socket (the control)
 *   tcp      send 1 byte on one end of a TCP loopback connection, recv it on
 *            the other (TCP_NODELAY; both ends in this thread)
 *   unix     the same over an AF_UNIX stream socketpair
 *   spin     burn CPU for ITERATIONS milliseconds (a busy loop for the bench)
 *
 * Prints one line per repeat: "MODE wall_ns_per_op cpu_ns_per_op", the CPU
 * time being this thread's (CLOCK_THREAD_CPUTIME_ID): time the thread was
 * preempted, by another task or by the hypervisor (steal), is not in it; the
 * kernel's work done on the thread's behalf, softirq included, is.
 *
 * interleaved: CHUNKS times, TCP_OPS tcp ops, then UNIX_OPS unix ops, then
 * GETPPID_OPS getppid() calls, each timed; one line per chunk,
 * "chunk tcp_cpu_ns unix_cpu_ns getppid_cpu_ns" (per op).  The speed of a CPU
 * of a shared VM drifts by 10-40 % within a second; ops measured a few
 * milliseconds apart see the same drift, so their ratio does not.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

static double now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e9 + ts.tv_nsec;
}

static double cpu_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	return ts.tv_sec * 1e9 + ts.tv_nsec;
}

struct timing {
	double wall, cpu;
};

static void die(const char *what)
{
	fprintf(stderr, "syscall_loop: %s: %s\n", what, strerror(errno));
	exit(1);
}

static void tcp_pair(int fds[2])
{
	struct sockaddr_in addr = { .sin_family = AF_INET };
	socklen_t len = sizeof(addr);
	int listener, one = 1;

	addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	listener = socket(AF_INET, SOCK_STREAM, 0);
	if (listener < 0 || bind(listener, (struct sockaddr *)&addr, sizeof(addr)) ||
	    getsockname(listener, (struct sockaddr *)&addr, &len) || listen(listener, 1))
		die("listen on 127.0.0.1");
	fds[0] = socket(AF_INET, SOCK_STREAM, 0);
	if (fds[0] < 0 || connect(fds[0], (struct sockaddr *)&addr, sizeof(addr)))
		die("connect");
	fds[1] = accept(listener, NULL, NULL);
	if (fds[1] < 0)
		die("accept");
	close(listener);
	setsockopt(fds[0], IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	setsockopt(fds[1], IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
}

static struct timing run_sockets(int fds[2], long iterations)
{
	char byte = 'x';
	double start = now_ns(), start_cpu = cpu_ns();

	for (long i = 0; i < iterations; i++) {
		if (send(fds[0], &byte, 1, 0) != 1)
			die("send");
		if (recv(fds[1], &byte, 1, 0) != 1)
			die("recv");
	}
	return (struct timing){ (now_ns() - start) / iterations, (cpu_ns() - start_cpu) / iterations };
}

static struct timing run_getppid(long iterations)
{
	double start = now_ns(), start_cpu = cpu_ns();

	for (long i = 0; i < iterations; i++)
		syscall(SYS_getppid);
	return (struct timing){ (now_ns() - start) / iterations, (cpu_ns() - start_cpu) / iterations };
}

static void spin(long ms)
{
	double end = now_ns() + ms * 1e6;
	volatile unsigned long x = 0;

	while (now_ns() < end)
		for (int i = 0; i < 10000; i++)
			x++;
}

static int interleaved(long chunks, long tcp_ops, long unix_ops, long getppid_ops)
{
	int tcp[2], unix_pair[2];

	tcp_pair(tcp);
	if (socketpair(AF_UNIX, SOCK_STREAM, 0, unix_pair))
		die("socketpair");
	/* One untimed chunk warms the caches and the socket buffers. */
	run_sockets(tcp, tcp_ops);
	run_sockets(unix_pair, unix_ops);
	run_getppid(getppid_ops);
	for (long c = 0; c < chunks; c++) {
		double t = run_sockets(tcp, tcp_ops).cpu;
		double u = run_sockets(unix_pair, unix_ops).cpu;
		double g = run_getppid(getppid_ops).cpu;

		printf("chunk %.2f %.2f %.2f\n", t, u, g);
	}
	fflush(stdout);
	return 0;
}

int main(int argc, char **argv)
{
	long iterations, repeats = 1;
	int fds[2] = { -1, -1 };

	if (argc == 6 && strcmp(argv[1], "interleaved") == 0) {
		long chunks = atol(argv[2]), tcp_ops = atol(argv[3]), unix_ops = atol(argv[4]);
		long getppid_ops = atol(argv[5]);

		if (chunks <= 0 || tcp_ops <= 0 || unix_ops <= 0 || getppid_ops <= 0)
			return 2;
		return interleaved(chunks, tcp_ops, unix_ops, getppid_ops);
	}
	if (argc < 3) {
		fprintf(stderr, "usage: %s getppid|tcp|unix|spin ITERATIONS [REPEATS]\n"
			"       %s interleaved CHUNKS TCP_OPS UNIX_OPS GETPPID_OPS\n", argv[0], argv[0]);
		return 2;
	}
	iterations = atol(argv[2]);
	if (argc > 3)
		repeats = atol(argv[3]);
	if (iterations <= 0 || repeats <= 0)
		return 2;
	if (strcmp(argv[1], "spin") == 0) {
		spin(iterations);
		return 0;
	}
	if (strcmp(argv[1], "tcp") == 0)
		tcp_pair(fds);
	else if (strcmp(argv[1], "unix") == 0 && socketpair(AF_UNIX, SOCK_STREAM, 0, fds))
		die("socketpair");
	else if (strcmp(argv[1], "getppid") != 0 && strcmp(argv[1], "tcp") != 0 && strcmp(argv[1], "unix") != 0)
		return 2;
	/* One untimed pass warms the caches and the socket buffers. */
	if (fds[0] >= 0)
		run_sockets(fds, iterations / 10 + 1);
	else
		run_getppid(iterations / 10 + 1);
	for (long r = 0; r < repeats; r++) {
		struct timing t = fds[0] >= 0 ? run_sockets(fds, iterations) : run_getppid(iterations);

		printf("%s %.2f %.2f\n", argv[1], t.wall, t.cpu);
	}
	fflush(stdout);
	return 0;
}
