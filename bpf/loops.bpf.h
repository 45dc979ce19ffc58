/* SPDX-License-Identifier: MIT */
/*
 * Loops over packet bytes, two ways from one source.
 *
 * bpf_loop() calls its callback through a pointer: an indirect call, which
 * Spectre v2 retpolines make several times dearer, and the framing loops run
 * once per word of every request and response.  Open-coded iterators
 * (bpf_iter_num_*, kernel 6.4) are a plain loop with a direct call.  Each
 * program is built twice, with `kind` a constant through always-inline
 * functions so that the compiler keeps one branch; the daemon loads the pair
 * the kernel supports.
 */
#ifndef RUNWAY_LOOPS_BPF_H
#define RUNWAY_LOOPS_BPF_H

#define LOOP_OPEN_CODED 1
#define LOOP_HELPER 2

/* Weak: on a kernel without them the open-coded programs are not loaded. */
extern int bpf_iter_num_new(struct bpf_iter_num *it, int start, int end) __weak __ksym;
extern int *bpf_iter_num_next(struct bpf_iter_num *it) __weak __ksym;
extern void bpf_iter_num_destroy(struct bpf_iter_num *it) __weak __ksym;

typedef long (*loop_body_fn)(__u32 index, void *ctx);

/* Calls body(i, ctx) for i in [0, n) until it returns non-zero. */
static __always_inline void run_loop(const int kind, __u32 n, loop_body_fn body, void *ctx)
{
	if (kind == LOOP_OPEN_CODED) {
		struct bpf_iter_num it;
		int *i;

		bpf_iter_num_new(&it, 0, n);
		while ((i = bpf_iter_num_next(&it))) {
			if (body(*i, ctx))
				break;
		}
		bpf_iter_num_destroy(&it);
	} else {
		bpf_loop(n, body, ctx, 0);
	}
}

#endif /* RUNWAY_LOOPS_BPF_H */
