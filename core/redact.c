/* SPDX-License-Identifier: Apache-2.0 */
/*
 * redact.c — secrets never reach disk in the clear.
 *
 * A secret becomes "redacted:" + the first 16 hex digits of HMAC-SHA256(key, secret).
 * Keyed, so the token cannot be brute-forced from the file without the key; stable, so
 * two requests carrying the same credential still compare equal and replay can map the
 * token back to the credentials configured for each target. What counts as a secret is
 * data (the profile's `redaction` section); the defaults below cover Quay's traffic.
 * With keep_jwt_claims (the answers replay stores), a JWT keeps its header and claims and
 * only loses its signature: `HEADER.CLAIMS.redacted:<hex of the whole token>`. Where the
 * key comes from, and when a key file is trusted, is redact_key.c's.
 * A spreading redactor (pm_redactor_spreading) is a view of another that also learns
 * each secret it replaces into an exchange's pm_secrets and spreads the known values
 * over everything it is given (redact_spread.c holds the set and the search).
 */
#include "core.h"

#include <ctype.h>
#include <openssl/evp.h>
#include <openssl/core_names.h>
#include <openssl/hmac.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#if defined(__SSE2__)
#include <emmintrin.h>
#endif

#define KEY_BYTES 32

/* The defaults (README, "Redaction"); a profile's redact.yaml adds to them. Query names
 * also apply to form-encoded bodies, field names to JSON bodies. */
static const char *const default_headers[] = {
    "authorization", "proxy-authorization", "cookie", "set-cookie", "x-csrf-token",
    "x-docker-token", "x-registry-auth", "x-amz-security-token", "x-api-key", "x-auth-token", NULL};
static const char *const default_query[] = {
    "access_token", "token", "code", "client_secret", "password", "secret", "signature",
    "x-amz-signature", "x-amz-credential", "x-amz-security-token", "sig", "refresh_token",
    "api_key", "apikey", "passwd", "private_key", NULL};
static const char *const default_fields[] = {
    "password", "new_password", "passwd", "token", "access_token", "refresh_token", "id_token",
    "client_secret", "secret", "csrf_token", "_csrf_token", "auth", "private_key", "api_key",
    "apikey", NULL};

/* The tokens a remembering redactor made (pm_redactor_remembering): a direct-mapped
 * table, a slot by a value's length and last bytes; a value landing on a taken slot
 * replaces what was there, so memory stays bounded. */
#define MEMO_SLOTS 1024
#define MEMO_MAX_VALUE 4096
#define MEMO_HASHED 32
#define TOKEN_TEXT 26 /* "redacted:" + 16 hex + NUL */

typedef struct {
    char *value;
    size_t len;
    char token[TOKEN_TEXT];
} memo_slot;

typedef struct token_memo {
    memo_slot slots[MEMO_SLOTS];
} token_memo;

static memo_slot *memo_slot_of(token_memo *m, const char *value, size_t len)
{
    size_t tail = len < MEMO_HASHED ? len : MEMO_HASHED;
    return &m->slots[pm_fnv1a(PM_FNV1A_INIT ^ len, value + len - tail, tail) % MEMO_SLOTS];
}

static void memo_free(token_memo *m)
{
    if (!m)
        return;
    for (size_t i = 0; i < MEMO_SLOTS; i++)
        free(m->slots[i].value);
    free(m);
}

/* firsts[c] has bit L set when a name of length L (1 to 63) may start with byte c (either
 * case): list_has rejects most names with one lookup (every key of every JSON body is
 * looked up, and few are listed). */
typedef struct {
    char **items;
    size_t *lens;
    size_t n;
    size_t longest;
    uint64_t *firsts; /* [256] */
} name_list;

struct pm_redactor {
    unsigned char key[KEY_BYTES];
    name_list headers, query, fields;
    EVP_MAC_CTX *mac; /* HMAC-SHA256 keyed once; each value works on a copy (the one-shot
                       * HMAC() looks the algorithm up on every call: 6% of a capture) */
    bool keep_jwt_claims;
    pm_secrets *spread; /* a spreading view (borrows the lists and mac of its base) */
    bool view;          /* spreading or remembering: frees only itself (and its memo) */
    token_memo *memo;   /* a remembering view's tokens (its spreading views borrow it) */
    bool owns_memo;
};

void pm_redactor_keep_jwt_claims(pm_redactor *r, bool keep)
{
    r->keep_jwt_claims = keep;
}

static void list_free(name_list *l)
{
    for (size_t i = 0; i < l->n; i++)
        free(l->items[i]);
    free(l->items);
    free(l->lens);
    free(l->firsts);
}

/* The defaults, then the names rules[key] adds. */
static int list_load(name_list *l, const json_t *rules, const char *key,
                     const char *const *defaults)
{
    const json_t *arr = rules ? json_object_get(rules, key) : NULL;
    size_t ndefaults = 0, n;
    while (defaults[ndefaults])
        ndefaults++;
    n = ndefaults + (json_is_array(arr) ? json_array_size(arr) : 0);
    l->items = calloc(n + 1, sizeof *l->items);
    l->lens = calloc(n + 1, sizeof *l->lens);
    l->firsts = calloc(256, sizeof *l->firsts);
    if (!l->items || !l->lens || !l->firsts)
        return -1;
    for (size_t i = 0; i < n; i++) {
        const char *s = i < ndefaults ? defaults[i] : json_string_value(json_array_get(arr, i - ndefaults));
        if (!s)
            continue;
        if (!(l->items[l->n] = strdup(s)))
            return -1;
        l->lens[l->n] = strlen(s);
        if (l->lens[l->n] > l->longest)
            l->longest = l->lens[l->n];
        if (l->lens[l->n] > 0 && l->lens[l->n] < 64) {
            unsigned char c = (unsigned char)s[0];
            l->firsts[c] |= 1ULL << l->lens[l->n];
            l->firsts[c ^ 0x20] |= 1ULL << l->lens[l->n]; /* the same test as list_has's below */
        }
        l->n++;
    }
    return 0;
}

static inline bool list_has(const name_list *l, const char *name, size_t len)
{
    if (len > l->longest)
        return false;
    if (len > 0 && len < 64 && !(l->firsts[(unsigned char)name[0]] >> len & 1))
        return false;
    /* the first byte's case folded by hand before strncasecmp: every JSON key of a body
     * comes here, and most are as long as some listed name */
    for (size_t i = 0; i < l->n; i++)
        if (l->lens[i] == len && (len == 0 || (l->items[i][0] | 0x20) == (name[0] | 0x20)) &&
            strncasecmp(l->items[i], name, len) == 0)
            return true;
    return false;
}

pm_redactor *pm_redactor_new_with_key(const unsigned char *key, size_t key_len,
                                      const json_t *rules, pm_err *err)
{
    pm_redactor *r = calloc(1, sizeof *r);
    if (!r) {
        pm_err_set(err, "out of memory");
        return NULL;
    }
    /* Keys of any length are folded to 32 bytes so that short test keys work too. */
    unsigned int n = 0;
    EVP_Digest(key, key_len, r->key, &n, EVP_sha256(), NULL);
    EVP_MAC *hmac = EVP_MAC_fetch(NULL, "HMAC", NULL);
    if (hmac) {
        OSSL_PARAM params[] = {OSSL_PARAM_construct_utf8_string("digest", "SHA256", 0), OSSL_PARAM_construct_end()};
        r->mac = EVP_MAC_CTX_new(hmac);
        if (r->mac && EVP_MAC_init(r->mac, r->key, KEY_BYTES, params) != 1) {
            EVP_MAC_CTX_free(r->mac);
            r->mac = NULL;
        }
        EVP_MAC_free(hmac);
    }
    if (list_load(&r->headers, rules, "headers", default_headers) != 0 ||
        list_load(&r->query, rules, "query", default_query) != 0 ||
        list_load(&r->fields, rules, "json_fields", default_fields) != 0) {
        pm_redactor_free(r);
        pm_err_set(err, "out of memory");
        return NULL;
    }
    return r;
}

pm_redactor *pm_redactor_spreading(const pm_redactor *r, pm_secrets *s, pm_err *err)
{
    pm_redactor *v = malloc(sizeof *v);
    if (!v) {
        pm_err_set(err, "out of memory");
        return NULL;
    }
    *v = *r;
    v->spread = s;
    v->view = true;
    v->owns_memo = false;
    return v;
}

pm_redactor *pm_redactor_remembering(const pm_redactor *r, pm_err *err)
{
    pm_redactor *v = malloc(sizeof *v);
    token_memo *m = calloc(1, sizeof *m);
    if (!v || !m) {
        free(v);
        free(m);
        pm_err_set(err, "out of memory");
        return NULL;
    }
    *v = *r;
    v->view = true;
    v->memo = m;
    v->owns_memo = true;
    return v;
}

void pm_redactor_free(pm_redactor *r)
{
    if (!r)
        return;
    if (r->view) { /* the lists and the mac are its base's */
        if (r->owns_memo)
            memo_free(r->memo);
        free(r);
        return;
    }
    list_free(&r->headers);
    list_free(&r->query);
    list_free(&r->fields);
    EVP_MAC_CTX_free(r->mac);
    free(r);
}

static void hash_value(const pm_redactor *r, const char *value, size_t len, char out[TOKEN_TEXT]);

void pm_redact_value(const pm_redactor *r, const char *value, size_t len, char *out, size_t size)
{
    char token[TOKEN_TEXT];
    memo_slot *slot = r->memo && len <= MEMO_MAX_VALUE ? memo_slot_of(r->memo, value, len) : NULL;
    if (slot && slot->value && slot->len == len && memcmp(slot->value, value, len) == 0) {
        snprintf(out, size, "%s", slot->token);
        return;
    }
    hash_value(r, value, len, token);
    snprintf(out, size, "%s", token);
    char *copy = slot ? malloc(len + 1) : NULL;
    if (copy) { /* remembered (out of memory: only not remembered) */
        memcpy(copy, value, len);
        copy[len] = '\0';
        free(slot->value);
        slot->value = copy;
        slot->len = len;
        memcpy(slot->token, token, TOKEN_TEXT);
    }
}

/* "redacted:" and the first 8 bytes of value's HMAC-SHA256, in hex. */
static void hash_value(const pm_redactor *r, const char *value, size_t len, char out[TOKEN_TEXT])
{
    unsigned char mac[EVP_MAX_MD_SIZE];
    unsigned int n = 0;
    size_t n_out = 0;
    EVP_MAC_CTX *ctx = r->mac ? EVP_MAC_CTX_dup(r->mac) : NULL;
    if (!ctx || EVP_MAC_update(ctx, (const unsigned char *)value, len) != 1 ||
        EVP_MAC_final(ctx, mac, &n_out, sizeof mac) != 1)
        HMAC(EVP_sha256(), r->key, KEY_BYTES, (const unsigned char *)value, len, mac, &n);
    EVP_MAC_CTX_free(ctx);
    snprintf(out, TOKEN_TEXT, "redacted:%02x%02x%02x%02x%02x%02x%02x%02x", mac[0], mac[1], mac[2],
             mac[3], mac[4], mac[5], mac[6], mac[7]);
}

/* "redacted:<hex>", or a JWT whose signature is (see keep_jwt_claims) */
static bool already_redacted(const char *v, size_t len)
{
    return (len >= 9 && strncmp(v, "redacted:", 9) == 0) || (len > 26 && memcmp(v + len - 26, ".redacted:", 10) == 0);
}

/* The length of "HEADER.CLAIMS." when v is a JWT (three non-empty base64url segments, the
 * first a JSON header naming its "alg"), else 0. */
static size_t jwt_claims_prefix(const char *v, size_t n)
{
    size_t dots[2], ndots = 0;
    for (size_t i = 0; i < n; i++) {
        if (v[i] == '.') {
            if (ndots == 2)
                return 0;
            dots[ndots++] = i;
        } else if (!isalnum((unsigned char)v[i]) && v[i] != '-' && v[i] != '_' && v[i] != '=') {
            return 0;
        }
    }
    if (ndots != 2 || dots[0] == 0 || dots[1] == dots[0] + 1 || dots[1] + 1 == n)
        return 0;
    unsigned char *header;
    size_t len;
    if (pm_base64_decode(v, dots[0], true, &header, &len) != 0)
        return 0;
    bool is_jwt = len > 0 && header[0] == '{' && memmem(header, len, "\"alg\"", 5);
    free(header);
    return is_jwt ? dots[1] + 1 : 0;
}

/* Appends to a growing string; returns false on allocation failure. */
typedef struct {
    char *s;
    size_t len, cap;
} strbuf;

static bool sb_add(strbuf *b, const char *s, size_t n)
{
    if (b->len + n + 1 > b->cap) {
        size_t cap = b->cap ? b->cap : 64;
        while (cap < b->len + n + 1)
            cap *= 2;
        char *p = realloc(b->s, cap);
        if (!p)
            return false;
        b->s = p;
        b->cap = cap;
    }
    memcpy(b->s + b->len, s, n);
    b->len += n;
    b->s[b->len] = '\0';
    return true;
}

/* The stored form of one secret: its token, after the JWT's header and claims when
 * keep_jwt_claims. */
static void sb_add_token(strbuf *b, const pm_redactor *r, const char *v, size_t n)
{
    if (r->keep_jwt_claims)
        sb_add(b, v, jwt_claims_prefix(v, n));
    char token[32];
    pm_redact_value(r, v, n, token, sizeof token);
    sb_add(b, token, strlen(token));
}

/* A spreading redactor looks the value up first (the learning pass already paid for its
 * HMAC) and learns it otherwise. */
static void sb_add_secret(strbuf *b, const pm_redactor *r, const char *v, size_t n)
{
    if (already_redacted(v, n)) {
        sb_add(b, v, n);
        return;
    }
    size_t known_len = 0;
    const char *known = r->spread ? pm_secrets_token(r->spread, v, n, &known_len) : NULL;
    if (known) {
        sb_add(b, known, known_len);
        return;
    }
    size_t at = b->len;
    sb_add_token(b, r, v, n);
    if (r->spread && b->s)
        pm_secrets_add(r->spread, r, v, n, b->s + at);
}

char *pm_redact_secret(const pm_redactor *r, const char *value, size_t len)
{
    strbuf b = {0};
    sb_add_token(&b, r, value, len);
    return b.s;
}

/* "a=1; b=2" (Cookie) or "a=1; Path=/; HttpOnly" (Set-Cookie: only the first pair). */
static char *redact_cookie(const pm_redactor *r, const char *value, bool set_cookie)
{
    strbuf b = {0};
    const char *p = value;
    bool first = true;
    while (*p) {
        const char *end = strchr(p, ';');
        size_t n = end ? (size_t)(end - p) : strlen(p);
        const char *eq = memchr(p, '=', n);
        if (eq && (first || !set_cookie)) {
            sb_add(&b, p, (size_t)(eq - p) + 1);
            sb_add_secret(&b, r, eq + 1, n - (size_t)(eq - p) - 1);
        } else {
            sb_add(&b, p, n);
        }
        first = false;
        if (!end)
            break;
        sb_add(&b, ";", 1);
        p = end + 1;
    }
    if (!b.s)
        sb_add(&b, "", 0);
    return b.s;
}

/* Basic's credentials are base64 of "user:password": the password may show up alone (a
 * sign-in form, an error message). */
static void learn_basic_password(const pm_redactor *r, const char *b64)
{
    unsigned char *plain = NULL;
    size_t len = 0;
    if (pm_base64_decode(b64, strlen(b64), false, &plain, &len) != 0)
        return;
    const unsigned char *colon = memchr(plain, ':', len);
    if (colon && pm_utf8_valid(colon + 1, len - (size_t)(colon + 1 - plain)))
        pm_secrets_add(r->spread, r, (const char *)colon + 1, len - (size_t)(colon + 1 - plain), NULL);
    free(plain);
}

static char *redact_header_value(const pm_redactor *r, const char *name, const char *value)
{
    strbuf b = {0};
    if (strcasecmp(name, "cookie") == 0 || strcasecmp(name, "set-cookie") == 0)
        return redact_cookie(r, value, strcasecmp(name, "set-cookie") == 0);
    if (strcasecmp(name, "authorization") == 0 || strcasecmp(name, "proxy-authorization") == 0) {
        const char *sp = strchr(value, ' ');
        if (sp && sp != value) {
            if (r->spread && (size_t)(sp - value) == 5 && strncasecmp(value, "basic", 5) == 0)
                learn_basic_password(r, sp + strspn(sp, " "));
            while (*sp == ' ')
                sp++;
            sb_add(&b, value, (size_t)(sp - value));
            sb_add_secret(&b, r, sp, strlen(sp));
            return b.s;
        }
    }
    sb_add_secret(&b, r, value, strlen(value));
    return b.s;
}

/* The known values of a spreading redactor spread over text: a new text, or NULL when
 * none occurs (or r does not spread). */
static char *spread(const pm_redactor *r, const char *text, size_t len, size_t *out_len)
{
    return r->spread ? pm_secrets_spread(r->spread, text, len, out_len) : NULL;
}

/* The same over red (owned, *len bytes), in its place. */
static char *spread_over(const pm_redactor *r, char *red, size_t *len)
{
    size_t n = 0;
    char *more = red ? spread(r, red, *len, &n) : NULL;
    if (!more)
        return red;
    free(red);
    *len = n;
    return more;
}

void pm_redact_headers(const pm_redactor *r, json_t *headers)
{
    size_t i;
    json_t *pair;
    json_array_foreach(headers, i, pair) {
        const char *name = json_string_value(json_array_get(pair, 0));
        const char *value = json_string_value(json_array_get(pair, 1));
        char *red = name && value ? pm_redact_header_value(r, name, value) : NULL;
        if (red)
            json_array_set_new(pair, 1, json_string(red));
        free(red);
    }
}

/* Redacts listed parameters of an a=b&c=d string; returns a new string. */
static char *redact_params(const pm_redactor *r, const char *params, size_t len)
{
    strbuf b = {0};
    size_t i = 0;
    while (i <= len) {
        const char *p = params + i;
        const char *amp = memchr(p, '&', len - i);
        size_t n = amp ? (size_t)(amp - p) : len - i;
        const char *eq = memchr(p, '=', n);
        if (eq && list_has(&r->query, p, (size_t)(eq - p)) && eq + 1 < p + n) {
            sb_add(&b, p, (size_t)(eq - p) + 1);
            sb_add_secret(&b, r, eq + 1, n - (size_t)(eq - p) - 1);
        } else {
            sb_add(&b, p, n);
        }
        if (!amp)
            break;
        sb_add(&b, "&", 1);
        i += n + 1;
    }
    if (!b.s)
        sb_add(&b, "", 0);
    return b.s;
}

char *pm_redact_target(const pm_redactor *r, const char *target)
{
    const char *q = strchr(target, '?');
    strbuf b = {0};
    if (!q) {
        sb_add(&b, target, strlen(target));
    } else {
        sb_add(&b, target, (size_t)(q - target) + 1);
        char *params = redact_params(r, q + 1, strlen(q + 1));
        if (params)
            sb_add(&b, params, strlen(params));
        free(params);
    }
    return spread_over(r, b.s, &b.len);
}

size_t pm_redact_json(const pm_redactor *r, json_t *value)
{
    size_t count = 0;
    if (json_is_object(value)) {
        const char *key;
        json_t *child;
        json_object_foreach(value, key, child) {
            if (json_is_string(child) && list_has(&r->fields, key, strlen(key))) {
                const char *s = json_string_value(child);
                size_t n = json_string_length(child);
                if (!already_redacted(s, n)) {
                    strbuf b = {0};
                    sb_add_secret(&b, r, s, n);
                    if (b.s)
                        json_object_set_new(value, key, json_stringn(b.s, b.len));
                    free(b.s);
                    count++;
                }
            } else {
                count += pm_redact_json(r, child);
            }
        }
    } else if (json_is_array(value)) {
        size_t i;
        json_t *child;
        json_array_foreach(value, i, child)
            count += pm_redact_json(r, child);
    }
    return count;
}

/* ---- JSON bodies as text ----------------------------------------------------------

 * Secret fields are redacted in the body's own text: a string followed by ':' is a key
 * (in JSON nothing else is); when a listed key's value is a string, its content is
 * replaced and everything else is left byte for byte. No tree is built (capture does
 * this for every body: bench/capture.sh), the body keeps its formatting, and a body cut
 * by --max-body (no longer valid JSON) is still redacted as far as it goes. A key or
 * value spelled with escapes is left to jansson, which unescapes it first, so that the
 * redacted token equals the one of the same secret in a header; `force` instead hashes
 * the escaped text (for bodies jansson cannot parse). tests/fuzz/fuzz_redact.c checks
 * that on valid JSON this agrees with pm_redact_json. */
typedef enum { TEXT_UNCHANGED, TEXT_REDACTED, TEXT_NEEDS_PARSER } text_result;

/* The first '"' or '\\' in t[i, len), or len: 16 bytes a compare with SSE2 (every x86-64),
 * the last ones (and all, elsewhere) one at a time. JSON strings are short — a body's
 * keys and values are mostly a few words — so a call into memchr, twice per string (the
 * quote, then a backslash before it), cost more than the scan (callgrind). */
static size_t next_quote_or_backslash(const char *t, size_t len, size_t i)
{
#if defined(__SSE2__)
    for (; i + 16 <= len; i += 16) {
        __m128i v = _mm_loadu_si128((const __m128i *)(const void *)(t + i));
        unsigned m = (unsigned)_mm_movemask_epi8(
            _mm_or_si128(_mm_cmpeq_epi8(v, _mm_set1_epi8('"')), _mm_cmpeq_epi8(v, _mm_set1_epi8('\\'))));
        if (m)
            return i + (size_t)__builtin_ctz(m);
    }
#endif
    while (i < len && t[i] != '"' && t[i] != '\\')
        i++;
    return i;
}

/* From i (inside a string), the string's closing quote, or len; *escaped when a backslash
 * came first. Bodies are mostly strings, and this is the scan every answer's body goes
 * through (twice with a spreading redactor): perf's first line of replay's result writer. */
static size_t skip_string(const char *t, size_t len, size_t i, bool *escaped)
{
    *escaped = false;
    while (i < len) {
        i = next_quote_or_backslash(t, len, i);
        if (i >= len || t[i] == '"')
            break;
        *escaped = true;
        i += 2; /* the backslash and the byte it escapes */
    }
    return i < len ? i : len; /* the closing quote, or len (a backslash may end the text) */
}

static size_t skip_space(const char *t, size_t len, size_t i)
{
    while (i < len && (t[i] == ' ' || t[i] == '\t' || t[i] == '\r' || t[i] == '\n'))
        i++;
    return i;
}

/* dry: only says whether anything would be redacted (TEXT_REDACTED at the first value that
 * would be; nothing learned, *out untouched). */
static text_result redact_json_text(const pm_redactor *r, const char *t, size_t len, bool force, bool dry,
                                    char **out, size_t *out_len)
{
    strbuf b = {0};
    size_t copied = 0, i = 0;
    bool changed = false;
    while (i < len) {
        const char *q = memchr(t + i, '"', len - i);
        if (!q)
            break;
        size_t start = (size_t)(q - t) + 1;
        bool escaped;
        size_t end = skip_string(t, len, start, &escaped);
        if (end >= len)
            break;
        size_t colon = skip_space(t, len, end + 1);
        i = end + 1;
        if (colon >= len || t[colon] != ':')
            continue;
        size_t key_len = end - start;
        if (escaped) {
            if (key_len <= 6 * r->fields.longest && !force) {
                free(b.s);
                return TEXT_NEEDS_PARSER;
            }
            continue;
        }
        if (!list_has(&r->fields, t + start, key_len))
            continue;
        size_t v = skip_space(t, len, colon + 1);
        if (v >= len || t[v] != '"')
            continue; /* not a string: left as pm_redact_json leaves it */
        size_t vend = skip_string(t, len, v + 1, &escaped);
        if (escaped && !force) {
            free(b.s);
            return TEXT_NEEDS_PARSER;
        }
        if (!already_redacted(t + v + 1, vend - v - 1)) {
            if (dry)
                return TEXT_REDACTED;
            sb_add(&b, t + copied, v + 1 - copied);
            sb_add_secret(&b, r, t + v + 1, vend - v - 1);
            copied = vend;
            changed = true;
        }
        i = vend + 1;
    }
    if (!changed) {
        free(b.s);
        return TEXT_UNCHANGED;
    }
    sb_add(&b, t + copied, len - copied);
    *out = b.s;
    *out_len = b.len;
    return TEXT_REDACTED;
}

char *pm_redact_header_value(const pm_redactor *r, const char *name, const char *value)
{
    char *red = list_has(&r->headers, name, strlen(name)) ? redact_header_value(r, name, value) : NULL;
    size_t n = 0;
    char *more = spread(r, red ? red : value, strlen(red ? red : value), &n);
    if (!more)
        return red;
    free(red);
    return more;
}

/* A body's secret fields (JSON) or parameters (form) redacted; NULL when it has none. */
static char *redact_body_fields(const pm_redactor *r, const char *content_type, const char *text, size_t len,
                                size_t *out_len)
{
    if (content_type && strncasecmp(content_type, "application/x-www-form-urlencoded", 33) == 0) {
        char *red = redact_params(r, text, len);
        if (red && strlen(red) == len && memcmp(red, text, len) == 0) {
            free(red);
            return NULL;
        }
        if (red)
            *out_len = strlen(red);
        return red;
    }
    char *out = NULL;
    text_result rc = redact_json_text(r, text, len, false, false, &out, out_len);
    if (rc != TEXT_NEEDS_PARSER)
        return out;
    json_t *doc = json_loadb(text, len, JSON_DECODE_ANY | JSON_ALLOW_NUL, NULL);
    if (!doc) { /* escapes in a body that is not JSON: hash what is written */
        redact_json_text(r, text, len, true, false, &out, out_len);
        return out;
    }
    if (pm_redact_json(r, doc) > 0) {
        out = json_dumps(doc, JSON_COMPACT | JSON_PRESERVE_ORDER | JSON_ENCODE_ANY);
        if (out)
            *out_len = strlen(out); /* jansson escapes NUL as \u0000 */
    }
    json_decref(doc);
    return out;
}

char *pm_redact_body_text(const pm_redactor *r, const char *content_type, const char *text, size_t len,
                          size_t *out_len)
{
    char *out = redact_body_fields(r, content_type, text, len, out_len);
    if (out)
        return spread_over(r, out, out_len);
    return spread(r, text, len, out_len);
}

void pm_redact_record_body(const pm_redactor *r, json_t *message)
{
    const json_t *body = json_object_get(message, "body");
    if (!json_is_string(body))
        return;
    const char *type = pm_headers_get(json_object_get(message, "headers"), "content-type");
    bool form = type && strncasecmp(type, "application/x-www-form-urlencoded", 33) == 0;
    size_t n = 0;
    char *red = pm_redact_body_text(r, type, json_string_value(body), json_string_length(body), &n);
    if (!red)
        return;
    json_object_set_new(message, "body", json_stringn(red, n));
    if (!form)
        json_object_set_new(message, "body_redacted", json_true());
    free(red);
}

/* ---- the learning pass of a spreading redactor ------------------------------------ */

void pm_redact_learn_header(const pm_redactor *r, const char *name, const char *value)
{
    if (r->spread && name && value && list_has(&r->headers, name, strlen(name)))
        free(redact_header_value(r, name, value));
}

void pm_redact_learn_headers(const pm_redactor *r, const json_t *headers)
{
    size_t i;
    const json_t *pair;
    json_array_foreach(headers, i, pair)
        pm_redact_learn_header(r, json_string_value(json_array_get(pair, 0)),
                               json_string_value(json_array_get(pair, 1)));
}

void pm_redact_learn_target(const pm_redactor *r, const char *target)
{
    const char *q = r->spread && target ? strchr(target, '?') : NULL;
    if (q)
        free(redact_params(r, q + 1, strlen(q + 1)));
}

/* pm_redact_learn_body with the body's Content-Type and Content-Encoding given (what
 * headers hold is looked up by the callers that have them as jansson). */
static void learn_body(const pm_redactor *r, const char *type, const json_t *headers, const char *encoding,
                       const unsigned char *data, size_t len)
{
    size_t n = 0;
    if (pm_utf8_valid(data, len))
        free(redact_body_fields(r, type, (const char *)data, len, &n));
    else
        free(pm_redact_coded_body(r, headers ? pm_headers_get(headers, "content-encoding") : encoding, type, data,
                                  len, &n));
}

void pm_redact_learn_body(const pm_redactor *r, const json_t *headers, const unsigned char *data, size_t len)
{
    if (!r->spread || len == 0)
        return;
    learn_body(r, pm_headers_get(headers, "content-type"), headers, NULL, data, len);
}

/* pm_redact_learn_body_fields with Content-Type (and, when headers is NULL,
 * Content-Encoding) given. */
static void learn_body_fields(const pm_redactor *r, const char *type, const json_t *headers, const char *encoding,
                              const unsigned char *data, size_t len, pm_body_fields *f)
{
    memset(f, 0, sizeof *f);
    if (!r->spread || len == 0)
        return;
    if (!pm_utf8_valid(data, len)) {
        learn_body(r, type, headers, encoding, data, len);
        return;
    }
    f->red = redact_body_fields(r, type, (const char *)data, len, &f->len);
    f->done = true;
}

void pm_redact_learn_body_fields(const pm_redactor *r, const json_t *headers, const unsigned char *data, size_t len,
                                 pm_body_fields *f)
{
    const char *type = r->spread && len > 0 ? pm_headers_get(headers, "content-type") : NULL;
    learn_body_fields(r, type, headers, NULL, data, len, f);
}

/* True when a text without backslashes may hold a listed key. Without escapes, the
 * strings redact_json_text finds are the text's quotes taken in pairs, so each key it
 * looks up is the quoted run that ends just before a ':' (blanks between): only those are
 * looked at, found from the colons (a body has one a key) instead of from every string.
 * Runs longer than the longest listed name are none. */
/* One colon of keys_listed's text: whether the quoted run before it is a listed name. */
static bool key_before_listed(const pm_redactor *r, const char *t, const char *c)
{
    const char *e = c;
    while (e > t && (e[-1] == ' ' || e[-1] == '\t' || e[-1] == '\r' || e[-1] == '\n'))
        e--;
    if (e == t || e[-1] != '"')
        return false;
    const char *close = e - 1, *open = close;
#if defined(__SSE2__)
    if (r->fields.longest < 16 && close - t >= 16) { /* the opening quote among the 16 bytes before */
        __m128i v = _mm_loadu_si128((const __m128i *)(const void *)(close - 16));
        unsigned m = (unsigned)_mm_movemask_epi8(_mm_cmpeq_epi8(v, _mm_set1_epi8('"')));
        return m && list_has(&r->fields, close - 16 + (31 - __builtin_clz(m)) + 1,
                             (size_t)(16 - (31 - __builtin_clz(m)) - 1));
    }
#endif
    while (open > t && close - open <= (ptrdiff_t)r->fields.longest && open[-1] != '"')
        open--;
    if (open == t || open[-1] != '"')
        return false; /* longer than any listed name, or no string */
    return list_has(&r->fields, open, (size_t)(close - open));
}

static bool keys_listed(const pm_redactor *r, const char *t, size_t len)
{
    size_t i = 0;
#if defined(__SSE2__)
    for (; i + 16 <= len; i += 16) { /* the colons sixteen bytes at a time: a body has one every few dozen */
        __m128i v = _mm_loadu_si128((const __m128i *)(const void *)(t + i));
        for (unsigned m = (unsigned)_mm_movemask_epi8(_mm_cmpeq_epi8(v, _mm_set1_epi8(':'))); m; m &= m - 1)
            if (key_before_listed(r, t, t + i + __builtin_ctz(m)))
                return true;
    }
#endif
    for (; i < len; i++)
        if (t[i] == ':' && key_before_listed(r, t, t + i))
            return true;
    return false;
}

bool pm_redact_body_fields_none(const pm_redactor *r, const char *content_type, const char *text, size_t len)
{
    if (content_type && strncasecmp(content_type, "application/x-www-form-urlencoded", 33) == 0) {
        if (memchr(text, '\0', len))
            return false; /* redact_body_fields compares by strlen: such a body comes back */
        for (size_t i = 0; i <= len;) { /* the parameters redact_params would redact */
            const char *p = text + i, *amp = memchr(p, '&', len - i);
            size_t n = amp ? (size_t)(amp - p) : len - i;
            const char *eq = memchr(p, '=', n);
            if (eq && list_has(&r->query, p, (size_t)(eq - p)) && eq + 1 < p + n)
                return false;
            if (!amp)
                break;
            i += n + 1;
        }
        return true;
    }
    if (memchr(text, '\\', len))
        return redact_json_text(r, text, len, false, true, NULL, NULL) == TEXT_UNCHANGED;
    return !keys_listed(r, text, len);
}

void pm_redact_learn_body_fields_typed(const pm_redactor *r, const char *content_type, const char *content_encoding,
                                       const unsigned char *data, size_t len, pm_body_fields *f)
{
    learn_body_fields(r, content_type, NULL, content_encoding, data, len, f);
}

char *pm_redact_body_text_learned(const pm_redactor *r, pm_body_fields *f, const char *text, size_t len,
                                  size_t *out_len)
{
    char *out = f->red;
    *out_len = f->len;
    f->red = NULL;
    f->len = 0;
    if (out)
        return spread_over(r, out, out_len);
    return spread(r, text, len, out_len);
}

void pm_body_fields_clear(pm_body_fields *f)
{
    free(f->red);
    memset(f, 0, sizeof *f);
}

void pm_redact_learn_message(const pm_redactor *r, const json_t *message)
{
    if (!r->spread || !json_is_object(message))
        return;
    const json_t *headers = json_object_get(message, "headers");
    pm_redact_learn_headers(r, headers);
    const json_t *body = json_object_get(message, "body"), *b64 = json_object_get(message, "body_b64");
    if (json_is_string(body)) {
        pm_redact_learn_body(r, headers, (const unsigned char *)json_string_value(body), json_string_length(body));
    } else if (json_is_string(b64) && pm_headers_get(headers, "content-encoding")) {
        unsigned char *data = NULL;
        size_t len = 0;
        if (pm_base64_decode(json_string_value(b64), json_string_length(b64), false, &data, &len) == 0)
            pm_redact_learn_body(r, headers, data, len);
        free(data);
    }
}
