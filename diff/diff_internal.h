/* SPDX-License-Identifier: Apache-2.0 */
/*
 * diff_internal.h — what diff/'s files share (private): rules resolved for one exchange,
 * the difference list being built, decoded bodies.
 */
#ifndef PM_DIFF_INTERNAL_H
#define PM_DIFF_INTERNAL_H

#include "diff.h"

/* ---- rules (rules.c) ------------------------------------------------------------------ */

typedef enum {
    RULE_IGNORE_HEADER,
    RULE_IGNORE_PATH,
    RULE_SHAPE,        /* the value must have a shape (time, uuid, digest, jwt...), not equal */
    RULE_JWT,          /* compare a JWT's claims without iat, exp, nbf, jti */
    RULE_URL_HOST,     /* compare URLs with each target's host taken out */
    RULE_ARRAY_SET,    /* an array whose order does not matter */
    RULE_TOLERANCE,    /* numbers equal within `abs` */
    RULE_NORMALIZE,    /* header values: replace hosts / uuids before comparing */
} rule_kind;

typedef enum {
    SHAPE_RFC2822,     /* RFC 2822 date-time: +hhmm, UT, GMT or the US zones of its 4.3 */
    SHAPE_HTTP_DATE,   /* RFC 9110 IMF-fixdate only: "Sun, 06 Nov 1994 08:49:37 GMT" */
    SHAPE_RFC3339,
    SHAPE_UUID,
    SHAPE_DIGEST,
    SHAPE_JWT,
    SHAPE_STRING, /* any non-empty string: random tokens */
} shape_kind;

typedef struct diff_rule {
    rule_kind kind;
    char *name;          /* for reports: "<kind> <path|header>" */
    char *header;        /* lower case, header rules */
    void *path_re;       /* pcre2_code *, path rules */
    char *path_tail;     /* the pattern's last segment when it is a plain key ("last_modified"
                          * in "$..last_modified"): a path not ending in it cannot match, and
                          * that check spares most regex runs */
    size_t path_tail_len;
    bool tail_only;      /* the pattern is "$..tail": ending in ".tail" is matching */
    char *exact;         /* the pattern has no wildcard: the path must equal it */
    shape_kind shape;
    double tolerance;
    bool hosts, uuids;   /* RULE_NORMALIZE */
    json_t *params;      /* RULE_NORMALIZE: query parameters whose values are tokens */
    json_t *drop_params; /* RULE_NORMALIZE: query parameters taken out whole (one side may lack them) */
    json_t *families, *capabilities, *methods; /* NULL = all */
    bool expired;
    const char *reason, *owner, *expires; /* borrowed from the loaded rules file */
} diff_rule;

typedef struct diff_rules diff_rules;

diff_rules *diff_rules_load(const char *path, const char *today, pm_err *err);
/* A rule's families and capabilities that the profile does not have: an error at the name's
 * file:line. names NULL: 0. */
int diff_rules_check_names(const diff_rules *r, const pm_names *names, pm_err *err);
void diff_rules_free(diff_rules *r);
/* The rules that apply to one exchange (borrowed pointers into r), in file order; method
 * NULL (a job result) is outside every rule limited to methods. */
size_t diff_rules_for(const diff_rules *r, const char *family, const char *capability, const char *method,
                      const diff_rule ***out);
/* The first live rule of `list` of one of `kinds` (bit mask of 1 << rule_kind) matching
 * the JSON path or the header; else the first expired one that matches (the caller counts
 * what it would have hidden and does not apply it); NULL when none. */
const diff_rule *diff_rule_for_path(const diff_rule *const *list, size_t n, unsigned kinds, const char *path);
const diff_rule *diff_rule_for_header(const diff_rule *const *list, size_t n, unsigned kinds, const char *header);
bool diff_shape_matches(shape_kind shape, const char *s);
/* rfc2822, http_date, rfc3339: shapes that epoch seconds on both sides satisfy too. */
bool diff_shape_is_time(shape_kind shape);

/* ---- differences (engine.c) ---------------------------------------------------------- */

typedef struct diff_ctx {
    const diff_options *o;
    const diff_rule *const *rules;
    size_t nrules;
    json_t *differences;   /* [{where, path, kind, baseline, candidate}] */
    uint64_t count;        /* differences found (also beyond max_differences) */
    uint64_t expired_hits;
    const diff_rule *expired_rules[8]; /* which expired rules would have hidden something */
    size_t nexpired;
    const char *hosts[2];  /* "host:port" of the two targets when known */
    bool counting_only;    /* compare without recording (array-as-set matching) */
    /* path rules by their last key (tape_diff.c's quick "can a rule apply here?") */
    const char *const *tails;
    const size_t *tail_lens;
    size_t ntails;
    bool untailed;         /* some path rule has no plain last key: ask the rules at every node */
    pm_jtape *tapes;       /* two scratch tapes for bodies, owned by the engine */
} diff_ctx;

/* An expired rule would have hidden n differences (counted; named in the diff record). */
void diff_expired_hit(diff_ctx *c, const diff_rule *r, uint64_t n);
/* Records one difference (values are borrowed; NULL = absent). */
void diff_add(diff_ctx *c, const char *where, const char *path, const char *kind, const json_t *baseline,
              const json_t *candidate);

/* ---- JSON (json_diff.c) ------------------------------------------------------------------ */

#define DIFF_MAX_DEPTH 512 /* deeper values are not compared: a `type` difference */

typedef struct diff_path {
    char s[4096];
    size_t len;
} diff_path;

size_t diff_path_push_key(diff_path *p, const char *key, size_t len);
size_t diff_path_push_index(diff_path *p, size_t i);
void diff_path_pop(diff_path *p, size_t old);

/* Compares two JSON documents under the rules; differences go to c. */
void diff_json(diff_ctx *c, const json_t *baseline, const json_t *candidate);
/* The same for one node at path p (a or b NULL: missing on that side). */
void diff_json_node(diff_ctx *c, const json_t *a, const json_t *b, diff_path *p, int depth);
/* Compares two JSON texts already parsed into tapes, without building trees except for
 * the nodes a rule applies to or that differ (handed to diff_json_node). 0 when done;
 * -1 when the texts need the tree comparison (duplicate or escaped keys, numbers jansson
 * rejects): nothing was recorded then. */
int diff_tape_compare(diff_ctx *c, const pm_jtape *a, const pm_jtape *b);
/* Parses a body as JSON with bounded depth; NULL when it is not JSON. */
json_t *diff_json_parse(const unsigned char *data, size_t len);

/* ---- bodies (body.c) ------------------------------------------------------------------------ */

typedef struct diff_body {
    unsigned char *data;
    size_t len;
    bool present;
    bool borrowed; /* data points into the record line: not freed */
} diff_body;

/* ---- a result line (view.c) ------------------------------------------------------------------ */

#define DIFF_VIEW_MAX_ANSWERS 16

/* One target's answer: its small fields as jansson values (kept apart, no object around
 * them: each is read by name), its headers and body as spans of the line. */
typedef struct diff_answer {
    char *name;
    json_t *role, *status, *outcome, *error, *skipped, *latency_us; /* NULL: absent; outcome: job results */
    const pm_jtape *tape;  /* the line's (the view's) */
    long headers;          /* tape index of "headers" (an array of [name, value]); -1: none */
    const char *body;      /* the content of "body" or "body_b64" in the line, still escaped; NULL: none */
    size_t body_len;
    bool body_b64, body_escaped;
} diff_answer;

typedef struct diff_view {
    pm_jtape tape;         /* of the line; reused */
    json_t *fields;        /* a diff record's start: {v: 1} and id, ts, family, capability, switch,
                            * cap_switch, route_id, cohort, request, status, skipped (diff_result_text
                            * takes it: NULL after) */
    json_t *method;        /* request.method (a string), NULL when the record has none (a job) */
    diff_answer answers[DIFF_VIEW_MAX_ANSWERS];
    size_t n;
} diff_view;

/* 0, or -1 with err (what is wrong with the line). The view borrows line. With tokens
 * (the line's tape from its writer, diff_result_tokens) the line is not parsed again. */
int diff_view_parse(diff_view *v, const char *line, size_t len, const pm_jtape *tokens, pm_err *err);
const diff_answer *diff_view_answer(const diff_view *v, const char *role);
void diff_view_clear(diff_view *v);
void diff_view_free(diff_view *v);
/* The value at tape index i as a jansson value (new reference), NULL when jansson would
 * not accept it (a number out of range, a NUL in a key); the text's UTF-8 is checked by the
 * caller, once for the whole text. */
json_t *diff_tape_json(const pm_jtape *t, size_t i);
/* A string token as json_string_value reads it (up to a first NUL): its bytes in the line,
 * or unescaped into buf (room for the token's length). NULL when it is not a string. */
const char *diff_tape_string(const pm_jtape *t, size_t i, char *buf, size_t *len);

/* The decoded body of an answer: its bytes (unescaped or base64-decoded), then
 * gzip/deflate undone (Content-Encoding, or gzip magic bytes). Returns 0, or -1 with
 * *error set to a DESIGN.md code ("too_large", "decode"). */
int diff_body_decode(const diff_answer *answer, size_t max_decoded, diff_body *out, const char **error);
void diff_body_free(diff_body *b);
/* Compares two bodies by media type: JSON structurally, text by line, else bytes. */
void diff_bodies(diff_ctx *c, const char *content_type, const diff_body *a, const diff_body *b);

/* ---- noise (noise.c) ----------------------------------------------------------------------- */

typedef struct diff_noise diff_noise;

diff_noise *diff_noise_new(double relative, double absolute);
void diff_noise_free(diff_noise *n);
/* Pass 1: one exchange's baseline-vs-candidate (raw) and baseline-vs-secondary (noise)
 * differences. */
void diff_noise_count(diff_noise *n, const char *capability, const json_t *raw, const json_t *noise);
void diff_noise_decide(diff_noise *n);
bool diff_noise_ready(const diff_noise *n);
/* Pass 2: is this difference of this capability noise? */
bool diff_noise_is(const diff_noise *n, const char *capability, const json_t *difference);
/* [{capability, shape, raw, noise, exchanges}] of every shape judged noise. */
json_t *diff_noise_table(const diff_noise *n);
uint64_t diff_noise_dropped(const diff_noise *n);
/* "where|path with [*]|kind" of a difference (engine.c). */
void diff_shape_key(const json_t *difference, char *buf, size_t size);

/* ---- target-neutral values (normalize.c); each takes s and returns its new version ---------- */

char *diff_normalize_hosts(const diff_ctx *c, char *s);
char *diff_normalize_uuids(char *s);
char *diff_normalize_params(char *s, const json_t *params);
/* Takes the named query parameters out of a URL, names and values (in place; s returned). */
char *diff_drop_params(char *s, const json_t *params);

/* ---- headers (headers.c) --------------------------------------------------------------------- */

/* Compares two answers' headers, read off their tape. */
void diff_headers(diff_ctx *c, const diff_answer *baseline, const diff_answer *candidate);
/* The value of an answer's first header of this name (any case), as pm_headers_get gives it
 * for the same array (malloc'd); NULL when there is none or it is not a string. */
char *diff_answer_header(const diff_answer *a, const char *name);

/* ===== mixed.c ===================================================================== */

/* A --mixed flow step (a result line with a top-level `mixed` object): judged against the
 * recording into d (verdict "mixed", mixed {..., ok, failure}). 0 done, 1 not a mixed
 * step (d untouched), -1 with err (the line does not parse). */
int diff_mixed_judge(const char *line, size_t len, json_t *d, pm_err *err);

#endif
