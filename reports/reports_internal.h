/* SPDX-License-Identifier: Apache-2.0 */
/*
 * reports_internal.h — private to reports/: the pieces the report builder is made of.
 *
 *   table.c       a string-keyed hash table (insertion order kept, optional size cap)
 *   histogram.c   the mergeable log-bucket latency histogram (public: reports.h)
 *   score.c       Wilson lower bound, ratios as the report stores them (public: reports.h)
 *   catalog.c     the capability map read as a catalog: families, switches, read capabilities
 *   gate.c        gate.yaml: thresholds per family and capability, trend limits
 *   decide.c      one decision (promote / hold / insufficient / rollback) with its reasons
 *   owners.c      a Quay switch snapshot: who owns each switch
 *   builder.c     reports_new / reports_add: streaming aggregation of diff records
 *   mixed.c       a family's --mixed flows: completion, its interval, the failed step
 *   build.c       reports_build: the report tree from the aggregates
 *   trend.c       --previous: per-family deltas and the regressions list
 *   proposal.c    the proposal in the report, and the YAML snippet `pmirror gate` prints
 *   format.c      numbers in words (ratios, milliseconds) for reasons and renderers
 *   write_*.c     the renderers of report.json, report.md, junit.xml, and the directory
 *
 * Internal names start with rpt_. Every function that can fail returns 0 / -1 with pm_err.
 */
#ifndef PM_REPORTS_INTERNAL_H
#define PM_REPORTS_INTERNAL_H

#include <math.h>
#include <stdbool.h>
#include <stdint.h>

#include "reports.h"

/* ===== score.c ==================================================================== */

/* A ratio as the report stores it: rounded to 6 decimals; NAN → JSON null. */
json_t *rpt_ratio_json(double x);
/* A sequential test's evidence from its log (pm_seq_log_evidence_*): e^x rounded to 4
 * significant digits, capped at 1e300 (a proof); JSON null for NAN. */
json_t *rpt_evidence_json(double log_evidence);
/* a / b, NAN when b == 0. */
double rpt_div(uint64_t a, uint64_t b);
/* A number from the report tree: NAN for null or missing. */
double rpt_number(const json_t *v);

/* ===== format.c =================================================================== */

/* "0.962", with more decimals when needed to tell x from other (pass NAN for none). */
void rpt_fmt_ratio(char *buf, size_t size, double x, double other);
/* "3.4 ms" from microseconds (more decimals below 1 ms, and when needed to tell x from other). */
void rpt_fmt_ms(char *buf, size_t size, double us, double other);

/* An exemplar's request and status pair in words, "GET /v2/x (200 → 404)" (a job's
 * outcomes: "(completed → dead)"); NULL when the exemplar names neither. A new string:
 * text from traffic, each renderer escapes it. */
char *rpt_exemplar_request(const json_t *exemplar);

/* ===== histogram.c ================================================================ */

/* The one-sided Mann-Whitney U test of a candidate's latencies against a baseline's. */
typedef struct rpt_mann_whitney {
    uint64_t n_baseline, n_candidate;
    double u;        /* pairs where the candidate is slower, ties (same bucket) counted half */
    double z;        /* (U - n1 n2 / 2) / sd, tie- and continuity-corrected; NAN: no data */
    double p_slower; /* P(a z this high | same distribution): small = the candidate is slower */
} rpt_mann_whitney;

void rpt_histogram_mann_whitney(const reports_histogram *base, const reports_histogram *cand, rpt_mann_whitney *out);

/* Values in h certainly over limit: in buckets whose lower end is over it (a bucket across
 * the limit is not counted: the count errs low). */
uint64_t rpt_histogram_count_over(const reports_histogram *h, double limit);
/* P(X >= k) for X ~ Binomial(n, p). */
double rpt_binomial_upper_tail(uint64_t k, uint64_t n, double p);

/* The fewest answers per target a latency quantile q is judged on: 5 beyond it (p95: 100,
 * p99: 500). Fewer: "too few to judge latency", never a decision either way. */
uint64_t rpt_latency_min_samples(double q);

/* ===== catalog.c ================================================================== */

typedef struct rpt_catalog rpt_catalog;

/* Reads families, switches and capabilities from a capability map file. */
rpt_catalog *rpt_catalog_load(const char *path, pm_err *err);
void rpt_catalog_free(rpt_catalog *c);
/* The family's read (non-mutating) capabilities: count, and whether cap is one. -1 when
 * the family is not in the map. */
long rpt_catalog_read_count(const rpt_catalog *c, const char *family);
bool rpt_catalog_is_read(const rpt_catalog *c, const char *family, const char *capability);
/* The capabilities the map assigns to a capability switch within a family. */
long rpt_catalog_switch_count(const rpt_catalog *c, const char *family, const char *cap_switch);
/* Family position in Quay's cutover order (for sorting), large for unknown ones. */
int rpt_family_order(const char *family);

/* ===== gate.c ===================================================================== */

/* Thresholds of one family or capability. NAN (or -1 for the integers) = not checked. */
typedef struct rpt_thresholds {
    const char *budget;             /* Quay's performance budget name, or NULL (borrowed) */
    long min_samples;               /* match + mismatch + error */
    double min_parity_lower;        /* Wilson 95% lower bound of match / (match + mismatch) */
    double max_error_rate;          /* error / samples */
    double max_error_rate_increase; /* candidate's error rate minus the baseline's */
    double max_p95_ratio;           /* candidate p95 <= baseline p95 x this */
    double max_p99_ratio;
    long max_mismatches;            /* e.g. 0: "no digest mismatch" (PB-REG-PUSH) */
    double min_capability_coverage; /* families only */
    bool sequential;                /* not from gate.yaml: the builder's reports_options.sequential
                                       (parity by core/sequential.h's test, not the interval) */
} rpt_thresholds;

typedef struct rpt_trend_limits {
    double max_parity_drop;  /* parity previous - current beyond this is a regression */
    double max_p95_increase; /* p95 current / previous - 1 beyond this is a regression */
} rpt_trend_limits;

typedef struct rpt_gate rpt_gate;

/* path NULL: the built-in defaults (those of config/quay/gate.yaml's `defaults`). */
/* names (NULL: unchecked): a family or capability the profile lacks is an error. */
rpt_gate *rpt_gate_load(const char *path, const pm_names *names, pm_err *err);
void rpt_gate_free(rpt_gate *g);
void rpt_gate_family(const rpt_gate *g, const char *family, rpt_thresholds *out);
void rpt_gate_capability(const rpt_gate *g, const char *family, const char *capability, rpt_thresholds *out);
const rpt_trend_limits *rpt_gate_trend(const rpt_gate *g);
/* What the proposal calls the place its owners go (gate.yaml's snapshot_name, else
 * "the switch snapshot"): report.json's run.snapshot_name. */
const char *rpt_gate_snapshot_name(const rpt_gate *g);
/* The thresholds as the report shows them (null for unchecked). */
json_t *rpt_thresholds_json(const rpt_thresholds *t, bool family);

/* ===== decide.c =================================================================== */

/* Decides a scope (a family or a capability object of the report, with its counts,
 * parity_lower, error_rate, error_rate_by_role, latency, and for families coverage and
 * capabilities already decided). owner: the switch's owner ("go" / "python") or NULL;
 * switch_name for the rollback reason. Appends the reasons (strings) to reasons and
 * returns "promote", "hold", "insufficient" or "rollback". */
const char *rpt_decide(const rpt_thresholds *t, const json_t *scope, const char *owner, const char *switch_name,
                       json_t *reasons);

/* ===== owners.c =================================================================== */

/* The owner map of a switch snapshot: a flat mapping, or one nested under `switches:` or
 * `owners:`. NULL when the snapshot has no mapping. Borrowed from snapshot. */
const json_t *rpt_owner_map(const json_t *snapshot);
/* "go" or "python" for a switch (absent or unknown values: python, as Quay reads them);
 * NULL when map is NULL (no snapshot given). */
const char *rpt_owner_of(const json_t *map, const char *switch_name);
/* The most specific of a capability switch and its family switch (quay-facts.md: route,
 * then capability, then family, then python). */
const char *rpt_owner_effective(const json_t *map, const char *cap_switch, const char *family_switch);

/* ===== trend.c ==================================================================== */

/* Adds `previous` and `trend` to each family of report and returns the regressions list
 * (new reference). */
json_t *rpt_trend_apply(json_t *report, const json_t *previous, const rpt_trend_limits *limits);

/* ===== proposal.c ================================================================= */

/* The `proposal` object of a report whose families are decided (new reference). */
json_t *rpt_proposal(const json_t *families);

/* ===== builder.c / build.c: the aggregates ======================================== */

#define RPT_MAX_TARGETS 8          /* targets per scope (baseline, candidate, secondary, ...) */
#define RPT_MAX_FAMILIES 256
#define RPT_MAX_CAPABILITIES 2048  /* per family */
#define RPT_MAX_COHORTS 10000      /* names per cohort kind per family */
#define RPT_MAX_SIGNATURES 1024    /* per family */
#define RPT_MAX_ERROR_CODES 64     /* per scope */
#define RPT_MAX_NOISE 4096
#define RPT_MAX_EXPIRED 1024
#define RPT_EXEMPLAR_DIFFERENCES 20

typedef struct rpt_latency {
    char *name, *role; /* role NULL when the records never said */
    reports_histogram *h;
} rpt_latency;

/* Counts of a family or a capability. */
typedef struct rpt_scope {
    uint64_t total, match, mismatch, error, skipped;
    uint64_t baseline_errors, candidate_errors; /* error verdicts by the side that failed */
    pm_table *errors;                           /* code -> uint64_t * */
    uint64_t errors_dropped;
    pm_table *skip_reasons;                     /* skipped records: reason -> uint64_t * */
    uint64_t skip_reasons_dropped;
    rpt_latency latency[RPT_MAX_TARGETS];
    size_t nlatency;
} rpt_scope;

typedef struct rpt_capability {
    char *cap_switch;
    rpt_scope s;
    struct rpt_mixed *mixed; /* --mixed flows; NULL: none seen */
} rpt_capability;

typedef struct rpt_cohort {
    uint64_t total, match, mismatch, error, skipped;
} rpt_cohort;

/* One difference signature: its count and one exemplar, the record with the smallest id
 * (so the exemplar does not depend on the order shards are read in). */
typedef struct rpt_signature {
    char *capability;
    uint64_t count;
    char *exemplar_id;
    json_t *shape;       /* [{where, path, kind}] with array indexes as [*] */
    json_t *differences; /* the exemplar's first RPT_EXEMPLAR_DIFFERENCES */
    size_t difference_count; /* how many the exemplar's record listed */
    json_t *request;     /* the exemplar's {method, target}, or NULL (job records have none) */
    json_t *status;      /* the exemplar's {baseline, candidate} status (or job outcome) */
} rpt_signature;

/* The diff record's cohort keys counted per family. producer (mixed mode: which
 * implementation enqueued a job) is only in job records that know it; a family without any
 * has no `producer` list in report.json, where org, repo and user are always listed. */
enum { RPT_COHORT_ORG, RPT_COHORT_REPO, RPT_COHORT_USER, RPT_COHORT_PRODUCER, RPT_COHORT_KINDS };
extern const char *const rpt_cohort_kinds[RPT_COHORT_KINDS]; /* "org", ... (builder.c) */

/* ===== mixed.c ==================================================================== */

/* A family's or a capability's --mixed flows (verdict "mixed" records), scored by flow. */
typedef struct rpt_mixed rpt_mixed;
/* One step (the diff record's `mixed` object, its id); *m is made on first use. */
int rpt_mixed_add(rpt_mixed **m, const json_t *mixed, const char *id, pm_err *err);
/* {patterns, flows, completed, failed, completion, completion_lower, steps, failed_steps,
 * first_failure} (new reference); NULL when m is NULL (no mixed steps). */
json_t *rpt_mixed_json(const rpt_mixed *m);
void rpt_mixed_free(rpt_mixed *m);

typedef struct rpt_family {
    char *switch_name;
    rpt_mixed *mixed;       /* --mixed flows; NULL: none seen */
    rpt_scope s;
    pm_table *capabilities; /* name -> rpt_capability */
    pm_table *cohorts[RPT_COHORT_KINDS];
    uint64_t cohorts_dropped[RPT_COHORT_KINDS]; /* records whose name came past the cap */
    pm_table *signatures;                      /* signature -> rpt_signature */
    uint64_t signatures_dropped;
} rpt_family;

typedef struct rpt_noise {
    char *capability, *shape;
    uint64_t count;
} rpt_noise;

typedef struct rpt_expired {
    json_t *rule; /* {rule, reason, owner, expires} */
    uint64_t hits;
} rpt_expired;

struct reports_builder {
    reports_options o;
    rpt_gate *gate;
    rpt_catalog *catalog; /* NULL without capabilities_path */
    json_t *switches, *previous;
    pm_table *families; /* name -> rpt_family */
    pm_table *noise;    /* capability \x1f shape -> rpt_noise */
    pm_table *expired;  /* rule \x1f expires -> rpt_expired */
    uint64_t records, noise_dropped;
};

/* ===== write_*.c helpers ========================================================== */

/* Code points every renderer shows as a visible escape instead of passing them on: what a
 * reader could not see or that changes how the text around it reads — C0/C1 controls,
 * line and paragraph separators, bidirectional controls (U+061C, U+200E/U+200F,
 * U+202A–U+202E, U+2066–U+2069), zero-width characters, the soft hyphen, BOM and
 * noncharacters. One list for report.md, junit.xml and report.html. */
bool rpt_is_hidden(uint32_t cp);
/* The visible escape of such a code point: "\uXXXX" (or "\UXXXXXXXX"); size >= 12. */
void rpt_hidden_escape(uint32_t cp, char *buf, size_t size);

/* Writes s (len bytes) as XML 1.0 character data or attribute text: & < > " ' as
 * entities, tab/newline/CR as character references in attributes, hidden code points
 * (rpt_is_hidden) as "\uXXXX", bytes that are not UTF-8 as U+FFFD. */
void rpt_xml_escape(FILE *out, const char *s, size_t len, bool attribute);
/* Writes s for a Markdown table cell or list item: \ ` * [ ] | ~ # backslash-escaped, _ at
 * a word's edge too, < and & as entities where they could start a tag or an entity, line
 * breaks as spaces, hidden code points (rpt_is_hidden) as "\uXXXX", bytes that are not
 * UTF-8 as U+FFFD; at most max characters (0: all), then "…". */
void rpt_md_escape(FILE *out, const char *s, size_t len, size_t max);
/* A value of a difference as compact JSON (NULL: "(absent)"): a new string of *len bytes.
 * JSON's escapes make a newline, tab, CR or other control visible (\n, \t, \r, \u0001);
 * a string's trailing spaces are written \u0020 too. */
char *rpt_value_text(const json_t *v, size_t *len);
/* How many spaces s (len bytes) ends with. */
size_t rpt_trailing_spaces(const char *s, size_t len);
/* One side ("baseline" or "candidate") of a difference {where, path, kind, baseline,
 * candidate}, or NULL when that side is absent: diff writes an absent side as null, so
 * the baseline of an `extra` and the candidate of a `missing` that are null are absent,
 * while a null any other side holds is the JSON value null. */
const json_t *rpt_difference_side(const json_t *difference, const char *side);

#endif
