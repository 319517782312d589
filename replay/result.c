/* SPDX-License-Identifier: Apache-2.0 */
/*
 * result.c — an exchange's result record, written as text: the capture record's own line,
 * its closing brace replaced by what each target answered (status, headers, body, timing,
 * error), secrets redacted the way a capture's are. Runs where the results are written
 * (another thread in `run`), off the replay loop.
 *
 * A body both targets answered byte for byte (a parity test's usual case) is hashed once:
 * the second answer is written from the first one's stored body (answer_bodies).
 */
#include "replay_internal.h"

#include <stdlib.h>
#include <string.h>

/* An answer's Content-Type and Content-Encoding: what redacting its body looks at. Built
 * once per answer for learning and writing it; a value that is not UTF-8 is left out (as
 * json_pack("[ss]") did, at a tenth of its cost). */
static json_t *body_headers(const rp_call *call)
{
    json_t *headers = json_array();
    static const char *const wanted[] = {"content-type", "content-encoding"};
    for (size_t i = 0; i < 2; i++) {
        const char *v = rp_call_header(call, wanted[i]);
        json_t *value = v ? json_string(v) : NULL, *pair = value ? json_array() : NULL;
        if (!pair) {
            json_decref(value);
            continue;
        }
        json_array_append_new(pair, json_string(wanted[i]));
        json_array_append_new(pair, value);
        json_array_append_new(headers, pair);
    }
    return headers;
}

/* What a spreading redactor learns of one answer before any is written: an issued token
 * or a session cookie echoed in another answer's part is redacted there too. The body's
 * fields pass is kept in *fields for writing it (pm_body_to_jtext_learned): not a second
 * scan of every JSON body. */
static void learn_answer(const pm_redactor *r, const rp_call *call, const json_t *headers, pm_body_fields *fields)
{
    if (!call->status)
        return;
    for (size_t at = 0; at < call->hdr_len;) {
        const char *n = call->hdr + at, *v = n + strlen(n) + 1;
        at = (size_t)(v + strlen(v) + 1 - call->hdr);
        pm_redact_learn_header(r, n, v);
    }
    if (call->spilled)
        pm_redact_learn_body_fields(r, headers, call->resp_body.data, call->resp_body.len, fields);
    else
        pm_redact_learn_body_fields(r, headers, call->data, call->data_len, fields);
}

/* One target's answer as a JSON object, written straight as text, its secrets (a session
 * cookie, a token the backend issued, a credential the suite sent it and it echoed)
 * redacted as a capture's are; headers (body_headers) and fields (its body's fields pass)
 * as learn_answer had them. */
static void write_response(pm_jtext *t, const rp_exchange *x, const rp_call *call, const pm_target *target,
                           const pm_redactor *r, const json_t *headers, pm_body_fields *fields, const pm_body *body)
{
    if (target->recorded) { /* the capture's own response, with the target's keys added */
        const rp_record *rec = x->rec;
        if (rec->response >= 0 && pm_jtape_find(&rec->tape, (size_t)rec->response, "role") < 0 &&
            pm_jtape_find(&rec->tape, (size_t)rec->response, "error") < 0) {
            /* its text as recorded, reopened: not parsed into a tree and serialized again */
            pm_jtext_object_extend_from(t, &rec->tape, (size_t)rec->response);
            pm_jtext_key_lit(t, "role");
            pm_jtext_cstring(t, pm_role_name(target->role));
            pm_jtext_key_lit(t, "error");
            pm_jtext_cstring(t, call->error);
            pm_jtext_object_end(t);
            return;
        }
        json_t *copy = rec->response >= 0 ? rp_record_json(rec, rec->response) : json_object();
        json_object_set_new(copy, "role", json_string(pm_role_name(target->role)));
        json_object_set_new(copy, "error", call->error ? json_string(call->error) : json_null());
        pm_jtext_json(t, copy);
        json_decref(copy);
        return;
    }
    pm_jtext_object_begin(t);
    pm_jtext_key_lit(t, "role");
    pm_jtext_cstring(t, pm_role_name(target->role));
    if (call->skipped) {
        pm_jtext_key_lit(t, "skipped");
        pm_jtext_bool(t, true);
    }
    if (call->status) {
        pm_jtext_key_lit(t, "status");
        pm_jtext_int(t, call->status);
        pm_jtext_key_lit(t, "headers");
        pm_jtext_array_begin(t);
        for (size_t at = 0; at < call->hdr_len;) {
            const char *n = call->hdr + at, *v = n + strlen(n) + 1;
            at = (size_t)(v + strlen(v) + 1 - call->hdr);
            char *red = r ? pm_redact_header_value(r, n, v) : NULL;
            pm_jtext_array_begin(t);
            pm_jtext_cstring(t, n);
            pm_jtext_cstring(t, red ? red : v);
            pm_jtext_array_end(t);
            free(red);
        }
        pm_jtext_array_end(t);
        pm_body_to_jtext_learned(call->spilled ? &call->resp_body : body, r, headers, fields, t);
    }
    if (call->sent_us) {
        pm_jtext_key_lit(t, "latency_us");
        pm_jtext_int(t, call->first_byte_us ? call->first_byte_us - call->sent_us : 0);
        pm_jtext_key_lit(t, "done_us");
        pm_jtext_int(t, call->done_us - call->sent_us);
    }
    pm_jtext_key_lit(t, "error");
    pm_jtext_cstring(t, call->error);
    if (call->error && call->curl_error[0]) {
        pm_jtext_key_lit(t, "error_detail");
        pm_jtext_cstring(t, call->curl_error);
    }
    rp_stream_write(t, call);
    pm_jtext_object_end(t);
}

/* Whether call i's answer is written with a body of its own (kept whole: not spilled). */
static bool keeps_body(const rp_exchange *x, size_t i)
{
    const rp_call *c = &x->calls[i];
    return c->status && !c->spilled && !x->suite->targets[i].recorded && !(x->mixed && x->mixed->target != i);
}

/* The stored (hashed) body of each answer that keeps its body whole, in bodies[i];
 * shared[i] is the index whose body answer i is written from: its own, or that of an
 * earlier answer with the same bytes (hashed once). Hashed here, off the replay loop.
 * false when hashing failed (out of memory). */
static bool answer_bodies(const rp_exchange *x, pm_body *bodies, size_t *shared)
{
    bool ok = true;
    for (size_t i = 0; i < x->suite->ntargets; i++) {
        const rp_call *c = &x->calls[i];
        shared[i] = i;
        memset(&bodies[i], 0, sizeof bodies[i]);
        if (!keeps_body(x, i))
            continue;
        for (size_t j = 0; j < i && shared[i] == i; j++) {
            const rp_call *d = &x->calls[j];
            if (keeps_body(x, j) && shared[j] == j && d->data_len == c->data_len && d->body_limit == c->body_limit &&
                (c->data_len == 0 || memcmp(d->data, c->data, c->data_len) == 0))
                shared[i] = j;
        }
        if (shared[i] != i)
            continue;
        if (x->hash_uncut)
            pm_body_init(&bodies[i], c->body_limit);
        else
            pm_body_init_sha_when_cut(&bodies[i], c->body_limit);
        if (c->data_len > 0 && pm_body_append(&bodies[i], c->data, c->data_len) != 0)
            ok = false;
    }
    return ok;
}

/* The capture record's own text, its closing brace replaced by the replay's keys: the
 * recorded bodies are not parsed and escaped a second time. */
static int result_text(const rp_exchange *x, pm_jtext *t)
{
    const pm_suite *suite = x->suite;
    pm_secrets *secrets = NULL;
    pm_redactor *r = NULL;
    if (x->redactor && (!(secrets = pm_secrets_new()) || pm_secrets_add_all(secrets, x->sent) != 0 ||
                        !(r = pm_redactor_spreading(x->redactor, secrets, NULL)))) {
        pm_secrets_free(secrets);
        return -1;
    }
    pm_body_fields fields[suite->ntargets ? suite->ntargets : 1];
    json_t *headers[suite->ntargets ? suite->ntargets : 1];
    memset(fields, 0, sizeof fields);
    for (size_t i = 0; i < suite->ntargets; i++) {
        const rp_call *call = &x->calls[i];
        headers[i] = r && !suite->targets[i].recorded && call->status ? body_headers(call) : NULL;
        if (headers[i])
            learn_answer(r, call, headers[i], &fields[i]);
    }
    pm_body bodies[suite->ntargets ? suite->ntargets : 1];
    size_t shared[suite->ntargets ? suite->ntargets : 1];
    bool hashed = answer_bodies(x, bodies, shared);
    if (t->tape) { /* following: the record's own tokens carried over */
        pm_jtext_reset(t);
        pm_jtext_object_extend_from(t, &x->rec->tape, 0);
    } else {
        pm_jtext_object_reopen(t, x->rec->text, x->rec->text_len);
    }
    if (!hashed)
        t->failed = true;
    pm_jtext_key_lit(t, "responses");
    pm_jtext_object_begin(t);
    int64_t first_sent = INT64_MAX, last_sent = 0;
    for (size_t i = 0; i < suite->ntargets; i++) {
        const rp_call *call = &x->calls[i];
        if (x->mixed && x->mixed->target != i)
            continue; /* a mixed step: one answer */
        pm_jtext_key(t, suite->targets[i].name);
        write_response(t, x, call, &suite->targets[i], r, headers[i], &fields[i], &bodies[shared[i]]);
        if (call->sent_us && call->sent_us < first_sent)
            first_sent = call->sent_us;
        if (call->sent_us > last_sent)
            last_sent = call->sent_us;
    }
    pm_jtext_object_end(t);
    if (first_sent != INT64_MAX) {
        pm_jtext_key_lit(t, "send_skew_us");
        pm_jtext_int(t, last_sent - first_sent);
    }
    if (x->mixed) {
        pm_jtext_key_lit(t, "mixed");
        pm_jtext_object_begin(t);
        pm_jtext_key_lit(t, "pattern");
        pm_jtext_cstring(t, replay_mixed_name(x->mixed->pattern));
        pm_jtext_key_lit(t, "flow");
        pm_jtext_cstring(t, x->mixed->flow);
        pm_jtext_key_lit(t, "kind");
        pm_jtext_cstring(t, x->mixed->kind);
        pm_jtext_key_lit(t, "step");
        pm_jtext_int(t, x->mixed->step);
        pm_jtext_key_lit(t, "target");
        pm_jtext_cstring(t, suite->targets[x->mixed->target].name);
        pm_jtext_object_end(t);
    }
    pm_jtext_object_end(t);
    for (size_t i = 0; i < suite->ntargets; i++) {
        json_decref(headers[i]);
        pm_body_fields_clear(&fields[i]); /* those of answers not written */
        pm_body_free(&bodies[i]);
    }
    pm_redactor_free(r);
    pm_secrets_free(secrets);
    return t->failed ? -1 : 0;
}

int rp_result_text(const rp_exchange *x, pm_jtext *out)
{
    return result_text(x, out);
}

int replay_exchange_text(const replay_exchange *x, pm_jtext *out)
{
    return result_text(x, out);
}
