/* SPDX-License-Identifier: Apache-2.0 */
/*
 * core/target.h — request targets and methods: origin form, what may go on a request line and
 * in a request head, how a client library sends a target exactly, and which methods are safe
 * (target.c, classify.c).
 * One part of core's public interface; core/core.h includes every part.
 */
#ifndef PM_CORE_TARGET_H
#define PM_CORE_TARGET_H

#include <stdbool.h>

#include "json_text.h"

/* The path-and-query of a target: itself in origin form, the part from the first '/' after
 * the authority in absolute form ("/" when there is none). Borrowed from target. */
const char *pm_target_origin_form(const char *target);
/* Whether target may go on a request line as it is: not empty, and no byte <= 0x20 (space
 * and the control bytes) and no DEL. */
bool pm_target_is_clean(const char *target);
/* Whether name is a field name (RFC 9110 5.1: a token, 5.6.2 tchar) and value a field value
 * (5.5: no control byte but HTAB, no DEL): what may go in a request head as "name: value"
 * without ending the line or the head early. */
bool pm_field_name_is_token(const char *name);
bool pm_field_value_is_clean(const char *value);
/* What a client library should send so the server reads target exactly: *origin_url, the
 * base URL's "scheme://authority/" (for CURLOPT_URL), and *request_target, the base URL's
 * path without trailing slashes followed by target in origin form (for
 * CURLOPT_REQUEST_TARGET). A "unix:/PATH[:/base]" base URL (unix_addr.h) gives
 * "http://localhost/" and its base path; the caller sets CURLOPT_UNIX_SOCKET_PATH. Both
 * new; -1 when base_url has no scheme, is a bad unix: form, or out of memory. */
int pm_request_for(const char *base_url, const char *target, char **origin_url, char **request_target);
/* A record's "target" key and, when the target is not UTF-8, "target_b64": its bytes
 * exactly ("target" shows them as Latin-1 for people and classification). Readers that
 * send the request take target_b64 when it is there. */
void pm_jtext_target(pm_jtext *t, const char *target);
/* GET, HEAD and OPTIONS: the methods the side-effect policy lets through to any target. */
bool pm_method_is_safe(const char *method);
/* Whether a request header asks a framework to treat the request as another, mutating
 * method: X-HTTP-Method-Override, X-HTTP-Method or X-Method-Override (any case) whose value
 * is not a safe method. Such a GET is mutating for the side-effect policy. */
bool pm_header_overrides_to_mutating(const char *name, const char *value);

#endif
