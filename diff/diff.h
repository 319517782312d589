/* SPDX-License-Identifier: Apache-2.0 */
/*
 * diff.h — the public header of diff/: a result record (every target's answer to one
 * exchange) → a diff record (DESIGN.md "Files"): a verdict and the differences that
 * remain after the profile's normalization rules.
 *
 * A library first: `pmirror diff` streams files through it, and `run` and `tee` call it
 * inline on each result.
 */
#ifndef PM_DIFF_H
#define PM_DIFF_H

#include "core/core.h"

typedef struct diff_options {
    size_t max_decoded;      /* cap on a decoded (gunzipped) body, default 64 MiB */
    size_t max_differences;  /* differences kept per record, default 50 */
    size_t max_value;        /* characters of a value kept in a difference, default 200 */
    const pm_suite *suite;   /* optional: each target's base URL for host normalization */
    const char *today;       /* "YYYY-MM-DD" for rule expiry; NULL = the current date */
    double noise_relative;   /* Diffy's thresholds: default 0.20 */
    double noise_absolute;   /* ... and 0.0003 (0.03% of the capability's exchanges) */
    bool trees_only;         /* compare JSON bodies as jansson trees only, never on tapes:
                              * the reference the fast path is tested against */
    const pm_capmap *map;    /* optional: each route record classified again with the current
                              * map (family, capability, switches, route_id), so a map edited
                              * since the capture (a capability split) is the one that counts */
    const pm_names *names;   /* optional: a rule naming a family or capability not in them is
                              * an error at its file:line */
} diff_options;

void diff_options_init(diff_options *o);

typedef struct diff_stats {
    uint64_t records, match, mismatch, error, skipped;
    uint64_t mixed, mixed_failed; /* --mixed flow steps (verdict "mixed"), and those that failed */
    uint64_t expired_rules_hit; /* differences an expired rule would have absorbed */
} diff_stats;

typedef struct diff_engine diff_engine;

/* rules_path: the profile's rules.yaml (NULL: no rules: every header and field compared). */
diff_engine *diff_new(const diff_options *o, const char *rules_path, pm_err *err);
/* Noise, pass 1 (only results with a `secondary` target count): feed every result, then
 * call diff_noise_done. Pass 2 (diff_result): a difference is noise when its shape is, and
 * the same record's secondary does not differ at the same place in another way. Without
 * pass 1 (the tee, live): when the same record's baseline-vs-secondary comparison shows it
 * too, varying the same way (engine.c). */
int diff_learn(diff_engine *e, const json_t *result, pm_err *err);
void diff_noise_done(diff_engine *e);
/* The shapes judged noise: [{capability, shape, raw, noise, exchanges}] (new reference). */
json_t *diff_noise_report(const diff_engine *e);
/* Pass 1 over a whole result file (learn.c): when its records have a secondary target,
 * every one is learned and diff_noise_done called (*learned true); otherwise nothing is
 * learned. Path "-": stdin is first copied to an unlinked temporary file that replaces
 * stdin (fd 0), so the caller then reads "-" again from its start. 0, or -1 with err
 * naming file:line. */
int diff_learn_file(diff_engine *e, const char *path, bool *learned, pm_err *err);
/* --learn-noise: the shapes judged noise as reviewable rules (ignore_header, ignore_path,
 * each with its capability and counts) in a YAML file at out, whose comment names source,
 * the results they were learned from. 0, or -1 with err. (learn.c) */
int diff_write_learned_rules(const diff_engine *e, const char *out, const char *source, pm_err *err);
/* The diff record of one result record (new reference), or NULL with err. */
json_t *diff_result(diff_engine *e, const json_t *result, pm_err *err);
/* The same from the record's line of JSON text, without parsing what need not be
 * parsed (the fast path: `pmirror diff` reads lines, never trees). */
json_t *diff_result_text(diff_engine *e, const char *line, size_t len, pm_err *err);
/* The same with the line's tokens when its writer kept them (pm_jtext_tape_done: valid
 * UTF-8, the tape pm_jtape_parse would make), so that it is not parsed again; NULL
 * tokens: as diff_result_text. */
json_t *diff_result_tokens(diff_engine *e, const char *line, size_t len, const pm_jtape *tokens, pm_err *err);
int diff_learn_text(diff_engine *e, const char *line, size_t len, pm_err *err);
const diff_stats *diff_get_stats(const diff_engine *e);
void diff_free(diff_engine *e);

#endif
