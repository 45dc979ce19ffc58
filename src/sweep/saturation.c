// SPDX-License-Identifier: MIT
#include <math.h>

#include "saturation.h"

/* Is step `later` past the point where step `base` saturated? */
static bool beyond(const struct sweep_step *base, const struct sweep_step *later)
{
	double ratio = (double)later->concurrency / base->concurrency;
	bool stalled = later->rps < base->rps * (1 + SATURATION_MIN_GAIN * (ratio - 1));
	/* No response at all in a whole step: slower than anything measured. */
	bool slower = later->responses == 0 ||
		      later->p95 >= base->p95 * (1 + SATURATION_MIN_LATENCY_GROWTH * (ratio - 1));

	return stalled && slower;
}

void saturation_find(const struct sweep_step *steps, size_t count, struct saturation *out)
{
	size_t k, j;

	out->saturated = false;
	out->step = 0;
	out->concurrency = 0;
	out->threshold = NAN;
	out->reference_step = -1;
	for (k = count; k-- > 0;) {
		if (steps[k].responses > 0) {
			out->reference_step = k;
			break;
		}
	}
	for (k = 0; k + 1 < count; k++) {
		bool plateau = true;

		/* A step without responses or latency is no reference. */
		if (steps[k].responses == 0 || !(steps[k].p95 > 0) || !(steps[k].rps > 0))
			continue;
		for (j = k + 1; j < count && plateau; j++)
			plateau = steps[j].concurrency > steps[k].concurrency && beyond(&steps[k], &steps[j]);
		if (plateau) {
			out->saturated = true;
			out->step = k;
			out->concurrency = steps[k].concurrency;
			out->threshold = SATURATION_THRESHOLD_FRACTION * steps[k].concurrency;
			return;
		}
	}
}
