/* Latency samples: kept raw (microseconds) up to LG_MAX_SAMPLES, then
 * reservoir-sampled, so percentiles stay exact for normal runs and bounded
 * in memory for long ones. */
#include "loadgen.h"

#include <stdlib.h>

void lg_samples_add(struct lg_samples *smp, double seconds)
{
	double us = seconds * 1e6;
	uint32_t v = us < 0 ? 0 : us > 4e9 ? 4000000000u : (uint32_t)us;

	smp->seen++;
	if (smp->n < smp->cap) {
		smp->v[smp->n++] = v;
		return;
	}
	if (smp->n == smp->cap && smp->cap < LG_MAX_SAMPLES) {
		size_t cap = smp->cap ? smp->cap * 2 : 4096;
		uint32_t *p = realloc(smp->v, cap * sizeof(*p));
		if (p != NULL) {
			smp->v = p;
			smp->cap = cap;
			smp->v[smp->n++] = v;
			return;
		}
	}
	if (smp->n > 0) {
		uint64_t j = (uint64_t)rand() % smp->seen;
		if (j < smp->n)
			smp->v[j] = v;
	}
}

static int cmp_u32(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;

	return x < y ? -1 : x > y;
}

double lg_samples_pct(struct lg_samples *smp, double pct)
{
	size_t i;

	if (smp->n == 0)
		return 0;
	qsort(smp->v, smp->n, sizeof(*smp->v), cmp_u32);
	i = (size_t)(pct / 100.0 * (double)(smp->n - 1) + 0.5);
	return smp->v[i] / 1000.0;
}

void lg_samples_free(struct lg_samples *smp)
{
	free(smp->v);
	smp->v = NULL;
	smp->n = smp->cap = 0;
}
