/* SPDX-License-Identifier: MIT */
#ifndef RUNWAY_SWEEP_HTTP_URL_H
#define RUNWAY_SWEEP_HTTP_URL_H

#include <stddef.h>
#include <sys/socket.h>

#define HTTP_URL_HOST_MAX 255
#define HTTP_URL_TARGET_MAX 2048

/* An http:// URL, split into what a request needs. */
struct http_url {
	char host[HTTP_URL_HOST_MAX + 1];          /* without the brackets of an IPv6 literal */
	unsigned short port;
	char host_header[HTTP_URL_HOST_MAX + 10];  /* as written: [::1]:8000, example.com */
	char target[HTTP_URL_TARGET_MAX + 1];      /* the request target: path and query, "/" at least */
};

/* Parses http://HOST[:PORT][/PATH][?QUERY][#FRAGMENT] (the fragment is
 * dropped: it is never sent).  Returns 0, or -1 with a one-line message that
 * names the problem and the expected form in `error`. */
int http_url_parse(const char *text, struct http_url *url, char *error, size_t error_size);

/* The first address of url->host (getaddrinfo: names, IPv4, IPv6).
 * Returns 0, or -1 with a message in `error`. */
int http_url_resolve(const struct http_url *url, struct sockaddr_storage *address, socklen_t *length,
		     char *error, size_t error_size);

#endif
