/* SPDX-License-Identifier: Apache-2.0 */
/*
 * rules.c — the profile's normalization rules (config/quay/rules.yaml) as data.
 *
 * Each rule names what it applies to (a header, or a JSON path with `*` for any key or
 * index and `..` for any depth), where (families, capabilities), why (`reason`, required),
 * and for a known mismatch who owns it and until when (`owner`, `expires`): an expired
 * rule stops applying, and the engine counts what it would have absorbed so the report
 * can say so. JSON path patterns are compiled once into PCRE2 regexes.
 */
#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "diff_internal.h"

struct diff_rules {
    pm_config *cfg;
    diff_rule *items;
    size_t n;
    const diff_rule **scratch; /* diff_rules_for's result */
};

static const struct {
    const char *name;
    rule_kind kind;
} kinds[] = {
    {"ignore_header", RULE_IGNORE_HEADER}, {"ignore_path", RULE_IGNORE_PATH}, {"shape", RULE_SHAPE},
    {"jwt", RULE_JWT},                     {"url_host", RULE_URL_HOST},       {"array_set", RULE_ARRAY_SET},
    {"tolerance", RULE_TOLERANCE},         {"normalize", RULE_NORMALIZE},
};

static const struct {
    const char *name;
    shape_kind shape;
} shapes[] = {
    {"rfc2822", SHAPE_RFC2822}, {"http_date", SHAPE_HTTP_DATE}, {"rfc3339", SHAPE_RFC3339},
    {"uuid", SHAPE_UUID},       {"digest", SHAPE_DIGEST},       {"jwt", SHAPE_JWT},
    {"string", SHAPE_STRING},
};

/* "$.tags[*].last_modified", "$..token" → an anchored regex over paths as json_diff.c
 * writes them ("$.tags[3].last_modified"). */
static pcre2_code *compile_path(const char *pattern, char *why, size_t why_len)
{
    char re[1024];
    size_t n = 0;
    const char *p = pattern;
    if (*p != '$') {
        snprintf(why, why_len, "a path starts with $");
        return NULL;
    }
    n += (size_t)snprintf(re + n, sizeof re - n, "^\\$");
    p++;
    while (*p && n < sizeof re - 32) {
        if (p[0] == '.' && p[1] == '.') {
            n += (size_t)snprintf(re + n, sizeof re - n, "(?:\\.[^.\\[]+|\\[\\d+\\])*\\.");
            p += 2;
        } else if (p[0] == '[' && p[1] == '*' && p[2] == ']') {
            n += (size_t)snprintf(re + n, sizeof re - n, "\\[\\d+\\]");
            p += 3;
        } else if (*p == '*') {
            n += (size_t)snprintf(re + n, sizeof re - n, "[^.\\[]+");
            p++;
        } else if (strchr(".[]$^()|+?{}\\", *p)) {
            re[n++] = '\\';
            re[n++] = *p++;
        } else {
            re[n++] = *p++;
        }
    }
    n += (size_t)snprintf(re + n, sizeof re - n, "$");
    int code;
    PCRE2_SIZE offset;
    pcre2_code *c = pcre2_compile((PCRE2_SPTR)re, n, 0, &code, &offset, NULL);
    if (!c) {
        PCRE2_UCHAR msg[128];
        pcre2_get_error_message(code, msg, sizeof msg);
        snprintf(why, why_len, "%s", (char *)msg);
        return NULL;
    }
    pcre2_jit_compile(c, PCRE2_JIT_COMPLETE);
    return c;
}

static bool expired_by(const char *expires, const char *today)
{
    return expires && today && strcmp(expires, today) < 0; /* ISO dates compare as text */
}

/* Absent, or a list of strings. */
static bool string_list(const json_t *v)
{
    size_t i;
    const json_t *x;
    if (!v)
        return true;
    if (!json_is_array(v))
        return false;
    json_array_foreach(v, i, x)
        if (!json_is_string(x))
            return false;
    return true;
}

/* A non-empty list of request methods as records hold them: upper-case tokens (GET, HEAD,
 * ...; methods are case-sensitive, so "get" would silently match nothing). */
static bool method_list(const json_t *v, char *why, size_t why_len)
{
    size_t i;
    const json_t *x;
    if (!json_is_array(v) || json_array_size(v) == 0) {
        snprintf(why, why_len, "is a non-empty list of HTTP methods (GET, HEAD, POST, ...)");
        return false;
    }
    json_array_foreach(v, i, x) {
        const char *m = json_string_value(x);
        if (!m || !*m || strspn(m, "ABCDEFGHIJKLMNOPQRSTUVWXYZ") != strlen(m)) {
            snprintf(why, why_len, "'%s' is not an HTTP method in upper case (GET, HEAD, POST, ...)",
                     m ? m : "(not a string)");
            return false;
        }
    }
    return true;
}

static int load_rule(diff_rules *r, const json_t *node, diff_rule *rule, const char *today, pm_err *err)
{
    const pm_config *cfg = r->cfg;
    static const char *const keys[] = {"kind", "header", "path", "shape", "abs", "hosts", "uuids", "params", "drop_params", "families",
                                       "capabilities", "methods", "reason", "owner", "expires", NULL};
    const char *key;
    const json_t *v;
    json_object_foreach((json_t *)node, key, v) {
        bool known = false;
        for (const char *const *k = keys; *k && !known; k++)
            known = strcmp(*k, key) == 0;
        if (!known)
            return pm_config_key_error_at(cfg, node, key, err, "rule: unknown key '%s'", key);
    }
    const char *kind = json_string_value(json_object_get(node, "kind"));
    size_t k = 0;
    while (k < sizeof kinds / sizeof *kinds && (!kind || strcmp(kinds[k].name, kind) != 0))
        k++;
    if (k == sizeof kinds / sizeof *kinds)
        return pm_config_error_at(cfg, node, err, "rule kind '%s' is not one of ignore_header, ignore_path, shape, "
                                  "jwt, url_host, array_set, tolerance, normalize", kind ? kind : "(none)");
    rule->kind = kinds[k].kind;
    if (!json_is_string(json_object_get(node, "reason")))
        return pm_config_error_at(cfg, node, err, "rule %s: every rule needs a reason", kind);
    const char *header = json_string_value(json_object_get(node, "header"));
    const char *path = json_string_value(json_object_get(node, "path"));
    if (!header == !path)
        return pm_config_error_at(cfg, node, err, "rule %s: give exactly one of header and path", kind);
    /* a kind given the other target would silently never apply */
    if (!header && (rule->kind == RULE_IGNORE_HEADER || rule->kind == RULE_NORMALIZE))
        return pm_config_error_at(cfg, node, err, "rule %s applies to a header: give header, not path", kind);
    if (!path && (rule->kind == RULE_IGNORE_PATH || rule->kind == RULE_TOLERANCE || rule->kind == RULE_JWT))
        return pm_config_error_at(cfg, node, err, "rule %s applies to a JSON path: give path, not header", kind);
    if (header) {
        rule->header = strdup(header);
        for (char *c = rule->header; *c; c++)
            *c = (char)(*c >= 'A' && *c <= 'Z' ? *c + 32 : *c);
    } else {
        char why[160];
        rule->path_re = compile_path(path, why, sizeof why);
        if (!rule->path_re)
            return pm_config_error_at(cfg, json_object_get(node, "path"), err, "rule %s: path '%s': %s", kind,
                                      path, why);
        const char *dot = strrchr(path, '.');
        if (dot && dot[1] && !strpbrk(dot + 1, "*[]"))
            rule->path_tail = strdup(dot + 1);
        if (rule->path_tail)
            rule->path_tail_len = strlen(rule->path_tail);
        if (rule->path_tail && dot == path + 2 && path[1] == '.')
            rule->tail_only = true; /* "$..key" */
        else if (!strpbrk(path, "*") && !strstr(path, ".."))
            rule->exact = strdup(path);
    }
    size_t len = strlen(kind) + strlen(header ? header : path) + 2;
    rule->name = malloc(len);
    snprintf(rule->name, len, "%s %s", kind, header ? header : path);
    if (rule->kind == RULE_SHAPE) {
        const char *shape = json_string_value(json_object_get(node, "shape"));
        size_t s = 0;
        while (s < sizeof shapes / sizeof *shapes && (!shape || strcmp(shapes[s].name, shape) != 0))
            s++;
        if (s == sizeof shapes / sizeof *shapes)
            return pm_config_error_at(cfg, node, err,
                                      "rule shape: shape '%s' is not rfc2822, http_date, rfc3339, uuid, digest, jwt or "
                                      "string",
                                      shape ? shape : "(none)");
        rule->shape = shapes[s].shape;
    }
    if (rule->kind == RULE_TOLERANCE) {
        const json_t *abs = json_object_get(node, "abs");
        if (!json_is_number(abs) || json_number_value(abs) < 0)
            return pm_config_error_at(cfg, node, err, "rule tolerance: abs must be a number >= 0");
        rule->tolerance = json_number_value(abs);
    }
    rule->hosts = json_is_true(json_object_get(node, "hosts"));
    rule->uuids = json_is_true(json_object_get(node, "uuids"));
    rule->params = json_object_get(node, "params");
    if (rule->params && !json_is_array(rule->params))
        return pm_config_error_at(cfg, rule->params, err, "rule %s: params is a list of query parameter names", kind);
    rule->drop_params = json_object_get(node, "drop_params");
    if (rule->drop_params && !string_list(rule->drop_params))
        return pm_config_error_at(cfg, rule->drop_params, err, "rule %s: drop_params is a list of query parameter names",
                                  kind);
    rule->families = json_object_get(node, "families");
    rule->capabilities = json_object_get(node, "capabilities");
    if (!string_list(rule->families)) /* a scalar would match nothing, silently */
        return pm_config_key_error_at(cfg, node, "families", err, "rule %s: families is a list of names", kind);
    if (!string_list(rule->capabilities))
        return pm_config_key_error_at(cfg, node, "capabilities", err, "rule %s: capabilities is a list of names",
                                      kind);
    rule->methods = json_object_get(node, "methods");
    if (rule->methods) {
        char why[160];
        if (!method_list(rule->methods, why, sizeof why))
            return pm_config_key_error_at(cfg, node, "methods", err, "rule %s: methods %s", kind, why);
    }
    const char *expires = json_string_value(json_object_get(node, "expires"));
    if (json_object_get(node, "expires") && (!expires || strlen(expires) != 10))
        return pm_config_error_at(cfg, json_object_get(node, "expires"), err, "expires: a date YYYY-MM-DD");
    if (expires && !json_is_string(json_object_get(node, "owner")))
        return pm_config_error_at(cfg, node, err, "rule %s: a rule that expires needs an owner", kind);
    rule->expired = expired_by(expires, today);
    rule->expires = expires;
    rule->owner = json_string_value(json_object_get(node, "owner"));
    rule->reason = json_string_value(json_object_get(node, "reason"));
    return 0;
}

diff_rules *diff_rules_load(const char *path, const char *today, pm_err *err)
{
    diff_rules *r = calloc(1, sizeof *r);
    if (!r) {
        pm_err_set(err, "out of memory");
        return NULL;
    }
    char date[16];
    if (!today) {
        time_t now = time(NULL);
        struct tm tm;
        gmtime_r(&now, &tm);
        strftime(date, sizeof date, "%Y-%m-%d", &tm);
        today = date;
    }
    r->cfg = pm_config_load(path, err);
    if (!r->cfg)
        goto fail;
    const json_t *list = json_object_get(pm_config_root(r->cfg), "rules");
    if (!json_is_array(list)) {
        pm_config_error_at(r->cfg, pm_config_root(r->cfg), err, "a rules file has a `rules:` list");
        goto fail;
    }
    r->items = calloc(json_array_size(list) + 1, sizeof *r->items);
    r->scratch = calloc(json_array_size(list) + 1, sizeof *r->scratch);
    if (!r->items || !r->scratch) {
        pm_err_set(err, "out of memory");
        goto fail;
    }
    size_t i;
    const json_t *node;
    json_array_foreach(list, i, node) {
        r->n++;
        if (!json_is_object(node)) {
            pm_config_error_at(r->cfg, node, err, "a rule is a mapping");
            goto fail;
        }
        if (load_rule(r, node, &r->items[i], today, err) != 0)
            goto fail;
    }
    return r;
fail:
    diff_rules_free(r);
    return NULL;
}

void diff_rules_free(diff_rules *r)
{
    if (!r)
        return;
    for (size_t i = 0; i < r->n; i++) {
        free(r->items[i].name);
        free(r->items[i].header);
        free(r->items[i].path_tail);
        free(r->items[i].exact);
        pcre2_code_free(r->items[i].path_re);
    }
    free(r->items);
    free(r->scratch);
    pm_config_free(r->cfg);
    free(r);
}

static bool listed(const json_t *list, const char *value)
{
    if (!list)
        return true;
    size_t i;
    const json_t *v;
    json_array_foreach(list, i, v)
        if (value && json_is_string(v) && strcmp(json_string_value(v), value) == 0)
            return true;
    return false;
}

int diff_rules_check_names(const diff_rules *r, const pm_names *names, pm_err *err)
{
    for (size_t i = 0; names && i < r->n; i++)
        if (pm_names_check_list(names, r->cfg, r->items[i].families, "rule families", false, err) != 0 ||
            pm_names_check_list(names, r->cfg, r->items[i].capabilities, "rule capabilities", true, err) != 0)
            return -1;
    return 0;
}

size_t diff_rules_for(const diff_rules *r, const char *family, const char *capability, const char *method,
                      const diff_rule ***out)
{
    size_t n = 0;
    for (size_t i = 0; r && i < r->n; i++)
        if (listed(r->items[i].families, family) && listed(r->items[i].capabilities, capability) &&
            listed(r->items[i].methods, method))
            r->scratch[n++] = &r->items[i];
    *out = r ? r->scratch : NULL;
    return n;
}

static bool path_matches(const diff_rule *rule, const char *path, size_t path_len, pcre2_match_data **md)
{
    if (rule->path_tail) { /* "...<sep>tail" or nothing */
        size_t t = rule->path_tail_len;
        if (path_len <= t || path[path_len - t - 1] != '.' || memcmp(path + path_len - t, rule->path_tail, t) != 0)
            return false;
        if (rule->tail_only)
            return true;
    }
    if (rule->exact)
        return strcmp(rule->exact, path) == 0;
    if (!*md)
        *md = pcre2_match_data_create(4, NULL);
    return pcre2_match(rule->path_re, (PCRE2_SPTR)path, path_len, 0, 0, *md, NULL) >= 0;
}

/* An expired rule is as if it were not there, so a later live rule for the same path
 * applies; only when no live rule matches is the expired one returned (counted by the
 * caller, not applied). */
const diff_rule *diff_rule_for_path(const diff_rule *const *list, size_t n, unsigned kinds_mask, const char *path)
{
    pcre2_match_data *md = NULL;
    const diff_rule *found = NULL, *expired = NULL;
    size_t path_len = strlen(path);
    for (size_t i = 0; i < n && !found; i++) {
        const diff_rule *rule = list[i];
        if (!rule->path_re || !(kinds_mask & (1u << rule->kind)) || (expired && rule->expired))
            continue;
        if (path_matches(rule, path, path_len, &md)) {
            if (rule->expired)
                expired = rule;
            else
                found = rule;
        }
    }
    pcre2_match_data_free(md);
    return found ? found : expired;
}

const diff_rule *diff_rule_for_header(const diff_rule *const *list, size_t n, unsigned kinds_mask, const char *header)
{
    const diff_rule *expired = NULL;
    /* rules' headers are lower case (ASCII, as loaded): most differ in their first letter */
    char first = (char)(header[0] >= 'A' && header[0] <= 'Z' ? header[0] + 32 : header[0]);
    for (size_t i = 0; i < n; i++)
        if (list[i]->header && list[i]->header[0] == first && (kinds_mask & (1u << list[i]->kind)) &&
            strcasecmp(list[i]->header, header) == 0) {
            if (!list[i]->expired)
                return list[i]; /* a live rule, even after an expired one */
            if (!expired)
                expired = list[i];
        }
    return expired;
}

/* ---- shapes ------------------------------------------------------------------------------ */

static bool all_of(const char *s, size_t n, const char *set)
{
    return strspn(s, set) >= n;
}

static bool digits(const char *s, int n)
{
    for (int i = 0; i < n; i++)
        if (s[i] < '0' || s[i] > '9')
            return false;
    return true;
}

static const char week_days[] = "MonTueWedThuFriSatSun", month_names[] = "JanFebMarAprMayJunJulAugSepOctNovDec";

/* The index of the three letters at s in names (n of them), or -1. */
static int name_at(const char *s, const char *names, int n)
{
    for (int i = 0; i < n; i++)
        if (strncmp(s, names + 3 * i, 3) == 0)
            return i;
    return -1;
}

/* "hh:mm:ss" with hour 00-23, minute 00-59, second 00-60 (a leap second). */
static bool clock_at(const char *s)
{
    return digits(s, 2) && s[2] == ':' && digits(s + 3, 2) && s[5] == ':' && digits(s + 6, 2) &&
           (s[0] - '0') * 10 + (s[1] - '0') <= 23 && s[3] <= '5' && (s[6] < '6' || (s[6] == '6' && s[7] == '0'));
}

/* RFC 2822 3.3 date-time: "Sat, 01 Nov 2026 10:00:00 -0000", the weekday optional, the day
 * one or two digits, seconds required (pmirror's senders write them), and a zone that RFC
 * 2822 knows: +hhmm / -hhmm, or the obsolete names of 4.3 (UT, GMT and the US zones, which
 * a reader must still understand). "UTC", a military letter or no zone is not RFC 2822.
 * A small parser, not strptime: it runs on every time value of every body. */
static bool is_rfc2822(const char *s)
{
    static const char *const zones[] = {"UT", "GMT", "EST", "EDT", "CST", "CDT", "MST", "MDT", "PST", "PDT", NULL};
    if (strlen(s) >= 5 && s[3] == ',' && s[4] == ' ') {
        if (name_at(s, week_days, 7) < 0)
            return false;
        s += 5;
    }
    int dl = digits(s, 2) ? 2 : digits(s, 1) ? 1 : 0;
    if (!dl || s[dl] != ' ')
        return false;
    s += dl + 1;
    if (strlen(s) < 3 || name_at(s, month_names, 12) < 0 || s[3] != ' ' || !digits(s + 4, 4) || s[8] != ' ')
        return false;
    s += 9;
    if (!clock_at(s) || s[8] != ' ')
        return false;
    s += 9;
    if ((*s == '+' || *s == '-') && digits(s + 1, 4) && s[5] == '\0')
        return true;
    for (const char *const *z = zones; *z; z++)
        if (strcmp(s, *z) == 0)
            return true;
    return false;
}

/* The weekday of a Gregorian date, 0 = Monday (Sakamoto's method). */
static int weekday_of(int y, int m, int d)
{
    static const int t[] = {0, 3, 2, 5, 0, 3, 5, 1, 4, 6, 2, 4};
    y -= m < 3;
    int sunday_first = (y + y / 4 - y / 100 + y / 400 + t[m - 1] + d) % 7;
    return (sunday_first + 6) % 7;
}

/* RFC 9110 5.6.7 IMF-fixdate, exactly: "Sun, 06 Nov 1994 08:49:37 GMT" (29 characters,
 * two-digit day, GMT, and the weekday that date fell on). Senders MUST write this form;
 * the obsolete RFC 850 and asctime forms, which a recipient must still read, are not
 * accepted here: pmirror judges senders, and a port writing them differs. */
static bool is_http_date(const char *s)
{
    if (strlen(s) != 29 || s[3] != ',' || s[4] != ' ' || !digits(s + 5, 2) || s[7] != ' ' || s[11] != ' ' ||
        !digits(s + 12, 4) || s[16] != ' ' || !clock_at(s + 17) || strcmp(s + 25, " GMT") != 0)
        return false;
    int wd = name_at(s, week_days, 7), month = name_at(s + 8, month_names, 12);
    int day = (s[5] - '0') * 10 + (s[6] - '0');
    int year = (s[12] - '0') * 1000 + (s[13] - '0') * 100 + (s[14] - '0') * 10 + (s[15] - '0');
    return wd >= 0 && month >= 0 && day >= 1 && day <= 31 && weekday_of(year, month + 1, day) == wd;
}

bool diff_shape_is_time(shape_kind shape)
{
    return shape == SHAPE_RFC2822 || shape == SHAPE_HTTP_DATE || shape == SHAPE_RFC3339;
}

bool diff_shape_matches(shape_kind shape, const char *s)
{
    if (!s)
        return false;
    size_t len = strlen(s);
    switch (shape) {
    case SHAPE_STRING:
        return len > 0;
    case SHAPE_UUID: {
        if (len != 36)
            return false;
        for (size_t i = 0; i < 36; i++) {
            bool dash = i == 8 || i == 13 || i == 18 || i == 23;
            if (dash ? s[i] != '-' : !strchr("0123456789abcdefABCDEF", s[i]))
                return false;
        }
        return true;
    }
    case SHAPE_DIGEST: {
        const char *colon = strchr(s, ':');
        return colon && colon > s && colon[1] && all_of(colon + 1, strlen(colon + 1), "0123456789abcdef");
    }
    case SHAPE_JWT: {
        const char *d1 = strchr(s, '.'), *d2 = d1 ? strchr(d1 + 1, '.') : NULL;
        return d2 && !strchr(d2 + 1, '.') && d1 > s && d2 > d1 + 1;
    }
    case SHAPE_RFC3339: {
        int y, mo, d, h, mi, sec;
        char t;
        return sscanf(s, "%4d-%2d-%2d%c%2d:%2d:%2d", &y, &mo, &d, &t, &h, &mi, &sec) == 7 && (t == 'T' || t == 't');
    }
    case SHAPE_RFC2822:
        return is_rfc2822(s);
    case SHAPE_HTTP_DATE:
        return is_http_date(s);
    }
    return false;
}
