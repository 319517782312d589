/* SPDX-License-Identifier: Apache-2.0 */
/*
 * core/curl_sends.h — the requests curl sends for one transfer, counted, for handles kept
 * between transfers without curl_easy_reset (replay's per target, the tee's to the primary).
 * When a kept connection turns out closed as a request goes out on it, curl sends the
 * request again on a new one and counts a retry on the easy handle; only curl_easy_reset
 * clears that count, and at the sixth retry curl fails the transfer ("Connection died").
 * So a handle is kept as it is only after a transfer that sent exactly one request
 * (tests/integration/tee_reuse.sh). Counting needs CURLOPT_PREREQFUNCTION (libcurl 7.80);
 * without it nothing can be known, and no handle may be kept as it is. Like tls.h, inline:
 * compiled into the stages that link libcurl.
 */
#ifndef PM_CORE_CURL_SENDS_H
#define PM_CORE_CURL_SENDS_H

#include <curl/curl.h>
#include <stdbool.h>

#define PM_CURL_COUNTS_SENDS (LIBCURL_VERSION_NUM >= 0x075000) /* 7.80.0 */

#if PM_CURL_COUNTS_SENDS
static inline int pm_curl_count_send(void *sends, char *primary_ip, char *local_ip, int primary_port, int local_port)
{
    (void)primary_ip, (void)local_ip, (void)primary_port, (void)local_port;
    ++*(unsigned *)sends;
    return CURL_PREREQFUNC_OK;
}
#endif

/* The next transfer on e counts its requests into *sends (set to 0 now; valid until the
 * transfer ends); where libcurl cannot count, *sends stays 0. */
static inline void pm_curl_sends_count(CURL *e, unsigned *sends)
{
    *sends = 0;
#if PM_CURL_COUNTS_SENDS
    curl_easy_setopt(e, CURLOPT_PREREQFUNCTION, pm_curl_count_send);
    curl_easy_setopt(e, CURLOPT_PREREQDATA, sends);
#else
    (void)e;
#endif
}

/* Whether a finished transfer leaves its handle fit to keep as it is: no error, and one
 * request sent (never true where libcurl cannot count). */
static inline bool pm_curl_sends_clean(CURLcode result, unsigned sends)
{
    return PM_CURL_COUNTS_SENDS && result == CURLE_OK && sends == 1;
}

#endif
