/* SPDX-License-Identifier: Apache-2.0 */
/*
 * curl_error.c — the one table from a libcurl transfer result to the short error code a
 * result record carries (DESIGN.md "Files": `timeout`, `refused`, `reset`, `tls`, …).
 * Replay's calls and the tee's transfers to the primary both read it, so a failure has
 * one name whoever met it. core does not link libcurl: curl.h is here for the constants.
 */
#include "core.h"

#include <curl/curl.h>

const char *pm_curl_error_code(int curl_result)
{
    switch ((CURLcode)curl_result) {
    case CURLE_OK:
        return NULL;
    case CURLE_COULDNT_CONNECT:
    case CURLE_COULDNT_RESOLVE_HOST:
        return "refused";
    case CURLE_OPERATION_TIMEDOUT:
        return "timeout";
    case CURLE_RECV_ERROR:
    case CURLE_SEND_ERROR:
    case CURLE_GOT_NOTHING:
        return "reset";
    case CURLE_PARTIAL_FILE: /* the connection closed before the announced length */
        return "truncated";
    case CURLE_WEIRD_SERVER_REPLY:
    case CURLE_BAD_CONTENT_ENCODING:
    case CURLE_UNSUPPORTED_PROTOCOL:
        return "garbage";
    case CURLE_SSL_CONNECT_ERROR:
    case CURLE_PEER_FAILED_VERIFICATION:
    case CURLE_SSL_CERTPROBLEM:
    case CURLE_SSL_CIPHER:
    case CURLE_SSL_CACERT_BADFILE:
        return "tls";
    default:
        return "other";
    }
}
