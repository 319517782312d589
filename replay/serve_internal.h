/* SPDX-License-Identifier: Apache-2.0 */
/*
 * serve_internal.h — private to replay/serve*.c: the "book" of recorded exchanges that
 * `pmirror serve` answers from, split from the HTTP side so matching can be read (and
 * tested through the server) on its own.
 *
 * serve_match.c owns loading a fixture into the book, the three indexes a request is
 * looked up in (exact target, target without `_state`, path only), the answer order for
 * repeated keys, and the upload-UUID map (fresh UUIDs handed out → recorded ones).
 * serve.c owns the listening socket, libmicrohttpd, and turning a matched exchange into
 * an HTTP answer. The book's mutable part (use counts, the UUID map) is behind its mutex;
 * everything else is immutable once loaded, so answers are built without the lock.
 */
#ifndef PM_REPLAY_SERVE_INTERNAL_H
#define PM_REPLAY_SERVE_INTERNAL_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/core.h"

#define SERVE_UUID_LEN 36

typedef struct serve_exchange {
    char *method;
    char *target;              /* origin-form: path and query */
    char request_sha256[65];   /* of the whole request body ("" body included) */
    int status;
    json_t *headers;           /* the recorded response headers (owned reference) */
    unsigned char *body;       /* the recorded response body, decoded */
    size_t body_len;
    int64_t latency_us;        /* recorded time to the first byte, -1 when unknown */
    uint64_t uses;             /* answers given from it (under the book's mutex) */
} serve_exchange;

typedef struct serve_book {
    serve_exchange *exchanges; /* in recorded order: ts then seq, else file order */
    size_t count;
    size_t skipped;            /* records without a usable response */
    char *warning;             /* the fixture's damage at the end, or NULL */
    json_t *by_target;         /* "METHOD target" → [exchange index, ...] in order */
    json_t *by_stateless;      /* "METHOD target without _state" → [...] */
    json_t *by_path;           /* "METHOD path" → [...] */
    json_t *fresh_uuids;       /* fresh UUID handed out → the recorded UUID it stands for */
    pthread_mutex_t lock;
} serve_book;

/* Loads every record of path. With target_name, result records' responses[NAME] are
 * served (records where it has an error or no status are skipped); without, each
 * record's own response (records without one are skipped). Errors name file:line. */
int serve_book_load(serve_book *book, const char *path, const char *target_name, pm_err *err);
void serve_book_free(serve_book *book);

/* One UUID to put back into an answer: the recorded value and the fresh one the client
 * knows it by. */
typedef struct serve_uuid_swap {
    char recorded[SERVE_UUID_LEN + 1];
    char fresh[SERVE_UUID_LEN + 1];
} serve_uuid_swap;

#define SERVE_MAX_SWAPS 8

typedef struct serve_match {
    const serve_exchange *exchange; /* NULL: nothing recorded matches */
    serve_uuid_swap swaps[SERVE_MAX_SWAPS];
    size_t nswaps;
} serve_match;

/* Finds the recorded exchange for one request and claims it (its turn in the recorded
 * order). Fresh UUIDs in target are first read back as the recorded ones; when the
 * answer hands out an upload UUID the client does not know yet, a fresh one is made and
 * remembered. body_sha256 is the hex SHA-256 of the whole request body. Thread-safe. */
void serve_book_match(serve_book *book, const char *method, const char *target,
                      const char *body_sha256, serve_match *out);

/* True when s[0..36) has the 8-4-4-4-12 hex shape of a UUID. */
bool serve_is_uuid(const char *s, size_t len);

#endif
