/* SPDX-License-Identifier: Apache-2.0 */
/*
 * setup.c — what `report`, `run` and the tee give the report builder besides diff records:
 * the profile's gate.yaml (unless another gate is named) and capabilities.yaml, the switch
 * snapshot and the previous report, loaded and checked before any record is read; and the
 * `run` keys of the built report that say which of them were used.
 */
#include <string.h>

#include "reports.h"

int reports_setup_open(reports_setup *s, const pm_profile *p, const char *gate_path, const char *switches_path,
                       const char *previous_path, pm_err *err)
{
    memset(s, 0, sizeof *s);
    s->profile = p;
    s->gate_path = gate_path ? gate_path : p->gate.path;
    s->switches_path = switches_path;
    s->previous_path = previous_path;
    if (switches_path && !(s->switches = pm_config_load(switches_path, err)))
        return -1;
    if (s->switches && !json_is_object(pm_config_root(s->switches)))
        return pm_err_set(err, "%s: not a switch snapshot (a mapping of SWITCH: owner)", switches_path);
    if (previous_path) {
        pm_err why;
        if (!(s->previous = pm_config_load(previous_path, err)))
            return -1;
        if (reports_check(pm_config_root(s->previous), &why) != 0)
            return pm_err_set(err, "%s: %s", previous_path, why.msg);
    }
    if (pm_names_load(p, &s->names, err) != 0)
        return -1;
    reports_options_init(&s->o);
    s->o.names = s->names;
    s->o.gate_path = s->gate_path;
    s->o.capabilities_path = p->capabilities.path;
    s->o.switches = s->switches ? pm_config_root(s->switches) : NULL;
    s->o.previous = s->previous ? pm_config_root(s->previous) : NULL;
    return 0;
}

void reports_setup_run_keys(const reports_setup *s, json_t *report, json_t *inputs, json_t *warnings)
{
    json_t *run = json_object_get(report, "run");
    json_object_set_new(run, "inputs", inputs);
    json_object_set_new(run, "profile", json_string(s->profile->dir));
    json_object_set_new(run, "gate", json_string(reports_setup_gate(s)));
    json_object_set_new(run, "switches", s->switches_path ? json_string(s->switches_path) : json_null());
    json_object_set_new(run, "previous", s->previous_path ? json_string(s->previous_path) : json_null());
    json_object_set_new(run, "skipped_records", json_integer((json_int_t)json_array_size(warnings)));
    json_object_set(run, "warnings", warnings);
}

const char *reports_setup_gate(const reports_setup *s)
{
    return s->gate_path ? s->gate_path : REPORTS_BUILTIN_GATE;
}

void reports_setup_close(reports_setup *s)
{
    pm_config_free(s->switches);
    pm_config_free(s->previous);
    pm_names_free(s->names);
    s->switches = s->previous = NULL;
    s->names = NULL;
}
