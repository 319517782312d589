/* SPDX-License-Identifier: Apache-2.0 */
/*
 * config.c — loads the human-written files (suites, profiles, capability maps, rules)
 * into one jansson tree, whatever their syntax: YAML through libyaml's event parser,
 * JSON through jansson. The rest of pmirror sees only json_t.
 *
 * YAML values remember where they came from (a pointer → line:column table), so checks
 * made long after parsing can still say "suite.yaml:12:7: targets[1].url: not a URL".
 * Scalars resolve as YAML 1.2's core schema does: plain null/true/false/numbers become
 * JSON types, quoted scalars are always strings. Nesting stops at PM_CONFIG_MAX_DEPTH:
 * libyaml's time grows with the square of the depth (a 200 KB file 100 000 levels deep
 * took 32 s), so the parse ends at the first level past the cap.
 */
#include "core.h"

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <yaml.h>

typedef struct {
    const json_t *value;
    unsigned line, column;
} position;

typedef struct {
    const json_t *object;
    char *key;
    unsigned line, column;
} key_position;

struct pm_config {
    char *path;
    json_t *root;
    position *positions; /* open addressing on the pointer; NULL slots are empty */
    size_t npos, cap;
    key_position *keys;  /* where each mapping key was written (for "unknown key" errors) */
    size_t nkeys, keys_cap;
};

static void remember_key(pm_config *cfg, const json_t *object, const char *key, size_t len, const yaml_mark_t *mark)
{
    if (cfg->nkeys == cfg->keys_cap) {
        size_t cap = cfg->keys_cap ? cfg->keys_cap * 2 : 64;
        key_position *p = realloc(cfg->keys, cap * sizeof *p);
        if (!p)
            return;
        cfg->keys = p;
        cfg->keys_cap = cap;
    }
    cfg->keys[cfg->nkeys++] = (key_position){object, strndup(key, len), (unsigned)mark->line + 1,
                                             (unsigned)mark->column + 1};
}

static size_t pointer_hash(const void *p, size_t cap)
{
    uint64_t x = (uint64_t)(uintptr_t)p;
    x ^= x >> 33;
    x *= 0xff51afd7ed558ccdULL;
    x ^= x >> 33;
    return (size_t)(x & (cap - 1));
}

static void remember(pm_config *cfg, const json_t *value, const yaml_mark_t *mark)
{
    /* true, false and null are jansson singletons shared by every occurrence: one slot
     * cannot say which occurrence a check means, so they have no position (a message
     * naming only the file beats one naming the wrong line). */
    if (json_is_true(value) || json_is_false(value) || json_is_null(value))
        return;
    if (cfg->npos * 2 >= cfg->cap) {
        size_t cap = cfg->cap ? cfg->cap * 2 : 256;
        position *table = calloc(cap, sizeof *table);
        if (!table)
            return; /* positions are a courtesy; the tree is still right */
        for (size_t i = 0; i < cfg->cap; i++) {
            if (!cfg->positions[i].value)
                continue;
            size_t h = pointer_hash(cfg->positions[i].value, cap);
            while (table[h].value)
                h = (h + 1) & (cap - 1);
            table[h] = cfg->positions[i];
        }
        free(cfg->positions);
        cfg->positions = table;
        cfg->cap = cap;
    }
    size_t h = pointer_hash(value, cfg->cap);
    while (cfg->positions[h].value && cfg->positions[h].value != value)
        h = (h + 1) & (cfg->cap - 1);
    if (!cfg->positions[h].value)
        cfg->npos++;
    cfg->positions[h] = (position){value, (unsigned)mark->line + 1, (unsigned)mark->column + 1};
}

static const position *lookup(const pm_config *cfg, const json_t *value)
{
    if (!cfg->cap || !value)
        return NULL;
    size_t h = pointer_hash(value, cfg->cap);
    while (cfg->positions[h].value) {
        if (cfg->positions[h].value == value)
            return &cfg->positions[h];
        h = (h + 1) & (cfg->cap - 1);
    }
    return NULL;
}

/* ---- YAML scalars ----------------------------------------------------------------- */

static bool is_one_of(const char *s, const char *const *words)
{
    for (; *words; words++)
        if (strcmp(s, *words) == 0)
            return true;
    return false;
}

static json_t *resolve_plain_scalar(const char *s, size_t len)
{
    static const char *const nulls[] = {"", "~", "null", "Null", "NULL", NULL};
    static const char *const trues[] = {"true", "True", "TRUE", NULL};
    static const char *const falses[] = {"false", "False", "FALSE", NULL};
    if (is_one_of(s, nulls))
        return json_null();
    if (is_one_of(s, trues))
        return json_true();
    if (is_one_of(s, falses))
        return json_false();
    char *end = NULL;
    const char *digits = (s[0] == '-' || s[0] == '+') ? s + 1 : s;
    if (digits[0] >= '0' && digits[0] <= '9') {
        errno = 0;
        int base = (digits[0] == '0' && (digits[1] == 'x' || digits[1] == 'o')) ? 16 : 10;
        if (base == 16 && digits[1] == 'o') {
            /* strtoll alone would take "0o" as 0 and skip the blank in "0o 17" */
            const char *octal = digits + 2;
            long long v = strtoll(octal, &end, 8);
            if (octal[0] && strspn(octal, "01234567") == strlen(octal) && errno == 0)
                return json_integer(s[0] == '-' ? -v : v);
        } else {
            long long v = strtoll(s, &end, base);
            if (end == s + len && errno == 0)
                return json_integer(v);
        }
    }
    if (strspn(s, "+-.0123456789eE") == len && strpbrk(s, "0123456789")) {
        errno = 0;
        double d = strtod(s, &end);
        if (end == s + len && errno == 0)
            return json_real(d);
    }
    if (strcmp(s, ".inf") == 0 || strcmp(s, ".nan") == 0 || strcmp(s, "-.inf") == 0)
        return json_string(s); /* JSON has no infinities; keep the text */
    return json_stringn(s, len);
}

/* ---- YAML → jansson --------------------------------------------------------------- */

typedef struct {
    json_t *container;
    json_t *pending_key; /* for mappings: the key waiting for its value */
} frame;

typedef struct {
    char *name;
    json_t *value;
} anchor;

typedef struct {
    pm_config *cfg;
    frame *stack;
    size_t depth, cap;
    anchor *anchors;
    size_t nanchors;
    json_t *root;
} builder;

static int yaml_error(pm_err *err, const char *name, const yaml_mark_t *mark, const char *what)
{
    return pm_err_set(err, "%s:%zu:%zu: %s", name, mark->line + 1, mark->column + 1, what);
}

static void builder_free(builder *b)
{
    for (size_t i = 0; i < b->depth; i++) {
        json_decref(b->stack[i].container);
        json_decref(b->stack[i].pending_key);
    }
    for (size_t i = 0; i < b->nanchors; i++) {
        free(b->anchors[i].name);
        json_decref(b->anchors[i].value);
    }
    free(b->stack);
    free(b->anchors);
    json_decref(b->root);
}

static int add_anchor(builder *b, const yaml_char_t *name, json_t *value)
{
    if (!name)
        return 0;
    anchor *a = realloc(b->anchors, (b->nanchors + 1) * sizeof *a);
    if (!a)
        return -1;
    b->anchors = a;
    a[b->nanchors].name = strdup((const char *)name);
    a[b->nanchors].value = json_incref(value);
    b->nanchors++;
    return 0;
}

/* Places a finished value (reference stolen) into the current container. */
static int place(builder *b, json_t *value, const yaml_mark_t *mark, pm_err *err,
                 const char *name)
{
    if (b->depth == 0) {
        if (b->root) {
            json_decref(value);
            return yaml_error(err, name, mark, "more than one document (only one is read)");
        }
        b->root = value;
        return 0;
    }
    frame *top = &b->stack[b->depth - 1];
    if (json_is_array(top->container))
        return json_array_append_new(top->container, value) == 0
                   ? 0
                   : yaml_error(err, name, mark, "cannot store value (out of memory)");
    if (!top->pending_key) {
        if (!json_is_string(value)) {
            json_t *as_text = NULL;
            if (json_is_integer(value)) {
                char buf[32];
                snprintf(buf, sizeof buf, "%lld", (long long)json_integer_value(value));
                as_text = json_string(buf);
            } else if (json_is_true(value) || json_is_false(value)) {
                as_text = json_string(json_is_true(value) ? "true" : "false");
            } else if (json_is_null(value)) {
                as_text = json_string("null");
            }
            json_decref(value);
            if (!as_text)
                return yaml_error(err, name, mark, "mapping key must be a scalar");
            value = as_text;
        }
        top->pending_key = value;
        return 0;
    }
    const char *key = json_string_value(top->pending_key);
    if (json_object_get(top->container, key)) {
        char what[300];
        snprintf(what, sizeof what, "duplicate key \"%.200s\"", key);
        json_decref(value);
        return yaml_error(err, name, mark, what);
    }
    if (json_object_set_new(top->container, key, value) != 0)
        return yaml_error(err, name, mark, "cannot store value (out of memory)");
    json_decref(top->pending_key);
    top->pending_key = NULL;
    return 0;
}

static int push(builder *b, json_t *container)
{
    if (b->depth == b->cap) {
        size_t cap = b->cap ? b->cap * 2 : 16;
        frame *s = realloc(b->stack, cap * sizeof *s);
        if (!s)
            return -1;
        b->stack = s;
        b->cap = cap;
    }
    b->stack[b->depth++] = (frame){container, NULL};
    return 0;
}

static json_t *parse_yaml(pm_config *cfg, const char *name, const char *text, size_t len,
                          pm_err *err)
{
    yaml_parser_t parser;
    if (!yaml_parser_initialize(&parser)) {
        pm_err_set(err, "%s: cannot start the YAML parser", name);
        return NULL;
    }
    yaml_parser_set_input_string(&parser, (const unsigned char *)text, len);
    builder b = {.cfg = cfg};
    bool done = false, failed = false;
    while (!done && !failed) {
        yaml_event_t ev;
        if (!yaml_parser_parse(&parser, &ev)) {
            char what[512];
            snprintf(what, sizeof what, "YAML syntax error: %s%s%s", parser.problem ? parser.problem : "?",
                     parser.context ? " " : "", parser.context ? parser.context : "");
            yaml_error(err, name, &parser.problem_mark, what);
            failed = true;
            break;
        }
        const yaml_mark_t *mark = &ev.start_mark;
        switch (ev.type) {
        case YAML_STREAM_END_EVENT:
            done = true;
            break;
        case YAML_DOCUMENT_START_EVENT:
            if (b.root) { /* name the second document's start, not the end of the file */
                yaml_error(err, name, mark, "more than one document (only one is read)");
                failed = true;
            }
            break;
        case YAML_SCALAR_EVENT: {
            const char *s = (const char *)ev.data.scalar.value;
            size_t n = ev.data.scalar.length;
            bool plain = ev.data.scalar.style == YAML_PLAIN_SCALAR_STYLE &&
                         !(ev.data.scalar.tag && strcmp((const char *)ev.data.scalar.tag,
                                                        YAML_STR_TAG) == 0);
            /* A mapping key is JSON object text as written: "1.5:" or "010:" must not
             * fail or become "10". Keys are copied into the object and freed, so they
             * get no position (a freed pointer could be reused by a later value). */
            bool is_key = b.depth > 0 && json_is_object(b.stack[b.depth - 1].container) &&
                          !b.stack[b.depth - 1].pending_key;
            json_t *v = plain && !is_key ? resolve_plain_scalar(s, n) : json_stringn(s, n);
            if (!v) {
                yaml_error(err, name, mark, "invalid scalar (not UTF-8?)");
                failed = true;
                break;
            }
            if (!is_key)
                remember(cfg, v, mark);
            else
                remember_key(cfg, b.stack[b.depth - 1].container, s, n, mark);
            if (add_anchor(&b, ev.data.scalar.anchor, v) != 0 || place(&b, v, mark, err, name) != 0)
                failed = true;
            break;
        }
        case YAML_SEQUENCE_START_EVENT:
        case YAML_MAPPING_START_EVENT: {
            if (b.depth >= PM_CONFIG_MAX_DEPTH) { /* stop here: libyaml's cost grows with depth squared */
                char what[128];
                snprintf(what, sizeof what, "nested deeper than %d levels (the limit for config files)",
                         PM_CONFIG_MAX_DEPTH);
                yaml_error(err, name, mark, what);
                failed = true;
                break;
            }
            json_t *c = ev.type == YAML_SEQUENCE_START_EVENT ? json_array() : json_object();
            remember(cfg, c, mark);
            const yaml_char_t *anchor_name = ev.type == YAML_SEQUENCE_START_EVENT
                                                 ? ev.data.sequence_start.anchor
                                                 : ev.data.mapping_start.anchor;
            if (add_anchor(&b, anchor_name, c) != 0 || push(&b, c) != 0)
                failed = true;
            break;
        }
        case YAML_SEQUENCE_END_EVENT:
        case YAML_MAPPING_END_EVENT: {
            frame top = b.stack[--b.depth];
            json_decref(top.pending_key);
            if (place(&b, top.container, mark, err, name) != 0)
                failed = true;
            break;
        }
        case YAML_ALIAS_EVENT: {
            json_t *target = NULL;
            for (size_t i = b.nanchors; i-- > 0;)
                if (strcmp(b.anchors[i].name, (const char *)ev.data.alias.anchor) == 0) {
                    target = b.anchors[i].value;
                    break;
                }
            bool recursive = false;
            for (size_t i = 0; target && i < b.depth; i++)
                recursive |= b.stack[i].container == target;
            if (!target) {
                yaml_error(err, name, mark, "alias to an unknown anchor");
                failed = true;
            } else if (recursive) {
                /* A tree cannot contain itself; jansson would refuse or loop. */
                yaml_error(err, name, mark, "alias to an anchor that contains it (recursive)");
                failed = true;
            } else if (place(&b, json_incref(target), mark, err, name) != 0) {
                failed = true;
            }
            break;
        }
        default:
            break;
        }
        yaml_event_delete(&ev);
    }
    yaml_parser_delete(&parser);
    if (failed) {
        builder_free(&b);
        return NULL;
    }
    json_t *root = b.root ? b.root : json_null();
    b.root = NULL;
    builder_free(&b);
    return root;
}

/* ---- public ----------------------------------------------------------------------- */

static bool is_json_name(const char *name)
{
    size_t n = strlen(name);
    return n >= 5 && strcmp(name + n - 5, ".json") == 0;
}

pm_config *pm_config_parse(const char *name, const char *text, size_t len, pm_err *err)
{
    pm_config *cfg = calloc(1, sizeof *cfg);
    if (!cfg) {
        pm_err_set(err, "%s: out of memory", name);
        return NULL;
    }
    cfg->path = strdup(name);
    if (is_json_name(name)) {
        json_error_t jerr;
        cfg->root = json_loadb(text, len, JSON_REJECT_DUPLICATES, &jerr);
        if (!cfg->root) /* jansson says column 0 for a bad first byte; people count from 1 */
            pm_err_set(err, "%s:%d:%d: JSON syntax error: %s", name, jerr.line > 0 ? jerr.line : 1,
                       jerr.column > 0 ? jerr.column : 1, jerr.text);
    } else {
        cfg->root = parse_yaml(cfg, name, text, len, err);
    }
    if (!cfg->root) {
        pm_config_free(cfg);
        return NULL;
    }
    return cfg;
}

pm_config *pm_config_load(const char *path, pm_err *err)
{
    size_t len;
    char *text = pm_read_file(path, &len, err);
    if (!text)
        return NULL;
    pm_config *cfg = pm_config_parse(path, text, len, err);
    free(text);
    return cfg;
}

json_t *pm_config_root(const pm_config *cfg)
{
    return cfg->root;
}

const char *pm_config_path(const pm_config *cfg)
{
    return cfg->path;
}

int pm_config_line(const pm_config *cfg, const json_t *value)
{
    const position *p = lookup(cfg, value);
    return p ? (int)p->line : 0;
}

int pm_config_error_at(const pm_config *cfg, const json_t *value, pm_err *err, const char *fmt, ...)
{
    char what[768];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(what, sizeof what, fmt, ap);
    va_end(ap);
    const position *p = lookup(cfg, value);
    if (p)
        return pm_err_set(err, "%s:%u:%u: %s", cfg->path, p->line, p->column, what);
    return pm_err_set(err, "%s: %s", cfg->path, what);
}

int pm_config_key_error_at(const pm_config *cfg, const json_t *object, const char *key, pm_err *err,
                           const char *fmt, ...)
{
    char what[768];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(what, sizeof what, fmt, ap);
    va_end(ap);
    for (size_t i = 0; i < cfg->nkeys; i++)
        if (cfg->keys[i].object == object && strcmp(cfg->keys[i].key, key) == 0)
            return pm_err_set(err, "%s:%u:%u: %s", cfg->path, cfg->keys[i].line, cfg->keys[i].column, what);
    return pm_config_error_at(cfg, json_object_get(object, key), err, "%s", what);
}

void pm_config_free(pm_config *cfg)
{
    if (!cfg)
        return;
    for (size_t i = 0; i < cfg->nkeys; i++)
        free(cfg->keys[i].key);
    free(cfg->keys);
    json_decref(cfg->root);
    free(cfg->positions);
    free(cfg->path);
    free(cfg);
}

char *pm_read_file(const char *path, size_t *len, pm_err *err)
{
    FILE *f = strcmp(path, "-") == 0 ? stdin : fopen(path, "rb");
    if (!f) {
        pm_err_set(err, "%s: cannot open: %s", path, strerror(errno));
        return NULL;
    }
    size_t cap = 8192, n = 0;
    char *buf = malloc(cap);
    while (buf) {
        if (n + 4096 + 1 > cap) {
            char *p = realloc(buf, cap * 2);
            if (!p) {
                free(buf);
                buf = NULL;
                break;
            }
            buf = p;
            cap *= 2;
        }
        size_t got = fread(buf + n, 1, cap - n - 1, f);
        n += got;
        if (got == 0)
            break;
    }
    bool bad = ferror(f);
    if (f != stdin)
        fclose(f);
    if (!buf || bad) {
        free(buf);
        pm_err_set(err, "%s: cannot read: %s", path, bad ? strerror(errno) : "out of memory");
        return NULL;
    }
    buf[n] = '\0';
    if (len)
        *len = n;
    return buf;
}

int pm_config_check_keys(const pm_config *cfg, const json_t *obj, const char *what, const char *const *known,
                         pm_err *err)
{
    if (!json_is_object(obj))
        return pm_config_error_at(cfg, obj, err, "%s must be a mapping", what);
    const char *key;
    const json_t *v;
    json_object_foreach((json_t *)obj, key, v) {
        bool ok = false;
        for (const char *const *k = known; *k && !ok; k++)
            ok = strcmp(*k, key) == 0;
        if (!ok) {
            char list[256] = "";
            for (const char *const *k = known; *k; k++)
                snprintf(list + strlen(list), sizeof list - strlen(list), "%s%s", k == known ? "" : ", ", *k);
            return pm_config_key_error_at(cfg, obj, key, err, "%s: unknown key '%s' (known: %s)", what, key, list);
        }
    }
    return 0;
}
