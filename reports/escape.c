/* SPDX-License-Identifier: Apache-2.0 */
/*
 * escape.c — text from traffic (paths, values, ids, cohort names) on its way into
 * junit.xml and report.md. Both escapers step through UTF-8 with core's pm_utf8_next: a
 * byte that does not start a valid, shortest-form sequence becomes U+FFFD, so a renderer
 * never passes on bytes a reader would choke on, and nothing from traffic can close a tag, start a table cell or
 * hide itself: controls, bidirectional overrides (a path that reads backwards), zero-width
 * characters are shown as "\uXXXX". rpt_is_hidden is the one list of such code points,
 * report.html's escaper (html_escape.c) uses it too.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "reports_internal.h"

/* The code point at s (n bytes left) and its length, or -1 (length 1) when not UTF-8. */
static long utf8_next(const unsigned char *s, size_t n, size_t *len)
{
    uint32_t cp;
    *len = pm_utf8_next(s, n, &cp);
    if (*len == 0) {
        *len = 1;
        return -1;
    }
    return (long)cp;
}

static const char REPLACEMENT[] = "\xEF\xBF\xBD";

bool rpt_is_hidden(uint32_t cp)
{
    return cp < 0x20 || (cp >= 0x7F && cp <= 0x9F) /* C0, DEL, C1 */
        || cp == 0xAD                              /* soft hyphen */
        || cp == 0x61C                             /* Arabic letter mark (bidi) */
        || (cp >= 0x200B && cp <= 0x200F)          /* zero-width, LRM, RLM */
        || (cp >= 0x2028 && cp <= 0x202E)          /* separators, bidi embeddings and overrides */
        || (cp >= 0x2060 && cp <= 0x206F)          /* word joiner, bidi isolates */
        || cp == 0xFEFF                            /* BOM */
        || (cp >= 0xFDD0 && cp <= 0xFDEF)          /* noncharacters */
        || (cp & 0xFFFE) == 0xFFFE;                /* U+xFFFE, U+xFFFF */
}

void rpt_hidden_escape(uint32_t cp, char *buf, size_t size)
{
    if (cp > 0xFFFF)
        snprintf(buf, size, "\\U%08X", (unsigned)cp);
    else
        snprintf(buf, size, "\\u%04X", (unsigned)cp);
}

/* A hidden code point as its escape (rpt_is_hidden), or a byte that is not UTF-8 (cp < 0)
 * as U+FFFD. */
static void write_hidden(FILE *out, long cp)
{
    char buf[16];
    if (cp < 0) {
        fputs(REPLACEMENT, out);
        return;
    }
    rpt_hidden_escape((uint32_t)cp, buf, sizeof buf);
    fputs(buf, out);
}

void rpt_xml_escape(FILE *out, const char *s, size_t len, bool attribute)
{
    const unsigned char *p = (const unsigned char *)s;
    size_t i = 0;
    while (i < len) {
        size_t n;
        long cp = utf8_next(p + i, len - i, &n);
        switch (cp) {
        case '&':
            fputs("&amp;", out);
            break;
        case '<':
            fputs("&lt;", out);
            break;
        case '>':
            fputs("&gt;", out);
            break;
        case '"':
            fputs(attribute ? "&quot;" : "\"", out);
            break;
        case '\'':
            fputs(attribute ? "&apos;" : "'", out);
            break;
        case '\t':
        case '\n':
        case '\r':
            if (attribute) /* attribute value normalization would turn them into spaces */
                fprintf(out, "&#%ld;", cp);
            else
                fputc((int)cp, out);
            break;
        default:
            if (cp < 0 || rpt_is_hidden((uint32_t)cp)) /* not UTF-8, not XML 1.0, or hiding itself */
                write_hidden(out, cp);
            else
                fwrite(p + i, 1, n, out);
        }
        i += n;
    }
}

static bool word_char(unsigned char c)
{
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c >= 0x80;
}

void rpt_md_escape(FILE *out, const char *s, size_t len, size_t max)
{
    const unsigned char *p = (const unsigned char *)s;
    size_t i = 0, chars = 0;
    while (i < len) {
        if (max && chars == max) {
            fputs("…", out);
            return;
        }
        size_t n;
        long cp = utf8_next(p + i, len - i, &n);
        unsigned char next = i + 1 < len ? p[i + 1] : ' ';
        bool inside_word = i > 0 && word_char(p[i - 1]) && word_char(next);
        if (cp > 0 && cp < 0x80 && strchr("\\`*[]|~#", (int)cp))
            fprintf(out, "\\%c", (char)cp);
        else if (cp == '_') /* emphasis only at a word's edge (GFM): min_samples stays readable */
            fputs(inside_word ? "_" : "\\_", out);
        else if (cp == '<') /* a tag, a comment or an autolink could start here: not "0.4 < 0.9" */
            fputs(next == ' ' || next == '=' || (next >= '0' && next <= '9') ? "<" : "&lt;", out);
        else if (cp == '&') /* an entity could start here */
            fputs(next == ' ' ? "&" : "&amp;", out);
        else if (cp == '\n' || cp == '\r' || cp == '\t')
            fputc(' ', out);
        else if (cp < 0 || rpt_is_hidden((uint32_t)cp))
            write_hidden(out, cp);
        else
            fwrite(p + i, 1, n, out);
        i += n;
        chars++;
    }
}

size_t rpt_trailing_spaces(const char *s, size_t len)
{
    size_t n = 0;
    while (n < len && s[len - 1 - n] == ' ')
        n++;
    return n;
}

char *rpt_value_text(const json_t *v, size_t *len)
{
    /* JSON for every value, strings quoted: a type difference (1024 vs "1024") must show,
     * and JSON's escapes show a newline, a tab, a CR or another control as \n, \t, \r, \u0001 */
    char *s = v ? json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY) : strdup("(absent)");
    *len = s ? strlen(s) : 0;
    size_t spaces = json_is_string(v) ? rpt_trailing_spaces(json_string_value(v), json_string_length(v)) : 0;
    if (!s || spaces == 0 || *len < spaces + 1)
        return s;
    /* "end  " ends in spaces nobody sees: "end\u0020\u0020" (still the same JSON string) */
    size_t keep = *len - 1 - spaces, size = keep + spaces * 6 + 2;
    char *out = malloc(size);
    if (!out)
        return s;
    memcpy(out, s, keep);
    for (size_t i = 0; i < spaces; i++)
        memcpy(out + keep + i * 6, "\\u0020", 6);
    memcpy(out + keep + spaces * 6, "\"", 2);
    free(s);
    *len = size - 1;
    return out;
}

const json_t *rpt_difference_side(const json_t *difference, const char *side)
{
    const json_t *v = json_object_get(difference, side);
    const char *kind = json_string_value(json_object_get(difference, "kind"));
    if (!v)
        return NULL;
    if (json_is_null(v) && kind &&
        ((strcmp(side, "baseline") == 0 && strcmp(kind, "extra") == 0) ||
         (strcmp(side, "candidate") == 0 && strcmp(kind, "missing") == 0)))
        return NULL; /* diff writes an absent side as null: the kind says which it is */
    return v;
}
