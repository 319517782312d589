/*
 * profile.c — finds the profile directory (capability map, rules, gate thresholds) so
 * that `build/pmirror` works from a fresh clone without flags, and an installed or
 * relocated binary can be pointed elsewhere; and what commands load from it (the map, the
 * redaction names), with the --family/--select choice they apply.
 */
#include "cli.h"

#include <libgen.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#ifndef PMIRROR_DEFAULT_PROFILE
#define PMIRROR_DEFAULT_PROFILE "config/quay"
#endif

const char *cli_profile_dir(const char *given, char *buf, size_t size)
{
    if (given) {
        snprintf(buf, size, "%s", given);
        return buf;
    }
    const char *env = getenv("PMIRROR_PROFILE");
    if (env && *env) {
        snprintf(buf, size, "%s", env);
        return buf;
    }
    char exe[PATH_MAX];
    ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
    if (n > 0) {
        exe[n] = '\0';
        char candidate[PATH_MAX + 32];
        snprintf(candidate, sizeof candidate, "%s/../config/quay/capabilities.yaml", dirname(exe));
        if (access(candidate, R_OK) == 0) {
            candidate[strlen(candidate) - strlen("/capabilities.yaml")] = '\0';
            snprintf(buf, size, "%s", candidate);
            return buf;
        }
    }
    snprintf(buf, size, "%s", PMIRROR_DEFAULT_PROFILE);
    return buf;
}

pm_capmap *cli_load_map(const char *map_path, const char *profile, pm_err *err)
{
    char dir[4096], path[4200];
    if (!map_path) {
        snprintf(path, sizeof path, "%s/capabilities.yaml", cli_profile_dir(profile, dir, sizeof dir));
        map_path = path;
    }
    return pm_capmap_load(map_path, err);
}

pm_redactor *cli_redactor(const char *key, const char *output, const char *profile_dir, pm_err *err)
{
    json_t *rules = NULL;
    if (pm_redact_rules_load(profile_dir, &rules, err) != 0)
        return NULL;
    pm_redactor *r = pm_redactor_new(key, output, rules, err);
    json_decref(rules);
    return r;
}

int cli_selection(const cli_list *families, const cli_list *selects, pm_selection **out, pm_err *err)
{
    *out = NULL;
    if (!families->n && !selects->n)
        return 0;
    pm_selection *s = pm_selection_new();
    if (!s)
        return pm_err_set(err, "out of memory");
    for (size_t i = 0; i < families->n; i++)
        if (pm_selection_add_family(s, families->items[i], err) != 0)
            goto fail;
    for (size_t i = 0; i < selects->n; i++)
        if (pm_selection_parse(s, selects->items[i], err) != 0)
            goto fail;
    *out = s;
    return 0;
fail:
    pm_selection_free(s);
    return -1;
}
