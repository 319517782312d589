/* SPDX-License-Identifier: Apache-2.0 */
/*
 * test_unix_addr.c — Unix sockets as addresses (core/unix_addr.c, core/net.c,
 * core/target.c): the unix:/PATH and unix:/PATH:/base/path forms and the bad ones, the
 * request a client library is given for them, and what --listen unix:/PATH finds at the
 * path: nothing, a stale socket (replaced), a live one (refused), a plain file (refused);
 * the file's mode 0660 and its removal at the end.
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "core/core.h"

static void expect_split(const char *url, const char *path, const char *base)
{
    char got[PM_UNIX_PATH_MAX + 1];
    const char *b = NULL;
    pm_err err;
    cr_assert_eq(pm_unix_url_split(url, got, sizeof got, &b, &err), 0, "%s: %s", url, err.msg);
    cr_expect_str_eq(got, path, "%s", url);
    cr_expect_str_eq(b, base, "%s", url);
}

Test(unix_addr, url_forms)
{
    cr_expect(pm_is_unix_url("unix:/tmp/gunicorn_web.sock"));
    cr_expect(!pm_is_unix_url("http://unix:/x"));
    cr_expect(!pm_is_unix_url(NULL));
    expect_split("unix:/tmp/gunicorn_web.sock", "/tmp/gunicorn_web.sock", "");
    expect_split("unix:/tmp/gunicorn_web.sock:/quay", "/tmp/gunicorn_web.sock", "/quay");
    expect_split("unix:/run/g.sock:/a/b/", "/run/g.sock", "/a/b/");
}

Test(unix_addr, bad_forms)
{
    char long_url[300] = "unix:/";
    memset(long_url + 6, 'x', 200);
    const char *bad[] = {"unix:",           "unix:relative.sock", "unix:/a.sock:",      "unix:/a.sock:quay",
                         "unix:/a.sock:/q?x", "unix:/a.sock:/q#f",  "unix:/a.sock:/a b", "unix:/a\x01.sock",
                         "http://localhost", long_url};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        char path[PM_UNIX_PATH_MAX + 1];
        const char *base;
        pm_err err = {0};
        cr_expect_eq(pm_unix_url_split(bad[i], path, sizeof path, &base, &err), -1, "form %zu accepted", i);
        cr_expect(strlen(err.msg) > 0 && strstr(err.msg, "'"), "form %zu: the error names it: %s", i, err.msg);
    }
}

Test(unix_addr, request_for)
{
    char *o = NULL, *t = NULL;
    cr_assert_eq(pm_request_for("unix:/tmp/g.sock", "/v2/x?y=1", &o, &t), 0);
    cr_expect_str_eq(o, "http://localhost/");
    cr_expect_str_eq(t, "/v2/x?y=1");
    free(o);
    free(t);
    cr_assert_eq(pm_request_for("unix:/tmp/g.sock:/quay/", "http://quay.io/v2/", &o, &t), 0);
    cr_expect_str_eq(o, "http://localhost/");
    cr_expect_str_eq(t, "/quay/v2/", "the base path, then the target in origin form");
    free(o);
    free(t);
    cr_expect_eq(pm_request_for("unix:g.sock", "/", &o, &t), -1);
}

/* a directory of its own for the socket files (sun_path is short: /tmp, not the cwd) */
static char dir[64];
static void make_dir(void)
{
    snprintf(dir, sizeof dir, "/tmp/pm-unix-XXXXXX");
    cr_assert(mkdtemp(dir));
}
static void remove_dir(void)
{
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    cr_expect_eq(system(cmd), 0);
}

/* a socket bound at path by hand: listening (a live process) or not (closed: stale) */
static int bind_at(const char *path, bool listening)
{
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    cr_assert_lt(strlen(path), sizeof sa.sun_path);
    memcpy(sa.sun_path, path, strlen(path) + 1);
    int fd = socket(AF_UNIX, SOCK_STREAM, 0);
    cr_assert(fd >= 0);
    cr_assert_eq(bind(fd, (struct sockaddr *)&sa, sizeof sa), 0);
    if (listening)
        cr_assert_eq(listen(fd, 4), 0);
    return fd;
}

Test(unix_addr, stale_and_live, .init = make_dir, .fini = remove_dir)
{
    char path[128];
    snprintf(path, sizeof path, "%s/tee.sock", dir);
    pm_err err;
    cr_expect_eq(pm_unix_socket_state(path, &err), PM_UNIX_ABSENT);

    int live = bind_at(path, true);
    cr_expect_eq(pm_unix_socket_state(path, &err), PM_UNIX_LIVE);
    cr_expect_eq(pm_unix_listen(path, 16, &err), -1, "a live socket is not taken over");
    cr_expect(strstr(err.msg, path) && strstr(err.msg, "another process is listening"), "%s", err.msg);
    close(live); /* as a SIGKILL leaves it: the file stays, nobody accepts */
    struct stat st;
    cr_assert_eq(lstat(path, &st), 0);
    cr_expect_eq(pm_unix_socket_state(path, &err), PM_UNIX_STALE);

    int fd = pm_unix_listen(path, 16, &err);
    cr_assert(fd >= 0, "a stale socket is replaced: %s", err.msg);
    cr_assert_eq(lstat(path, &st), 0);
    cr_expect(S_ISSOCK(st.st_mode));
    cr_expect_eq(st.st_mode & 0777, 0660);
    cr_expect_eq(pm_unix_socket_state(path, &err), PM_UNIX_LIVE);
    pm_unix_unlink(path); /* still ours and listening: kept */
    cr_expect_eq(lstat(path, &st), 0);
    close(fd);
    pm_unix_unlink(path);
    cr_expect_neq(lstat(path, &st), 0, "the closed socket's file is removed");
}

Test(unix_addr, not_a_socket, .init = make_dir, .fini = remove_dir)
{
    char path[128];
    snprintf(path, sizeof path, "%s/plain", dir);
    FILE *f = fopen(path, "w");
    cr_assert(f);
    fclose(f);
    pm_err err;
    cr_expect_eq(pm_unix_socket_state(path, &err), PM_UNIX_OTHER);
    cr_expect_eq(pm_unix_listen(path, 16, &err), -1);
    cr_expect(strstr(err.msg, "not a socket"), "%s", err.msg);
    pm_unix_unlink(path);
    struct stat st;
    cr_expect_eq(lstat(path, &st), 0, "a plain file is never removed");
}

Test(unix_addr, listen_socket, .init = make_dir, .fini = remove_dir)
{
    char addr[160], described[160];
    snprintf(addr, sizeof addr, "unix:%s/serve.sock", dir);
    struct sockaddr_storage bound;
    pm_err err;
    int fd = pm_listen_socket(addr, 16, true, &bound, &err);
    cr_assert(fd >= 0, "%s", err.msg);
    uint16_t port = 1;
    pm_describe_address(&bound, described, sizeof described, &port);
    cr_expect_str_eq(described, addr);
    cr_expect_eq(port, 0);
    cr_expect_eq(pm_listen_socket(addr, 16, false, &bound, &err), -1, "the same path twice");
    close(fd);
    pm_listen_release(&bound);
    struct stat st;
    cr_expect_neq(lstat(addr + 5, &st), 0);
    char with_base[200];
    snprintf(with_base, sizeof with_base, "%s:/base", addr);
    cr_expect_eq(pm_listen_socket(with_base, 16, false, &bound, &err), -1, "a listen address has no base path");
}
