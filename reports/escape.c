/*
 * escape.c — text from traffic (paths, values, ids, cohort names) on its way into
 * junit.xml and report.md. Both escapers walk UTF-8 by hand: a byte that does not start a
 * valid, shortest-form sequence becomes U+FFFD, so a renderer never passes on bytes a
 * reader would choke on, and nothing from traffic can close a tag, start a table cell or
 * hide itself with control characters.
 */
#include <stdlib.h>
#include <string.h>

#include "reports/reports_internal.h"

/* The code point at s (n bytes left) and its length, or -1 (length 1) when not UTF-8. */
static long utf8_next(const unsigned char *s, size_t n, size_t *len)
{
    *len = 1;
    unsigned char c = s[0];
    if (c < 0x80)
        return c;
    size_t need;
    long cp, min;
    if (c >= 0xC2 && c <= 0xDF)
        need = 1, cp = c & 0x1F, min = 0x80;
    else if (c >= 0xE0 && c <= 0xEF)
        need = 2, cp = c & 0x0F, min = 0x800;
    else if (c >= 0xF0 && c <= 0xF4)
        need = 3, cp = c & 0x07, min = 0x10000;
    else
        return -1;
    if (n < need + 1)
        return -1;
    for (size_t i = 1; i <= need; i++) {
        if ((s[i] & 0xC0) != 0x80)
            return -1;
        cp = (cp << 6) | (s[i] & 0x3F);
    }
    if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
        return -1;
    *len = need + 1;
    return cp;
}

static const char REPLACEMENT[] = "\xEF\xBF\xBD";

void rp_xml_escape(FILE *out, const char *s, size_t len, bool attribute)
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
            if (cp < 0x20 || cp == 0xFFFE || cp == 0xFFFF || (cp >= 0x7F && cp <= 0x9F))
                fputs(REPLACEMENT, out); /* not allowed (or discouraged) in XML 1.0, or not UTF-8 */
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

void rp_md_escape(FILE *out, const char *s, size_t len, size_t max)
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
        else if (cp < 0x20 || (cp >= 0x7F && cp <= 0x9F) || cp == 0x2028 || cp == 0x2029)
            fputs(REPLACEMENT, out);
        else
            fwrite(p + i, 1, n, out);
        i += n;
        chars++;
    }
}

char *rp_value_text(const json_t *v, size_t *len)
{
    /* JSON for every value, strings quoted: a type difference (1024 vs "1024") must show */
    char *s = v ? json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY) : strdup("(absent)");
    *len = s ? strlen(s) : 0;
    return s;
}
