/* SPDX-License-Identifier: Apache-2.0 */
/*
 * core/names.h — the family and capability names a profile defines (names.c): what rules,
 * gates and selections may name. One part of core's public interface; core/core.h includes
 * every part.
 */
#ifndef PM_CORE_NAMES_H
#define PM_CORE_NAMES_H

#include <jansson.h>
#include <stdbool.h>

#include "capmap.h"
#include "config.h"
#include "err.h"
#include "profile.h"
#include "workers.h"

typedef struct pm_names pm_names;

/* The families and capabilities of a capability map (NULL: none) and the families of a
 * worker map (NULL: none; a job's capability comes from its body, so a worker family's
 * capabilities are not checked). UNKNOWN, the family of what no route matches, is known. */
pm_names *pm_names_new(const pm_capmap *map, const pm_workers *workers, pm_err *err);
/* The same from the profile's files as the profile finds them (absent files: none);
 * *out NULL (nothing to check against) when it has neither. 0, or -1 with err. */
int pm_names_load(const pm_profile *p, pm_names **out, pm_err *err);
void pm_names_free(pm_names *n);
bool pm_names_has_family(const pm_names *n, const char *family);
/* family NULL: the capability of any family. */
bool pm_names_has_capability(const pm_names *n, const char *family, const char *capability);
/* Checks a name written in cfg: at node (a value), or, when object is given, at its key
 * `name` (a mapping keyed by family or capability, as gate.yaml's). 0, or -1 with err
 * "FILE:LINE:COL: WHAT: unknown family 'X' (the profile's families: A, B, ...)". n NULL:
 * every name passes. */
int pm_names_check_family(const pm_names *n, const pm_config *cfg, const json_t *object, const json_t *node,
                          const char *what, const char *family, pm_err *err);
/* family NULL: a capability of any family. */
int pm_names_check_capability(const pm_names *n, const pm_config *cfg, const json_t *object, const json_t *node,
                              const char *what, const char *family, const char *capability, pm_err *err);
/* Checks a list of names (a rule's `families:` or `capabilities:`, a selection's
 * families); a list that is not one of strings passes (its loader says what is wrong). */
int pm_names_check_list(const pm_names *n, const pm_config *cfg, const json_t *list, const char *what,
                        bool capabilities, pm_err *err);
/* Names given on the command line (--family): "WHAT X: unknown family (known: ...)". */
int pm_names_check_given(const pm_names *n, const char *const *families, size_t count, const char *what,
                         pm_err *err);

#endif
