/* SPDX-License-Identifier: Apache-2.0 */
/*
 * cmd_profile_check.c — `pmirror profile check DIR`: loads every file of a profile the way
 * the commands that use it do (the capability map, the worker map, the rules and the gate
 * checked against the profile's names, the correlation and redaction files), then prints
 * what each file gives and every route with its family and capability. The first problem
 * is one line naming file:line, exit 2: what `run` would have said, before a run.
 */
#include <string.h>

#include "cli.h"
#include "diff/diff.h"

typedef struct {
    pm_profile *p;
    pm_capmap *map;
    pm_workers *workers;
    pm_names *names;
} loaded;

static void loaded_free(loaded *l)
{
    pm_names_free(l->names);
    pm_workers_free(l->workers);
    pm_capmap_free(l->map);
    pm_profile_free(l->p);
}

/* Every file loaded and cross-checked: 0, or -1 with err (file:line of the first problem). */
static int load_all(const char *dir, loaded *l, pm_err *err)
{
    if (!(l->p = pm_profile_at(dir, "flag", err)))
        return -1;
    const pm_profile *p = l->p;
    if (!p->capabilities.path)
        return pm_err_set(err, "%s: cannot read it (a profile needs its capability map; "
                               "pmirror profile init DIR writes one)", p->capabilities.where);
    if (!(l->map = pm_capmap_load(p->capabilities.path, err)) ||
        (p->workers.path && !(l->workers = pm_workers_load(p->workers.path, err))) ||
        !(l->names = pm_names_new(l->map, l->workers, err)))
        return -1;
    if (p->rules.path) {
        diff_options o;
        diff_options_init(&o);
        o.names = l->names;
        diff_engine *e = diff_new(&o, p->rules.path, err);
        if (!e)
            return -1;
        diff_free(e);
    }
    reports_options o;
    reports_options_init(&o);
    o.gate_path = p->gate.path;
    o.capabilities_path = p->capabilities.path;
    o.names = l->names;
    reports_builder *b = reports_new(&o, err);
    if (!b)
        return -1;
    reports_free(b);
    if (p->correlation.path) {
        pm_config *c = pm_config_load(p->correlation.path, err);
        int bad = c && !json_is_object(pm_config_root(c)) &&
                  pm_config_error_at(c, pm_config_root(c), err, "correlation rules must be a mapping") != 0;
        pm_config_free(c);
        if (!c || bad)
            return -1;
    }
    json_t *secrets = NULL;
    if (pm_redact_rules_load(p->redact.path, &secrets, err) != 0)
        return -1;
    json_decref(secrets);
    return 0;
}

static void say_file(const pm_profile_file *f, const char *absent)
{
    printf("  %-44s %s\n", f->where, f->path ? "ok" : absent);
}

static void print_profile(const loaded *l)
{
    const pm_profile *p = l->p;
    size_t n = pm_capmap_route_count(l->map);
    printf("profile %s\n", p->dir);
    say_file(&p->capabilities, "");
    say_file(&p->rules, "absent: no normalization rules (pmirror diff needs one)");
    say_file(&p->gate, "absent: the gate's built-in defaults (min_samples 200, min_parity_lower 0.99)");
    say_file(&p->correlation, "absent: the built-in correlation only");
    say_file(&p->redact, "absent: the built-in secret names only");
    say_file(&p->workers, "absent: no worker parity");
    printf("\n%zu routes:\n%-16s %-24s %-7s %-40s %s\n", n, "FAMILY", "CAPABILITY", "METHOD", "PATH", "LINE  NOTES");
    for (size_t i = 0; i < n; i++) {
        pm_route_info r;
        pm_capmap_route(l->map, i, &r);
        bool any = strcmp(r.method, "*") == 0;
        printf("%-16s %-24s %-7s %-40s %-5d", r.family, r.capability, r.method, r.path, r.line);
        if (r.id)
            printf(" id %s", r.id);
        if (strcmp(r.switch_name, r.family) != 0)
            printf(" switch %s", r.switch_name);
        if (r.cap_switch)
            printf(" cap_switch %s", r.cap_switch);
        printf("%s\n", r.mutating ? " mutating" : any ? " mutating unless GET/HEAD/OPTIONS" : "");
    }
    for (size_t i = 0; i < pm_workers_count(l->workers) + pm_workers_program_count(l->workers); i++) {
        size_t nq = pm_workers_count(l->workers);
        const pm_worker_queue *q = i < nq ? pm_workers_at(l->workers, i) : pm_workers_program_at(l->workers, i - nq);
        if (i == 0)
            printf("\nworker families:\n");
        printf("%-40s %s %s (switch %s)\n", q->family, q->queue ? "queue" : "scheduled", q->queue ? q->queue : q->program,
               q->switch_name);
    }
}

int cmd_profile_check(int argc, char **argv)
{
    const cli_opt opts[] = {CLI_OPT_END};
    const cli_command cmd = {
        "profile check", "DIR",
        "Loads every file of the profile in DIR as the commands do: the capability map, the worker\n"
        "map, the normalization rules and the gate (a family or capability they name must be in\n"
        "the maps), the correlation and redaction files. Prints each file (or what stands in for\n"
        "an absent one) and every route: family, capability, method, path, line.",
        "Exit codes: 0 the profile loads, 2 it does not (one line naming file:line).",
        opts, 1, 1};
    cli_list args;
    int rc = cli_parse(&cmd, argc, argv, &args);
    if (rc != CLI_OK)
        return rc < 0 ? CLI_OK : rc;
    loaded l = {0};
    pm_err err;
    if (load_all(args.items[0], &l, &err) != 0) {
        rc = cli_fail("profile check", "%s", err.msg);
    } else {
        print_profile(&l);
        rc = fflush(stdout) == 0 ? CLI_OK : cli_fail("profile check", "cannot write to stdout");
    }
    loaded_free(&l);
    cli_list_free(&args);
    return rc;
}
