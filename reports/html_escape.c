/* SPDX-License-Identifier: Apache-2.0 */
/*
 * html_escape.c — the one door through which text reaches report.html.
 *
 * Every string in a report may come from traffic (paths, values, ids, cohort names,
 * reasons, target names), so every string is written through html_escape(): markup
 * characters become entities in both contexts (so the same call is safe in element
 * content, in a double-quoted attribute and in SVG text), and the text is decoded as
 * UTF-8 on the way. What a reader could not see or that could change how the page
 * reads — controls, line separators, bidi overrides, zero-width characters (rpt_is_hidden,
 * escape.c: the list report.md and junit.xml use too), bytes that are not UTF-8 — is shown
 * as a visible escape instead of being passed through: a difference hidden in an
 * invisible byte is still a difference.
 */
#include <stdint.h>
#include <string.h>

#include "html_internal.h"
#include "reports_internal.h"

static void write_escape(FILE *out, const char *text, html_ctx ctx)
{
    if (ctx == HTML_TEXT)
        fprintf(out, "<span class=\"esc\">%s</span>", text);
    else
        fputs(text, out);
}

static void write_hidden(FILE *out, uint32_t cp, html_ctx ctx)
{
    char buf[16];
    switch (cp) {
    case '\n': write_escape(out, "\\n", ctx); return;
    case '\r': write_escape(out, "\\r", ctx); return;
    case '\t': write_escape(out, "\\t", ctx); return;
    default: break;
    }
    rpt_hidden_escape(cp, buf, sizeof buf);
    write_escape(out, buf, ctx);
}

/* Where to cut S so that at most MAX bytes are shown, on a character boundary. */
static size_t cut_point(const char *s, size_t len, size_t max)
{
    return max == 0 || len <= max ? len : pm_utf8_cut(s, max);
}

void html_escape(FILE *out, const char *s, size_t len, html_ctx ctx, size_t max)
{
    if (!s)
        return;
    const unsigned char *p = (const unsigned char *)s;
    size_t end = cut_point(s, len, max), run = 0, i = 0;
    while (i < end) {
        uint32_t cp;
        size_t n = pm_utf8_next(p + i, end - i, &cp);
        const char *entity = NULL;
        if (n == 1) {
            switch (cp) {
            case '&': entity = "&amp;"; break;
            case '<': entity = "&lt;"; break;
            case '>': entity = "&gt;"; break;
            case '"': entity = "&quot;"; break;
            case '\'': entity = "&#39;"; break;
            default: break;
            }
        }
        if (n > 0 && !entity && !rpt_is_hidden(cp)) {
            i += n; /* plain text: extend the run written in one go */
            continue;
        }
        fwrite(p + run, 1, i - run, out);
        if (n == 0) {
            write_escape(out, "\xEF\xBF\xBD", ctx); /* U+FFFD for one invalid byte */
            n = 1;
        } else if (entity) {
            fputs(entity, out);
        } else {
            write_hidden(out, cp, ctx);
        }
        i += n;
        run = i;
    }
    fwrite(p + run, 1, end - run, out);
    if (end < len)
        fprintf(out, "\xE2\x80\xA6 (%zu more bytes)", len - end);
}

void html_text(FILE *out, const char *s)
{
    if (s)
        html_escape(out, s, strlen(s), HTML_TEXT, HTML_LABEL_MAX);
}

void html_attr(FILE *out, const char *s)
{
    if (s)
        html_escape(out, s, strlen(s), HTML_ATTR, HTML_LABEL_MAX);
}

void html_json_text(FILE *out, const json_t *v, const char *dash)
{
    if (json_is_string(v))
        html_escape(out, json_string_value(v), json_string_length(v), HTML_TEXT, HTML_LABEL_MAX);
    else if (json_is_integer(v))
        fprintf(out, "%" JSON_INTEGER_FORMAT, json_integer_value(v));
    else if (json_is_real(v))
        fprintf(out, "%.6g", json_real_value(v));
    else if (json_is_boolean(v))
        fputs(json_is_true(v) ? "true" : "false", out);
    else
        fputs(dash, out);
}
