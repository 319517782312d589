/* SPDX-License-Identifier: Apache-2.0 */
/*
 * html_tree.c — reading the report tree the way the HTML renderer needs it: every key
 * may be missing and every number may be null (parity with no samples, a target with
 * no latency), and object keys are shown in one sorted order so the same report always
 * renders to the same bytes, whatever order the builder inserted them in.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "html_internal.h"

double html_num(const json_t *obj, const char *key)
{
    const json_t *v = json_object_get(obj, key);
    return json_is_number(v) ? json_number_value(v) : NAN;
}

double html_samples(const json_t *obj)
{
    double samples = html_num(obj, "samples"), skipped = html_num(obj, "skipped");
    if (!isnan(samples))
        return samples;
    return html_num(obj, "total") - (isnan(skipped) ? 0 : skipped);
}

const char *html_str(const json_t *obj, const char *key)
{
    return json_string_value(json_object_get(obj, key));
}

static int compare_keys(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

const char **html_sorted_keys(const json_t *obj, size_t *n, pm_err *err)
{
    size_t count = json_is_object(obj) ? json_object_size(obj) : 0;
    const char **keys = malloc((count ? count : 1) * sizeof *keys);
    if (!keys) {
        pm_err_set(err, "html: out of memory");
        return NULL;
    }
    size_t i = 0;
    const char *key;
    const json_t *value;
    if (count) {
        json_object_foreach((json_t *)obj, key, value)
            keys[i++] = key;
    }
    qsort(keys, i, sizeof *keys, compare_keys);
    *n = i;
    return keys;
}

const char *html_decision_class(const char *decision)
{
    static const char *const known[] = {"promote", "hold", "insufficient", "rollback"};
    for (size_t i = 0; decision && i < sizeof known / sizeof known[0]; i++)
        if (strcmp(decision, known[i]) == 0)
            return known[i];
    return "unknown";
}

static int role_rank(const char *role)
{
    static const char *const order[] = {"baseline", "candidate", "secondary"};
    for (int i = 0; role && i < 3; i++)
        if (strcmp(role, order[i]) == 0)
            return i;
    return 3;
}

size_t html_latency_targets(const json_t *latency, const char *names[HTML_TARGETS_MAX])
{
    size_t n = 0;
    const char *key;
    const json_t *value;
    if (!json_is_object(latency))
        return 0;
    /* Insertion sort by (role rank, name), keeping the first HTML_TARGETS_MAX. */
    json_object_foreach((json_t *)latency, key, value) {
        if (!json_is_object(value))
            continue;
        int rank = role_rank(html_str(value, "role"));
        size_t at = n;
        while (at > 0) {
            const json_t *prev = json_object_get(latency, names[at - 1]);
            int prank = role_rank(html_str(prev, "role"));
            if (prank < rank || (prank == rank && strcmp(names[at - 1], key) < 0))
                break;
            at--;
        }
        if (at >= HTML_TARGETS_MAX)
            continue;
        if (n < HTML_TARGETS_MAX)
            n++;
        memmove(names + at + 1, names + at, (n - 1 - at) * sizeof *names);
        names[at] = key;
    }
    return n;
}

double html_latency_of(const json_t *latency, const char *role, const char *percentile)
{
    const char *names[HTML_TARGETS_MAX];
    size_t n = html_latency_targets(latency, names);
    for (size_t i = 0; i < n; i++) {
        const json_t *target = json_object_get(latency, names[i]);
        const char *r = html_str(target, "role");
        if (r && strcmp(r, role) == 0)
            return html_num(target, percentile);
    }
    return NAN;
}
