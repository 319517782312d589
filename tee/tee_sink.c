/* SPDX-License-Identifier: Apache-2.0 */
/*
 * tee_sink.c — sink mode: copies that another proxy already mirrors here.
 *
 * nginx's `mirror` sends a subrequest to a location of its own, so the original target
 * arrives in a header (`proxy_set_header X-Original-URI $request_uri;`, --uri-header);
 * Envoy's `request_mirror_policies` keeps the path and appends "-shadow" to the Host.
 * Either way the copy is read whole (its body is the shadow's request body), answered
 * 204 at once — the mirroring proxy is never kept waiting — and queued without a
 * response: the replay engine sends it to the suite's targets.
 */
#include "tee_internal.h"

#include <string.h>
#include <strings.h>

enum MHD_Result tee_sink_handle(tee_front *t, tee_request *rq, const char *upload, size_t *upload_size)
{
    if (*upload_size > 0) {
        if (rq->x)
            tee_copy_body(t, rq, upload, *upload_size);
        *upload_size = 0;
        return MHD_YES;
    }
    if (rq->answered)
        return MHD_YES;
    rq->answered = true;
    if (rq->x) {
        rq->x->request_done_us = tee_wall_us() - rq->x->ts_us;
        tee_copy_finish(t, rq);
    }
    return MHD_queue_response(rq->mhd, MHD_HTTP_NO_CONTENT, t->no_content);
}
