/*
 * profile.c — finds the profile directory (capability map, rules, gate thresholds) so
 * that `build/pmirror` works from a fresh clone without flags, and an installed or
 * relocated binary can be pointed elsewhere.
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
