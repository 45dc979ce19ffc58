/* SPDX-License-Identifier: MIT */
/*
 * HTTP/1.x framing as runway-bpfd sees it on the wire, one byte at a time.
 *
 * This header is compiled by the BPF programs (bpf/) and by the cmocka tests
 * (tests/unit/), so the tested state machine is the one the kernel runs.  It
 * therefore sticks to what the verifier accepts: no pointers other than the
 * parser itself, no unbounded loops, no libc.  Callers feed bytes with
 * http_*_step() and let http_response_skip() jump over body bytes in O(1).
 */
#ifndef RUNWAY_HTTP_FRAMING_H
#define RUNWAY_HTTP_FRAMING_H

#ifndef __bpf__
#include <linux/types.h>
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

/* ---------------------------------------------------------------------
 * Request line: "METHOD SP path[?query] SP HTTP/1.x"
 * We need the method (a bounded label) and a hash of the path (to match the
 * excluded paths).  The rest of the request is not parsed: a keep-alive
 * client sends its next request only after the previous response, so request
 * boundaries are taken from responses, not from request bodies.
 * ------------------------------------------------------------------- */

enum http_request_line_state {
	REQ_LINE_METHOD,
	REQ_LINE_PATH,
	REQ_LINE_DONE,
	REQ_LINE_INVALID,
};

/* Longest method token we accept; longer is not HTTP as uvicorn speaks it. */
#define HTTP_METHOD_MAX_LEN 8

struct http_request_line {
	__u64 method_bytes; /* method token, first byte in the lowest byte */
	__u64 path_hash;    /* FNV-1a of the path, without query string */
	__u32 state;        /* enum http_request_line_state */
	__u32 length;       /* bytes of the request line consumed */
	__u32 method;       /* enum http_method, valid once DONE */
	__u32 pad;
};

#define FNV1A_OFFSET 0xcbf29ce484222325ULL
#define FNV1A_PRIME 0x100000001b3ULL

static inline __u64 fnv1a_step(__u64 hash, __u8 c)
{
	return (hash ^ c) * FNV1A_PRIME;
}

#define METHOD_WORD(a, b, c, d, e, f, g)                                       \
	((__u64)(a) | (__u64)(b) << 8 | (__u64)(c) << 16 | (__u64)(d) << 24 |  \
	 (__u64)(e) << 32 | (__u64)(f) << 40 | (__u64)(g) << 48)

static inline __u32 http_method_from_word(__u64 word)
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

static inline void http_request_line_reset(struct http_request_line *r)
{
	r->method_bytes = 0;
	r->path_hash = FNV1A_OFFSET;
	r->state = REQ_LINE_METHOD;
	r->length = 0;
	r->method = HTTP_OTHER;
	r->pad = 0;
}

/* Returns 1 once the line is DONE or INVALID (stop feeding), else 0. */
static inline int http_request_line_step(struct http_request_line *r, __u8 c)
{
	__u32 pos = r->length++;

	switch (r->state) {
	case REQ_LINE_METHOD:
		if (c == ' ' && pos > 0) {
			r->method = http_method_from_word(r->method_bytes);
			r->state = REQ_LINE_PATH;
			return 0;
		}
		/* RFC 9110 tokens are wider, but every client of a uvicorn
		 * app sends an upper-case method: anything else at the start
		 * of a request is TLS or garbage, which we do not claim to
		 * understand.  (An HTTP/2 preface, "PRI * HTTP/2.0", parses
		 * as method OTHER and uvicorn answers it with an error.) */
		if (c < 'A' || c > 'Z' || pos >= HTTP_METHOD_MAX_LEN) {
			r->state = REQ_LINE_INVALID;
			return 1;
		}
		r->method_bytes |= (__u64)c << ((pos & 7) * 8);
		return 0;
	case REQ_LINE_PATH:
		if (c == ' ' || c == '?' || c == '#' || c == '\r' || c == '\n') {
			r->state = REQ_LINE_DONE;
			return 1;
		}
		r->path_hash = fnv1a_step(r->path_hash, c);
		return 0;
	default:
		return 1;
	}
}

/* At the start of a request line with 8 bytes readable at b: the method and
 * the space after it in one go, as stepping would.  Returns the bytes taken,
 * 0 if it does not apply (the caller then steps). */
static inline __u32 http_request_line_fast(struct http_request_line *r, const __u8 *b)
{
	__u64 word = 0;
	__u32 n;

	if (r->state != REQ_LINE_METHOD || r->length != 0)
		return 0;
	for (n = 0; n < HTTP_METHOD_MAX_LEN; n++) {
		if (b[n] == ' ')
			break;
		if (b[n] < 'A' || b[n] > 'Z')
			return 0;
		word |= (__u64)b[n] << (n * 8);
	}
	if (n == 0 || n == HTTP_METHOD_MAX_LEN)
		return 0;
	r->method_bytes = word;
	r->method = http_method_from_word(word);
	r->state = REQ_LINE_PATH;
	r->length = n + 1;
	return n + 1;
}

/* The same hash the kernel side computes, for paths given on the command line. */
static inline __u64 http_path_hash(const char *path, __u32 max_len)
{
	__u64 hash = FNV1A_OFFSET;
	__u32 i;

	for (i = 0; i < max_len && path[i]; i++)
		hash = fnv1a_step(hash, (__u8)path[i]);
	return hash;
}

/* ---------------------------------------------------------------------
 * Response framing: status line, the two headers that frame the body
 * (Content-Length, Transfer-Encoding: chunked), then the body itself.
 * ------------------------------------------------------------------- */

enum http_response_state {
	RESP_STATUS_LINE,
	RESP_STATUS_REASON,    /* after the status code: nothing to read until LF */
	RESP_HEADER_START,
	RESP_HEADER_NAME,
	RESP_HEADER_CONTENT_LENGTH,
	RESP_HEADER_TRANSFER_ENCODING,
	RESP_HEADER_SKIP,
	RESP_HEAD_END_LF,
	RESP_BODY_LENGTH,      /* skip `remaining` bytes */
	RESP_BODY_UNTIL_CLOSE, /* no framing: the response ends with the connection */
	RESP_CHUNK_SIZE,
	RESP_CHUNK_EXTENSION,
	RESP_CHUNK_DATA,       /* skip `remaining` bytes */
	RESP_CHUNK_DATA_END,   /* the CRLF after chunk data */
	RESP_TRAILER_START,
	RESP_TRAILER_SKIP,
	RESP_COMPLETE,
	RESP_ERROR,
};

/* What a step tells its caller. */
enum http_response_event {
	RESP_EV_NONE,     /* keep feeding bytes */
	RESP_EV_BODY,     /* body bytes follow: call http_response_skip() */
	RESP_EV_COMPLETE, /* the last byte of the response was this one */
	RESP_EV_ERROR,    /* not HTTP/1.x as we understand it: stop tracking */
};

#define RESP_HAS_LENGTH (1u << 0)
#define RESP_CHUNKED (1u << 1)
#define RESP_NO_BODY (1u << 2) /* answer to HEAD */
#define RESP_UPGRADED (1u << 3) /* 101: the connection is no longer HTTP */

struct http_response_framing {
	__u64 remaining;      /* body or chunk bytes still to come */
	__u64 content_length;
	__u32 state;          /* enum http_response_state */
	__u32 status;         /* 0 until the status line is read */
	__u32 flags;          /* RESP_* */
	__u16 position;       /* byte position in the current line, saturating */
	__u8 header_match;    /* which framing header names still match */
	__u8 chunked_match;   /* progress matching "chunked" in a TE value */
};

#define HEADER_MATCH_CONTENT_LENGTH (1u << 0)
#define HEADER_MATCH_TRANSFER_ENCODING (1u << 1)
#define CONTENT_LENGTH_NAME "content-length"
#define CONTENT_LENGTH_NAME_LEN 14
#define TRANSFER_ENCODING_NAME "transfer-encoding"
#define TRANSFER_ENCODING_NAME_LEN 17
#define CHUNKED_TOKEN "chunked"
#define CHUNKED_TOKEN_LEN 7
/* Beyond this a Content-Length or chunk size is nonsense; clamping keeps the
 * arithmetic from wrapping. */
#define HTTP_BODY_LENGTH_MAX (1ULL << 50)

static inline void http_response_reset(struct http_response_framing *p, int no_body)
{
	p->remaining = 0;
	p->content_length = 0;
	p->state = RESP_STATUS_LINE;
	p->status = 0;
	p->flags = no_body ? RESP_NO_BODY : 0;
	p->position = 0;
	p->header_match = 0;
	p->chunked_match = 0;
}

static inline __u8 ascii_lower(__u8 c)
{
	return (c >= 'A' && c <= 'Z') ? c + ('a' - 'A') : c;
}

static inline int hex_value(__u8 c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	c = ascii_lower(c);
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

/* The empty line after the headers: decide how the body is framed. */
static inline int http_response_head_end(struct http_response_framing *p)
{
	__u32 status = p->status;

	if (status >= 100 && status < 200 && status != 101) {
		/* 100 Continue, 103 Early Hints: an interim head, the real
		 * response follows on the same request. */
		http_response_reset(p, p->flags & RESP_NO_BODY);
		return RESP_EV_NONE;
	}
	if (status == 101) {
		p->flags |= RESP_UPGRADED;
		p->state = RESP_COMPLETE;
		return RESP_EV_COMPLETE;
	}
	if ((p->flags & RESP_NO_BODY) || status == 204 || status == 304) {
		p->state = RESP_COMPLETE;
		return RESP_EV_COMPLETE;
	}
	/* RFC 9112 6.3: chunked wins over Content-Length. */
	if (p->flags & RESP_CHUNKED) {
		p->state = RESP_CHUNK_SIZE;
		p->remaining = 0;
		p->position = 0; /* no size digit yet: an empty line is an error */
		return RESP_EV_NONE;
	}
	if (p->flags & RESP_HAS_LENGTH) {
		if (p->content_length == 0) {
			p->state = RESP_COMPLETE;
			return RESP_EV_COMPLETE;
		}
		p->remaining = p->content_length;
		p->state = RESP_BODY_LENGTH;
		return RESP_EV_BODY;
	}
	p->state = RESP_BODY_UNTIL_CLOSE;
	return RESP_EV_BODY;
}

static inline int http_response_header_name(struct http_response_framing *p, __u8 c)
{
	__u16 pos = p->position;
	__u8 lower = ascii_lower(c);

	if (c == ':') {
		if ((p->header_match & HEADER_MATCH_CONTENT_LENGTH) && pos == CONTENT_LENGTH_NAME_LEN) {
			p->content_length = 0;
			p->state = RESP_HEADER_CONTENT_LENGTH;
		} else if ((p->header_match & HEADER_MATCH_TRANSFER_ENCODING) &&
			   pos == TRANSFER_ENCODING_NAME_LEN) {
			p->chunked_match = 0;
			p->state = RESP_HEADER_TRANSFER_ENCODING;
		} else {
			p->state = RESP_HEADER_SKIP;
		}
		return RESP_EV_NONE;
	}
	if (c == '\n') {
		p->state = RESP_HEADER_START;
		return RESP_EV_NONE;
	}
	if (pos >= CONTENT_LENGTH_NAME_LEN || lower != CONTENT_LENGTH_NAME[pos])
		p->header_match &= ~HEADER_MATCH_CONTENT_LENGTH;
	if (pos >= TRANSFER_ENCODING_NAME_LEN ||
	    lower != TRANSFER_ENCODING_NAME[pos])
		p->header_match &= ~HEADER_MATCH_TRANSFER_ENCODING;
	if (!p->header_match)
		p->state = RESP_HEADER_SKIP;
	p->position = pos + 1;
	return RESP_EV_NONE;
}

static inline int http_response_status_line(struct http_response_framing *p, __u8 c)
{
	__u16 pos = p->position;

	if (c == '\n') {
		/* "HTTP/1.1 200" is 12 bytes; a shorter line has no status. */
		p->state = RESP_ERROR;
		return RESP_EV_ERROR;
	}
	if (pos < 5) {
		if (c != "HTTP/"[pos]) {
			p->state = RESP_ERROR;
			return RESP_EV_ERROR;
		}
	} else if (pos >= 9 && pos < 12) {
		if (c < '0' || c > '9') {
			p->state = RESP_ERROR;
			return RESP_EV_ERROR;
		}
		p->status = p->status * 10 + (c - '0');
		if (pos == 11) {
			if (p->status < 100 || p->status > 599) {
				p->state = RESP_ERROR;
				return RESP_EV_ERROR;
			}
			p->state = RESP_STATUS_REASON;
		}
	}
	p->position = pos + 1;
	return RESP_EV_NONE;
}

static inline int http_response_chunk_size(struct http_response_framing *p, __u8 c)
{
	int digit;

	if (c == '\n') {
		if (p->position == 0) {
			p->state = RESP_ERROR;
			return RESP_EV_ERROR;
		}
		p->position = 0;
		if (p->remaining == 0) {
			p->state = RESP_TRAILER_START;
			return RESP_EV_NONE;
		}
		p->state = RESP_CHUNK_DATA;
		return RESP_EV_BODY;
	}
	if (p->state == RESP_CHUNK_EXTENSION || c == '\r')
		return RESP_EV_NONE;
	if (c == ';' || c == ' ' || c == '\t') {
		p->state = RESP_CHUNK_EXTENSION;
		return RESP_EV_NONE;
	}
	digit = hex_value(c);
	if (digit < 0) {
		p->state = RESP_ERROR;
		return RESP_EV_ERROR;
	}
	p->remaining = p->remaining * 16 + digit;
	if (p->remaining > HTTP_BODY_LENGTH_MAX)
		p->remaining = HTTP_BODY_LENGTH_MAX;
	p->position = 1;
	return RESP_EV_NONE;
}

/* Feed one byte of the response.  Returns an enum http_response_event. */
static inline int http_response_step(struct http_response_framing *p, __u8 c)
{
	switch (p->state) {
	case RESP_STATUS_LINE:
		return http_response_status_line(p, c);
	case RESP_STATUS_REASON:
		if (c == '\n')
			p->state = RESP_HEADER_START;
		return RESP_EV_NONE;
	case RESP_HEADER_START:
		if (c == '\r') {
			p->state = RESP_HEAD_END_LF;
			return RESP_EV_NONE;
		}
		if (c == '\n')
			return http_response_head_end(p);
		p->header_match = HEADER_MATCH_CONTENT_LENGTH | HEADER_MATCH_TRANSFER_ENCODING;
		p->position = 0;
		p->state = RESP_HEADER_NAME;
		return http_response_header_name(p, c);
	case RESP_HEADER_NAME:
		return http_response_header_name(p, c);
	case RESP_HEADER_CONTENT_LENGTH:
		if (c >= '0' && c <= '9') {
			p->content_length = p->content_length * 10 + (c - '0');
			if (p->content_length > HTTP_BODY_LENGTH_MAX)
				p->content_length = HTTP_BODY_LENGTH_MAX;
			p->flags |= RESP_HAS_LENGTH;
		} else if (c == '\n') {
			p->state = RESP_HEADER_START;
		}
		return RESP_EV_NONE;
	case RESP_HEADER_TRANSFER_ENCODING:
		if (c == '\n') {
			p->state = RESP_HEADER_START;
			return RESP_EV_NONE;
		}
		c = ascii_lower(c);
		if (p->chunked_match < CHUNKED_TOKEN_LEN && c == CHUNKED_TOKEN[p->chunked_match])
			p->chunked_match++;
		else if (p->chunked_match < CHUNKED_TOKEN_LEN)
			p->chunked_match = (c == 'c');
		if (p->chunked_match == CHUNKED_TOKEN_LEN)
			p->flags |= RESP_CHUNKED;
		return RESP_EV_NONE;
	case RESP_HEADER_SKIP:
		if (c == '\n')
			p->state = RESP_HEADER_START;
		return RESP_EV_NONE;
	case RESP_HEAD_END_LF:
		if (c != '\n') {
			p->state = RESP_ERROR;
			return RESP_EV_ERROR;
		}
		return http_response_head_end(p);
	case RESP_CHUNK_SIZE:
	case RESP_CHUNK_EXTENSION:
		return http_response_chunk_size(p, c);
	case RESP_CHUNK_DATA_END:
		if (c == '\n') {
			p->state = RESP_CHUNK_SIZE;
			p->remaining = 0;
			p->position = 0;
		} else if (c != '\r') {
			p->state = RESP_ERROR;
			return RESP_EV_ERROR;
		}
		return RESP_EV_NONE;
	case RESP_TRAILER_START:
		if (c == '\r')
			return RESP_EV_NONE;
		if (c == '\n') {
			p->state = RESP_COMPLETE;
			return RESP_EV_COMPLETE;
		}
		p->state = RESP_TRAILER_SKIP;
		return RESP_EV_NONE;
	case RESP_TRAILER_SKIP:
		if (c == '\n')
			p->state = RESP_TRAILER_START;
		return RESP_EV_NONE;
	case RESP_BODY_LENGTH:
	case RESP_CHUNK_DATA:
	case RESP_BODY_UNTIL_CLOSE:
		/* Callers skip body bytes in bulk; a byte fed here is body. */
		return RESP_EV_BODY;
	default:
		/* COMPLETE, ERROR: bytes after the end are not ours to frame. */
		return RESP_EV_NONE;
	}
}

/*
 * In these states every byte up to the next LF leaves the parser as it is, so
 * a caller may jump over them (http_bytes_before_lf8) instead of stepping:
 * most of a response head is header values nobody needs.
 */
static inline int http_response_skips_to_lf(const struct http_response_framing *p)
{
	return p->state == RESP_STATUS_REASON || p->state == RESP_HEADER_SKIP ||
	       p->state == RESP_TRAILER_SKIP || p->state == RESP_CHUNK_EXTENSION;
}

/* How many of the 8 bytes at b come before the first LF; 8 if there is none.
 * Unrolled: the verifier sees eight fixed reads, not a loop. */
static inline __u32 http_bytes_before_lf8(const __u8 *b)
{
	if (b[0] == '\n')
		return 0;
	if (b[1] == '\n')
		return 1;
	if (b[2] == '\n')
		return 2;
	if (b[3] == '\n')
		return 3;
	if (b[4] == '\n')
		return 4;
	if (b[5] == '\n')
		return 5;
	if (b[6] == '\n')
		return 6;
	if (b[7] == '\n')
		return 7;
	return 8;
}

/* Lower-cases letters and leaves ':' and '-' as they are, for comparing
 * header names. */
#define HTTP_LOWER(c) ((__u8)((c) | 0x20))

#define HTTP_FAST_PATH_BYTES 18 /* bytes a fast path may read */

/*
 * Fast paths for a whole token at once, used when the caller has the bytes
 * in one buffer; they make the same transitions as stepping byte by byte
 * would.  Each returns how many bytes it consumed, 0 if it does not apply
 * (the caller then steps as usual).
 *
 * At the start of a status line, "HTTP/x.y NNN" in one go.
 */
static inline __u32 http_response_status_fast(struct http_response_framing *p, const __u8 *b)
{
	__u32 status;

	if (p->state != RESP_STATUS_LINE || p->position != 0)
		return 0;
	if (b[0] != 'H' || b[1] != 'T' || b[2] != 'T' || b[3] != 'P' || b[4] != '/')
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
	p->state = RESP_STATUS_REASON;
	return 12;
}

/* At the start of a header line (18 bytes readable at b): a line that is
 * neither framing header goes straight to RESP_HEADER_SKIP; "content-length:"
 * and "transfer-encoding:" go straight to their values. */
static inline __u32 http_response_header_fast(struct http_response_framing *p, const __u8 *b)
{
	if (p->state != RESP_HEADER_START || b[0] == '\r' || b[0] == '\n')
		return 0;
	if (HTTP_LOWER(b[0]) == 'c' && HTTP_LOWER(b[1]) == 'o' && HTTP_LOWER(b[2]) == 'n' &&
	    HTTP_LOWER(b[3]) == 't' && HTTP_LOWER(b[4]) == 'e' && HTTP_LOWER(b[5]) == 'n' &&
	    HTTP_LOWER(b[6]) == 't' && b[7] == '-' && HTTP_LOWER(b[8]) == 'l' &&
	    HTTP_LOWER(b[9]) == 'e' && HTTP_LOWER(b[10]) == 'n' && HTTP_LOWER(b[11]) == 'g' &&
	    HTTP_LOWER(b[12]) == 't' && HTTP_LOWER(b[13]) == 'h' && b[14] == ':') {
		p->content_length = 0;
		p->state = RESP_HEADER_CONTENT_LENGTH;
		return CONTENT_LENGTH_NAME_LEN + 1;
	}
	if (HTTP_LOWER(b[0]) == 't' && HTTP_LOWER(b[1]) == 'r' && HTTP_LOWER(b[2]) == 'a' &&
	    HTTP_LOWER(b[3]) == 'n' && HTTP_LOWER(b[4]) == 's' && HTTP_LOWER(b[5]) == 'f' &&
	    HTTP_LOWER(b[6]) == 'e' && HTTP_LOWER(b[7]) == 'r' && b[8] == '-' &&
	    HTTP_LOWER(b[9]) == 'e' && HTTP_LOWER(b[10]) == 'n' && HTTP_LOWER(b[11]) == 'c' &&
	    HTTP_LOWER(b[12]) == 'o' && HTTP_LOWER(b[13]) == 'd' && HTTP_LOWER(b[14]) == 'i' &&
	    HTTP_LOWER(b[15]) == 'n' && HTTP_LOWER(b[16]) == 'g' && b[17] == ':') {
		p->chunked_match = 0;
		p->state = RESP_HEADER_TRANSFER_ENCODING;
		return TRANSFER_ENCODING_NAME_LEN + 1;
	}
	/* Neither name: the stepping path would clear both matches within
	 * the first 15 bytes and reach RESP_HEADER_SKIP without leaving the
	 * line, unless the line ends first, so only take the shortcut when
	 * there is no LF among them. */
	if (http_bytes_before_lf8(b) < 8 || http_bytes_before_lf8(b + 8) < 8)
		return 0;
	p->header_match = 0;
	p->position = 16;
	p->state = RESP_HEADER_SKIP;
	return 16;
}

/*
 * Skip body bytes without looking at them.  `available` is how many bytes the
 * caller has at this point; returns how many of them are body.  Sets
 * *event to RESP_EV_COMPLETE when the last of them ends the response.
 */
static inline __u64 http_response_skip(struct http_response_framing *p, __u64 available, int *event)
{
	__u64 n;

	*event = RESP_EV_NONE;
	switch (p->state) {
	case RESP_BODY_LENGTH:
	case RESP_CHUNK_DATA:
		n = p->remaining < available ? p->remaining : available;
		p->remaining -= n;
		if (p->remaining == 0) {
			if (p->state == RESP_BODY_LENGTH) {
				p->state = RESP_COMPLETE;
				*event = RESP_EV_COMPLETE;
			} else {
				p->state = RESP_CHUNK_DATA_END;
			}
		}
		return n;
	case RESP_BODY_UNTIL_CLOSE:
	case RESP_COMPLETE:
	case RESP_ERROR:
		return available;
	default:
		return 0;
	}
}

#endif /* RUNWAY_HTTP_FRAMING_H */
