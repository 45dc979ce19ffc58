// SPDX-License-Identifier: MIT
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "options.h"

/* asgi-runway excludes these by default; so do we. */
static const char *const default_excluded_paths[] = { "/metrics", "/healthz", "/health" };

void options_usage(FILE *out)
{
	fprintf(out,
		"Usage: runway-bpfd (--pid PID | --cgroup PATH) [options]\n"
		"       runway-bpfd --check\n"
		"\n"
		"Watches the HTTP/1.x requests of a uvicorn server from the kernel and serves\n"
		"them as Prometheus metrics.\n"
		"\n"
		"  -p, --pid PID          watch the server connections of PID and its children\n"
		"  -c, --cgroup PATH      watch every process of this cgroup v2 directory (a pod)\n"
		"  -P, --port N           only connections to local TCP port N (repeatable)\n"
		"  -l, --listen HOST:PORT serve /metrics, /healthz, /-/ready here (default %s)\n"
		"  -x, --exclude-path P   do not count requests to path P (repeatable; replaces\n"
		"                         the defaults /metrics, /healthz, /health; \"\" excludes none)\n"
		"      --route-group NAME=PATTERN\n"
		"                         count requests whose path starts with PATTERN under\n"
		"                         route=NAME (repeatable, at most %d; the first match wins).\n"
		"                         PATTERN: a path prefix (/api/infer) or an anchored prefix\n"
		"                         regex (^/api/infer, \\. for a dot)\n"
		"      --loops MODE       how the programs loop over bytes: auto (default: open-coded\n"
		"                         iterators where the kernel has them, else bpf_loop),\n"
		"                         open-coded or bpf_loop\n"
		"      --no-read-hook     do not attach the node-wide TCP read tracepoint: every TCP\n"
		"                         read on the node gets cheaper, and requests count as in\n"
		"                         flight from their arrival (no runway_requests_queued)\n"
		"      --allow-root-cgroup\n"
		"                         accept a target in the root cgroup (refused by default:\n"
		"                         every packet on the node would run our programs)\n"
		"      --check            print what this kernel offers and exit 0 if we can run\n"
		"  -v, --verbose          log attachment details\n"
		"  -V, --version          print the version\n"
		"  -h, --help             this text\n",
		OPTIONS_DEFAULT_LISTEN, ROUTE_GROUPS_MAX);
}

/* Whole string, decimal, within [min, max]. */
static int parse_number(const char *text, long min, long max, long *out)
{
	char *end;
	long value;

	errno = 0;
	value = strtol(text, &end, 10);
	if (errno || end == text || *end || value < min || value > max)
		return -1;
	*out = value;
	return 0;
}

static int parse_listen(struct runway_options *opts, const char *text)
{
	const char *colon = strrchr(text, ':');
	size_t host_len;
	long port;

	if (!colon || parse_number(colon + 1, 1, 65535, &port)) {
		log_error("--listen %s: expected HOST:PORT with PORT in 1-65535, e.g. 0.0.0.0:9091", text);
		return -1;
	}
	host_len = colon - text;
	/* ":9091" means every address, as in Prometheus exporters' flags. */
	if (host_len == 0) {
		text = "0.0.0.0";
		host_len = strlen(text);
	}
	/* [::1]:9091 */
	if (host_len >= 2 && text[0] == '[' && text[host_len - 1] == ']') {
		text++;
		host_len -= 2;
	}
	if (host_len == 0 || host_len >= sizeof(opts->listen_host)) {
		log_error("--listen %s: expected HOST:PORT, e.g. 0.0.0.0:9091 or [::]:9091", text);
		return -1;
	}
	memcpy(opts->listen_host, text, host_len);
	opts->listen_host[host_len] = '\0';
	opts->listen_port = port;
	return 0;
}

int options_parse(struct runway_options *opts, int argc, char **argv)
{
	enum { OPT_CHECK = 0x100, OPT_NO_READ_HOOK, OPT_ROUTE_GROUP, OPT_LOOPS, OPT_ALLOW_ROOT_CGROUP };
	static const struct option long_options[] = {
		{ "pid", required_argument, NULL, 'p' },
		{ "cgroup", required_argument, NULL, 'c' },
		{ "port", required_argument, NULL, 'P' },
		{ "listen", required_argument, NULL, 'l' },
		{ "exclude-path", required_argument, NULL, 'x' },
		{ "route-group", required_argument, NULL, OPT_ROUTE_GROUP },
		{ "check", no_argument, NULL, OPT_CHECK },
		{ "no-read-hook", no_argument, NULL, OPT_NO_READ_HOOK },
		{ "loops", required_argument, NULL, OPT_LOOPS },
		{ "allow-root-cgroup", no_argument, NULL, OPT_ALLOW_ROOT_CGROUP },
		{ "verbose", no_argument, NULL, 'v' },
		{ "version", no_argument, NULL, 'V' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 },
	};
	bool excludes_given = false;
	char error[512];
	long value;
	size_t i;
	int opt;

	memset(opts, 0, sizeof(*opts));
	parse_listen(opts, OPTIONS_DEFAULT_LISTEN);
	opterr = 0;
	optind = 1;
	while ((opt = getopt_long(argc, argv, ":p:c:P:l:x:vVh", long_options, NULL)) != -1) {
		switch (opt) {
		case 'p':
			if (parse_number(optarg, 1, 0x3fffffff, &value)) {
				log_error("--pid %s: expected a process id, e.g. --pid $(pgrep -o uvicorn)", optarg);
				return -1;
			}
			opts->pid = value;
			break;
		case 'c':
			opts->cgroup_path = optarg;
			break;
		case 'P':
			if (parse_number(optarg, 1, 65535, &value)) {
				log_error("--port %s: expected a TCP port in 1-65535", optarg);
				return -1;
			}
			if (opts->port_count == OPTIONS_MAX_PORTS) {
				log_error("--port given more than %d times", OPTIONS_MAX_PORTS);
				return -1;
			}
			opts->ports[opts->port_count++] = value;
			break;
		case 'l':
			if (parse_listen(opts, optarg))
				return -1;
			break;
		case 'x':
			if (!excludes_given)
				opts->excluded_path_count = 0;
			excludes_given = true;
			if (!optarg[0])
				break;
			if (optarg[0] != '/') {
				log_error("--exclude-path %s: a path starts with '/', e.g. --exclude-path /ping", optarg);
				return -1;
			}
			if (opts->excluded_path_count == OPTIONS_MAX_EXCLUDED_PATHS) {
				log_error("--exclude-path given more than %d times", OPTIONS_MAX_EXCLUDED_PATHS);
				return -1;
			}
			opts->excluded_paths[opts->excluded_path_count++] = optarg;
			break;
		case OPT_ROUTE_GROUP:
			if (route_groups_add(opts->route_groups, &opts->route_group_count, optarg, error,
					     sizeof(error))) {
				log_error("--route-group %s", error);
				return -1;
			}
			break;
		case OPT_CHECK:
			opts->check_only = true;
			break;
		case OPT_NO_READ_HOOK:
			opts->no_read_hook = true;
			break;
		case OPT_LOOPS:
			if (strcmp(optarg, "auto") && strcmp(optarg, "open-coded") && strcmp(optarg, "bpf_loop")) {
				log_error("--loops %s: expected auto, open-coded or bpf_loop", optarg);
				return -1;
			}
			opts->loops = optarg;
			break;
		case OPT_ALLOW_ROOT_CGROUP:
			opts->allow_root_cgroup = true;
			break;
		case 'v':
			opts->verbose = true;
			break;
		case 'V':
			printf("runway-bpfd %s\n", RUNWAY_VERSION);
			return 1;
		case 'h':
			options_usage(stdout);
			return 1;
		case ':':
			log_error("%s needs a value; see runway-bpfd --help", argv[optind - 1]);
			return -1;
		default:
			log_error("unknown option %s; see runway-bpfd --help", argv[optind - 1]);
			return -1;
		}
	}
	if (optind < argc) {
		log_error("unexpected argument '%s'; see runway-bpfd --help", argv[optind]);
		return -1;
	}
	if (!excludes_given) {
		for (i = 0; i < sizeof(default_excluded_paths) / sizeof(default_excluded_paths[0]); i++)
			opts->excluded_paths[i] = default_excluded_paths[i];
		opts->excluded_path_count = i;
	}
	if (opts->check_only)
		return 0;
	if (!opts->pid == !opts->cgroup_path) {
		log_error("name one target: --pid PID (a uvicorn server) or --cgroup PATH (a pod's cgroup)");
		return -1;
	}
	return 0;
}
