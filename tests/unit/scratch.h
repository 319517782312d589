/* SPDX-License-Identifier: Apache-2.0 */
/*
 * scratch.h — a scratch directory for unit tests that write files: scratch_make makes one
 * under /tmp (a TestSuite's .init; Criterion runs each test in its own process, so each
 * test gets its own), scratch_remove removes it with everything in it (.fini), and
 * scratch_path(NAME) names a file in it. Included by test_*.c files only (not a test).
 */
#ifndef PM_TEST_SCRATCH_H
#define PM_TEST_SCRATCH_H

#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>

static char scratch_dir[64];

static inline void scratch_make(void)
{
    snprintf(scratch_dir, sizeof scratch_dir, "/tmp/pm-test-XXXXXX");
    cr_assert_not_null(mkdtemp(scratch_dir));
}

static inline void scratch_remove(void)
{
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", scratch_dir);
    cr_assert_eq(system(cmd), 0);
}

/* scratch_dir/name, in one of four rotating buffers (valid for the next three calls). */
static inline const char *scratch_path(const char *name)
{
    static char paths[4][200];
    static int next;
    char *p = paths[next++ % 4];
    snprintf(p, sizeof paths[0], "%s/%s", scratch_dir, name);
    return p;
}

#endif
