/* SPDX-License-Identifier: Apache-2.0 */
/*
 * profile_skeleton.c — `pmirror profile init`'s files: a commented skeleton of every file a
 * profile has (profile.c's list), each one loading as written, for a small made-up service
 * (items and a health check) that the user edits into theirs. Every key is explained where
 * it is used; the README's "A profile for another service" has the same schemas.
 */
#include "core.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static const char capabilities_yaml[] =
    "# capabilities.yaml: which requests belong to which family and capability (pmirror classify\n"
    "# METHOD TARGET --profile DIR shows what it makes of one request).\n"
    "#\n"
    "# families.<FAMILY>              routes promoted and gated together: one owner switch\n"
    "#   switch: NAME                 optional; default: the family's own name\n"
    "#   capabilities.<CAP>           routes scored together within the family\n"
    "#     switch: NAME               optional: the capability's own switch\n"
    "#     routes:                    a list of {method, path} (required) and, optional:\n"
    "#       method: GET              one method, or \"*\" for any method\n"
    "#       path: /items/{id}        {name} is one path segment; {name:type} uses `types`\n"
    "#       id: NAME                 the route's name (route_id in records; default none)\n"
    "#       switch: NAME             a per-route switch (default none)\n"
    "#       mutating: true|false     default: every method but GET, HEAD and OPTIONS (a \"*\"\n"
    "#                                route: as the request's method)\n"
    "#       streaming: true          its answer is an event stream, held for a window (default\n"
    "#                                false; a text/event-stream Content-Type says so too)\n"
    "# types: {NAME: regex}           optional; built in: segment '[^/]+', path '[^/].*'\n"
    "# namespace_vars: [names]        optional: path variables giving the cohort's org\n"
    "# repository_vars: [names]       optional: path variables giving the cohort's repo\n"
    "#\n"
    "# Only the path is matched. When several routes match, the one with the most literal\n"
    "# characters wins; HEAD is answered by a GET route unless a HEAD route exists. A request no\n"
    "# route matches is family UNKNOWN: counted, never dropped.\n"
    "families:\n"
    "  ITEMS:\n"
    "    capabilities:\n"
    "      ITEM_READ:\n"
    "        routes:\n"
    "          - {method: GET, path: /items}\n"
    "          - {method: GET, path: '/items/{id}'}\n"
    "      ITEM_WRITE:\n"
    "        routes:\n"
    "          - {method: POST, path: /items}\n"
    "          - {method: '*', path: '/items/{id}/tags'}\n"
    "  HEALTH:\n"
    "    capabilities:\n"
    "      HEALTH_CHECK:\n"
    "        routes:\n"
    "          - {method: GET, path: /health}\n";

static const char rules_yaml[] =
    "# rules.yaml: what may legitimately differ between the baseline's and the candidate's\n"
    "# answers. A rule hides a difference: write none that would hide a real one. The first\n"
    "# live rule that matches a header or a path decides.\n"
    "#\n"
    "# rules: a list of\n"
    "#   kind: ignore_header | ignore_path | shape | jwt | url_host | array_set | tolerance | normalize\n"
    "#   header: NAME (case-insensitive)   or   path: $.a.b, $.list[*].x, $..anywhere\n"
    "#   shape: rfc2822 | rfc3339 | uuid | digest | jwt | string   (kind: shape)\n"
    "#   reason: why (required)\n"
    "#   families: [FAMILY...], capabilities: [CAP...]   where it applies (default: everywhere;\n"
    "#            a name capabilities.yaml does not have is an error)\n"
    "#   owner + expires: YYYY-MM-DD   a known mismatch, accepted until that date\n"
    "rules:\n"
    "  - {kind: ignore_header, header: date, reason: \"the time of the answer\"}\n"
    "  - {kind: ignore_header, header: server, reason: \"each implementation names itself\"}\n"
    "  - {kind: shape, path: $.created_at, shape: rfc3339, families: [ITEMS], reason: \"a time, not a value\"}\n";

static const char gate_yaml[] =
    "# gate.yaml: what a family (and a capability) must show before its switch may move to the\n"
    "# candidate. Without this file the built-in defaults below apply (report.json's run.gate\n"
    "# says \"built-in defaults\"). null switches a check off.\n"
    "#\n"
    "# snapshot_name   what `pmirror gate` proposes owners for (default \"the switch snapshot\")\n"
    "# defaults        thresholds for every family:\n"
    "#   min_samples 200, min_parity_lower 0.99, max_error_rate 0.01, max_error_rate_increase null,\n"
    "#   max_p95_ratio 1.10, max_p99_ratio null, max_mismatches null, min_capability_coverage 0.5,\n"
    "#   budget null (a name shown in the reasons)\n"
    "# families.<FAMILY>                   overrides for one family (names from capabilities.yaml)\n"
    "#   capabilities.<CAP>                overrides for one of its capabilities\n"
    "# trend: {max_parity_drop: 0.005, max_p95_increase: 0.10}   with --previous: a regression\n"
    "snapshot_name: the switch snapshot\n"
    "defaults:\n"
    "  min_samples: 200\n"
    "  min_parity_lower: 0.99\n"
    "  max_error_rate: 0.01\n"
    "  max_p95_ratio: 1.10\n"
    "  min_capability_coverage: 0.5\n"
    "families:\n"
    "  HEALTH:\n"
    "    min_samples: 20               # a health check answers the same every time\n"
    "trend:\n"
    "  max_parity_drop: 0.005\n"
    "  max_p95_increase: 0.10\n";

static const char correlation_yaml[] =
    "# correlation.yaml: values a backend issues that later requests carry back (replay learns the\n"
    "# recorded value and each target's own and swaps them in). Built in, always: Location,\n"
    "# Content-Location, Link and the JSON fields token, access_token, next_page.\n"
    "#   headers: [NAME...]       more response headers to learn\n"
    "#   json_fields: [NAME...]   more JSON body fields to learn (any depth)\n"
    "headers: []\n"
    "json_fields: []\n";

static const char redact_yaml[] =
    "# redact.yaml: secret names this profile adds to the built-in ones (Authorization, Cookie,\n"
    "# Set-Cookie, token-like query parameters and JSON fields). Matched without regard to case.\n"
    "#   headers:     header names whose whole value is a secret\n"
    "#   query:       query parameters, and fields of form-encoded bodies\n"
    "#   json_fields: JSON object keys, at any depth, whose string value is a secret\n"
    "redact:\n"
    "  headers: []\n"
    "  query: []\n"
    "  json_fields: []\n";

static const char workers_yaml[] =
    "# workers.yaml (optional): background jobs read from a PostgreSQL queue table\n"
    "# (pmirror capture --queue, pmirror worker). Per queue: program (required), family (default\n"
    "# WORKER_<PROGRAM>), switch (default WORKER_OWNER_<PROGRAM>), namespaced, ordered,\n"
    "# capability, cohort, producer, redact, urls, probes, correlate; see config/quay/workers.yaml.\n"
    "workers:\n"
    "  example_queue:\n"
    "    program: exampleworker\n";

static const struct {
    const char *name, *text;
    bool optional; /* written only when asked (PM_SKELETON_WORKERS) */
} skeleton[] = {
    {"capabilities.yaml", capabilities_yaml, false}, {"rules.yaml", rules_yaml, false},
    {"gate.yaml", gate_yaml, false},                 {"correlation.yaml", correlation_yaml, false},
    {"redact.yaml", redact_yaml, false},             {"workers.yaml", workers_yaml, true},
};

static int write_new(const char *path, const char *text, pm_err *err)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
    if (fd < 0)
        return pm_err_set(err, "%s: %s", path, errno == EEXIST ? "already there (profile init never overwrites)" : strerror(errno));
    size_t len = strlen(text), done = 0;
    while (done < len) {
        ssize_t n = write(fd, text + done, len - done);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0) {
            int e = errno;
            close(fd);
            return pm_err_set(err, "%s: cannot write: %s", path, strerror(e));
        }
        done += (size_t)n;
    }
    return close(fd) == 0 ? 0 : pm_err_set(err, "%s: cannot write: %s", path, strerror(errno));
}

/* mkdir -p: dir and the directories above it that are missing. */
static int make_dirs(const char *dir, pm_err *err)
{
    char path[4096];
    if (snprintf(path, sizeof path, "%s", dir) >= (int)sizeof path)
        return pm_err_set(err, "%s: path too long", dir);
    for (char *p = path + 1; *p; p++) {
        if (*p != '/')
            continue;
        *p = '\0';
        if (mkdir(path, 0755) != 0 && errno != EEXIST)
            return pm_err_set(err, "%s: cannot create: %s", path, strerror(errno));
        *p = '/';
    }
    if (mkdir(path, 0755) != 0 && errno != EEXIST)
        return pm_err_set(err, "%s: cannot create: %s", path, strerror(errno));
    return 0;
}

int pm_profile_write_skeleton(const char *dir, bool workers, pm_err *err)
{
    if (make_dirs(dir, err) != 0)
        return -1;
    /* every file checked first, so that a refusal leaves nothing half written */
    char path[4200];
    for (size_t i = 0; i < sizeof skeleton / sizeof *skeleton; i++) {
        snprintf(path, sizeof path, "%s/%s", dir, skeleton[i].name);
        if ((workers || !skeleton[i].optional) && access(path, F_OK) == 0)
            return pm_err_set(err, "%s: already there (profile init never overwrites)", path);
    }
    for (size_t i = 0; i < sizeof skeleton / sizeof *skeleton; i++) {
        if (skeleton[i].optional && !workers)
            continue;
        snprintf(path, sizeof path, "%s/%s", dir, skeleton[i].name);
        if (write_new(path, skeleton[i].text, err) != 0)
            return -1;
    }
    return 0;
}
