// SPDX-License-Identifier: MIT
#include <netdb.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "http_url.h"
#include "quote.h"

#define EXPECTED "expected http://HOST[:PORT]/PATH, e.g. http://127.0.0.1:8000/cpu?ms=20"

static bool is_host_char(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' ||
	       c == '.' || c == '_';
}

/* What may stand in a request line's target: printable ASCII but space. */
static bool is_target_char(char c)
{
	return c > ' ' && c < 0x7f;
}

static int parse_port(const char *text, size_t length, unsigned short *port)
{
	unsigned long value = 0;
	size_t i;

	if (length == 0 || length > 5)
		return -1;
	for (i = 0; i < length; i++) {
		if (text[i] < '0' || text[i] > '9')
			return -1;
		value = value * 10 + (unsigned)(text[i] - '0');
	}
	if (value < 1 || value > 65535)
		return -1;
	*port = value;
	return 0;
}

int http_url_parse(const char *text, struct http_url *url, char *error, size_t error_size)
{
	const char *scheme_end = strstr(text, "://"), *authority, *authority_end, *host, *host_end;
	const char *port_text = NULL, *target;
	size_t target_length, i;
	char q[QUOTE_SIZE];

	memset(url, 0, sizeof(*url));
	url->port = 80;
	/* Whatever part they are in, they could end up in a request line or
	 * in a message; URLs percent-encode them. */
	for (i = 0; text[i]; i++) {
		if (!is_target_char(text[i])) {
			snprintf(error, error_size,
				 "'%s': the URL has a space, control or non-ASCII character; percent-encode it (%%20)",
				 quote_input(text, q));
			return -1;
		}
	}
	if (!scheme_end) {
		snprintf(error, error_size, "'%s' is not a URL: " EXPECTED, quote_input(text, q));
		return -1;
	}
	if ((size_t)(scheme_end - text) == 5 && strncasecmp(text, "https", 5) == 0) {
		snprintf(error, error_size,
			 "'%s': https is not supported; give the server's own plain-HTTP address, " EXPECTED,
			 quote_input(text, q));
		return -1;
	}
	if ((size_t)(scheme_end - text) != 4 || strncasecmp(text, "http", 4) != 0) {
		snprintf(error, error_size, "'%s' is not an http:// URL: " EXPECTED, quote_input(text, q));
		return -1;
	}
	authority = scheme_end + 3;
	authority_end = authority + strcspn(authority, "/?#");
	if (memchr(authority, '@', authority_end - authority)) {
		snprintf(error, error_size, "'%s': user names and passwords in the URL are not supported; " EXPECTED,
			 quote_input(text, q));
		return -1;
	}
	if (authority[0] == '[') {
		/* An IPv6 literal, as URLs write it. */
		host = authority + 1;
		host_end = memchr(host, ']', authority_end - host);
		if (!host_end || host_end == host) {
			snprintf(error, error_size, "'%s': an IPv6 address goes in brackets, e.g. http://[::1]:8000/",
				 quote_input(text, q));
			return -1;
		}
		for (i = 0; host + i < host_end; i++) {
			char c = host[i];

			if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F') || c == ':' ||
			      c == '.')) {
				snprintf(error, error_size, "'%s': what is in the brackets is not an IPv6 address",
					 quote_input(text, q));
				return -1;
			}
		}
		if (host_end + 1 < authority_end) {
			if (host_end[1] != ':') {
				snprintf(error, error_size, "'%s': expected ':PORT' after the IPv6 address", quote_input(text, q));
				return -1;
			}
			port_text = host_end + 2;
		}
	} else {
		host = authority;
		host_end = memchr(authority, ':', authority_end - authority);
		if (host_end)
			port_text = host_end + 1;
		else
			host_end = authority_end;
		for (i = 0; host + i < host_end; i++) {
			if (!is_host_char(host[i])) {
				snprintf(error, error_size, "'%s': the host is not a name or an address; " EXPECTED,
					 quote_input(text, q));
				return -1;
			}
		}
	}
	if (host_end == host) {
		snprintf(error, error_size, "'%s' names no host: " EXPECTED, quote_input(text, q));
		return -1;
	}
	if ((size_t)(host_end - host) > HTTP_URL_HOST_MAX) {
		snprintf(error, error_size, "'%s': the host name is longer than %d characters", quote_input(text, q),
			 HTTP_URL_HOST_MAX);
		return -1;
	}
	if (port_text && parse_port(port_text, authority_end - port_text, &url->port)) {
		snprintf(error, error_size, "'%s': the port is not a TCP port (1-65535)", quote_input(text, q));
		return -1;
	}
	memcpy(url->host, host, host_end - host);
	memcpy(url->host_header, authority, authority_end - authority);

	target = authority_end;
	target_length = strcspn(target, "#");
	if (target_length + 1 > HTTP_URL_TARGET_MAX) {
		snprintf(error, error_size, "'%s': the path and query are longer than %d characters",
			 quote_input(text, q), HTTP_URL_TARGET_MAX - 1);
		return -1;
	}
	/* "http://h:8000" and "http://h:8000?x" ask for the root path. */
	i = 0;
	if (target_length == 0 || target[0] == '?')
		url->target[i++] = '/';
	memcpy(url->target + i, target, target_length);
	return 0;
}

int http_url_resolve(const struct http_url *url, struct sockaddr_storage *address, socklen_t *length,
		     char *error, size_t error_size)
{
	struct addrinfo hints = { .ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM };
	struct addrinfo *found = NULL;
	char port[8];
	int err;

	snprintf(port, sizeof(port), "%u", url->port);
	err = getaddrinfo(url->host, port, &hints, &found);
	if (err || !found) {
		snprintf(error, error_size, "cannot resolve host '%s': %s", url->host,
			 err ? gai_strerror(err) : "no address");
		if (found)
			freeaddrinfo(found);
		return -1;
	}
	memcpy(address, found->ai_addr, found->ai_addrlen);
	*length = found->ai_addrlen;
	freeaddrinfo(found);
	return 0;
}
