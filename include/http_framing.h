/* SPDX-License-Identifier: MIT */
/*
 * HTTP/1.x framing as runway-bpfd sees it on the wire: requests (request
 * line, headers, body) at ingress and responses (status line, headers, body)
 * at egress, one parser per direction of a connection.
 *
 * This header is compiled by the BPF programs (bpf/) and by the cmocka tests
 * and the fuzzer (tests/), so the tested machine is the one the kernel runs.
 * It therefore sticks to what the verifier accepts: no pointers other than
 * the parser, its input and its route table, only bounded loops, no libc.
 *
 * Three kinds of steps, all with the same meaning:
 *   http_step()       one byte: the reference machine;
 *   http_word_step()  several bytes at once where the state allows (a header
 *                     name, the bytes up to an LF, path words); it makes
 *                     exactly the transitions http_step() would make over
 *                     those bytes, or takes nothing;
 *   http_skip()       body bytes, in O(1).
 * The unit tests check that every mix of the three agrees with bytes alone.
 */
#ifndef RUNWAY_HTTP_FRAMING_H
#define RUNWAY_HTTP_FRAMING_H

#ifndef __bpf__
#include <linux/types.h>
#include <string.h>
#endif

#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "the word steps assume a little-endian machine (x86-64, arm64)"
#endif

enum http_method {
	HTTP_GET,
	HTTP_HEAD,
	HTTP_POST,
	HTTP_PUT,
	HTTP_DELETE,
	HTTP_PATCH,
	HTTP_OPTIONS,
	HTTP_TRACE,
	HTTP_CONNECT,
	HTTP_OTHER,
	HTTP_METHOD_COUNT,
};

enum http_state {
	HTTP_IDLE,                 /* request side, between requests */
	HTTP_REQ_METHOD,
	HTTP_REQ_PATH,
	HTTP_REQ_LINE_REST,        /* after the path: nothing to read until LF */
	HTTP_STATUS_LINE,
	HTTP_STATUS_REASON,        /* after the status code: nothing until LF */
	HTTP_HEADER_START,
	HTTP_HEADER_NAME,
	HTTP_HEADER_CONTENT_LENGTH,
	HTTP_HEADER_TRANSFER_ENCODING,
	HTTP_HEADER_SKIP,
	HTTP_HEAD_END_LF,
	HTTP_BODY_LENGTH,          /* skip `remaining` bytes */
	HTTP_BODY_UNTIL_CLOSE,     /* response without framing: ends with the connection */
	HTTP_CHUNK_SIZE,
	HTTP_CHUNK_EXTENSION,
	HTTP_CHUNK_DATA,           /* skip `remaining` bytes */
	HTTP_CHUNK_DATA_END,       /* the CRLF after chunk data */
	HTTP_TRAILER_START,
	HTTP_TRAILER_SKIP,
	HTTP_COMPLETE,
	HTTP_ERROR,
};

/* What a step tells its caller. */
enum http_event {
	HTTP_EV_NONE,          /* keep feeding bytes */
	HTTP_EV_BODY,          /* body bytes follow: call http_skip() */
	HTTP_EV_REQUEST_LINE,  /* method, path hash and route group are known */
	HTTP_EV_COMPLETE,      /* the last byte of the message was this one */
	HTTP_EV_ERROR,         /* not HTTP/1.x as we understand it */
	HTTP_EV_HEAD_TOO_LONG, /* a head longer than HTTP_HEAD_MAX */
};

#define HTTP_F_HAS_LENGTH (1u << 0)
#define HTTP_F_CHUNKED (1u << 1)
#define HTTP_F_NO_BODY (1u << 2)  /* a response to HEAD */
#define HTTP_F_UPGRADED (1u << 3) /* 101: the connection is no longer HTTP */
#define HTTP_F_REQUEST (1u << 4)  /* this parser reads requests */

/* Longest method token we accept; longer is not HTTP as uvicorn speaks it. */
#define HTTP_METHOD_MAX_LEN 8
/* Head bytes (start line and headers) we frame; uvicorn's own limit with h11
 * is 64 KiB, but heads beyond a few KiB are rare and cost time to scan. */
#define HTTP_HEAD_MAX 16384
/* Beyond this a Content-Length or chunk size is nonsense; clamping keeps the
 * arithmetic from wrapping. */
#define HTTP_BODY_LENGTH_MAX (1ULL << 50)

/* Route groups: path prefixes matched on the request line.  A power of two:
 * indexes are masked with it. */
#define HTTP_ROUTE_GROUPS_MAX 16
#define HTTP_ROUTE_PREFIX_MAX 64

struct http_route_prefix {
	__u64 hash;   /* http_path_hash() of the prefix */
	__u32 length; /* bytes of the prefix */
	__u32 group;  /* index of the group as the user listed it */
};

/* The groups sorted by prefix length, so that a path meets them in order as
 * its bytes are read: each is checked once, when the path reaches its length. */
struct http_route_table {
	__u32 count;
	__u32 pad;
	struct http_route_prefix by_length[HTTP_ROUTE_GROUPS_MAX];
};

struct http_parser {
	__u64 remaining;      /* body or chunk bytes still to come */
	__u64 content_length;
	__u64 method_bytes;   /* request: method token, first byte lowest */
	__u64 path_hash;      /* request: hash of the path's full words; then of the path */
	__u64 path_partial;   /* request: path bytes after the last full word */
	__u32 state;          /* enum http_state */
	__u32 flags;          /* HTTP_F_* */
	__u32 status;         /* response: 0 until the status line is read */
	__u32 method;         /* request: enum http_method, set with HTTP_EV_REQUEST_LINE */
	__u32 path_length;    /* request */
	__u32 head_length;    /* bytes of the head so far */
	__u16 position;       /* byte position in the current line, saturating */
	__u8 header_match;    /* which framing header names still match */
	__u8 chunked_match;   /* progress matching "chunked" in a TE value */
	__u8 method_length;   /* request */
	__u8 route;           /* request: matching route group + 1, 0 for none */
	__u8 route_cursor;    /* request: next route prefix (by length) to check */
	__u8 pad;
};

#define HEADER_MATCH_CONTENT_LENGTH (1u << 0)
#define HEADER_MATCH_TRANSFER_ENCODING (1u << 1)
#define CONTENT_LENGTH_NAME "content-length"
#define CONTENT_LENGTH_NAME_LEN 14
#define TRANSFER_ENCODING_NAME "transfer-encoding"
#define TRANSFER_ENCODING_NAME_LEN 17
#define CHUNKED_TOKEN "chunked"
#define CHUNKED_TOKEN_LEN 7

/* In BPF each call and return is a real one, and a CPU's mitigations
 * (retpolines, AMD's Safe RET) make a return dearer: the framing's functions
 * are inlined there.  Where the verifier should check a piece once, the BPF
 * side wraps it in a global function instead (bpf/scan.bpf.h). */
#ifdef __bpf__
#define HTTP_INLINE static __always_inline
#else
#define HTTP_INLINE static inline
#endif

/* ---------------------------------------------------------------------
 * Words
 * ------------------------------------------------------------------- */

#define HTTP_ONES 0x0101010101010101ULL
#define HTTP_HIGHS 0x8080808080808080ULL

/* 8 bytes at p, first byte lowest.  In BPF a plain load (the verifier
 * allows unaligned stack access on the architectures we build for); in user
 * space memcpy, which the compiler turns into one load without the undefined
 * behaviour of an unaligned pointer. */
HTTP_INLINE __u64 http_load_word(const __u8 *p)
{
#ifdef __bpf__
	return *(const __u64 *)p;
#else
	__u64 w;

	memcpy(&w, p, sizeof(w));
	return w;
#endif
}

/* 0x80 in each byte of w that equals c (and possibly in bytes above one
 * that does: only the lowest flagged byte is sure, which is all we use). */
HTTP_INLINE __u64 http_bytes_equal(__u64 w, __u8 c)
{
	__u64 x = w ^ (HTTP_ONES * c);

	return (x - HTTP_ONES) & ~x & HTTP_HIGHS;
}

/* Index (0-7) of the lowest flagged byte of a non-zero http_bytes_equal()
 * result; no count-trailing-zeros instruction in BPF. */
HTTP_INLINE __u32 http_first_flagged(__u64 z)
{
	__u32 n = 0;

	if (!(z & 0x00000000ffffffffULL)) {
		n += 4;
		z >>= 32;
	}
	if (!(z & 0x000000000000ffffULL)) {
		n += 2;
		z >>= 16;
	}
	if (!(z & 0x00000000000000ffULL))
		n += 1;
	return n;
}

/* The low k bytes of w (k in 1..8). */
HTTP_INLINE __u64 http_low_bytes(__u64 w, __u32 k)
{
	return k >= 8 ? w : w & ((1ULL << (8 * k)) - 1);
}

#define WORD8(a, b, c, d, e, f, g, h)                                          \
	((__u64)(a) | (__u64)(b) << 8 | (__u64)(c) << 16 | (__u64)(d) << 24 |  \
	 (__u64)(e) << 32 | (__u64)(f) << 40 | (__u64)(g) << 48 | (__u64)(h) << 56)

/* ---------------------------------------------------------------------
 * Paths: a hash over 8-byte words, so that both the byte and the word
 * steps can compute it (and the daemon, for the paths it is given).
 * ------------------------------------------------------------------- */

HTTP_INLINE __u64 http_hash_mix(__u64 h, __u64 w)
{
	h ^= w;
	h *= 0xbf58476d1ce4e5b9ULL;
	return h ^ (h >> 31);
}

#define HTTP_PATH_HASH_SEED 0x9e3779b97f4a7c15ULL

/* The hash of a path of `length` bytes, given the hash of its full words
 * and the bytes after them (length % 8 of them, lowest first). */
HTTP_INLINE __u64 http_path_hash_final(__u64 words_hash, __u64 partial, __u32 length)
{
	if (length & 7)
		words_hash = http_hash_mix(words_hash, partial);
	return http_hash_mix(words_hash, length);
}

/* The same hash for a path the daemon is given (excluded paths, route
 * prefixes): at most max_len bytes of the NUL-terminated string. */
HTTP_INLINE __u64 http_path_hash(const char *path, __u32 max_len)
{
	__u64 hash = HTTP_PATH_HASH_SEED, partial = 0;
	__u32 i;

	for (i = 0; i < max_len && path[i]; i++) {
		partial |= (__u64)(__u8)path[i] << (8 * (i & 7));
		if ((i & 7) == 7) {
			hash = http_hash_mix(hash, partial);
			partial = 0;
		}
	}
	return http_path_hash_final(hash, partial, i);
}

/* The path has grown to p->path_length bytes: check the route prefixes of
 * exactly that length.  `hash` is the hash of the path so far. */
HTTP_INLINE void http_routes_at_length(struct http_parser *p, const struct http_route_table *routes,
					 __u64 hash)
{
	__u32 i;

	for (i = 0; i < HTTP_ROUTE_GROUPS_MAX; i++) {
		/* The mask changes nothing (the cursor stays below count, at
		 * most HTTP_ROUTE_GROUPS_MAX) but shows the verifier the bound. */
		__u32 k = p->route_cursor & (HTTP_ROUTE_GROUPS_MAX - 1);

		if (p->route_cursor >= routes->count || routes->by_length[k].length != p->path_length)
			break;
		/* Listed first wins: the lowest group index among matches. */
		if (routes->by_length[k].hash == hash &&
		    (p->route == 0 || routes->by_length[k].group + 1 < p->route))
			p->route = routes->by_length[k].group + 1;
		p->route_cursor = k + 1;
	}
}

/* The route prefixes ending within the n bytes of word w, which follows the
 * path's full words (their hash: words_hash), by length. */
HTTP_INLINE void http_routes_in_word(struct http_parser *p, const struct http_route_table *routes,
				       __u64 words_hash, __u64 w, __u32 n)
{
	__u32 i;

	for (i = 0; i < HTTP_ROUTE_GROUPS_MAX; i++) {
		__u32 k = p->route_cursor & (HTTP_ROUTE_GROUPS_MAX - 1), taken;

		if (p->route_cursor >= routes->count)
			break;
		taken = routes->by_length[k].length - p->path_length;
		if (routes->by_length[k].length <= p->path_length || taken > n)
			break;
		if (routes->by_length[k].hash ==
			    http_path_hash_final(taken == 8 ? http_hash_mix(words_hash, w) : words_hash,
						 http_low_bytes(w, taken), routes->by_length[k].length) &&
		    (p->route == 0 || routes->by_length[k].group + 1 < p->route))
			p->route = routes->by_length[k].group + 1;
		p->route_cursor = k + 1;
	}
}

/* In BPF the route checks are global functions (bpf/scan.bpf.h): the
 * verifier checks their loops once, not inside every loop that frames. */
#ifdef __bpf__
int http_routes_in_word_bpf(struct http_parser *p, __u64 words_hash, __u64 w, __u32 n);
int http_routes_at_length_bpf(struct http_parser *p, __u64 hash);
#define HTTP_ROUTES_IN_WORD(p, routes, words_hash, w, n) http_routes_in_word_bpf(p, words_hash, w, n)
#define HTTP_ROUTES_AT_LENGTH(p, routes, hash) http_routes_at_length_bpf(p, hash)
#else
#define HTTP_ROUTES_IN_WORD(p, routes, words_hash, w, n) http_routes_in_word(p, routes, words_hash, w, n)
#define HTTP_ROUTES_AT_LENGTH(p, routes, hash) http_routes_at_length(p, routes, hash)
#endif

HTTP_INLINE void http_path_byte(struct http_parser *p, const struct http_route_table *routes, __u8 c)
{
	__u32 length = p->path_length;

	p->path_partial |= (__u64)c << (8 * (length & 7));
	length++;
	p->path_length = length;
	if ((length & 7) == 0) {
		p->path_hash = http_hash_mix(p->path_hash, p->path_partial);
		p->path_partial = 0;
	}
	if (routes && routes->count)
		HTTP_ROUTES_AT_LENGTH(p, routes, http_path_hash_final(p->path_hash, p->path_partial, length));
}

#ifndef __bpf__
/* The route table for prefixes[0..count) in the order the user gave them
 * (user space: the daemon and the tests).  Prefixes longer than
 * HTTP_ROUTE_PREFIX_MAX or beyond HTTP_ROUTE_GROUPS_MAX are the caller's to
 * refuse.  Sorted by length, stable, so equal lengths keep their order. */
HTTP_INLINE void http_route_table_build(struct http_route_table *t, const char *const *prefixes, __u32 count)
{
	__u32 i, j;

	memset(t, 0, sizeof(*t));
	for (i = 0; i < count && i < HTTP_ROUTE_GROUPS_MAX; i++) {
		struct http_route_prefix r = {
			.hash = http_path_hash(prefixes[i], HTTP_ROUTE_PREFIX_MAX),
			.length = (__u32)strnlen(prefixes[i], HTTP_ROUTE_PREFIX_MAX),
			.group = i,
		};

		for (j = t->count; j > 0 && t->by_length[j - 1].length > r.length; j--)
			t->by_length[j] = t->by_length[j - 1];
		t->by_length[j] = r;
		t->count++;
	}
}
#endif

/* ---------------------------------------------------------------------
 * Methods
 * ------------------------------------------------------------------- */

#define METHOD_WORD(a, b, c, d, e, f, g) WORD8(a, b, c, d, e, f, g, 0)

HTTP_INLINE __u32 http_method_from_word(__u64 word)
{
	switch (word) {
	case METHOD_WORD('G', 'E', 'T', 0, 0, 0, 0): return HTTP_GET;
	case METHOD_WORD('H', 'E', 'A', 'D', 0, 0, 0): return HTTP_HEAD;
	case METHOD_WORD('P', 'O', 'S', 'T', 0, 0, 0): return HTTP_POST;
	case METHOD_WORD('P', 'U', 'T', 0, 0, 0, 0): return HTTP_PUT;
	case METHOD_WORD('D', 'E', 'L', 'E', 'T', 'E', 0): return HTTP_DELETE;
	case METHOD_WORD('P', 'A', 'T', 'C', 'H', 0, 0): return HTTP_PATCH;
	case METHOD_WORD('O', 'P', 'T', 'I', 'O', 'N', 'S'): return HTTP_OPTIONS;
	case METHOD_WORD('T', 'R', 'A', 'C', 'E', 0, 0): return HTTP_TRACE;
	case METHOD_WORD('C', 'O', 'N', 'N', 'E', 'C', 'T'): return HTTP_CONNECT;
	default: return HTTP_OTHER;
	}
}

/* "PRI * HTTP/2.0", the HTTP/2 prior-knowledge preface, is not a request. */
#define HTTP2_PREFACE_METHOD METHOD_WORD('P', 'R', 'I', 0, 0, 0, 0)

/* ---------------------------------------------------------------------
 * Starting messages
 * ------------------------------------------------------------------- */

HTTP_INLINE void http_parser_clear(struct http_parser *p, __u32 state, __u32 flags)
{
	p->remaining = 0;
	p->content_length = 0;
	p->method_bytes = 0;
	p->path_hash = HTTP_PATH_HASH_SEED;
	p->path_partial = 0;
	p->state = state;
	p->flags = flags;
	p->status = 0;
	p->method = HTTP_OTHER;
	p->path_length = 0;
	p->head_length = 0;
	p->position = 0;
	p->header_match = 0;
	p->chunked_match = 0;
	p->method_length = 0;
	p->route = 0;
	p->route_cursor = 0;
	p->pad = 0;
}

/* A request parser between requests: the next byte starts one. */
HTTP_INLINE void http_request_parser_init(struct http_parser *p)
{
	http_parser_clear(p, HTTP_IDLE, HTTP_F_REQUEST);
}

/* Whether the next byte fed to a request parser starts a new request. */
HTTP_INLINE int http_request_starts(const struct http_parser *p)
{
	return p->state == HTTP_IDLE || p->state == HTTP_COMPLETE;
}

HTTP_INLINE void http_request_begin(struct http_parser *p)
{
	http_parser_clear(p, HTTP_REQ_METHOD, HTTP_F_REQUEST);
}

/* A response parser at the start of the response to a request; no_body for
 * a request whose response has none (HEAD). */
HTTP_INLINE void http_response_begin(struct http_parser *p, int no_body)
{
	http_parser_clear(p, HTTP_STATUS_LINE, no_body ? HTTP_F_NO_BODY : 0);
}

/* ---------------------------------------------------------------------
 * The byte machine
 * ------------------------------------------------------------------- */

HTTP_INLINE __u8 ascii_lower(__u8 c)
{
	return (c >= 'A' && c <= 'Z') ? c + ('a' - 'A') : c;
}

HTTP_INLINE int hex_value(__u8 c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	c = ascii_lower(c);
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

HTTP_INLINE int http_fail(struct http_parser *p)
{
	p->state = HTTP_ERROR;
	return HTTP_EV_ERROR;
}

/* The empty line after the headers: decide how the body is framed. */
HTTP_INLINE int http_head_end(struct http_parser *p)
{
	__u32 status = p->status;

	if (p->flags & HTTP_F_REQUEST) {
		/* RFC 9112 6.3: chunked wins over Content-Length; a request
		 * with neither has no body. */
		if (p->flags & HTTP_F_CHUNKED) {
			p->state = HTTP_CHUNK_SIZE;
			p->remaining = 0;
			p->position = 0;
			return HTTP_EV_NONE;
		}
		if ((p->flags & HTTP_F_HAS_LENGTH) && p->content_length) {
			p->remaining = p->content_length;
			p->state = HTTP_BODY_LENGTH;
			return HTTP_EV_BODY;
		}
		p->state = HTTP_COMPLETE;
		return HTTP_EV_COMPLETE;
	}
	if (status >= 100 && status < 200 && status != 101) {
		/* 100 Continue, 103 Early Hints: an interim head, the real
		 * response follows on the same request. */
		http_response_begin(p, p->flags & HTTP_F_NO_BODY);
		return HTTP_EV_NONE;
	}
	if (status == 101) {
		p->flags |= HTTP_F_UPGRADED;
		p->state = HTTP_COMPLETE;
		return HTTP_EV_COMPLETE;
	}
	if ((p->flags & HTTP_F_NO_BODY) || status == 204 || status == 304) {
		p->state = HTTP_COMPLETE;
		return HTTP_EV_COMPLETE;
	}
	if (p->flags & HTTP_F_CHUNKED) {
		p->state = HTTP_CHUNK_SIZE;
		p->remaining = 0;
		p->position = 0; /* no size digit yet: an empty line is an error */
		return HTTP_EV_NONE;
	}
	if (p->flags & HTTP_F_HAS_LENGTH) {
		if (p->content_length == 0) {
			p->state = HTTP_COMPLETE;
			return HTTP_EV_COMPLETE;
		}
		p->remaining = p->content_length;
		p->state = HTTP_BODY_LENGTH;
		return HTTP_EV_BODY;
	}
	p->state = HTTP_BODY_UNTIL_CLOSE;
	return HTTP_EV_BODY;
}

HTTP_INLINE int http_header_name(struct http_parser *p, __u8 c)
{
	__u16 pos = p->position;
	__u8 lower = ascii_lower(c);

	if (c == ':') {
		if ((p->header_match & HEADER_MATCH_CONTENT_LENGTH) && pos == CONTENT_LENGTH_NAME_LEN) {
			p->content_length = 0;
			p->state = HTTP_HEADER_CONTENT_LENGTH;
		} else if ((p->header_match & HEADER_MATCH_TRANSFER_ENCODING) &&
			   pos == TRANSFER_ENCODING_NAME_LEN) {
			p->chunked_match = 0;
			p->state = HTTP_HEADER_TRANSFER_ENCODING;
		} else {
			p->state = HTTP_HEADER_SKIP;
		}
		return HTTP_EV_NONE;
	}
	if (c == '\n') {
		p->state = HTTP_HEADER_START;
		return HTTP_EV_NONE;
	}
	if (pos >= CONTENT_LENGTH_NAME_LEN || lower != CONTENT_LENGTH_NAME[pos])
		p->header_match &= ~HEADER_MATCH_CONTENT_LENGTH;
	if (pos >= TRANSFER_ENCODING_NAME_LEN || lower != TRANSFER_ENCODING_NAME[pos])
		p->header_match &= ~HEADER_MATCH_TRANSFER_ENCODING;
	if (!p->header_match)
		p->state = HTTP_HEADER_SKIP;
	p->position = pos + 1;
	return HTTP_EV_NONE;
}

HTTP_INLINE int http_status_line(struct http_parser *p, __u8 c)
{
	__u16 pos = p->position;

	if (c == '\n')
		/* "HTTP/1.1 200" is 12 bytes; a shorter line has no status. */
		return http_fail(p);
	if (pos < 5) {
		if (c != "HTTP/"[pos])
			return http_fail(p);
	} else if (pos >= 9 && pos < 12) {
		if (c < '0' || c > '9')
			return http_fail(p);
		p->status = p->status * 10 + (c - '0');
		if (pos == 11) {
			if (p->status < 100 || p->status > 599)
				return http_fail(p);
			p->state = HTTP_STATUS_REASON;
		}
	}
	p->position = pos + 1;
	return HTTP_EV_NONE;
}

HTTP_INLINE int http_chunk_size(struct http_parser *p, __u8 c)
{
	int digit;

	if (c == '\n') {
		if (p->position == 0)
			return http_fail(p);
		p->position = 0;
		if (p->remaining == 0) {
			p->state = HTTP_TRAILER_START;
			return HTTP_EV_NONE;
		}
		p->state = HTTP_CHUNK_DATA;
		return HTTP_EV_BODY;
	}
	if (p->state == HTTP_CHUNK_EXTENSION || c == '\r')
		return HTTP_EV_NONE;
	if (c == ';' || c == ' ' || c == '\t') {
		p->state = HTTP_CHUNK_EXTENSION;
		return HTTP_EV_NONE;
	}
	digit = hex_value(c);
	if (digit < 0)
		return http_fail(p);
	p->remaining = p->remaining * 16 + digit;
	if (p->remaining > HTTP_BODY_LENGTH_MAX)
		p->remaining = HTTP_BODY_LENGTH_MAX;
	p->position = 1;
	return HTTP_EV_NONE;
}

HTTP_INLINE int http_request_method(struct http_parser *p, __u8 c)
{
	__u32 length = p->method_length;

	if (c == ' ' && length > 0) {
		if (p->method_bytes == HTTP2_PREFACE_METHOD)
			return http_fail(p);
		p->method = http_method_from_word(p->method_bytes);
		p->state = HTTP_REQ_PATH;
		return HTTP_EV_NONE;
	}
	/* RFC 9110 tokens are wider, but every client of a uvicorn app sends
	 * an upper-case method: anything else at the start of a request is
	 * TLS or another protocol, which we do not claim to understand. */
	if (c < 'A' || c > 'Z' || length >= HTTP_METHOD_MAX_LEN)
		return http_fail(p);
	p->method_bytes |= (__u64)c << (length * 8);
	p->method_length = length + 1;
	return HTTP_EV_NONE;
}

HTTP_INLINE int http_is_path_end(__u8 c)
{
	return c == ' ' || c == '?' || c == '#' || c == '\r' || c == '\n';
}

HTTP_INLINE int http_request_path(struct http_parser *p, const struct http_route_table *routes, __u8 c)
{
	if (!http_is_path_end(c)) {
		http_path_byte(p, routes, c);
		return HTTP_EV_NONE;
	}
	p->path_hash = http_path_hash_final(p->path_hash, p->path_partial, p->path_length);
	p->path_partial = 0;
	p->state = c == '\n' ? HTTP_HEADER_START : HTTP_REQ_LINE_REST;
	return HTTP_EV_REQUEST_LINE;
}

HTTP_INLINE int http_in_head(const struct http_parser *p)
{
	return p->state >= HTTP_REQ_METHOD && p->state <= HTTP_HEAD_END_LF;
}

/* Feed one byte.  Returns an enum http_event. */
HTTP_INLINE int http_step(struct http_parser *p, const struct http_route_table *routes, __u8 c)
{
	if (http_in_head(p) && ++p->head_length > HTTP_HEAD_MAX) {
		p->state = HTTP_ERROR;
		return HTTP_EV_HEAD_TOO_LONG;
	}
	switch (p->state) {
	case HTTP_IDLE:
		/* A caller that did not call http_request_begin(): do it. */
		http_request_begin(p);
		p->head_length = 1;
		return http_request_method(p, c);
	case HTTP_REQ_METHOD:
		return http_request_method(p, c);
	case HTTP_REQ_PATH:
		return http_request_path(p, routes, c);
	case HTTP_REQ_LINE_REST:
	case HTTP_STATUS_REASON:
	case HTTP_HEADER_SKIP:
		if (c == '\n')
			p->state = HTTP_HEADER_START;
		return HTTP_EV_NONE;
	case HTTP_STATUS_LINE:
		return http_status_line(p, c);
	case HTTP_HEADER_START:
		if (c == '\r') {
			p->state = HTTP_HEAD_END_LF;
			return HTTP_EV_NONE;
		}
		if (c == '\n')
			return http_head_end(p);
		p->header_match = HEADER_MATCH_CONTENT_LENGTH | HEADER_MATCH_TRANSFER_ENCODING;
		p->position = 0;
		p->state = HTTP_HEADER_NAME;
		return http_header_name(p, c);
	case HTTP_HEADER_NAME:
		return http_header_name(p, c);
	case HTTP_HEADER_CONTENT_LENGTH:
		if (c >= '0' && c <= '9') {
			p->content_length = p->content_length * 10 + (c - '0');
			if (p->content_length > HTTP_BODY_LENGTH_MAX)
				p->content_length = HTTP_BODY_LENGTH_MAX;
			p->flags |= HTTP_F_HAS_LENGTH;
		} else if (c == '\n') {
			p->state = HTTP_HEADER_START;
		}
		return HTTP_EV_NONE;
	case HTTP_HEADER_TRANSFER_ENCODING:
		if (c == '\n') {
			p->state = HTTP_HEADER_START;
			return HTTP_EV_NONE;
		}
		c = ascii_lower(c);
		if (p->chunked_match < CHUNKED_TOKEN_LEN && c == CHUNKED_TOKEN[p->chunked_match])
			p->chunked_match++;
		else if (p->chunked_match < CHUNKED_TOKEN_LEN)
			p->chunked_match = (c == 'c');
		if (p->chunked_match == CHUNKED_TOKEN_LEN)
			p->flags |= HTTP_F_CHUNKED;
		return HTTP_EV_NONE;
	case HTTP_HEAD_END_LF:
		if (c != '\n')
			return http_fail(p);
		return http_head_end(p);
	case HTTP_CHUNK_SIZE:
	case HTTP_CHUNK_EXTENSION:
		return http_chunk_size(p, c);
	case HTTP_CHUNK_DATA_END:
		if (c == '\n') {
			p->state = HTTP_CHUNK_SIZE;
			p->remaining = 0;
			p->position = 0;
		} else if (c != '\r') {
			return http_fail(p);
		}
		return HTTP_EV_NONE;
	case HTTP_TRAILER_START:
		if (c == '\r')
			return HTTP_EV_NONE;
		if (c == '\n') {
			p->state = HTTP_COMPLETE;
			return HTTP_EV_COMPLETE;
		}
		p->state = HTTP_TRAILER_SKIP;
		return HTTP_EV_NONE;
	case HTTP_TRAILER_SKIP:
		if (c == '\n')
			p->state = HTTP_TRAILER_START;
		return HTTP_EV_NONE;
	case HTTP_BODY_LENGTH:
	case HTTP_CHUNK_DATA:
	case HTTP_BODY_UNTIL_CLOSE:
		/* Callers skip body bytes in bulk; a byte fed here is body. */
		return HTTP_EV_BODY;
	default:
		/* COMPLETE, ERROR: bytes after the end are not ours to frame. */
		return HTTP_EV_NONE;
	}
}

/* ---------------------------------------------------------------------
 * Word steps: the same transitions as http_step() over several bytes.
 * Each returns how many bytes it took; 0 when it does not apply, and the
 * caller steps a byte instead.  None of them produces an event: the bytes
 * that do (an LF, the end of a path) are left to http_step().
 * ------------------------------------------------------------------- */

/* A word step looks at most this many bytes from where it starts (eight
 * words of a line), and only at bytes `available` says are there. */
#define HTTP_WORD_STEP_WORDS 8
#define HTTP_WORD_STEP_BYTES (8 * HTTP_WORD_STEP_WORDS)

/* In these states every byte before the next LF leaves the parser as it is. */
HTTP_INLINE int http_skips_to_lf(__u32 state)
{
	return state == HTTP_REQ_LINE_REST || state == HTTP_STATUS_REASON || state == HTTP_HEADER_SKIP ||
	       state == HTTP_TRAILER_SKIP || state == HTTP_CHUNK_EXTENSION;
}

/* At the start of a header line: the two names that frame a body, or else
 * a line the byte machine would skip to its LF whatever its name is. */
HTTP_INLINE __u32 http_header_start_word(struct http_parser *p, const __u8 *b)
{
	__u64 w0, w1;
	__u8 first = b[0] | 0x20;

	if (b[0] == '\r') {
		/* The empty line's CR; its LF, which ends the head, is stepped. */
		p->state = HTTP_HEAD_END_LF;
		return 1;
	}
	if (b[0] == '\n')
		return 0;
	if (first != 'c' && first != 't') {
		/* The first byte already rules out both names. */
		p->header_match = 0;
		p->position = 1;
		p->state = HTTP_HEADER_SKIP;
		return 1;
	}
	w0 = http_load_word(b);
	w1 = http_load_word(b + 8);
	/* Letters compare case-insensitively (| 0x20 maps only 'X' onto 'x');
	 * '-' and ':' compare exactly. */
	if ((w0 | 0x0020202020202020ULL) == WORD8('c', 'o', 'n', 't', 'e', 'n', 't', '-') &&
	    ((w1 | 0x0000202020202020ULL) & 0x00ffffffffffffffULL) == WORD8('l', 'e', 'n', 'g', 't', 'h', ':', 0)) {
		p->content_length = 0;
		p->state = HTTP_HEADER_CONTENT_LENGTH;
		return CONTENT_LENGTH_NAME_LEN + 1;
	}
	if ((w0 | 0x2020202020202020ULL) == WORD8('t', 'r', 'a', 'n', 's', 'f', 'e', 'r') &&
	    (w1 | 0x2020202020202000ULL) == WORD8('-', 'e', 'n', 'c', 'o', 'd', 'i', 'n') &&
	    (b[16] | 0x20) == 'g' && b[17] == ':') {
		p->chunked_match = 0;
		p->state = HTTP_HEADER_TRANSFER_ENCODING;
		return TRANSFER_ENCODING_NAME_LEN + 1;
	}
	/* Neither name: stepping would reach HEADER_SKIP (or the LF, after
	 * which both land in HEADER_START) before the line's LF. */
	p->header_match = 0;
	p->position = 1;
	p->state = HTTP_HEADER_SKIP;
	return 1;
}

/* At the start of a status line: "HTTP/x.y NNN" in one go. */
HTTP_INLINE __u32 http_status_line_word(struct http_parser *p, const __u8 *b)
{
	__u64 w = http_load_word(b);
	__u32 status;

	if ((w & 0x000000ffffffffffULL) != WORD8('H', 'T', 'T', 'P', '/', 0, 0, 0))
		return 0;
	/* Stepping takes any byte at 5-8 but LF, which ends the line too
	 * early: leave that case to it. */
	if (b[5] == '\n' || b[6] == '\n' || b[7] == '\n' || b[8] == '\n')
		return 0;
	if (b[9] < '0' || b[9] > '9' || b[10] < '0' || b[10] > '9' || b[11] < '0' || b[11] > '9')
		return 0;
	status = (b[9] - '0') * 100 + (b[10] - '0') * 10 + (b[11] - '0');
	if (status < 100 || status > 599)
		return 0;
	p->status = status;
	p->position = 12;
	p->state = HTTP_STATUS_REASON;
	return 12;
}

/* At the start of a request: the method and the space after it. */
HTTP_INLINE __u32 http_method_word(struct http_parser *p, const __u8 *b)
{
	__u64 word = 0;
	__u32 n;

	if (p->method_length != 0)
		return 0;
	for (n = 0; n < HTTP_METHOD_MAX_LEN; n++) {
		if (b[n] == ' ')
			break;
		if (b[n] < 'A' || b[n] > 'Z')
			return 0;
		word |= (__u64)b[n] << (n * 8);
	}
	if (n == 0 || n == HTTP_METHOD_MAX_LEN || word == HTTP2_PREFACE_METHOD)
		return 0;
	p->method_bytes = word;
	p->method_length = n;
	p->method = http_method_from_word(word);
	p->state = HTTP_REQ_PATH;
	return n + 1;
}

/* Path bytes up to (not including) the byte that ends the path, a word at
 * a time, from a word boundary of the path. */
HTTP_INLINE __u32 http_path_word(struct http_parser *p, const struct http_route_table *routes,
				   const __u8 *b)
{
	__u64 w = http_load_word(b);
	__u64 ends = http_bytes_equal(w, ' ') | http_bytes_equal(w, '?') | http_bytes_equal(w, '#') |
		     http_bytes_equal(w, '\r') | http_bytes_equal(w, '\n');
	__u32 n = ends ? http_first_flagged(ends) : 8;
	__u64 words_hash = p->path_hash;

	if (n == 0 || (p->path_length & 7))
		return 0;
	if (routes && routes->count)
		HTTP_ROUTES_IN_WORD(p, routes, words_hash, w, n);
	if (n == 8)
		p->path_hash = http_hash_mix(words_hash, w);
	else
		p->path_partial = http_low_bytes(w, n);
	p->path_length += n;
	return n;
}

/* The LF that ends a line being skipped: in the head it makes the same
 * transition whatever came before it on the line, so it is taken too; a
 * chunk-size line's LF decides on the size and is left to the byte step. */
HTTP_INLINE __u32 http_skipped_to_lf(struct http_parser *p, __u32 before_lf)
{
	if (p->state == HTTP_TRAILER_SKIP) {
		p->state = HTTP_TRAILER_START;
		return before_lf + 1;
	}
	if (p->state != HTTP_CHUNK_EXTENSION) {
		p->state = HTTP_HEADER_START;
		return before_lf + 1;
	}
	return before_lf;
}

/* The bytes before the next LF (none of them changes the state), a word at
 * a time, then the last few of `available` one by one. */
HTTP_INLINE __u32 http_skip_words(struct http_parser *p, const __u8 *b, __u32 available)
{
	__u32 k, i, taken = 0;

	for (k = 0; k < HTTP_WORD_STEP_WORDS; k++) {
		__u64 lf;

		if (available < taken + 8)
			break;
		lf = http_bytes_equal(http_load_word(b + taken), '\n');
		if (lf)
			return http_skipped_to_lf(p, taken + http_first_flagged(lf));
		taken += 8;
	}
	if (k == HTTP_WORD_STEP_WORDS)
		return taken;
	/* Fewer than 8 bytes left: taken is at most 56 here, so these reads
	 * stay within HTTP_WORD_STEP_BYTES of b. */
	for (i = 0; i < 7; i++) {
		if (taken + i >= available)
			return taken + i;
		if (b[taken + i] == '\n')
			return http_skipped_to_lf(p, taken + i);
	}
	return taken + i;
}

/* Content-Length digits (and the spaces or CR around them) up to the LF,
 * which ends the value: as stepping would take them. */
HTTP_INLINE __u32 http_content_length_word(struct http_parser *p, const __u8 *b)
{
	__u32 i;

	for (i = 0; i < 8; i++) {
		__u8 c = b[i];

		if (c == '\n') {
			p->state = HTTP_HEADER_START;
			return i + 1;
		}
		if (c >= '0' && c <= '9') {
			p->content_length = p->content_length * 10 + (c - '0');
			if (p->content_length > HTTP_BODY_LENGTH_MAX)
				p->content_length = HTTP_BODY_LENGTH_MAX;
			p->flags |= HTTP_F_HAS_LENGTH;
		}
	}
	return 8;
}

/* Whether b (HTTP_METHOD_MAX_LEN + 1 bytes) starts a request line: an
 * upper-case method and a space.  For finding a request at a packet start
 * after framing was lost. */
HTTP_INLINE int http_starts_request(const __u8 *b)
{
	struct http_parser probe;

	probe.method_length = 0;
	return http_method_word(&probe, b) != 0;
}

/* The status of a status line at b (12 bytes), else 0. */
HTTP_INLINE __u32 http_status_at(const __u8 *b)
{
	struct http_parser probe;

	probe.state = HTTP_STATUS_LINE;
	probe.position = 0;
	probe.status = 0;
	return http_status_line_word(&probe, b) ? probe.status : 0;
}

/*
 * One word step at b, with `available` bytes readable there.  Returns the
 * bytes taken (0: step a byte instead).
 */
HTTP_INLINE __u32 http_word_step(struct http_parser *p, const struct http_route_table *routes,
				   const __u8 *b, __u32 available)
{
	int in_head = http_in_head(p);
	__u32 taken = 0;

	if (available < 8)
		return 0;
	/* Near the head limit, bytes: the byte machine reports the limit at
	 * the byte that crosses it. */
	if (in_head && p->head_length + HTTP_WORD_STEP_BYTES > HTTP_HEAD_MAX)
		return 0;
	switch (p->state) {
	case HTTP_REQ_METHOD:
		if (available >= HTTP_METHOD_MAX_LEN + 1)
			taken = http_method_word(p, b);
		break;
	case HTTP_REQ_PATH:
		taken = http_path_word(p, routes, b);
		break;
	case HTTP_STATUS_LINE:
		if (p->position == 0 && available >= 12)
			taken = http_status_line_word(p, b);
		break;
	case HTTP_HEADER_START:
		if (available >= TRANSFER_ENCODING_NAME_LEN + 1)
			taken = http_header_start_word(p, b);
		else if (b[0] == '\r' && available >= 2)
			taken = http_header_start_word(p, b);
		break;
	case HTTP_HEADER_CONTENT_LENGTH:
		taken = http_content_length_word(p, b);
		break;
	default:
		if (http_skips_to_lf(p->state))
			taken = http_skip_words(p, b, available);
		break;
	}
	if (in_head)
		p->head_length += taken;
	return taken;
}

/* ---------------------------------------------------------------------
 * Whole heads: the fast path at the start of a message
 *
 * The common case, a head that starts a packet and fits in it, framed in one
 * pass: the start line with the word steps, then the rest a word at a time,
 * looking only at where lines end (SWAR over 8 bytes) and, at each line's
 * end, at the line itself: the empty line, Content-Length, or
 * Transfer-Encoding.  It makes exactly the transitions the byte machine
 * makes over the same bytes; anything it does not cover (a head it cannot
 * see whole, an interim 1xx response, a value it would have to look at too
 * long) makes it give up, and then nothing has changed: the caller steps.
 *
 * In three parts, so that a BPF program can drive the words with an
 * iterator and keep all that changes in memory (the verifier then checks
 * the loop once): http_fast_head_begin(), http_fast_head_word() per word
 * until it returns non-zero, http_fast_head_end().
 * ------------------------------------------------------------------- */

/* Longest head the fast path takes, and longest header value it reads. */
#define HTTP_FAST_HEAD_MAX 256
#define HTTP_FAST_VALUE_MAX 32

enum http_fast_status {
	HTTP_FAST_GOING,   /* more words */
	HTTP_FAST_DONE,    /* the head ends at `end` */
	HTTP_FAST_GIVE_UP, /* step instead */
};

/* Longest head whose shape a connection keeps (see "Shapes" below). */
#define HTTP_SHAPE_MAX HTTP_FAST_HEAD_MAX
#define HTTP_SHAPE_WORDS (HTTP_SHAPE_MAX / 8)

struct http_fast_head {
	struct http_parser p; /* the parser as the head leaves it (before http_head_end) */
	__u32 pos;            /* next byte to look at */
	__u32 line;           /* where the current line starts */
	__u32 end;            /* past the head's last byte, once found */
	__u32 status;         /* enum http_fast_status */
	__u32 headers;        /* the current line is a header line (not the start line) */
	__u32 line_seen;      /* a request line ended, its event after byte line_seen - 1 */
	/* For the head's shape: */
	__u64 free[HTTP_SHAPE_MAX / 64]; /* bit k: the framing does not look at byte k */
	__u32 in_flags;       /* the begun parser's flags and state */
	__u32 in_state;
	__u16 length_value;   /* the Content-Length value's bytes [length_value, length_value_end) */
	__u16 length_value_end;
	__u32 length_lines;   /* Content-Length lines */
};

/* The empty line (or not) at a line start: CRLF or a bare LF ends the head;
 * a CR followed by anything else is an error the steps report. */
HTTP_INLINE void http_fast_line_start(struct http_fast_head *f, const __u8 *b, __u32 available)
{
	__u32 at = f->line;

	if (at >= available || at >= HTTP_FAST_HEAD_MAX) {
		f->status = HTTP_FAST_GIVE_UP;
		return;
	}
	if (b[at] == '\n') {
		f->end = at + 1;
		f->status = HTTP_FAST_DONE;
	} else if (b[at] == '\r') {
		if (at + 1 < available && at + 1 < HTTP_FAST_HEAD_MAX && b[at + 1] == '\n') {
			f->end = at + 2;
			f->status = HTTP_FAST_DONE;
		} else {
			f->status = HTTP_FAST_GIVE_UP;
		}
	}
}

/* Mark bytes [from, to) of a head as free: bytes the framing does not look
 * at (see "Shapes" below). */
HTTP_INLINE void http_fast_free(struct http_fast_head *f, __u32 from, __u32 to)
{
	__u32 k;

	for (k = 0; k < HTTP_SHAPE_MAX / 64; k++) {
		__u32 lo = k * 64, a = from > lo ? from : lo, b = to < lo + 64 ? to : lo + 64;

		if (a >= b)
			continue;
		f->free[k] |= (b - a >= 64 ? ~0ULL : (1ULL << (b - a)) - 1) << (a - lo);
	}
}

/* A header line [line, lf): what the byte machine would make of it.  The
 * machine has decided what a line is by its 18th byte (a Content-Length or
 * Transfer-Encoding name, or neither); past that, it looks at no byte of a
 * line that is neither but its LF, and at the digits of a Content-Length
 * value: those bytes are free in the head's shape. */
HTTP_INLINE void http_fast_header(struct http_fast_head *f, const __u8 *b, __u32 lf)
{
	struct http_parser *p = &f->p;
	__u32 line = f->line, name, i;
	__u64 w0, w1;

	if (lf - line < CONTENT_LENGTH_NAME_LEN + 1 || line >= HTTP_FAST_HEAD_MAX)
		return; /* too short for either name */
	w0 = http_load_word(b + line);
	w1 = http_load_word(b + line + 8);
	if ((w0 | 0x0020202020202020ULL) == WORD8('c', 'o', 'n', 't', 'e', 'n', 't', '-') &&
	    ((w1 | 0x0000202020202020ULL) & 0x00ffffffffffffffULL) == WORD8('l', 'e', 'n', 'g', 't', 'h', ':', 0)) {
		name = CONTENT_LENGTH_NAME_LEN + 1;
		if (lf - line - name > HTTP_FAST_VALUE_MAX) {
			f->status = HTTP_FAST_GIVE_UP;
			return;
		}
		p->content_length = 0;
		for (i = 0; i < HTTP_FAST_VALUE_MAX; i++) {
			__u32 at = line + name + i;
			__u8 c;

			if (at >= lf || at >= HTTP_FAST_HEAD_MAX)
				break;
			c = b[at];
			if (c >= '0' && c <= '9') {
				p->content_length = p->content_length * 10 + (c - '0');
				if (p->content_length > HTTP_BODY_LENGTH_MAX)
					p->content_length = HTTP_BODY_LENGTH_MAX;
				p->flags |= HTTP_F_HAS_LENGTH;
			}
		}
		f->length_value = (__u16)(line + name);
		f->length_value_end = (__u16)lf;
		f->length_lines++;
		http_fast_free(f, line + name, lf);
		return;
	}
	if (lf - line < TRANSFER_ENCODING_NAME_LEN + 1)
		return;
	if ((w0 | 0x2020202020202020ULL) == WORD8('t', 'r', 'a', 'n', 's', 'f', 'e', 'r') &&
	    (w1 | 0x2020202020202000ULL) == WORD8('-', 'e', 'n', 'c', 'o', 'd', 'i', 'n') &&
	    (b[line + 16] | 0x20) == 'g' && b[line + 17] == ':') {
		name = TRANSFER_ENCODING_NAME_LEN + 1;
		if (lf - line - name > HTTP_FAST_VALUE_MAX) {
			f->status = HTTP_FAST_GIVE_UP;
			return;
		}
		p->chunked_match = 0;
		for (i = 0; i < HTTP_FAST_VALUE_MAX; i++) {
			__u32 at = line + name + i;
			__u8 c;

			if (at >= lf || at >= HTTP_FAST_HEAD_MAX)
				break;
			/* As the byte machine matches "chunked" in a TE value. */
			c = ascii_lower(b[at]);
			if (p->chunked_match < CHUNKED_TOKEN_LEN && c == CHUNKED_TOKEN[p->chunked_match])
				p->chunked_match++;
			else if (p->chunked_match < CHUNKED_TOKEN_LEN)
				p->chunked_match = (c == 'c');
			if (p->chunked_match == CHUNKED_TOKEN_LEN)
				p->flags |= HTTP_F_CHUNKED;
		}
		return;
	}
	http_fast_free(f, line + TRANSFER_ENCODING_NAME_LEN + 1, lf);
}

/* A line ends at lf. */
HTTP_INLINE void http_fast_line_end(struct http_fast_head *f, const __u8 *b, __u32 available, __u32 lf)
{
	if (f->headers)
		http_fast_header(f, b, lf);
	f->headers = 1;
	f->line = lf + 1;
	if (f->status == HTTP_FAST_GOING)
		http_fast_line_start(f, b, available);
}

/* In BPF a line's end is handled by a global function (bpf/scan.bpf.h), so
 * that the verifier checks its loops once rather than at every LF of a
 * word; b is the start of the scan window there. */
#ifdef __bpf__
struct scan_window;
int http_fast_line_end_bpf(struct http_fast_head *f, const struct scan_window *window, __u32 available, __u32 lf);
#define HTTP_FAST_LINE_END(f, b, available, lf)                                                    \
	http_fast_line_end_bpf(f, (const struct scan_window *)(b), available, lf)
#else
#define HTTP_FAST_LINE_END(f, b, available, lf) http_fast_line_end(f, b, available, lf)
#endif

/*
 * The start line, from the start of a message (a request begun, or a
 * response begun) at b.  Returns 0 when the fast path applies and
 * http_fast_head_word() may go on, -1 when it does not.
 */
HTTP_INLINE int http_fast_head_begin(struct http_fast_head *f, const struct http_parser *in,
				       const struct http_route_table *routes, const __u8 *b, __u32 available)
{
	struct http_parser *p = &f->p;
	__u32 pos, i, n;

	if (available > HTTP_FAST_HEAD_MAX)
		available = HTTP_FAST_HEAD_MAX;
	f->p = *in;
	f->end = 0;
	f->status = HTTP_FAST_GOING;
	f->headers = 0;
	f->line_seen = 0;
	for (i = 0; i < HTTP_SHAPE_MAX / 64; i++)
		f->free[i] = 0;
	f->in_flags = in->flags;
	f->in_state = in->state;
	f->length_value = 0;
	f->length_value_end = 0;
	f->length_lines = 0;
	if (p->flags & HTTP_F_REQUEST) {
		if (p->state != HTTP_REQ_METHOD || p->method_length || available < HTTP_METHOD_MAX_LEN + 1)
			return -1;
		f->pos = http_method_word(p, b);
		if (!f->pos)
			return -1;
		/* The position goes through memory: a verifier then sees one
		 * state per turn, not one per position reached. */
		for (i = 0; i < HTTP_FAST_HEAD_MAX / 8; i++) {
			pos = *(volatile __u32 *)&f->pos;
			if (pos + 8 > available || pos >= HTTP_FAST_HEAD_MAX)
				return -1;
			n = http_path_word(p, routes, b + pos);
			if (!n)
				break;
			f->pos = pos + n;
		}
		pos = *(volatile __u32 *)&f->pos;
		if (pos >= available || pos >= HTTP_FAST_HEAD_MAX ||
		    http_request_path(p, routes, b[pos]) != HTTP_EV_REQUEST_LINE)
			return -1;
		pos++;
		f->line_seen = pos;
		if (p->state == HTTP_HEADER_START) {
			/* The request line ended with the path. */
			f->headers = 1;
			f->line = pos;
			f->pos = pos;
			http_fast_line_start(f, b, available);
			return f->status == HTTP_FAST_GIVE_UP ? -1 : 0;
		}
	} else {
		if (p->state != HTTP_STATUS_LINE || p->position || available < 12)
			return -1;
		pos = http_status_line_word(p, b);
		if (!pos)
			return -1;
	}
	f->line = 0;
	f->pos = pos;
	return 0;
}

/* One more word (or, at the end of what is there, the last few bytes).
 * Returns non-zero when the fast path is done or gives up. */
HTTP_INLINE int http_fast_head_word(struct http_fast_head *f, const __u8 *b, __u32 available)
{
	/* Through memory, for the verifier (see http_fast_head_begin). */
	__u32 pos = *(volatile __u32 *)&f->pos, i;
	__u64 lf;

	if (available > HTTP_FAST_HEAD_MAX)
		available = HTTP_FAST_HEAD_MAX;
	if (f->status != HTTP_FAST_GOING)
		return 1;
	if (pos >= available) {
		f->status = HTTP_FAST_GIVE_UP;
		return 1;
	}
	if (pos + 8 > available) {
		/* The last bytes, one by one. */
		for (i = 0; i < 7 && f->status == HTTP_FAST_GOING; i++) {
			if (pos + i >= available || pos + i >= HTTP_FAST_HEAD_MAX) {
				f->status = HTTP_FAST_GIVE_UP;
				break;
			}
			if (b[pos + i] == '\n' && pos + i >= f->line)
				HTTP_FAST_LINE_END(f, b, available, pos + i);
		}
		return 1;
	}
	lf = http_bytes_equal(http_load_word(b + pos), '\n');
	/* Each LF of the word, lowest first; lines may be short. */
	for (i = 0; i < 8 && lf && f->status == HTTP_FAST_GOING; i++) {
		__u32 at = pos + http_first_flagged(lf);

		lf &= lf - 1;
		/* http_bytes_equal() may flag a byte above a real LF: check. */
		if (at < f->line || b[at] != '\n')
			continue;
		HTTP_FAST_LINE_END(f, b, available, at);
	}
	f->pos = pos + 8;
	return f->status != HTTP_FAST_GOING;
}

/*
 * The head is framed: *out gets the parser after it, the return value is the
 * event of its last byte (as http_step() returns it) and *taken its length.
 * -1 if the fast path gave up (then *out is untouched).
 */
HTTP_INLINE int http_fast_head_end(struct http_fast_head *f, struct http_parser *out, __u32 *taken)
{
	struct http_parser *p = &f->p;
	int event;

	if (f->status != HTTP_FAST_DONE)
		return -1;
	/* An interim response restarts the head: the steps do that. */
	if (!(p->flags & HTTP_F_REQUEST) && p->status >= 100 && p->status < 200 && p->status != 101)
		return -1;
	p->head_length = f->end;
	p->header_match = 0;
	p->position = 0;
	/* f->p stays as the head left it: a shape keeps that. */
	*out = *p;
	event = http_head_end(out);
	*taken = f->end;
	return event;
}

/* ---------------------------------------------------------------------
 * Shapes: the next head on a keep-alive connection
 *
 * A client sends a connection's requests, and a server answers them, with
 * heads of one shape: the same start line and header lines, in the same
 * order, where only values change (a date, a Content-Length, a token).  The
 * shape of the last head framed by the fast path is its bytes, with a bit
 * per byte for the bytes the framing does not look at (http_fast_header
 * says which: a header value past the line's 18th byte, except in
 * Transfer-Encoding; the Content-Length value's digits, which are read
 * again).  The start line has no free byte: a request's method and path are
 * the shape's.  A head that has the same bytes everywhere else, and no LF
 * among the free bytes, has the same lines, so the byte machine would make
 * the same of it: the same parser at its end, but for the Content-Length.
 * Checking that is a compare per 8 bytes.  Anything else, and the fast path
 * and the steps frame the head as before.
 * ------------------------------------------------------------------- */

struct http_head_shape {
	/* Small fields first: they and the parser are what every match reads,
	 * and `words` is read only as far as the head goes. */
	__u32 in_flags;                     /* of the begun parser it applies to */
	__u32 in_state;
	__u16 length;                       /* of the head; 0: no shape */
	__u16 length_value;                 /* the Content-Length value's bytes, 0 if none */
	__u16 length_value_end;
	__u16 line_seen;                    /* a request: its line's event after byte line_seen - 1 */
	struct http_parser after;           /* the parser at the head's end, before http_head_end() */
	__u64 free[HTTP_SHAPE_MAX / 64];  /* bit k: byte k may differ */
	__u64 words[HTTP_SHAPE_WORDS];      /* the head, zeros past `length` */
};

/* In BPF, hide how x was computed from the compiler: the verifier then
 * bounds the index the bounds checks saw, not a sum the compiler made. */
#ifdef __bpf__
#define HTTP_OPAQUE(x) asm volatile("" : "+r"(x))
#else
#define HTTP_OPAQUE(x) ((void)0)
#endif

/* The first min(k, 8) bytes at p, zeros above.  In BPF the bytes are in a
 * window with room for a whole word past any byte of it. */
HTTP_INLINE __u64 http_load_upto(const __u8 *p, __u32 k)
{
#ifdef __bpf__
	return http_low_bytes(http_load_word(p), k);
#else
	__u64 w = 0;

	memcpy(&w, p, k < 8 ? k : 8);
	return w;
#endif
}

/* 0xff in byte k of the result for bit k of `bits` (k in 0..7). */
HTTP_INLINE __u64 http_byte_mask(__u64 bits)
{
	__u64 x = bits & 0xff;

	x = (x | x << 28) & 0x0000000f0000000fULL;
	x = (x | x << 14) & 0x0003000300030003ULL;
	x = (x | x << 7) & 0x0101010101010101ULL;
	return x * 0xff;
}

/* 0x80 in exactly the bytes of w that equal c (http_bytes_equal() may also
 * flag a byte above one that does). */
HTTP_INLINE __u64 http_bytes_equal_exact(__u64 w, __u8 c)
{
	__u64 x = w ^ (HTTP_ONES * c);

	return ~(((x & ~HTTP_HIGHS) + ~HTTP_HIGHS) | x) & HTTP_HIGHS;
}

/* After the fast path framed a head at b (http_fast_head_end() returned an
 * event): keep its shape.  Returns 0, or -1 when the head has none worth
 * keeping (then s has none). */
HTTP_INLINE int http_shape_record(struct http_head_shape *s, const struct http_fast_head *f, const __u8 *b)
{
	__u32 n = f->end, i;

	s->length = 0;
	if (f->status != HTTP_FAST_DONE || n == 0 || n > HTTP_SHAPE_MAX || f->length_lines > 1)
		return -1;
	for (i = 0; i < HTTP_SHAPE_WORDS; i++)
		s->words[i] = i * 8 < n ? http_load_upto(b + i * 8, n - i * 8) : 0;
	for (i = 0; i < HTTP_SHAPE_MAX / 64; i++)
		s->free[i] = f->free[i];
	s->after = f->p;
	s->in_flags = f->in_flags;
	s->in_state = f->in_state;
	s->line_seen = (__u16)f->line_seen;
	s->length_value = f->length_value;
	s->length_value_end = f->length_value_end;
	s->length = (__u16)n;
	return 0;
}

/*
 * A head at b (`available` bytes there), for the begun parser *in: if it
 * has shape s, *out gets the parser after it and *taken its length, and the
 * return value is the event of its last byte, all as http_fast_head_end()
 * gives them (a request's line ended after byte s->line_seen - 1, as the
 * fast path's line_seen says).  -1 if it does not have the shape (then
 * nothing changed).
 */
HTTP_INLINE int http_shape_match(const struct http_head_shape *s, const struct http_parser *in, const __u8 *b,
				 __u32 available, struct http_parser *out, __u32 *taken)
{
	__u32 n = s->length, i;
	__u64 length = 0;
	int digits = 0;

	/* A parser just begun, as the shape's was. */
	if (!n || n > available || n > HTTP_SHAPE_MAX || in->state != s->in_state || in->flags != s->in_flags ||
	    in->position || in->method_length || in->head_length)
		return -1;
	for (i = 0; i < HTTP_SHAPE_WORDS; i++) {
		__u64 w, diff, free;

		if (i * 8 >= n)
			break;
		w = http_load_upto(b + i * 8, n - i * 8);
		diff = w ^ s->words[i];
		if (!diff)
			continue;
		free = http_byte_mask(s->free[i / 8] >> (i % 8 * 8));
		/* A changed byte the framing looks at, or a new line. */
		if ((diff & ~free) || (http_bytes_equal_exact(w, '\n') & free))
			return -1;
	}
	*out = s->after;
	if (s->length_value) {
		/* As the byte machine reads a Content-Length value. */
		for (i = 0; i < HTTP_FAST_VALUE_MAX; i++) {
			__u32 at = s->length_value + i;
			__u8 c;

			HTTP_OPAQUE(at);
			if (at >= s->length_value_end || at >= HTTP_SHAPE_MAX)
				break;
			c = b[at];
			if (c >= '0' && c <= '9') {
				length = length * 10 + (c - '0');
				if (length > HTTP_BODY_LENGTH_MAX)
					length = HTTP_BODY_LENGTH_MAX;
				digits = 1;
			}
		}
		out->content_length = length;
		out->flags = (out->flags & ~HTTP_F_HAS_LENGTH) | (digits ? HTTP_F_HAS_LENGTH : 0);
	}
	*taken = n;
	return http_head_end(out);
}

/*
 * Skip body bytes without looking at them.  `available` is how many bytes
 * the caller has at this point; returns how many of them are body.  Sets
 * *event to HTTP_EV_COMPLETE when the last of them ends the message.
 */
HTTP_INLINE __u64 http_skip(struct http_parser *p, __u64 available, int *event)
{
	__u64 n;

	*event = HTTP_EV_NONE;
	switch (p->state) {
	case HTTP_BODY_LENGTH:
	case HTTP_CHUNK_DATA:
		n = p->remaining < available ? p->remaining : available;
		p->remaining -= n;
		if (p->remaining == 0) {
			if (p->state == HTTP_BODY_LENGTH) {
				p->state = HTTP_COMPLETE;
				*event = HTTP_EV_COMPLETE;
			} else {
				p->state = HTTP_CHUNK_DATA_END;
			}
		}
		return n;
	case HTTP_BODY_UNTIL_CLOSE:
		return available;
	case HTTP_COMPLETE:
		/* A finished response: more bytes belong to no request we
		 * know.  A finished request: the next byte starts one. */
		return (p->flags & HTTP_F_REQUEST) ? 0 : available;
	case HTTP_ERROR:
		return available;
	default:
		return 0;
	}
}

#endif /* RUNWAY_HTTP_FRAMING_H */
