/* SPDX-License-Identifier: Apache-2.0 */
/*
 * core/proxy_env.h — whether the environment names a proxy (proxy_env.c), and a handle told
 * so once instead of by curl on every transfer. Without one, curl would look up five or six
 * *_proxy variables per transfer to find the same nothing (callgrind: getenv, a few thousand
 * instructions a transfer); with one, curl reads them as always. Replay's calls and the tee's
 * transfers to the primary both set their handles here. Like tls.h, the function that
 * touches a handle is inline, compiled into the stages that link libcurl.
 */
#ifndef PM_CORE_PROXY_ENV_H
#define PM_CORE_PROXY_ENV_H

#include <curl/curl.h>
#include <stdbool.h>

/* Whether any environment variable's name ends in "_proxy", in any case (http_proxy,
 * HTTPS_PROXY, all_proxy, no_proxy, ...: more than curl reads, so none it reads is missed).
 * Read once per process: a variable set later is not seen. */
bool pm_proxy_environment(void);

/* A handle told "no proxy" when the environment names none; else left to curl. Per transfer
 * after curl_easy_reset, or once for a handle that keeps its settings. */
static inline void pm_proxy_apply(CURL *e)
{
    if (!pm_proxy_environment()) {
        curl_easy_setopt(e, CURLOPT_PROXY, "");
        curl_easy_setopt(e, CURLOPT_NOPROXY, "");
    }
}

#endif
