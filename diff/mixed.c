/* SPDX-License-Identifier: Apache-2.0 */
/*
 * mixed.c — the verdict of one step of a --mixed flow (replay/mixed.c).
 *
 * A mixed step was answered by one target only, so there is no pair of answers to
 * compare: the step is judged against the recording instead. It succeeded when it was
 * sent and answered, its status is of the recorded status's class (2xx for 2xx, ...), and
 * when the recorded answer named an object by digest (Docker-Content-Digest: the blob an
 * upload's PUT stored, a pushed manifest) the answer names the same one. A failure is
 * said in one line a reviewer can act on: "PATCH /v2/acme/app/blobs/uploads/… answered
 * 404 by go, recorded 202". Its diff record has the verdict `mixed`; reports score the
 * flows as their own dimension, never as parity.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "diff_internal.h"

/* The request as a failure names it: its method and path without the query, an upload's
 * id shortened to "…" (each replay has its own). */
static void describe_request(const json_t *result, char *buf, size_t size)
{
    const json_t *req = json_object_get(result, "request");
    const char *method = json_string_value(json_object_get(req, "method"));
    const char *target = json_string_value(json_object_get(req, "target"));
    target = target ? pm_target_origin_form(target) : "?";
    size_t len = strcspn(target, "?");
    const char *uploads = strstr(target, "/blobs/uploads/");
    bool shortened = false;
    if (uploads && (size_t)(uploads - target) < len && (size_t)(uploads - target) + 15 < len) {
        len = (size_t)(uploads - target) + 15;
        shortened = true;
    }
    snprintf(buf, size, "%s %.*s%s", method ? method : "?", (int)(len > 300 ? 300 : len), target,
             shortened ? "\xE2\x80\xA6" : "");
}

int diff_mixed_judge(const char *line, size_t len, json_t *d, pm_err *err)
{
    json_error_t jerr;
    json_t *result = json_loadb(line, len, 0, &jerr);
    const json_t *mixed = json_object_get(result, "mixed");
    if (!result) {
        return pm_err_set(err, "the record does not parse: %s", jerr.text);
    }
    if (!json_is_object(mixed)) {
        json_decref(result);
        return 1; /* "mixed" was a key deeper down: an ordinary result */
    }
    const char *target = json_string_value(json_object_get(mixed, "target"));
    const json_t *answer = target ? json_object_get(json_object_get(result, "responses"), target) : NULL;
    const json_t *recorded = json_object_get(result, "response");
    json_int_t want = json_integer_value(json_object_get(recorded, "status"));
    json_int_t got = json_integer_value(json_object_get(answer, "status"));
    const char *error = json_string_value(json_object_get(answer, "error"));
    const char *want_digest = pm_headers_get(json_object_get(recorded, "headers"), "docker-content-digest");
    const char *got_digest = pm_headers_get(json_object_get(answer, "headers"), "docker-content-digest");
    char req[400], why[900];
    describe_request(result, req, sizeof req);
    why[0] = '\0';
    if (!answer)
        snprintf(why, sizeof why, "%s: no answer from %s in the result", req, target ? target : "(no target)");
    else if (error && strcmp(error, "correlation") == 0)
        snprintf(why, sizeof why, "%s not sent to %s: it carries a value an earlier step's answer never issued",
                 req, target);
    else if (error)
        snprintf(why, sizeof why, "%s not answered by %s: %s", req, target, error);
    else if (want > 0 && got / 100 != want / 100)
        snprintf(why, sizeof why, "%s answered %lld by %s, recorded %lld", req, (long long)got, target,
                 (long long)want);
    else if (want <= 0 && (got < 200 || got >= 400))
        snprintf(why, sizeof why, "%s answered %lld by %s (no recorded status)", req, (long long)got, target);
    else if (want_digest && want / 100 == 2 && (!got_digest || strcmp(want_digest, got_digest) != 0))
        snprintf(why, sizeof why, "%s answered %lld by %s with Docker-Content-Digest %.80s, recorded %.80s", req,
                 (long long)got, target, got_digest ? got_digest : "(none)", want_digest);
    json_t *out = json_deep_copy(mixed);
    json_object_set_new(out, "ok", json_boolean(why[0] == '\0'));
    if (why[0])
        json_object_set_new(out, "failure", json_string(why));
    json_object_set_new(d, "mixed", out);
    json_object_set_new(d, "verdict", json_string("mixed"));
    json_object_set_new(d, "differences", json_array());
    json_object_set_new(d, "noise", json_array());
    json_decref(result);
    return 0;
}
