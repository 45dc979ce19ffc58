/* SPDX-License-Identifier: MIT */
#ifndef RUNWAY_NODE_MODE_H
#define RUNWAY_NODE_MODE_H

#include "options.h"

/* --kubernetes: every matching pod of the node, series labelled with
 * namespace and pod.  Returns the exit code. */
int node_mode_run(const struct runway_options *opts);

#endif
