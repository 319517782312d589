/* SPDX-License-Identifier: Apache-2.0 */
/*
 * core/config.h — config files: YAML or JSON loaded into one jansson tree, errors as
 * FILE:LINE:COL (config.c). One part of core's public interface; core/core.h includes every
 * part.
 */
#ifndef PM_CORE_CONFIG_H
#define PM_CORE_CONFIG_H

#include <jansson.h>
#include <stddef.h>

#include "err.h"

/* A loaded config file: YAML (.yaml/.yml, or anything not .json) through libyaml, JSON
 * through jansson, both as one jansson tree. For YAML it also remembers where each value
 * came from, so later checks can name file:line:column. */
typedef struct pm_config pm_config;

/* The deepest nesting of mappings and sequences a YAML config may have (the top level is
 * 1): deeper is an error naming file:line:column, raised as soon as the parser gets there
 * (libyaml's time grows with the square of the depth). Real configs nest a handful of
 * levels. JSON configs have jansson's own cap, JSON_PARSER_MAX_DEPTH (2048). */
#define PM_CONFIG_MAX_DEPTH 512

pm_config *pm_config_load(const char *path, pm_err *err);
/* Parses an in-memory document; name is used in messages. */
pm_config *pm_config_parse(const char *name, const char *text, size_t len, pm_err *err);
json_t *pm_config_root(const pm_config *cfg); /* borrowed */
const char *pm_config_path(const pm_config *cfg);
/* The line (1-based) a value of the tree was read from; 0 when unknown. */
int pm_config_line(const pm_config *cfg, const json_t *value);
/* Fills err with "FILE:LINE:COL: message" for the value (or "FILE: message" when its
 * position is unknown); returns -1. */
int pm_config_error_at(const pm_config *cfg, const json_t *value, pm_err *err, const char *fmt,
                       ...) __attribute__((format(printf, 4, 5)));
/* The same, at the position of the key `key` of a mapping (for "unknown key" errors: the
 * key is what is wrong, and true/false/null values have no position of their own). */
int pm_config_key_error_at(const pm_config *cfg, const json_t *object, const char *key, pm_err *err,
                           const char *fmt, ...) __attribute__((format(printf, 5, 6)));
/* Checks that obj is a mapping ("WHAT must be a mapping") whose keys are all in known
 * (NULL-terminated): an unknown one is an error at its key, "WHAT: unknown key 'K' (known:
 * A, B, ...)". 0, or -1 with err. */
int pm_config_check_keys(const pm_config *cfg, const json_t *obj, const char *what, const char *const *known,
                         pm_err *err);
void pm_config_free(pm_config *cfg);

#endif
