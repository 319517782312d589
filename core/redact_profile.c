/* SPDX-License-Identifier: Apache-2.0 */
/*
 * redact_profile.c — the profile's extra secret names (PROFILE/redact.yaml), and the
 * redactor a command makes with them (pm_profile_redactor).
 *
 * The built-in lists (redact.c) cover Quay's traffic; a deployment with its own secret
 * headers, query parameters or JSON fields names them in its profile, and every command
 * that redacts (capture, import, tee --record, replay, run) adds them to the defaults.
 * Adding, never replacing: a profile cannot switch a default off by forgetting it. The
 * file is checked here, strictly (an unknown list is a typo that would leave a secret in
 * the clear), with file:line:column in every error.
 *
 *   redact:
 *     headers: [X-Acme-Key]
 *     query: [acme_sig]
 *     json_fields: [acme_pin]
 */
#include "core.h"

#include <string.h>

static const char *const lists[] = {"headers", "query", "json_fields", NULL};

static bool is_list_name(const char *key)
{
    for (const char *const *l = lists; *l; l++)
        if (strcmp(key, *l) == 0)
            return true;
    return false;
}

/* The `redact:` mapping: known lists only, each a list of non-empty strings. */
static int check_section(const pm_config *cfg, const json_t *section, pm_err *err)
{
    if (!json_is_object(section))
        return pm_config_error_at(cfg, section, err, "redact: want a mapping with headers, query, json_fields");
    const char *key;
    const json_t *list;
    json_object_foreach((json_t *)section, key, list) {
        if (!is_list_name(key))
            return pm_config_key_error_at(cfg, section, key, err,
                                          "redact.%s: unknown list (want headers, query or json_fields)", key);
        if (!json_is_array(list))
            return pm_config_error_at(cfg, list, err, "redact.%s: want a list of names", key);
        size_t i;
        const json_t *name;
        json_array_foreach(list, i, name)
            if (!json_is_string(name) || json_string_length(name) == 0)
                return pm_config_error_at(cfg, name, err, "redact.%s[%zu]: want a name (a non-empty string)", key, i);
    }
    return 0;
}

int pm_redact_rules_load(const char *path, json_t **rules, pm_err *err)
{
    *rules = NULL;
    if (!path) /* the profile has none (pm_profile: absent only when not there at all) */
        return 0;
    pm_config *cfg = pm_config_load(path, err);
    if (!cfg)
        return -1;
    const json_t *root = pm_config_root(cfg);
    int rc = 0;
    if (!json_is_object(root) || !json_object_get(root, "redact")) {
        rc = pm_config_error_at(cfg, root, err, "want a `redact:` section");
    } else {
        const char *key;
        const json_t *value;
        json_object_foreach((json_t *)root, key, value)
            if (rc == 0 && strcmp(key, "redact") != 0)
                rc = pm_config_key_error_at(cfg, root, key, err, "%s: unknown section (want redact)", key);
        if (rc == 0)
            rc = check_section(cfg, json_object_get(root, "redact"), err);
    }
    if (rc == 0)
        *rules = json_incref(json_object_get(root, "redact"));
    pm_config_free(cfg);
    return rc;
}

pm_redactor *pm_profile_redactor(const pm_profile *p, const char *key, const char *output, pm_err *err)
{
    json_t *rules = NULL;
    if (pm_redact_rules_load(p->redact.path, &rules, err) != 0)
        return NULL;
    pm_redactor *r = pm_redactor_new(key, output, rules, err);
    json_decref(rules);
    return r;
}
