/* SPDX-License-Identifier: Apache-2.0 */
/*
 * proxy_env.c — whether the environment names a proxy (proxy_env.h), read once per process.
 */
#include "proxy_env.h"

#include <pthread.h>
#include <string.h>
#include <strings.h>

extern char **environ;

static pthread_once_t once = PTHREAD_ONCE_INIT;
static bool named;

static void read_environment(void)
{
    for (char **v = environ; v && *v; v++) {
        const char *eq = strchr(*v, '=');
        if (eq && eq - *v >= 6 && strncasecmp(eq - 6, "_proxy", 6) == 0) {
            named = true;
            return;
        }
    }
}

bool pm_proxy_environment(void)
{
    pthread_once(&once, read_environment);
    return named;
}
