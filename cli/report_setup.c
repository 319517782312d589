/*
 * report_setup.c — what `report` and `run` share before and after scoring: the
 * profile's gate.yaml and capabilities.yaml found, the switch snapshot and the previous
 * report loaded and checked, and the `run` keys of a built report filled in. (`tee`
 * finds gate.yaml and capabilities.yaml itself, in cmd_tee.c's setup(): it takes no
 * snapshot or previous report.)
 */
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"

static bool readable(const char *path)
{
    return access(path, R_OK) == 0;
}

int cli_report_setup_open(cli_report_setup *s, const char *cmd, const char *profile_dir, const char *gate_path,
                          const char *switches_path, const char *previous_path)
{
    pm_err err;
    memset(s, 0, sizeof *s);
    s->profile_dir = profile_dir;
    s->switches_path = switches_path;
    s->previous_path = previous_path;
    s->gate_path = gate_path;
    if (!gate_path) {
        snprintf(s->gate_buf, sizeof s->gate_buf, "%s/gate.yaml", profile_dir);
        s->gate_path = readable(s->gate_buf) ? s->gate_buf : NULL;
    }
    snprintf(s->caps_buf, sizeof s->caps_buf, "%s/capabilities.yaml", profile_dir);
    if (switches_path && !(s->switches = pm_config_load(switches_path, &err)))
        return cli_fail(cmd, "%s", err.msg);
    if (s->switches && !json_is_object(pm_config_root(s->switches)))
        return cli_fail(cmd, "%s: not a switch snapshot (a mapping of SWITCH: owner)", switches_path);
    if (previous_path) {
        if (!(s->previous = pm_config_load(previous_path, &err)))
            return cli_fail(cmd, "%s", err.msg);
        if (reports_check(pm_config_root(s->previous), &err) != 0)
            return cli_fail(cmd, "%s: %s", previous_path, err.msg);
    }
    reports_options_init(&s->o);
    s->o.gate_path = s->gate_path;
    s->o.capabilities_path = readable(s->caps_buf) ? s->caps_buf : NULL;
    s->o.switches = s->switches ? pm_config_root(s->switches) : NULL;
    s->o.previous = s->previous ? pm_config_root(s->previous) : NULL;
    return CLI_OK;
}

void cli_report_setup_run_keys(const cli_report_setup *s, json_t *report, json_t *inputs, json_t *warnings)
{
    json_t *run = json_object_get(report, "run");
    json_object_set_new(run, "inputs", inputs);
    json_object_set_new(run, "profile", json_string(s->profile_dir));
    json_object_set_new(run, "gate", s->gate_path ? json_string(s->gate_path) : json_null());
    json_object_set_new(run, "switches", s->switches_path ? json_string(s->switches_path) : json_null());
    json_object_set_new(run, "previous", s->previous_path ? json_string(s->previous_path) : json_null());
    json_object_set_new(run, "skipped_records", json_integer((json_int_t)json_array_size(warnings)));
    json_object_set(run, "warnings", warnings);
}

void cli_report_setup_close(cli_report_setup *s)
{
    pm_config_free(s->switches);
    pm_config_free(s->previous);
    s->switches = s->previous = NULL;
}
