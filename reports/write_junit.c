/* SPDX-License-Identifier: Apache-2.0 */
/*
 * write_junit.c — junit.xml for CI servers (Jenkins, GitLab): one <testsuite> per family,
 * whose first <testcase> is the family's own gate and the others one per capability.
 * hold and rollback are <failure> (message: the decision and its main reason; body: every
 * reason and the top three differences, each exemplar named by its request and status pair, an
 * absent side as "(absent)"), insufficient is <skipped>, promote passes. Elements and
 * attributes follow the common JUnit schema (Jenkins' junit-10.xsd: testsuites >
 * testsuite > properties, testcase > skipped | failure); the tests / failures / errors /
 * skipped attributes are counted from what is written (that schema has no `skipped` on
 * <testsuites>: the skips are counted per <testsuite>). All text goes through
 * rpt_xml_escape.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "reports_internal.h"

#define TOP_DIFFERENCES 3 /* shown in a failure's text */

static void attr(FILE *out, const char *name, const char *value)
{
    fprintf(out, " %s=\"", name);
    if (value)
        rpt_xml_escape(out, value, strlen(value), true);
    fputc('"', out);
}

static void text(FILE *out, const char *s)
{
    if (s)
        rpt_xml_escape(out, s, strlen(s), false);
}

static void text_json(FILE *out, const json_t *v)
{
    size_t len;
    char *s = rpt_value_text(v, &len);
    if (s)
        rpt_xml_escape(out, s, len, false);
    free(s);
}

typedef struct {
    int tests, failures, skipped;
} tally;

static bool failing(const char *decision)
{
    return decision && (strcmp(decision, "hold") == 0 || strcmp(decision, "rollback") == 0);
}

static void count(tally *t, const json_t *scope)
{
    const char *decision = json_string_value(json_object_get(scope, "decision"));
    t->tests++;
    t->failures += failing(decision);
    t->skipped += decision && strcmp(decision, "insufficient") == 0;
}

static void top_difference(FILE *out, const json_t *top)
{
    const json_t *ex = json_object_get(top, "exemplar");
    fprintf(out, "\ntop difference: signature ");
    text(out, json_string_value(json_object_get(top, "signature")));
    fprintf(out, " (%lld exchanges, capability ", (long long)json_integer_value(json_object_get(top, "count")));
    text(out, json_string_value(json_object_get(top, "capability")));
    fputs("), exemplar ", out);
    text(out, json_string_value(json_object_get(ex, "id")));
    char *request = rpt_exemplar_request(ex);
    if (request) {
        fputs(": ", out);
        text(out, request);
    }
    free(request);
    size_t i;
    const json_t *d;
    json_array_foreach(json_object_get(ex, "differences"), i, d) {
        if (i == 5)
            break;
        fputs("\n  ", out);
        text(out, json_string_value(json_object_get(d, "where")));
        fputc(' ', out);
        text(out, json_string_value(json_object_get(d, "path")));
        fputc(' ', out);
        text(out, json_string_value(json_object_get(d, "kind")));
        fputs(": baseline ", out);
        text_json(out, rpt_difference_side(d, "baseline"));
        fputs(", candidate ", out);
        text_json(out, rpt_difference_side(d, "candidate"));
    }
}

static void testcase(FILE *out, const char *family, const char *name, const json_t *scope)
{
    char classname[512];
    snprintf(classname, sizeof classname, "pmirror.%s", family);
    fputs("    <testcase", out);
    attr(out, "name", name);
    attr(out, "classname", classname);
    fputs(" time=\"0\"", out);
    const char *decision = json_string_value(json_object_get(scope, "decision"));
    const json_t *reasons = json_object_get(scope, "reasons");
    const char *why = json_string_value(json_array_get(reasons, 0));
    char message[1200];
    snprintf(message, sizeof message, "%s: %s", decision ? decision : "?", why ? why : "");
    if (failing(decision)) {
        fputs(">\n      <failure", out);
        attr(out, "message", message);
        attr(out, "type", decision);
        fputc('>', out);
        size_t i;
        const json_t *r;
        json_array_foreach(reasons, i, r) {
            if (i)
                fputc('\n', out);
            text(out, json_string_value(r));
        }
        json_array_foreach(json_object_get(scope, "top_differences"), i, r) {
            if (i == TOP_DIFFERENCES)
                break;
            top_difference(out, r);
        }
        fputs("</failure>\n    </testcase>\n", out);
    } else if (decision && strcmp(decision, "insufficient") == 0) {
        fputs(">\n      <skipped", out);
        attr(out, "message", message);
        fputs("/>\n    </testcase>\n", out);
    } else {
        fputs("/>\n", out);
    }
}

static void property(FILE *out, const char *name, const char *value)
{
    fputs("      <property", out);
    attr(out, "name", name);
    attr(out, "value", value);
    fputs("/>\n", out);
}

static void property_ratio(FILE *out, const char *name, const json_t *v)
{
    char buf[32];
    double x = rpt_number(v);
    if (isnan(x))
        snprintf(buf, sizeof buf, "n/a");
    else
        snprintf(buf, sizeof buf, "%.6f", x);
    property(out, name, buf);
}

/* Jenkins' schema wants an ISO 8601 time without a zone: the run time, Z dropped. */
static void timestamp(FILE *out, const json_t *report)
{
    const char *t = json_string_value(json_object_get(json_object_get(report, "run"), "time"));
    if (!t || strlen(t) < 19 || t[4] != '-' || t[7] != '-' || t[10] != 'T' || t[13] != ':' || t[16] != ':')
        return;
    for (int i = 0; i < 19; i++)
        if (i != 4 && i != 7 && i != 10 && i != 13 && i != 16 && (t[i] < '0' || t[i] > '9'))
            return;
    fprintf(out, " timestamp=\"%.19s\"", t);
}

static void testsuite(FILE *out, const json_t *report, const char *name, const json_t *fam)
{
    tally t = {0};
    count(&t, fam);
    const char *cname;
    const json_t *cap;
    json_object_foreach(json_object_get(fam, "capabilities"), cname, cap)
        count(&t, cap);
    fputs("  <testsuite", out);
    attr(out, "name", name);
    fprintf(out, " tests=\"%d\" failures=\"%d\" errors=\"0\" skipped=\"%d\" time=\"0\"", t.tests, t.failures,
            t.skipped);
    timestamp(out, report);
    fputs(">\n    <properties>\n", out);
    property(out, "switch", json_string_value(json_object_get(fam, "switch")));
    property(out, "decision", json_string_value(json_object_get(fam, "decision")));
    char buf[32];
    snprintf(buf, sizeof buf, "%lld", (long long)json_integer_value(json_object_get(fam, "samples")));
    property(out, "samples", buf);
    property_ratio(out, "parity", json_object_get(fam, "parity"));
    property_ratio(out, "parity_lower", json_object_get(fam, "parity_lower"));
    property_ratio(out, "error_rate", json_object_get(fam, "error_rate"));
    fputs("    </properties>\n", out);
    char family_case[512];
    const char *sw = json_string_value(json_object_get(fam, "switch"));
    snprintf(family_case, sizeof family_case, "%s gate (%s)", name, sw ? sw : "no switch");
    testcase(out, name, family_case, fam);
    json_object_foreach(json_object_get(fam, "capabilities"), cname, cap)
        testcase(out, name, cname, cap);
    fputs("  </testsuite>\n", out);
}

int reports_write_junit(FILE *out, const json_t *report, pm_err *err)
{
    tally all = {0};
    const char *name, *cname;
    const json_t *fam, *cap;
    json_object_foreach(json_object_get(report, "families"), name, fam) {
        count(&all, fam);
        json_object_foreach(json_object_get(fam, "capabilities"), cname, cap)
            count(&all, cap);
    }
    fprintf(out,
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
            "<testsuites name=\"pmirror parity\" tests=\"%d\" failures=\"%d\" errors=\"0\" time=\"0\">\n",
            all.tests, all.failures);
    json_object_foreach(json_object_get(report, "families"), name, fam)
        testsuite(out, report, name, fam);
    fputs("</testsuites>\n", out);
    if (ferror(out))
        return pm_err_set(err, "cannot write junit.xml");
    return 0;
}
