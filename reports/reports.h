/* SPDX-License-Identifier: Apache-2.0 */
/*
 * reports.h — the public header of reports/: diff records (DESIGN.md "Files") → per-family
 * and per-capability parity scores, the promotion gate, and the renderers that people
 * read (report.json, report.md, junit.xml, report.html).
 *
 * A library first: `pmirror report` streams diff files through a builder; `run` and `tee`
 * feed it each diff record inline and take snapshots. The report is a jansson tree with
 * the shape README.md "report.json" documents; every renderer reads only that tree, so a
 * renderer never sees raw traffic it has not been handed through the report.
 */
#ifndef PM_REPORTS_H
#define PM_REPORTS_H

#include <stdio.h>

#include "core/core.h"

typedef struct reports_options {
    const char *gate_path;     /* gate.yaml (defaults + per-family overrides); NULL = built-in defaults */
    const json_t *switches;    /* a Quay switch snapshot (owners), or NULL */
    const json_t *previous;    /* a previous report.json for the trend, or NULL */
    size_t top_cohorts;        /* cohorts kept per kind (org, repo, user, producer), default 10 */
    size_t top_differences;    /* difference signatures kept per family, default 10 */
    /* Added by the report builder: */
    const char *capabilities_path; /* the capability map (PROFILE/capabilities.yaml): read
                                      capabilities per family for coverage, capability
                                      switches; NULL = no coverage check */
    const pm_names *names;     /* the profile's families and capabilities: a gate naming
                                  one they lack is an error at its file:line; NULL: unchecked */
    /* Added for live decisions (issue 19): */
    bool sequential;           /* parity decided by the always-valid sequential test
                                  (core/sequential.h) instead of the Wilson interval: the
                                  tee, and `report --sequential` on a growing capture */
} reports_options;

void reports_options_init(reports_options *o);

typedef struct reports_builder reports_builder;

reports_builder *reports_new(const reports_options *o, pm_err *err);
/* Counts one diff record. Memory is bounded by families x capabilities x cohorts kept,
 * not by the number of records. */
int reports_add(reports_builder *b, const json_t *diff_record, pm_err *err);
/* The report as it stands (new reference); may be called again after more records
 * (a live snapshot). `run` keys (time, inputs, ...) are the caller's to add. */
json_t *reports_build(const reports_builder *b, pm_err *err);
void reports_free(reports_builder *b);
/* The owner a switch snapshot (flat, or under `switches:` / `owners:`) gives switch_name,
 * as Quay reads it: "go", else "python"; NULL when snapshot is not a mapping. (owners.c) */
const char *reports_switch_owner(const json_t *snapshot, const char *switch_name);
/* Replaces the switch snapshot the next reports_build decides with (a copy is kept; NULL:
 * none), e.g. when the tee sees its --switches file change. 0, or -1 with err when it is
 * not a mapping of SWITCH: owner (the previous one stays). */
int reports_set_switches(reports_builder *b, const json_t *switches, pm_err *err);

/* Renderers: each writes one format of a built report. Return 0, or -1 with err. */
int reports_write_json(FILE *out, const json_t *report, pm_err *err);
int reports_write_markdown(FILE *out, const json_t *report, pm_err *err);
int reports_write_junit(FILE *out, const json_t *report, pm_err *err);
/* One self-contained HTML file: no network, no external assets, readable without
 * JavaScript; every byte that came from traffic is escaped. */
int reports_write_html(FILE *out, const json_t *report, pm_err *err);
/* report.json, report.md, junit.xml and report.html into dir (created when missing);
 * each written to a temporary name and renamed, so a reader never sees half a file. */
int reports_write_dir(const json_t *report, const char *dir, pm_err *err);

/* ----- added by the report builder ------------------------------------------------ */

/* Only the summary table of report.md (what `pmirror report` prints on stdout). */
int reports_write_markdown_table(FILE *out, const json_t *report, pm_err *err);
/* 0 when report looks like a report.json (v 1, families, proposal), else -1 with err. */
int reports_check(const json_t *report, pm_err *err);
/* `pmirror gate`: writes the proposal as a YAML snippet for Quay's switch snapshot (the
 * owners to set, and a `# note` per family in scope with its decision and main reason).
 * Scope: the named families (n > 0), else every family that has an owner switch.
 * *all_promote is true when every family in scope is `promote`. 0, or -1 with err. */
int reports_write_proposal(FILE *out, const json_t *report, const char *const *families, size_t n,
                           bool *all_promote, pm_err *err);

/* ----- the builder's inputs from a profile, and a report's `run` keys (setup.c) ----- */

/* What `report` and `run` (and the tee, without a snapshot or a previous report) give the
 * builder: the gate, the capability map, the switch snapshot and the previous report. */
typedef struct reports_setup {
    const pm_profile *profile;  /* borrowed */
    const char *gate_path;      /* as used: the one given, else the profile's; NULL: defaults */
    const char *switches_path, *previous_path; /* NULL: none */
    pm_config *switches, *previous;
    pm_names *names;   /* the profile's (pm_names_load), for o.names; NULL: none */
    reports_options o; /* ready for reports_new (top-N defaults; the caller may change them) */
} reports_setup;

/* gate_path, else the profile's gate.yaml when readable; the profile's capabilities.yaml
 * when readable; the switch snapshot and the previous report loaded and checked. 0, or -1
 * with err naming the file at fault. Close it either way. */
int reports_setup_open(reports_setup *s, const pm_profile *p, const char *gate_path, const char *switches_path,
                       const char *previous_path, pm_err *err);
/* The `run` keys of a report built with it: inputs (taken), profile, gate, switches,
 * previous, skipped_records and warnings (a list of the inputs' damage warnings). */
void reports_setup_run_keys(const reports_setup *s, json_t *report, json_t *inputs, json_t *warnings);
void reports_setup_close(reports_setup *s);
/* What run.gate and the commands' header say of the gate in force: its path, or
 * REPORTS_BUILTIN_GATE when neither --gate nor the profile's gate.yaml gives one. */
#define REPORTS_BUILTIN_GATE "built-in defaults"
const char *reports_setup_gate(const reports_setup *s);

/* A latency histogram with fixed log buckets: exact below 128, then buckets 2% wide, so a
 * quantile is within 1% of the true value, and two histograms merge exactly (shards). */
typedef struct reports_histogram reports_histogram;

reports_histogram *reports_histogram_new(void);
void reports_histogram_add(reports_histogram *h, uint64_t value);
void reports_histogram_merge(reports_histogram *into, const reports_histogram *from);
uint64_t reports_histogram_count(const reports_histogram *h);
/* Nearest-rank quantile (q in 0..1) as the bucket's representative value, clamped to the
 * smallest and largest values added (which rank 1 and rank n return exactly); NAN when
 * empty. */
double reports_histogram_quantile(const reports_histogram *h, double q);
void reports_histogram_free(reports_histogram *h);

#endif
