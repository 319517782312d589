/* SPDX-License-Identifier: Apache-2.0 */
/*
 * proposal.c — what the report proposes to do with the owner switches, and the YAML
 * snippet `pmirror gate` prints for the switch snapshot (the gate's snapshot_name). A switch whose family (or
 * capability switch) is `promote` is proposed `go`; one that must roll back, `python`;
 * hold and insufficient leave the switch as it is, so they are not in the proposal — the
 * snippet says why in a `# note` line instead. The rollbacks come first, together: one
 * block of `SWITCH: python` lines that returns every failing switch to Python in one
 * change; each promotion follows its note. Every switch is written once, so the whole
 * snippet is one YAML mapping, itself a switch snapshot.
 */
#include <stdlib.h>
#include <string.h>

#include "reports_internal.h"

static void propose(json_t *proposal, const char *switch_name, const char *decision)
{
    if (!switch_name || !decision)
        return;
    if (strcmp(decision, "promote") == 0)
        json_object_set_new(proposal, switch_name, json_string("go"));
    else if (strcmp(decision, "rollback") == 0)
        json_object_set_new(proposal, switch_name, json_string("python"));
}

json_t *rpt_proposal(const json_t *families)
{
    json_t *proposal = json_object();
    const char *name, *sw;
    const json_t *fam, *cs;
    json_object_foreach((json_t *)families, name, fam) {
        propose(proposal, json_string_value(json_object_get(fam, "switch")),
                json_string_value(json_object_get(fam, "decision")));
        json_object_foreach(json_object_get(fam, "cap_switches"), sw, cs)
            propose(proposal, sw, json_string_value(json_object_get(cs, "decision")));
    }
    return proposal;
}

int reports_check(const json_t *report, pm_err *err)
{
    if (!json_is_object(report))
        return pm_err_set(err, "not a report (not a JSON object)");
    if (json_integer_value(json_object_get(report, "v")) != 1)
        return pm_err_set(err, "not a report.json (\"v\" is not 1)");
    if (!json_is_object(json_object_get(report, "families")))
        return pm_err_set(err, "not a report.json (no \"families\" object)");
    if (!json_is_object(json_object_get(report, "proposal")))
        return pm_err_set(err, "not a report.json (no \"proposal\" object)");
    const char *name;
    const json_t *fam;
    json_object_foreach(json_object_get(report, "families"), name, fam)
        if (!json_is_string(json_object_get(fam, "decision")))
            return pm_err_set(err, "not a report.json (family %.64s has no \"decision\")", name);
    return 0;
}

/* Text from the report on one comment line: controls become spaces. */
static void comment_text(FILE *out, const char *s)
{
    for (; s && *s; s++)
        fputc((unsigned char)*s < 0x20 || *s == 0x7f ? ' ' : *s, out);
}

/* A switch name safe as a plain YAML key. */
static bool plain_key(const char *s)
{
    if (!s || !*s)
        return false;
    for (; *s; s++)
        if (!(*s == '_' || *s == '-' || *s == '.' || (*s >= 'A' && *s <= 'Z') || (*s >= 'a' && *s <= 'z') ||
              (*s >= '0' && *s <= '9')))
            return false;
    return true;
}

static bool is(const char *decision, const char *want)
{
    return decision && strcmp(decision, want) == 0;
}

/* One switch's note, and its `SWITCH: go` line when promoted; a rollback's line is in the
 * rollback block (write_rollback). */
static void write_switch(FILE *out, const char *label, const char *switch_name, const json_t *scope)
{
    const char *decision = json_string_value(json_object_get(scope, "decision"));
    const char *why = json_string_value(json_array_get(json_object_get(scope, "reasons"), 0));
    fputs("# note ", out);
    comment_text(out, label);
    fputs(": ", out);
    comment_text(out, decision ? decision : "?");
    if (why) {
        fputs(" (", out);
        comment_text(out, why);
        fputs(")", out);
    }
    bool change = is(decision, "promote") || is(decision, "rollback");
    if (change && !plain_key(switch_name)) {
        fputs(" [switch name not usable as a key]", out);
        change = false;
    }
    if (!change)
        fputs(": switch unchanged\n", out);
    else if (is(decision, "rollback"))
        fputs(": in the rollback above\n", out);
    else
        fprintf(out, "\n%s: go\n", switch_name);
}

static void write_family(FILE *out, const char *name, const json_t *fam)
{
    write_switch(out, name, json_string_value(json_object_get(fam, "switch")), fam);
    const char *sw;
    const json_t *cs;
    json_object_foreach(json_object_get(fam, "cap_switches"), sw, cs) {
        char label[512];
        snprintf(label, sizeof label, "%s %s", name, sw);
        write_switch(out, label, sw, cs);
    }
}

/* The switches of one family (its own, then its capability switches') that roll back and
 * can be written as keys; writes their lines when out is not NULL. Returns how many. */
static size_t family_rollbacks(FILE *out, const json_t *fam)
{
    size_t n = 0;
    const char *sw = json_string_value(json_object_get(fam, "switch"));
    if (is(json_string_value(json_object_get(fam, "decision")), "rollback") && plain_key(sw)) {
        n++;
        if (out)
            fprintf(out, "%s: python\n", sw);
    }
    const json_t *cs;
    json_object_foreach(json_object_get(fam, "cap_switches"), sw, cs)
        if (is(json_string_value(json_object_get(cs, "decision")), "rollback") && plain_key(sw)) {
            n++;
            if (out)
                fprintf(out, "%s: python\n", sw);
        }
    return n;
}

/* The families in scope, in order: those named (NULL where absent from the report), or
 * every family with a switch. Returns how many were stored (at most cap). */
static size_t in_scope(const json_t *all, const char *const *families, size_t n, const char **names,
                       const json_t **fams, size_t cap)
{
    size_t k = 0;
    if (n > 0) {
        for (size_t i = 0; i < n && k < cap; i++, k++) {
            names[k] = families[i];
            fams[k] = json_object_get(all, families[i]);
        }
        return k;
    }
    const char *name;
    const json_t *fam;
    json_object_foreach((json_t *)all, name, fam) {
        if (!json_is_string(json_object_get(fam, "switch")))
            continue; /* UNKNOWN: no switch to promote */
        if (k == cap)
            break;
        names[k] = name;
        fams[k++] = fam;
    }
    return k;
}

/* Every failing switch in scope back to python, as one block: one change to the snapshot. */
static void write_rollback(FILE *out, const char *snapshot, const json_t **fams, size_t n)
{
    size_t count = 0;
    for (size_t i = 0; i < n; i++)
        count += fams[i] ? family_rollbacks(NULL, fams[i]) : 0;
    if (count == 0)
        return;
    fputs("# rollback, in one change to ", out);
    comment_text(out, snapshot);
    fprintf(out, ": every failing switch (%zu) back to python\n", count);
    for (size_t i = 0; i < n; i++)
        if (fams[i])
            family_rollbacks(out, fams[i]);
    fputs("# end of the rollback\n", out);
}

int reports_write_proposal(FILE *out, const json_t *report, const char *const *families, size_t n, bool *all_promote,
                           pm_err *err)
{
    if (reports_check(report, err) != 0)
        return -1;
    const json_t *all = json_object_get(report, "families");
    const json_t *run = json_object_get(report, "run");
    const char *time = json_string_value(json_object_get(run, "time"));
    const char *snapshot = json_string_value(json_object_get(run, "snapshot_name"));
    if (!snapshot)
        snapshot = "the switch snapshot"; /* gate.yaml's snapshot_name */
    size_t cap = n > 0 ? n : json_object_size(all);
    const char **names = calloc(cap ? cap : 1, sizeof *names);
    const json_t **fams = calloc(cap ? cap : 1, sizeof *fams);
    if (!names || !fams) {
        free(names);
        free(fams);
        return pm_err_set(err, "out of memory");
    }
    size_t scope = in_scope(all, families, n, names, fams, cap);
    fputs("# pmirror gate: owners proposed for ", out);
    comment_text(out, snapshot);
    if (time) {
        fputs(" (report of ", out);
        comment_text(out, time);
        fputs(")", out);
    }
    fputc('\n', out);
    write_rollback(out, snapshot, fams, scope);
    size_t promoted = 0;
    for (size_t i = 0; i < scope; i++) {
        if (!fams[i]) {
            fputs("# note ", out);
            comment_text(out, names[i]);
            fputs(": not in this report (no traffic): may not be promoted\n", out);
            continue;
        }
        write_family(out, names[i], fams[i]);
        promoted += is(json_string_value(json_object_get(fams[i], "decision")), "promote");
    }
    free(names);
    free(fams);
    *all_promote = scope > 0 && promoted == scope;
    fprintf(out, "# %zu of %zu families in scope may be promoted: %s\n", promoted, scope,
            *all_promote ? "gate passes" : "gate fails");
    if (ferror(out))
        return pm_err_set(err, "cannot write the proposal");
    return 0;
}
