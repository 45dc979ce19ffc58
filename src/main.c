// SPDX-License-Identifier: MIT
/* runway-bpfd: request metrics of uvicorn servers, from the kernel. */
#include <stdio.h>
#include <stdlib.h>

#include "kernel_features.h"
#include "log.h"
#include "node_mode.h"
#include "options.h"
#include "probes.h"
#include "single_target.h"

static int run_check(const struct runway_options *opts)
{
	const struct probes_config config = {
		.max_targets = 1, .target_level_min = 1, .target_level_max = 1, .no_fast_path = opts->no_fast_path,
	};
	struct kernel_features features;
	struct probes probes;
	const char *blocker;
	int err;

	kernel_features_probe(&features);
	if (opts->no_read_hook)
		kernel_features_drop_read_hooks(&features);
	if (kernel_features_choose_loops(&features, opts->loops))
		return EXIT_USAGE;
	kernel_features_report(&features, stdout);
	blocker = kernel_features_blocker(&features);
	if (blocker) {
		printf("result: cannot run: %s\n", blocker);
		return EXIT_USAGE;
	}
	/* The real test: our own programs through this kernel's verifier. */
	err = probes_load(&probes, &features, &config);
	probes_destroy(&probes);
	if (err) {
		printf("result: cannot run: our BPF programs do not load here (see the error above)\n");
		return EXIT_RUNTIME;
	}
	printf("result: runway-bpfd can run here\n");
	return EXIT_SUCCESS;
}

int main(int argc, char **argv)
{
	struct runway_options opts;
	int err;

	err = options_parse(&opts, argc, argv);
	if (err)
		return err > 0 ? EXIT_SUCCESS : EXIT_USAGE;
	log_set_verbose(opts.verbose);
	if (opts.check_only)
		return run_check(&opts);
	return opts.kubernetes ? node_mode_run(&opts) : single_target_run(&opts);
}
