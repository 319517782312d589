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
    size_t top_cohorts;        /* cohorts kept per kind (org, repo, user), default 10 */
    size_t top_differences;    /* difference signatures kept per family, default 10 */
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

#endif
