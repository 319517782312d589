/*
 * proposal.c — what the report proposes to do with the owner switches, and the YAML
 * snippet `pmirror gate` prints for the switch snapshot (the gate's snapshot_name). A switch whose family (or
 * capability switch) is `promote` is proposed `go`; one that must roll back, `python`;
 * hold and insufficient leave the switch as it is, so they are not in the proposal — the
 * snippet says why in a `# note` line instead.
 */
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
    bool change = decision && (strcmp(decision, "promote") == 0 || strcmp(decision, "rollback") == 0);
    if (change && !plain_key(switch_name)) {
        fputs(" [switch name not usable as a key]", out);
        change = false;
    }
    fputs(change ? "\n" : ": switch unchanged\n", out);
    if (change)
        fprintf(out, "%s: %s\n", switch_name, strcmp(decision, "promote") == 0 ? "go" : "python");
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

int reports_write_proposal(FILE *out, const json_t *report, const char *const *families, size_t n, bool *all_promote,
                           pm_err *err)
{
    if (reports_check(report, err) != 0)
        return -1;
    const json_t *all = json_object_get(report, "families");
    const json_t *run = json_object_get(report, "run");
    const char *time = json_string_value(json_object_get(run, "time"));
    const char *snapshot = json_string_value(json_object_get(run, "snapshot_name"));
    fputs("# pmirror gate: owners proposed for ", out);
    comment_text(out, snapshot ? snapshot : "the switch snapshot"); /* gate.yaml's snapshot_name */
    if (time) {
        fputs(" (report of ", out);
        comment_text(out, time);
        fputs(")", out);
    }
    fputc('\n', out);
    size_t in_scope = 0, promoted = 0;
    if (n > 0) {
        for (size_t i = 0; i < n; i++) {
            const json_t *fam = json_object_get(all, families[i]);
            in_scope++;
            if (!fam) {
                fputs("# note ", out);
                comment_text(out, families[i]);
                fputs(": not in this report (no traffic): may not be promoted\n", out);
                continue;
            }
            write_family(out, families[i], fam);
            promoted += strcmp(json_string_value(json_object_get(fam, "decision")), "promote") == 0;
        }
    } else {
        const char *name;
        const json_t *fam;
        json_object_foreach((json_t *)all, name, fam) {
            if (!json_is_string(json_object_get(fam, "switch")))
                continue; /* UNKNOWN: no switch to promote */
            in_scope++;
            write_family(out, name, fam);
            promoted += strcmp(json_string_value(json_object_get(fam, "decision")), "promote") == 0;
        }
    }
    *all_promote = in_scope > 0 && promoted == in_scope;
    fprintf(out, "# %zu of %zu families in scope may be promoted: %s\n", promoted, in_scope,
            *all_promote ? "gate passes" : "gate fails");
    if (ferror(out))
        return pm_err_set(err, "cannot write the proposal");
    return 0;
}
