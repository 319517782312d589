/* SPDX-License-Identifier: Apache-2.0 */
/*
 * html_value.c — one value from traffic (an exemplar's baseline or candidate answer)
 * shown as indented JSON text inside a <pre>. We print it ourselves instead of calling
 * json_dumps because every string and key must go through the escaper (json_dumps
 * would pass markup through and gives up on invalid UTF-8, which is exactly what a
 * hostile value carries). A string shows in quotes so "1" and 1 stay apart, its trailing
 * spaces as \u0020 (a newline, tab or CR shows as \n, \t, \r: html_escape); the whole
 * value is capped near HTML_VALUE_MAX bytes so one huge body cannot swell the page.
 */
#include <stdlib.h>
#include <string.h>

#include "html_internal.h"
#include "reports_internal.h"

#define DEPTH_MAX 32

typedef struct printer {
    FILE *out;
    size_t budget; /* source bytes still allowed */
    int cut;       /* the budget ran out: print nothing more */
} printer;

static void indent(printer *p, int depth)
{
    fputc('\n', p->out);
    for (int i = 0; i < depth; i++)
        fputs("  ", p->out);
}

static void string(printer *p, const char *s, size_t len)
{
    if (p->budget == 0) {
        fputs("\xE2\x80\xA6", p->out);
        p->cut = 1;
        return;
    }
    size_t shown = len < p->budget ? len : p->budget;
    size_t spaces = shown == len ? rpt_trailing_spaces(s, len) : 0;
    fputc('"', p->out);
    html_escape(p->out, s, len - spaces, HTML_TEXT, shown - spaces);
    if (spaces) { /* "end  ": spaces nobody sees at the end, shown as escapes */
        fputs("<span class=\"esc\">", p->out);
        for (size_t i = 0; i < spaces; i++)
            fputs("\\u0020", p->out);
        fputs("</span>", p->out);
    }
    fputc('"', p->out);
    p->budget -= shown;
    if (shown < len)
        p->cut = 1;
}

static void number(printer *p, const json_t *v)
{
    char buf[40];
    if (json_is_integer(v)) {
        snprintf(buf, sizeof buf, "%" JSON_INTEGER_FORMAT, json_integer_value(v));
    } else {
        double d = json_real_value(v);
        snprintf(buf, sizeof buf, "%.15g", d);
        if (strtod(buf, NULL) != d)
            snprintf(buf, sizeof buf, "%.17g", d);
        if (!strpbrk(buf, ".eEni")) /* keep 1.0 a real, as the JSON said */
            strcat(buf, ".0");
    }
    fputs(buf, p->out);
    p->budget -= p->budget < strlen(buf) ? p->budget : strlen(buf);
}

static void value(printer *p, const json_t *v, int depth)
{
    if (p->cut)
        return;
    if (p->budget == 0 || depth > DEPTH_MAX) {
        fputs("\xE2\x80\xA6", p->out);
        p->cut = 1;
        return;
    }
    if (json_is_object(v) || json_is_array(v)) {
        int is_object = json_is_object(v);
        size_t size = is_object ? json_object_size(v) : json_array_size(v);
        fputc(is_object ? '{' : '[', p->out);
        if (size == 0) {
            fputc(is_object ? '}' : ']', p->out);
            return;
        }
        size_t i = 0;
        const char *key;
        json_t *item;
        if (is_object) {
            json_object_foreach((json_t *)v, key, item) {
                indent(p, depth + 1);
                string(p, key, strlen(key));
                fputs(": ", p->out);
                value(p, item, depth + 1);
                if (p->cut)
                    return;
                if (++i < size)
                    fputc(',', p->out);
            }
        } else {
            json_array_foreach(v, i, item) {
                indent(p, depth + 1);
                value(p, item, depth + 1);
                if (p->cut)
                    return;
                if (i + 1 < size)
                    fputc(',', p->out);
            }
        }
        indent(p, depth);
        fputc(is_object ? '}' : ']', p->out);
    } else if (json_is_string(v)) {
        string(p, json_string_value(v), json_string_length(v));
    } else if (json_is_number(v)) {
        number(p, v);
    } else {
        fputs(json_is_true(v) ? "true" : json_is_false(v) ? "false" : "null", p->out);
    }
}

void html_value(FILE *out, const json_t *v)
{
    if (!v) {
        fputs("<span class=\"absent\">(absent)</span>", out);
        return;
    }
    printer p = {out, HTML_VALUE_MAX, 0};
    value(&p, v, 0);
    if (p.cut)
        fputs("\n<span class=\"absent\">(cut: the page shows the first 4 KB of a value)</span>", out);
}
