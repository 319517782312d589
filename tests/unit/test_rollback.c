/* SPDX-License-Identifier: Apache-2.0 */
/*
 * test_rollback.c — the tee's rollback watcher (pipeline/rollback.c) on reports made here:
 * a go family decided rollback is acted on once, however many ticks; a python one never;
 * a capability with its own go switch separately; a re-read snapshot that flips the switch
 * to python forgets it, and a flip back to go that fails again is a new decision; a
 * snapshot that does not parse leaves the previous one in force. The hook runs
 * (posix_spawn, /bin/sh -c) with the family, switch and reasons in its environment.
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "pipeline/pipeline.h"
#include "scratch.h"

TestSuite(rollback, .init = scratch_make, .fini = scratch_remove);

static const char *write_snapshot(const char *text)
{
    static char path[256];
    snprintf(path, sizeof path, "%s/switches.yaml", scratch_dir);
    char tmp[300];
    snprintf(tmp, sizeof tmp, "%s.new", path);
    FILE *f = fopen(tmp, "w");
    cr_assert_not_null(f);
    fputs(text, f);
    fclose(f);
    cr_assert_eq(rename(tmp, path), 0); /* a new inode: seen as a change whatever the mtime */
    return path;
}

/* A report with KEYS (ROUTE_OWNER_FAMILY_KEYS) and API_V1 decided as given, API_V1's
 * capability API_TAG_READ on its own switch ROUTE_OWNER_CAP_TAGS decided cap. */
static json_t *report(const char *keys, const char *api, const char *cap)
{
    json_t *r = json_pack("{s:{s:{s:s, s:s, s:[s], s:i, s:i, s:i, s:{}}, s:{s:s, s:s, s:[s], s:i, s:i, s:i, "
                          "s:{s:{s:s, s:s, s:[s], s:i, s:i, s:i}}}}}",
                          "families", "KEYS", "switch", "ROUTE_OWNER_FAMILY_KEYS", "decision", keys, "reasons",
                          "parity under 0.990", "match", 60, "mismatch", 6, "error", 0, "capabilities", "API_V1",
                          "switch", "ROUTE_OWNER_FAMILY_API_V1", "decision", api, "reasons", "api fails", "match", 1,
                          "mismatch", 9, "error", 0, "capabilities", "API_TAG_READ", "switch", "ROUTE_OWNER_CAP_TAGS",
                          "decision", cap, "reasons", "tags fail", "match", 1, "mismatch", 4, "error", 0);
    cr_assert_not_null(r);
    return r;
}

static size_t act(pipeline_rollback *r, json_t *rep, json_t *events)
{
    size_t n = pipeline_rollback_act(r, rep, NULL, events);
    json_decref(rep);
    return n;
}

static bool reload(pipeline_rollback *r, json_t *events)
{
    bool changed = false;
    pipeline_rollback_reload(r, &changed, events);
    return changed;
}

Test(rollback, once_per_go_switch_never_for_python)
{
    const char *path = write_snapshot("switches:\n  ROUTE_OWNER_FAMILY_KEYS: go\n  ROUTE_OWNER_FAMILY_API_V1: python\n"
                                      "  ROUTE_OWNER_CAP_TAGS: go\n");
    char log[300], cmd[700];
    snprintf(log, sizeof log, "%s/hook.log", scratch_dir);
    snprintf(cmd, sizeof cmd, "echo \"$PMIRROR_FAMILY|${PMIRROR_CAPABILITY:-}|$PMIRROR_SWITCH|$PMIRROR_SAMPLES|"
                              "$PMIRROR_REASONS\" >> %s", log);
    pm_err err = {{0}};
    pipeline_rollback *r = pipeline_rollback_new(path, cmd, NULL, &err);
    cr_assert_not_null(r, "%s", err.msg);
    json_t *events = json_array();
    /* KEYS (go) and the TAGS capability switch (go) act; API_V1 is python: never */
    cr_assert_eq(act(r, report("rollback", "hold", "rollback"), events), 2);
    cr_assert_eq(act(r, report("rollback", "hold", "rollback"), events), 0, "never twice for one decision");
    cr_assert_eq(act(r, report("rollback", "hold", "rollback"), events), 0);
    /* the switch flipped to python (the hook's job): forgotten; python now: never */
    path = write_snapshot("switches:\n  ROUTE_OWNER_FAMILY_KEYS: python\n  ROUTE_OWNER_CAP_TAGS: go\n");
    cr_assert(reload(r, events));
    cr_assert_eq(act(r, report("hold", "hold", "rollback"), events), 0);
    /* go again and failing again: a new decision */
    write_snapshot("switches:\n  ROUTE_OWNER_FAMILY_KEYS: go\n  ROUTE_OWNER_CAP_TAGS: go\n");
    cr_assert(reload(r, events));
    cr_assert_eq(act(r, report("rollback", "hold", "rollback"), events), 1);
    /* a snapshot that does not parse: the previous one stays */
    write_snapshot("switches: [unclosed\n");
    cr_assert_not(reload(r, events));
    cr_assert_eq(act(r, report("rollback", "hold", "rollback"), events), 0);
    /* the hooks: three runs, each with its family, capability, switch and reasons */
    for (int i = 0; i < 100; i++) { /* not waited for: give them a moment */
        FILE *f = fopen(log, "r");
        int lines = 0;
        char buf[512];
        while (f && fgets(buf, sizeof buf, f))
            lines++;
        if (f)
            fclose(f);
        if (lines >= 3)
            break;
        usleep(20000);
    }
    FILE *f = fopen(log, "r");
    cr_assert_not_null(f);
    char text[2048] = "";
    size_t n = fread(text, 1, sizeof text - 1, f);
    text[n] = '\0';
    fclose(f);
    cr_assert(strstr(text, "KEYS||ROUTE_OWNER_FAMILY_KEYS|66|parity under 0.990\n"), "%s", text);
    cr_assert(strstr(text, "API_V1|API_TAG_READ|ROUTE_OWNER_CAP_TAGS|5|tags fail\n"), "%s", text);
    cr_assert_null(strstr(text, "ROUTE_OWNER_FAMILY_API_V1"), "a python switch was acted on: %s", text);
    int keys = 0;
    for (const char *p = text; (p = strstr(p, "ROUTE_OWNER_FAMILY_KEYS")); p++)
        keys++;
    cr_assert_eq(keys, 2, "KEYS: once, then once more after its flip back to go: %s", text);
    json_decref(events);
    pipeline_rollback_free(r);
}

Test(rollback, a_snapshot_that_is_not_one_is_refused)
{
    const char *path = write_snapshot("- go\n");
    pm_err err = {{0}};
    cr_assert_null(pipeline_rollback_new(path, "true", NULL, &err));
    cr_assert(strstr(err.msg, "not a switch snapshot"), "%s", err.msg);
    cr_assert_null(pipeline_rollback_new("/nonexistent/switches.yaml", "true", NULL, &err));
    cr_assert(strstr(err.msg, "/nonexistent/switches.yaml"), "%s", err.msg);
}
