// SPDX-License-Identifier: MIT
#include <errno.h>
#include <getopt.h>
#include <regex.h>
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
		"Usage: runway-bpfd (--pid PID | --cgroup PATH | --kubernetes) [options]\n"
		"       runway-bpfd --check\n"
		"\n"
		"Watches the HTTP/1.x requests of a uvicorn server from the kernel and serves\n"
		"them as Prometheus metrics.\n"
		"\n"
		"  -p, --pid PID          watch the server connections of PID and its children\n"
		"  -c, --cgroup PATH      watch every process of this cgroup v2 directory (a pod)\n"
		"  -k, --kubernetes       node mode: watch every pod of this node that runs a\n"
		"                         matching server; series get namespace and pod labels\n"
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
		"      --no-fast-path     frame every message head step by step: no shapes, not in one pass\n"
		"                         (the counts are the same; for diagnosis and tests)\n"
		"      --allow-root-cgroup\n"
		"                         accept a target in the root cgroup (refused by default:\n"
		"                         every packet on the node would run our programs)\n"
		"      --check            print what this kernel offers and exit 0 if we can run\n"
		"\n"
		"Node mode (--kubernetes) only:\n"
		"      --match-cmdline RE watch a pod when one of its processes' command line\n"
		"                         matches this extended regex (default %s)\n"
		"      --pod-grace S      keep a deleted pod's series S seconds (default %d)\n"
		"      --max-pods N       pods watched at once (default %d, at most %d)\n"
		"      --kubepods PATH    the pods' parent cgroup (default: kubepods.slice or\n"
		"                         kubepods under the cgroup2 mount)\n"
		"      --pod-logs DIR     the kubelet's pod log directory, for names (default\n"
		"                         %s)\n"
		"\n"
		"  -v, --verbose          log attachment details (and in node mode why each pod is\n"
		"                         or is not watched); -vv adds libbpf's debug output\n"
		"  -V, --version          print the version\n"
		"  -h, --help             this text\n",
		OPTIONS_DEFAULT_LISTEN, ROUTE_GROUPS_MAX, OPTIONS_DEFAULT_MATCH_CMDLINE, OPTIONS_DEFAULT_POD_GRACE_S,
		OPTIONS_DEFAULT_MAX_PODS, OPTIONS_MAX_MAX_PODS, OPTIONS_DEFAULT_POD_LOGS);
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

/* A bad --match-cmdline is bad input: refused before anything starts. */
static int check_regex(const char *pattern)
{
	char message[256];
	regex_t re;
	int err;

	if (pattern[0] == '\0') {
		log_error("--match-cmdline '': an empty pattern matches every pod; give one, e.g. 'uvicorn|gunicorn'");
		return -1;
	}
	err = regcomp(&re, pattern, REG_EXTENDED | REG_NOSUB);
	if (err) {
		regerror(err, &re, message, sizeof(message));
		log_error("--match-cmdline '%s': %s; give an extended regular expression, e.g. 'uvicorn|gunicorn'",
			  pattern, message);
		return -1;
	}
	regfree(&re);
	return 0;
}

int options_parse(struct runway_options *opts, int argc, char **argv)
{
	enum {
		OPT_CHECK = 0x100,
		OPT_NO_READ_HOOK,
		OPT_ROUTE_GROUP,
		OPT_LOOPS,
		OPT_ALLOW_ROOT_CGROUP,
		OPT_NO_FAST_PATH,
		OPT_KUBEPODS,
		OPT_POD_LOGS,
		OPT_MATCH_CMDLINE,
		OPT_POD_GRACE,
		OPT_MAX_PODS,
	};
	static const struct option long_options[] = {
		{ "pid", required_argument, NULL, 'p' },
		{ "cgroup", required_argument, NULL, 'c' },
		{ "kubernetes", no_argument, NULL, 'k' },
		{ "kubepods", required_argument, NULL, OPT_KUBEPODS },
		{ "pod-logs", required_argument, NULL, OPT_POD_LOGS },
		{ "match-cmdline", required_argument, NULL, OPT_MATCH_CMDLINE },
		{ "pod-grace", required_argument, NULL, OPT_POD_GRACE },
		{ "max-pods", required_argument, NULL, OPT_MAX_PODS },
		{ "port", required_argument, NULL, 'P' },
		{ "listen", required_argument, NULL, 'l' },
		{ "exclude-path", required_argument, NULL, 'x' },
		{ "route-group", required_argument, NULL, OPT_ROUTE_GROUP },
		{ "check", no_argument, NULL, OPT_CHECK },
		{ "no-read-hook", no_argument, NULL, OPT_NO_READ_HOOK },
		{ "no-fast-path", no_argument, NULL, OPT_NO_FAST_PATH },
		{ "loops", required_argument, NULL, OPT_LOOPS },
		{ "allow-root-cgroup", no_argument, NULL, OPT_ALLOW_ROOT_CGROUP },
		{ "verbose", no_argument, NULL, 'v' },
		{ "version", no_argument, NULL, 'V' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 },
	};
	const char *node_flag = NULL; /* a node-mode flag given, for the error line */
	bool excludes_given = false;
	char error[512];
	long value;
	size_t i;
	int opt;

	memset(opts, 0, sizeof(*opts));
	parse_listen(opts, OPTIONS_DEFAULT_LISTEN);
	opts->pod_logs_dir = OPTIONS_DEFAULT_POD_LOGS;
	opts->match_cmdline = OPTIONS_DEFAULT_MATCH_CMDLINE;
	opts->pod_grace_s = OPTIONS_DEFAULT_POD_GRACE_S;
	opts->max_pods = OPTIONS_DEFAULT_MAX_PODS;
	opterr = 0;
	optind = 1;
	while ((opt = getopt_long(argc, argv, ":p:c:kP:l:x:vVh", long_options, NULL)) != -1) {
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
		case 'k':
			opts->kubernetes = true;
			break;
		case OPT_KUBEPODS:
			opts->kubepods_path = optarg;
			node_flag = "--kubepods";
			break;
		case OPT_POD_LOGS:
			opts->pod_logs_dir = optarg;
			node_flag = "--pod-logs";
			break;
		case OPT_MATCH_CMDLINE:
			if (check_regex(optarg))
				return -1;
			opts->match_cmdline = optarg;
			node_flag = "--match-cmdline";
			break;
		case OPT_POD_GRACE:
			if (parse_number(optarg, 0, OPTIONS_MAX_POD_GRACE_S, &value)) {
				log_error("--pod-grace %s: expected seconds in 0-%d, e.g. --pod-grace 60", optarg,
					  OPTIONS_MAX_POD_GRACE_S);
				return -1;
			}
			opts->pod_grace_s = value;
			node_flag = "--pod-grace";
			break;
		case OPT_MAX_PODS:
			if (parse_number(optarg, 1, OPTIONS_MAX_MAX_PODS, &value)) {
				log_error("--max-pods %s: expected a number of pods in 1-%d, e.g. the kubelet's "
					  "--max-pods (default %d)",
					  optarg, OPTIONS_MAX_MAX_PODS, OPTIONS_DEFAULT_MAX_PODS);
				return -1;
			}
			opts->max_pods = value;
			node_flag = "--max-pods";
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
		case OPT_NO_FAST_PATH:
			opts->no_fast_path = true;
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
			opts->verbose++;
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
	if ((opts->pid != 0) + (opts->cgroup_path != NULL) + opts->kubernetes != 1) {
		log_error("name one target: --pid PID (a uvicorn server), --cgroup PATH (a pod's cgroup) "
			  "or --kubernetes (every uvicorn pod of this node)");
		return -1;
	}
	if (node_flag && !opts->kubernetes) {
		log_error("%s applies to the node mode only: add --kubernetes or drop %s", node_flag, node_flag);
		return -1;
	}
	return 0;
}
