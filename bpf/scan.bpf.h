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
 * them is a direct call.
 */
#ifndef RUNWAY_SCAN_BPF_H
#define RUNWAY_SCAN_BPF_H

#include "maps.bpf.h"

/* Bytes copied out of the packet at a time. */
#define SCAN_WINDOW 256

/* The word steps may look HTTP_WORD_STEP_BYTES ahead of any byte of the
 * window (they only use what `available` says is there): the padding keeps
 * those reads inside the buffer. */
struct scan_window {
	__u8 bytes[SCAN_WINDOW + HTTP_WORD_STEP_BYTES];
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

/* What the word step may read: HTTP_WORD_STEP_BYTES from the window. */
struct word_input {
	__u8 bytes[HTTP_WORD_STEP_BYTES];
};

__noinline int framing_byte(struct http_parser *p, __u32 c)
{
	if (!p)
		return HTTP_EV_ERROR;
	return http_step(p, &route_table, (__u8)c);
}

__noinline int framing_word(struct http_parser *p, const struct word_input *in, __u32 available)
{
	if (!p || !in)
		return 0;
	return http_word_step(p, &route_table, in->bytes, available);
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
				     struct scan_window *window, int *event)
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
	taken = 0;
	if (at < SCAN_WINDOW)
		taken = framing_word(p, (const struct word_input *)&window->bytes[at], pos->window_length - at);
	if (taken) {
		pos->offset = offset + taken;
		return SCAN_MORE;
	}
	if (at >= SCAN_WINDOW)
		return SCAN_DONE;
	*event = framing_byte(p, window->bytes[at]);
	pos->offset = offset + 1;
	return *event == HTTP_EV_NONE || *event == HTTP_EV_BODY ? SCAN_MORE : SCAN_EVENT;
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
