/* SPDX-License-Identifier: Apache-2.0 */
/*
 * sse.h — Server-Sent Events (text/event-stream, WHATWG HTML "Server-sent events", the
 * event stream interpretation): a stream's bytes read into its events. One part of core's
 * public interface; core.h includes it.
 */
#ifndef PM_SSE_H
#define PM_SSE_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* What a stream held besides its events. */
typedef struct pm_sse_counts {
    uint64_t events;    /* dispatched (a blank line after data) */
    uint64_t comments;  /* lines starting with ':' (keep-alives): counted, not kept */
    bool cut;           /* the bytes end inside an event (no blank line after its last
                         * field): the stream was closed mid-event; that event is not kept */
} pm_sse_counts;

/* The events of a stream, as the spec dispatches them: lines end with CRLF, LF or CR; a
 * leading BOM is skipped; `data` lines join with "\n"; `event` names the type ("message"
 * when none); `id` (without NUL) and `retry` (digits only) as given; other fields are
 * ignored; a blank line with no data dispatches nothing. Each event is an object
 * {"event": TYPE, "data": TEXT} with "id" when the event set one and "retry" when it set
 * one; data that is not valid UTF-8 is kept with its invalid bytes as U+FFFD. Returns a
 * new array (NULL: out of memory); counts may be NULL. */
json_t *pm_sse_events(const unsigned char *data, size_t len, pm_sse_counts *counts);

/* pm_sse_events, and with ends (not NULL) a new array (free()) of counts' `events` byte
 * offsets: where each event's dispatching blank line ended in data, e.g. to find when it
 * arrived. *ends is NULL when the result is. */
json_t *pm_sse_events_at(const unsigned char *data, size_t len, pm_sse_counts *counts, size_t **ends);

/* Whether a Content-Type names an event stream (text/event-stream, any parameters). */
bool pm_sse_is_stream_type(const char *content_type);

#endif
