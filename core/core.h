/* SPDX-License-Identifier: Apache-2.0 */
/*
 * core.h — core/'s umbrella header: every part of the layer every stage stands on.
 *
 * Core owns what all stages share, one concern per header: errors (err.h), safe output files
 * (file.h), the JSON Lines files of DESIGN.md, whole or in numbered parts (jsonl.h) and the
 * JSON text and tape the hot paths use instead of trees (json_text.h, json_tape.h), config
 * loading (config.h), the profile and its files' paths (profile.h), the exchange record
 * (record.h) and its capped bodies (body.h), time (clock.h) and byte encodings (encode.h),
 * redaction of secrets at rest (redact.h), the Quay capability map with its classifier and
 * cohorts (capmap.h) and selection (select.h), suites (suite.h), request targets and methods
 * (target.h), the bounded hand-off between threads (handoff.h), the string-keyed hash table
 * and FNV-1a (table.h), hop-by-hop headers (hop_by_hop.h), zlib on whole buffers
 * (compress.h), the Wilson bound (wilson.h) and its always-valid sequential test
 * (sequential.h), listening sockets (net.h), Unix socket addresses (unix_addr.h),
 * Server-Sent Events streams (sse.h) and the worker map
 * with its queue jobs (workers.h). A file may include just the parts it uses, or this
 * header for all of them.
 *
 * Conventions: functions return 0 on success and -1 on failure with `pm_err` filled
 * (readers return 1 for "got one", 0 for "end"). Nothing here prints or exits; cli/ does.
 * Returned pointers are owned by the caller unless the comment says "borrowed".
 */
#ifndef PM_CORE_H
#define PM_CORE_H

#include "body.h"
#include "capmap.h"
#include "clock.h"
#include "compress.h"
#include "config.h"
#include "encode.h"
#include "err.h"
#include "file.h"
#include "handoff.h"
#include "hop_by_hop.h"
#include "json_tape.h"
#include "json_text.h"
#include "jsonl.h"
#include "names.h"
#include "net.h"
#include "profile.h"
#include "record.h"
#include "redact.h"
#include "select.h"
#include "sequential.h"
#include "sse.h"
#include "suite.h"
#include "table.h"
#include "target.h"
#include "unix_addr.h"
#include "wilson.h"
#include "workers.h"

#endif
