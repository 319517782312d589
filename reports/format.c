/* SPDX-License-Identifier: Apache-2.0 */
/*
 * format.c — numbers as the reasons and the Markdown table say them. Three decimals for a
 * ratio and one for milliseconds read well; when that would print two different numbers
 * the same ("0.990 < 0.990"), more decimals are used until they differ, so a reason never
 * contradicts itself.
 *
 * And an exemplar in words, the same in every renderer: "GET /v2/acme/web/manifests/1 (200 → 404)".
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "reports_internal.h"

static void fmt_distinct(char *buf, size_t size, double x, double other, int decimals, const char *unit)
{
    if (isnan(x)) {
        snprintf(buf, size, "n/a");
        return;
    }
    for (int d = decimals; d <= 6; d++) {
        snprintf(buf, size, "%.*f%s", d, x, unit);
        if (isnan(other) || x == other)
            return;
        char theirs[64];
        snprintf(theirs, sizeof theirs, "%.*f%s", d, other, unit);
        if (strcmp(buf, theirs) != 0)
            return;
    }
}

void rpt_fmt_ratio(char *buf, size_t size, double x, double other)
{
    fmt_distinct(buf, size, x, other, 3, "");
}

void rpt_fmt_ms(char *buf, size_t size, double us, double other)
{
    double ms = us / 1000, other_ms = other / 1000;
    int decimals = isnan(ms) || fabs(ms) >= 1 ? 1 : fabs(ms) >= 0.1 ? 2 : 3;
    fmt_distinct(buf, size, ms, other_ms, decimals, " ms");
}

/* A status or a job's outcome as written: 404, "completed"; "–" when not known. */
static void fmt_status(FILE *out, const json_t *v)
{
    if (json_is_integer(v))
        fprintf(out, "%" JSON_INTEGER_FORMAT, json_integer_value(v));
    else if (json_is_string(v))
        fputs(json_string_value(v), out);
    else
        fputs("–", out);
}

char *rpt_exemplar_request(const json_t *exemplar)
{
    const json_t *request = json_object_get(exemplar, "request"), *status = json_object_get(exemplar, "status");
    const char *method = json_string_value(json_object_get(request, "method"));
    const char *target = json_string_value(json_object_get(request, "target"));
    if (!method && !target && !json_is_object(status))
        return NULL;
    char *text = NULL;
    size_t len = 0;
    FILE *out = open_memstream(&text, &len);
    if (!out)
        return NULL;
    if (method || target)
        fprintf(out, "%s%s%s", method ? method : "", method && target ? " " : "", target ? target : "");
    if (json_is_object(status)) {
        fputs(method || target ? " (" : "(", out);
        fmt_status(out, json_object_get(status, "baseline"));
        fputs(" → ", out);
        fmt_status(out, json_object_get(status, "candidate"));
        fputc(')', out);
    }
    fclose(out);
    return text;
}
