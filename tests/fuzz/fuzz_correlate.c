/* SPDX-License-Identifier: Apache-2.0 */
/*
 * fuzz_correlate.c — replay's correlation tables (replay/correlate.c) against a plain
 * model of what they promise: the index over recorded values' last 8 bytes must find
 * exactly what a search for every known value would.
 *
 * Input: the first byte picks 1 or 2 targets; then one operation per line, every other
 * byte mapped onto a ten-letter alphabet (so values overlap, repeat and share their
 * beginnings and ends, as tokens and upload URLs do):
 *   L<recorded>\t<value for target 0>\t<value for target 1>   (or any even first byte)
 *       an answer: the recorded response issued <recorded> (Docker-Upload-UUID), each
 *       target issued its value (empty: it issued none);
 *   A<target><text>   (or any odd first byte; the target is the next byte modulo 1 or 2)
 *       correlate <text> for that target: the model and the tables must give the same
 *       text, or both refuse it (a recorded value the target never issued).
 * The model: pairs (recorded → value) per target and the recorded values issued, values
 * shorter than 8 bytes ignored, a value learnt again replaced; applying replaces the
 * longest recorded value found (the leftmost of equal length), every occurrence, then the
 * next, each value once. Before any of it, an issued value in the text as given that the
 * target has no value of its own for refuses the text (replay/correlate.c: a shorter value
 * inside it being mapped does not make it sendable).
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/core.h"
#include "replay/replay_internal.h"

#define MAX_OPS 256
#define MIN_LEN 8

static const char alphabet[] = "abcd/=?:.x";

typedef struct {
    char *recorded, *value;
} model_pair;

typedef struct {
    model_pair items[MAX_OPS];
    size_t n;
} model_table;

static void model_put(model_table *t, const char *recorded, const char *value)
{
    for (size_t i = 0; i < t->n; i++)
        if (strcmp(t->items[i].recorded, recorded) == 0) {
            free(t->items[i].value);
            t->items[i].value = value ? strdup(value) : NULL;
            return;
        }
    t->items[t->n].recorded = strdup(recorded);
    t->items[t->n].value = value ? strdup(value) : NULL;
    t->n++;
}

static void model_free(model_table *t)
{
    for (size_t i = 0; i < t->n; i++) {
        free(t->items[i].recorded);
        free(t->items[i].value);
    }
}

/* Where `from` first occurs in s, or -1. */
static long first_at(const char *s, const char *from)
{
    const char *p = strstr(s, from);
    return p ? (long)(p - s) : -1;
}

static char *model_replace_all(const char *s, const char *from, const char *to)
{
    size_t fl = strlen(from), tl = strlen(to), n = strlen(s) + 1;
    for (const char *p = strstr(s, from); p; p = strstr(p + fl, from))
        n += tl;
    char *out = malloc(n), *o = out;
    const char *p = s;
    for (const char *q = strstr(p, from); q; q = strstr(p, from)) {
        memcpy(o, p, (size_t)(q - p));
        o += q - p;
        memcpy(o, to, tl);
        o += tl;
        p = q + fl;
    }
    strcpy(o, p);
    return out;
}

static char *model_apply(const model_table *pairs, const model_table *issued, const char *s)
{
    for (size_t i = 0; i < issued->n; i++) {
        const char *r = issued->items[i].recorded;
        if (!strstr(s, r))
            continue;
        bool mapped = false;
        for (size_t j = 0; j < pairs->n && !mapped; j++)
            mapped = strcmp(pairs->items[j].recorded, r) == 0 && pairs->items[j].value;
        if (!mapped)
            return NULL;
    }
    char *cur = strdup(s);
    bool used[MAX_OPS] = {0};
    for (;;) {
        long best = -1, best_at = 0;
        for (size_t i = 0; i < pairs->n; i++) {
            if (used[i] || !pairs->items[i].value)
                continue;
            long at = first_at(cur, pairs->items[i].recorded);
            if (at < 0)
                continue;
            size_t len = strlen(pairs->items[i].recorded);
            /* longest, then the one whose first occurrence ends first (= starts first) */
            size_t best_len = best < 0 ? 0 : strlen(pairs->items[best].recorded);
            if (best < 0 || len > best_len || (len == best_len && at + (long)len < best_at + (long)best_len)) {
                best = (long)i;
                best_at = at;
            }
        }
        if (best < 0)
            break;
        used[best] = true;
        char *next = model_replace_all(cur, pairs->items[best].recorded, pairs->items[best].value);
        free(cur);
        cur = next;
    }
    return cur;
}

/* One answer to learn from, through the record reader as replay reads capture lines. */
static void learn(rp_correlation *corr, size_t ntargets, const char *recorded, char *const *values)
{
    json_t *line = json_pack("{s:i, s:s, s:{s:s, s:s}, s:{s:i, s:[[s, s]]}}", "v", 1, "id", "f", "request", "method",
                             "GET", "target", "/", "response", "status", 202, "headers", "Docker-Upload-UUID", recorded);
    char *text = json_dumps(line, JSON_COMPACT);
    json_decref(line);
    pm_err err;
    rp_record *rec = rp_record_new(text, strlen(text), NULL, &err);
    if (!rec) {
        fprintf(stderr, "the record of %s was refused: %s\n", recorded, err.msg);
        abort();
    }
    rp_exchange x = {.rec = rec};
    rp_call calls[2] = {{.x = &x}, {.x = &x, .target = 1}};
    for (size_t t = 0; t < ntargets; t++) {
        calls[t].status = 202;
        if (!values[t])
            continue;
        size_t vlen = strlen(values[t]);
        calls[t].hdr = malloc(sizeof "Docker-Upload-UUID" + vlen + 1);
        memcpy(calls[t].hdr, "Docker-Upload-UUID", sizeof "Docker-Upload-UUID");
        memcpy(calls[t].hdr + sizeof "Docker-Upload-UUID", values[t], vlen + 1);
        calls[t].hdr_len = sizeof "Docker-Upload-UUID" + vlen + 1;
    }
    x.calls = calls;
    rp_correlation_learn(corr, &x);
    for (size_t t = 0; t < ntargets; t++)
        free(calls[t].hdr);
    rp_record_free(rec);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    size_t ntargets = 1 + data[0] % 2;
    rp_correlation *corr = rp_correlation_new(ntargets, NULL);
    if (!corr)
        abort();
    model_table pairs[2] = {0}, issued = {0};
    char *buf = malloc(size);
    size_t ops = 0;
    for (size_t at = 1; at < size && ops < MAX_OPS; ops++) {
        const uint8_t *nl = memchr(data + at, '\n', size - at);
        size_t end = nl ? (size_t)(nl - data) : size;
        char op = (char)data[at];
        size_t n = 0;
        for (size_t i = at + 1; i < end; i++) /* the rest, on the alphabet; tabs kept */
            buf[n++] = data[i] == '\t' ? '\t' : alphabet[data[i] % (sizeof alphabet - 1)];
        buf[n] = '\0';
        at = end + 1;
        if (op == 'L' || op % 2 == 0) {
            char *fields[3] = {buf, NULL, NULL};
            for (int f = 1; f < 3; f++) {
                char *tab = fields[f - 1] ? strchr(fields[f - 1], '\t') : NULL;
                if (tab) {
                    *tab = '\0';
                    fields[f] = tab + 1;
                }
            }
            char *values[2];
            for (size_t t = 0; t < 2; t++)
                values[t] = fields[t + 1] && *fields[t + 1] ? fields[t + 1] : NULL;
            learn(corr, ntargets, fields[0], values);
            if (strlen(fields[0]) >= MIN_LEN) {
                model_put(&issued, fields[0], NULL);
                for (size_t t = 0; t < ntargets; t++)
                    if (values[t])
                        model_put(&pairs[t], fields[0], values[t]);
            }
        } else {
            size_t t = n > 0 ? (size_t)(unsigned char)buf[0] % ntargets : 0;
            const char *text = n > 0 ? buf + 1 : buf;
            const char *missing = NULL;
            char *got = rp_correlation_apply(corr, t, text, &missing);
            char *want = model_apply(&pairs[t], &issued, text);
            if ((got == NULL) != (want == NULL) || (got && strcmp(got, want) != 0)) {
                fprintf(stderr, "target %zu, text \"%s\": the tables give %s%s%s (missing %s), the model %s%s%s\n", t,
                        text, got ? "\"" : "", got ? got : "a refusal", got ? "\"" : "", missing ? missing : "-",
                        want ? "\"" : "", want ? want : "a refusal", want ? "\"" : "");
                abort();
            }
            free(got);
            free(want);
        }
    }
    free(buf);
    for (size_t t = 0; t < 2; t++)
        model_free(&pairs[t]);
    model_free(&issued);
    rp_correlation_free(corr);
    return 0;
}
