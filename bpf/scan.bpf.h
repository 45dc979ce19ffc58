/* SPDX-License-Identifier: MIT */
/*
 * One step of a scan over a packet's payload, for either direction: body
 * bytes are skipped in O(1); other bytes are copied into a window on the
 * stack (the payload of a TCP packet is mostly in page fragments, out of
 * reach of direct packet access) and framed a word at a time where the
 * parser's state allows, else a byte.
 *
 * The framing steps are global BPF functions: the verifier checks each once,
 * on its own, instead of once per place the loop reaches it, and calling
 * one is a direct call.  With open-coded iterators a turn of the packet loop
 * takes as many word steps as apply, then the byte step that produces the
 * next event: a typical request or response head takes two or three turns.
 */
#ifndef RUNWAY_SCAN_BPF_H
#define RUNWAY_SCAN_BPF_H

#include "loops.bpf.h"
#include "maps.bpf.h"
#include "tcp_segment.bpf.h"

/* Bytes copied out of the packet at a time. */
#define SCAN_WINDOW 256

/* The word steps may look HTTP_WORD_STEP_BYTES ahead of any byte of the
 * window (they only use what `available` says is there): the padding keeps
 * those reads inside the buffer. */
struct scan_window {
	__u8 bytes[SCAN_WINDOW + HTTP_WORD_STEP_BYTES];
	__u32 taken; /* framing_words_chained()'s running count, framing_head_fast()'s result */
	__u32 length; /* framing_head_fast(): bytes in the window */
	struct http_fast_head fast;
};

/* The windows live in a per-CPU map: the stack (512 bytes with every call
 * on it) has no room for them.  A program in process context can be
 * interrupted by one in softirq on the same CPU, so each level of nesting
 * gets a window of its own. */
#define SCAN_NESTING 4

struct scan_scratch {
	__u32 depth;
	__u32 pad;
	struct scan_window windows[SCAN_NESTING];
};

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct scan_scratch);
} scan_scratch SEC(".maps");

/* A window for this CPU at this level of nesting; NULL if there is none
 * (never more than two levels in practice).  Give it back with
 * scan_window_release(). */
static __always_inline struct scan_window *scan_window_acquire(struct scan_scratch **scratch)
{
	__u32 zero = 0, depth;

	*scratch = bpf_map_lookup_elem(&scan_scratch, &zero);
	if (!*scratch)
		return NULL;
	depth = (*scratch)->depth;
	if (depth >= SCAN_NESTING)
		return NULL;
	(*scratch)->depth = depth + 1;
	return &(*scratch)->windows[depth];
}

static __always_inline void scan_window_release(struct scan_scratch *scratch)
{
	if (scratch && scratch->depth > 0)
		scratch->depth--;
}

__noinline int http_routes_in_word_bpf(struct http_parser *p, __u64 words_hash, __u64 w, __u32 n)
{
	if (p)
		http_routes_in_word(p, &route_table, words_hash, w, n);
	return 0;
}

__noinline int http_routes_at_length_bpf(struct http_parser *p, __u64 hash)
{
	if (p)
		http_routes_at_length(p, &route_table, hash);
	return 0;
}

/* Word steps chained in one call (open-coded loops). */
#define SCAN_WORD_STEPS 16

/*
 * Word steps from window byte `at` (of `length`) while they apply; returns
 * the bytes they took.  The running count is kept in the window's memory:
 * the verifier then sees the same state at every turn of the iterator and
 * checks the loop once (a counted loop would be checked turn by turn, each
 * with its own precise count: too many states).
 */
__noinline int framing_words_chained(struct http_parser *p, struct scan_window *window, __u32 at, __u32 length)
{
	struct bpf_iter_num it;
	int *i;

	if (!p || !window)
		return 0;
	window->taken = 0;
	bpf_iter_num_new(&it, 0, SCAN_WORD_STEPS);
	while ((i = bpf_iter_num_next(&it))) {
		__u32 pos = at + window->taken, step;

		if (pos >= length || pos >= SCAN_WINDOW)
			break;
		step = http_word_step(p, &route_table, &window->bytes[pos], length - pos);
		if (!step)
			break;
		window->taken += step;
	}
	bpf_iter_num_destroy(&it);
	return window->taken;
}

/* The same without iterators: one word step. */
__noinline int framing_word_single(struct http_parser *p, const struct scan_window *window, __u32 at, __u32 length)
{
	if (!p || !window || at >= length || at >= SCAN_WINDOW)
		return 0;
	return http_word_step(p, &route_table, &window->bytes[at], length - at);
}

/* The byte step: where events come from. */
__noinline int framing_byte(struct http_parser *p, __u32 c)
{
	if (!p)
		return HTTP_EV_ERROR;
	return http_step(p, &route_table, (__u8)c);
}

__noinline int http_fast_line_end_bpf(struct http_fast_head *f, const struct scan_window *window, __u32 available,
				      __u32 lf)
{
	if (f && window && lf < SCAN_WINDOW)
		http_fast_line_end(f, window->bytes, available, lf);
	return 0;
}

/*
 * The fast path over a whole head at the window's start (the caller loads
 * the window at the message's start): the event of the head's last byte, its
 * length in window->taken, and window->fast.line_seen whether a request line
 * ended in it; -1 if the fast path does not apply (nothing changed).
 *
 * A plain counted loop, on every kernel: at most HTTP_FAST_HEAD_MAX / 8
 * turns, few enough for the verifier to walk, and no call per word (an
 * iterator's next() or bpf_loop()'s callback is one, and every return costs
 * on CPUs with return-thunk mitigations).
 */
__noinline int framing_head_fast(struct http_parser *p, struct scan_window *window, __u32 length)
{
	__u32 n;

	if (!p || !window || length > SCAN_WINDOW)
		return -1;
	if (http_fast_head_begin(&window->fast, p, &route_table, window->bytes, length))
		return -1;
	for (n = 0; n < HTTP_FAST_HEAD_MAX / 8 + 1; n++) {
		if (http_fast_head_word(&window->fast, window->bytes, length))
			break;
	}
	return http_fast_head_end(&window->fast, p, &window->taken);
}

/* The window holds the bytes from pos->offset on (loaded there if it does
 * not start there).  Returns 0, or -1 if there are none to load. */
static __always_inline int scan_window_at_offset(struct __sk_buff *skb, struct scan_position *pos,
						 struct scan_window *window)
{
	__u32 offset = pos->offset, length;

	if (offset >= pos->end)
		return -1;
	if (pos->window_start == offset && pos->window_length)
		return 0;
	length = pos->end - offset;
	if (length > SCAN_WINDOW)
		length = SCAN_WINDOW;
	barrier_var(length);
	if (length == 0 || length > SCAN_WINDOW)
		return -1;
	if (bpf_skb_load_bytes(skb, offset, window->bytes, length))
		return -1;
	pos->window_start = offset;
	pos->window_length = length;
	return 0;
}

/*
 * The fast path at the start of a message at pos->offset: loads the window
 * there if it does not start there.  Returns -1 when it does not apply, else
 * the head's last event (the head's bytes are taken).
 */
static __always_inline int scan_head_fast(struct __sk_buff *skb, struct http_parser *p, struct scan_position *pos,
					  struct scan_window *window, const int kind)
{
	int event;

	if (scan_window_at_offset(skb, pos, window))
		return -1;
	event = framing_head_fast(p, window, pos->window_length);
	if (event >= 0)
		pos->offset += window->taken;
	return event;
}

/*
 * Shapes (http_framing.h): a head at the start of a message, checked
 * against the shape of the connection's last head in that direction.
 */

/* The fast path framed the head at the window's start: keep its shape. */
__noinline int shape_record(struct http_head_shape *s, const struct scan_window *window)
{
	if (s && window)
		http_shape_record(s, &window->fast, window->bytes);
	return 0;
}

/* The head at pos->offset, with the window loaded there and the parser
 * begun: its last event (the head taken), or -1 and nothing changed.  Called
 * deep in the framing loop: no parser on its stack (head_by_shape() has one). */
__noinline int shape_match_at(const struct http_head_shape *s, struct http_parser *p, struct scan_position *pos,
			      const struct scan_window *window)
{
	__u32 taken = 0;
	int event;

	if (!s || !p || !pos || !window)
		return -1;
	event = http_shape_match(s, p, window->bytes, pos->window_length, p, &taken);
	if (event >= 0)
		pos->offset += taken;
	return event;
}

/* How head_by_shape() begins the parser. */
#define BEGIN_RESPONSE 0
#define BEGIN_RESPONSE_TO_HEAD 1
#define BEGIN_REQUEST 2

/* A message starts at the window's start (`length` bytes there): if its
 * head has shape s, *p is begun and taken past it.  Returns the head's last
 * event | its length << 8, or -1 (nothing changed). */
__noinline int head_by_shape(const struct http_head_shape *s, struct http_parser *p, const struct scan_window *window,
			     __u32 length, __u32 begin)
{
	struct http_parser begun;
	__u32 taken = 0;
	int event;

	if (!s || !p || !window)
		return -1;
	if (begin == BEGIN_REQUEST)
		http_request_begin(&begun);
	else
		http_response_begin(&begun, begin == BEGIN_RESPONSE_TO_HEAD);
	event = http_shape_match(s, &begun, window->bytes, length, p, &taken);
	if (event < 0)
		return -1;
	return event | (int)taken << 8;
}

/* The same for a message at the start of a packet's payload, read into a
 * window here: the straight paths of ingress and egress.  Only the shape's
 * bytes are read: a head of the shape has no more, and a packet with fewer
 * cannot hold it. */
static __always_inline int packet_head_by_shape(struct __sk_buff *skb, const struct tcp_segment *seg,
						const struct http_head_shape *s, struct http_parser *p, __u32 begin)
{
	__u32 length = s->length;
	struct scan_scratch *scratch;
	struct scan_window *window;
	int result;

	if (length > seg->payload_length)
		return -1;
	barrier_var(length);
	if (length == 0 || length > SCAN_WINDOW)
		return -1;
	window = scan_window_acquire(&scratch);
	if (!window || bpf_skb_load_bytes(skb, seg->payload_offset, window->bytes, length)) {
		scan_window_release(scratch);
		return -1;
	}
	result = head_by_shape(s, p, window, length, begin);
	scan_window_release(scratch);
	return result;
}

/* Result of scan_step(). */
#define SCAN_MORE 0  /* keep going */
#define SCAN_EVENT 1 /* *event is an http_event the caller handles, then keeps going */
#define SCAN_DONE 2  /* nothing left, or the packet cannot be read */

/*
 * Skip or frame what is next at pos->offset.  The caller makes sure the
 * parser is ready for it (a new message begun).
 */
static __always_inline int scan_step(struct __sk_buff *skb, struct http_parser *p, struct scan_position *pos,
				     struct scan_window *window, int *event, const int kind)
{
	__u32 offset = pos->offset, end = pos->end, at, length, taken;
	__u64 skipped;

	*event = HTTP_EV_NONE;
	if (offset >= end)
		return SCAN_DONE;
	skipped = http_skip(p, end - offset, event);
	if (skipped) {
		pos->offset = offset + (__u32)skipped;
		return *event == HTTP_EV_COMPLETE ? SCAN_EVENT : SCAN_MORE;
	}
	if (offset < pos->window_start || offset - pos->window_start >= pos->window_length) {
		length = end - offset;
		if (length > SCAN_WINDOW)
			length = SCAN_WINDOW;
		/* Known to be 1..SCAN_WINDOW; the verifier needs it said. */
		barrier_var(length);
		if (length == 0 || length > SCAN_WINDOW)
			return SCAN_DONE;
		if (bpf_skb_load_bytes(skb, offset, window->bytes, length))
			return SCAN_DONE;
		pos->window_start = offset;
		pos->window_length = length;
	}
	at = offset - pos->window_start;
	if (kind == LOOP_OPEN_CODED)
		taken = framing_words_chained(p, window, at, pos->window_length);
	else
		taken = framing_word_single(p, window, at, pos->window_length);
	if (taken) {
		offset += taken;
		at += taken;
		pos->offset = offset;
		/* Without iterators, one step per turn of the packet loop. */
		if (kind != LOOP_OPEN_CODED || at >= pos->window_length)
			return SCAN_MORE;
	}
	if (at >= SCAN_WINDOW)
		return SCAN_DONE;
	*event = framing_byte(p, window->bytes[at]);
	pos->offset = offset + 1;
	return *event == HTTP_EV_NONE || *event == HTTP_EV_BODY ? SCAN_MORE : SCAN_EVENT;
}

/*
 * One framing step, as a global function: the verifier checks it once, not
 * once for every state of the loop that calls it (inlined, the framing's
 * branches multiplied the loop's states, and the verifier's memory, which
 * the kernel charges to the daemon's memory cgroup, grew with them).
 * try_fast: a message begins at pos->offset, try the whole-head fast path.
 * Returns FRAME_RESULT(SCAN_* or SCAN_FAST, event).
 */
#define SCAN_FAST 3 /* the fast path took the head; the event is its last */
#define FRAME_RESULT(result, event) ((result) << 8 | ((event) & 0xff))
#define FRAME_SCAN(frame) ((frame) >> 8)
#define FRAME_EVENT(frame) ((frame) & 0xff)

static __always_inline int frame_next(struct __sk_buff *skb, struct http_parser *p, struct scan_position *pos,
				      struct scan_window *window, int try_fast, const int kind)
{
	int event = HTTP_EV_NONE, result;

	if (!skb || !p || !pos || !window)
		return FRAME_RESULT(SCAN_DONE, 0);
	if (try_fast && fast_path_enabled) {
		event = scan_head_fast(skb, p, pos, window, kind);
		if (event >= 0)
			return FRAME_RESULT(SCAN_FAST, event);
	}
	result = scan_step(skb, p, pos, window, &event, kind);
	return FRAME_RESULT(result, event);
}

__noinline int frame_next_open_coded(struct __sk_buff *skb, struct http_parser *p, struct scan_position *pos,
				     struct scan_window *window, int try_fast)
{
	return frame_next(skb, p, pos, window, try_fast, LOOP_OPEN_CODED);
}

__noinline int frame_next_helper(struct __sk_buff *skb, struct http_parser *p, struct scan_position *pos,
				 struct scan_window *window, int try_fast)
{
	return frame_next(skb, p, pos, window, try_fast, LOOP_HELPER);
}

static __always_inline int frame_next_kind(struct __sk_buff *skb, struct http_parser *p, struct scan_position *pos,
					   struct scan_window *window, int try_fast, const int kind)
{
	if (kind == LOOP_OPEN_CODED)
		return frame_next_open_coded(skb, p, pos, window, try_fast);
	return frame_next_helper(skb, p, pos, window, try_fast);
}

/* A message starts at pos->offset, its parser begun: by the shape of the
 * last head, else framed (and its shape kept if the fast path took it). */
static __always_inline int frame_head(struct __sk_buff *skb, struct http_head_shape *s, struct http_parser *p,
				      struct scan_position *pos, struct scan_window *window, const int kind)
{
	int event, frame;

	if (fast_path_enabled && s->length && !scan_window_at_offset(skb, pos, window)) {
		event = shape_match_at(s, p, pos, window);
		if (event >= 0) {
			/* As the fast path says where a request line ended. */
			window->fast.line_seen = s->line_seen;
			return FRAME_RESULT(SCAN_FAST, event);
		}
	}
	frame = frame_next_kind(skb, p, pos, window, 1, kind);
	if (FRAME_SCAN(frame) == SCAN_FAST)
		shape_record(s, window);
	return frame;
}

/* Start scanning a packet's payload from `from` (an offset in the packet). */
static __always_inline void scan_begin(struct scan_position *pos, __u32 from, __u32 end, __u32 seq_at_zero)
{
	pos->offset = from;
	pos->end = end;
	pos->window_start = 0;
	pos->window_length = 0;
	pos->seq = seq_at_zero;
}

#endif /* RUNWAY_SCAN_BPF_H */
