/* SPDX-License-Identifier: Apache-2.0 */
/*
 * bench_classify.c — how long pm_classify takes with the whole Quay map loaded.
 * Reads "METHOD TARGET" lines (bench/classify.sh generates them), classifies the whole
 * set ROUNDS times and prints the median nanoseconds per request. No output per request:
 * this measures the classifier, not JSON printing.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/core.h"

static double now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

int main(int argc, char **argv)
{
    if (argc != 4) {
        fprintf(stderr, "usage: bench_classify MAP REQUESTS ROUNDS\n");
        return 2;
    }
    pm_err err;
    pm_capmap *map = pm_capmap_load(argv[1], &err);
    if (!map) {
        fprintf(stderr, "%s\n", err.msg);
        return 2;
    }
    char *text = pm_read_file(argv[2], NULL, &err);
    if (!text) {
        fprintf(stderr, "%s\n", err.msg);
        return 2;
    }
    size_t n = 0, cap = 1024;
    char **methods = malloc(cap * sizeof *methods), **targets = malloc(cap * sizeof *targets);
    for (char *save = NULL, *line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
        char *sp = strchr(line, ' ');
        if (!sp)
            continue;
        *sp = '\0';
        if (n == cap) {
            cap *= 2;
            methods = realloc(methods, cap * sizeof *methods);
            targets = realloc(targets, cap * sizeof *targets);
        }
        methods[n] = line;
        targets[n++] = sp + 1;
    }
    int rounds = atoi(argv[3]);
    double *per = malloc((size_t)rounds * sizeof *per);
    size_t matched = 0;
    for (int r = 0; r < rounds; r++) {
        double t0 = now_ns();
        for (size_t i = 0; i < n; i++) {
            pm_class c;
            pm_classify(map, methods[i], targets[i], NULL, &c);
            matched += c.matched;
            pm_class_clear(&c);
        }
        per[r] = (now_ns() - t0) / (double)n;
    }
    qsort(per, (size_t)rounds, sizeof *per, cmp_double);
    printf("%.0f %zu %zu\n", per[rounds / 2], n, matched / (size_t)rounds);
    free(per);
    free(methods);
    free(targets);
    free(text);
    pm_capmap_free(map);
    return 0;
}
