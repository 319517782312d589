/* SPDX-License-Identifier: Apache-2.0 */
/*
 * owners.c — who owns a switch, from a Quay switch snapshot (`--switches`). The snapshot
 * is what Quay's config.yaml holds (quay-facts.md): a versioned owner map. Accepted: the
 * map itself (`ROUTE_OWNER_FAMILY_REGISTRY_V2: go`), or the map under `switches:` or
 * `owners:` beside `version` and `updated_at`. As Quay reads it: `go` means go; any other
 * value, and an absent switch, means python; the most specific switch that is set wins
 * (capability before family; route switches are not scored here).
 */
#include <string.h>

#include "reports_internal.h"

const json_t *rpt_owner_map(const json_t *snapshot)
{
    if (!json_is_object(snapshot))
        return NULL;
    const json_t *nested = json_object_get(snapshot, "switches");
    if (!json_is_object(nested))
        nested = json_object_get(snapshot, "owners");
    return json_is_object(nested) ? nested : snapshot;
}

const char *rpt_owner_of(const json_t *map, const char *switch_name)
{
    if (!map)
        return NULL;
    const char *v = switch_name ? json_string_value(json_object_get(map, switch_name)) : NULL;
    return v && strcmp(v, "go") == 0 ? "go" : "python";
}

const char *rpt_owner_effective(const json_t *map, const char *cap_switch, const char *family_switch)
{
    if (!map)
        return NULL;
    if (cap_switch && json_object_get(map, cap_switch))
        return rpt_owner_of(map, cap_switch);
    return rpt_owner_of(map, family_switch);
}

const char *reports_switch_owner(const json_t *snapshot, const char *switch_name)
{
    return rpt_owner_of(rpt_owner_map(snapshot), switch_name);
}
