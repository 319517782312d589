/* SPDX-License-Identifier: Apache-2.0 */
/*
 * target.c — request targets as the wire carries them: the origin form of a target
 * (proxies send absolute form), which bytes a request line may carry, and the request a
 * client library should send to a base URL so that the server reads the target exactly
 * as recorded.
 *
 * Why the last one: libcurl normalises the path of a URL (dot segments removed, the
 * fragment dropped, bytes >= 0x80 percent-encoded), so a primary or a replay target would
 * read another target than the one classified and recorded. The tee and replay therefore
 * give curl only the base URL's origin and pass the target verbatim
 * (CURLOPT_REQUEST_TARGET); nothing reaches that option unchecked (pm_target_is_clean).
 */
#include "core.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

const char *pm_target_origin_form(const char *target)
{
    if (strncasecmp(target, "http://", 7) == 0 || strncasecmp(target, "https://", 8) == 0) {
        const char *slash = strchr(strstr(target, "//") + 2, '/');
        return slash ? slash : "/";
    }
    return target;
}

bool pm_target_is_clean(const char *target)
{
    if (!*target)
        return false;
    for (const unsigned char *p = (const unsigned char *)target; *p; p++)
        if (*p <= 0x20 || *p == 0x7f)
            return false;
    return true;
}

static bool is_tchar(unsigned char c)
{
    if ((c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'))
        return true;
    return c && strchr("!#$%&'*+-.^_`|~", c) != NULL;
}

bool pm_field_name_is_token(const char *name)
{
    if (!*name)
        return false;
    for (const unsigned char *p = (const unsigned char *)name; *p; p++)
        if (!is_tchar(*p))
            return false;
    return true;
}

bool pm_field_value_is_clean(const char *value)
{
    for (const unsigned char *p = (const unsigned char *)value; *p; p++)
        if ((*p < 0x20 && *p != '\t') || *p == 0x7f)
            return false;
    return true;
}

/* Length of "scheme://authority" at the start of url (0 when url has no scheme). */
static size_t origin_len(const char *url)
{
    const char *sep = strstr(url, "://");
    if (!sep)
        return 0;
    return (size_t)(sep + 3 - url) + strcspn(sep + 3, "/?#");
}

int pm_request_for(const char *base_url, const char *target, char **origin_url, char **request_target)
{
    *origin_url = *request_target = NULL;
    const char *base_path;
    size_t olen;
    if (pm_is_unix_url(base_url)) { /* the socket is curl's to reach; the URL only names a host */
        char socket_path[PM_UNIX_PATH_MAX + 1];
        pm_err err;
        if (pm_unix_url_split(base_url, socket_path, sizeof socket_path, &base_path, &err) != 0)
            return -1;
        base_url = "http://localhost";
        olen = strlen(base_url);
    } else {
        olen = origin_len(base_url);
        if (olen == 0)
            return -1;
        base_path = base_url + olen;
    }
    /* the base URL's own path is a prefix (a backend mounted under /quay), without its
     * trailing slashes, and never its query or fragment */
    size_t plen = strcspn(base_path, "?#");
    while (plen > 0 && base_path[plen - 1] == '/')
        plen--;
    const char *path = pm_target_origin_form(target);
    const char *slash = path[0] == '/' || (plen == 0 && strcmp(path, "*") == 0) ? "" : "/";
    size_t n = plen + strlen(slash) + strlen(path) + 1;
    *origin_url = malloc(olen + 2);
    *request_target = malloc(n);
    if (!*origin_url || !*request_target) {
        free(*origin_url);
        free(*request_target);
        *origin_url = *request_target = NULL;
        return -1;
    }
    /* memcpy, not snprintf: this runs for every request replay sends */
    memcpy(*origin_url, base_url, olen);
    memcpy(*origin_url + olen, "/", 2);
    size_t slen = strlen(slash), tlen = n - 1 - plen - slen;
    memcpy(*request_target, base_path, plen);
    memcpy(*request_target + plen, slash, slen);
    memcpy(*request_target + plen + slen, path, tlen + 1);
    return 0;
}

void pm_jtext_target(pm_jtext *t, const char *target)
{
    size_t n = strlen(target);
    pm_jtext_key_lit(t, "target");
    pm_jtext_string(t, target, n); /* bytes that are not UTF-8 read as Latin-1 here ... */
    if (pm_utf8_valid((const unsigned char *)target, n))
        return;
    char *b64 = pm_base64_encode((const unsigned char *)target, n); /* ... and exactly here */
    pm_jtext_key_lit(t, "target_b64");
    pm_jtext_cstring(t, b64 ? b64 : "");
    free(b64);
}
