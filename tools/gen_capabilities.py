#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""Generates config/quay/capabilities.yaml from Quay's route tracker.

The tracker (fixtures/quay/quay-route-tracker.csv, a copy of the rewrite plan's list of
all 413 HTTP routes) names each route's family, method, Flask path template and switch.
This script turns that into pmirror's capability map: the cutover-matrix family, a
capability (a group of routes that is promoted and scored together), the capability
switch where the plan has one, whether the route changes state, and a path pattern in
pmirror's `{name:type}` syntax with Quay's route macros expanded.

Run it when the tracker changes:  python3 tools/gen_capabilities.py
The output is committed; pmirror never runs this script.
"""
import csv
import os
import re
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
CSV = os.path.join(ROOT, "fixtures/quay/quay-route-tracker.csv")
OUT = os.path.join(ROOT, "config/quay/capabilities.yaml")

# Quay's LOCAL_OAUTH_HANDLER default (config.py).
LOCAL_OAUTH_HANDLER = "/oauth/localapp"

FAMILY_OF_TRACKER = {
    "registry-v2": "REGISTRY_V2", "registry-v1": "REGISTRY_V1", "api-v1": "API_V1",
    "oauth2": "OAUTH", "oauth1": "OAUTH", "webhooks": "WEBHOOKS", "keys": "KEYS",
    "secscan": "SECSCAN", "realtime": "REALTIME", "well-known": "WELLKNOWN",
    "other": "OTHER", "web": "WEB",
}
FAMILY_ORDER = ["REGISTRY_V2", "REGISTRY_V1", "OAUTH", "API_V1", "WEBHOOKS", "KEYS",
                "SECSCAN", "REALTIME", "WELLKNOWN", "WEB", "OTHER"]

# First path segments that belong to a blueprint other than the web UI: the web
# catch-all routes (/<namespace>, /<repo>) never take them.
RESERVED = ["api", "v1", "v2", "oauth", "oauth1", "oauth2", "webhooks", "keys", "secscan",
            "realtime", r"\.well-known", "userfiles", "_storage_proxy_auth", "static", "cnr"]
RESERVED_RE = "(?!(?:%s)(?:/|$))" % "|".join(RESERVED)

TYPES = {
    "segment": "[^/]+",
    "repo": "[^/]+(?:/[^/]+)*",
    "digest": "[A-Za-z0-9_+.-]+:[A-Fa-f0-9]+",
    "tag": r"[\w][\w.-]{0,127}",
    "path": "[^/].*",
    "fileid": "[0-9a-zA-Z-]+",
    "webns": RESERVED_RE + "[^/]+",
    "webrepo": RESERVED_RE + "[^/]+(?:/[^/]+)+",
}

V2_ROUTE = "{repository:repo}"
MACROS = {
    "BLOB_DIGEST_ROUTE": "/" + V2_ROUTE + "/blobs/{digest:digest}",
    "MANIFEST_DIGEST_ROUTE": "/" + V2_ROUTE + "/manifests/{manifest_ref:digest}",
    "MANIFEST_TAGNAME_ROUTE": "/" + V2_ROUTE + "/manifests/{manifest_ref:tag}",
    "MANIFEST_REFERRERS_ROUTE": "/" + V2_ROUTE + "/referrers/{manifest_ref:digest}",
}
API_MANIFEST_DIGEST_ROUTE = "/v1/repository/{repository:repo}/manifest/{manifestref:digest}"
CONVERTERS = {"repopath": "repo", "apirepopath": "repo", "v1createrepopath": "repo",
              "repopathredirect": "webrepo", "path": "path"}


def pattern_of(template, tracker_family):
    """Flask template (with Quay's macros) -> pmirror pattern."""
    t = template
    if t.startswith("/api/<") and t.endswith(">"):
        inner = t[len("/api/<"):-1]
        if inner.startswith("'"):
            inner = inner[1:inner.index("'", 1)]
            inner = inner.replace('<regex("{0}"):manifestref>', "{manifestref:digest}")
            inner = inner.replace("<apirepopath:repository>", "{repository:repo}")
            return "/api" + inner
        m = re.fullmatch(r'MANIFEST_DIGEST_ROUTE(?: \+ "([^"]*)")?', inner)
        assert m, template
        suffix = (m.group(1) or "").replace("<labelid>", "{labelid}")
        return "/api" + API_MANIFEST_DIGEST_ROUTE + suffix
    m = re.fullmatch(r"/v2/<([A-Z_]+)>", t)
    if m:
        return "/v2" + MACROS[m.group(1)]
    if t == '<app.config["LOCAL_OAUTH_HANDLER"]>':
        return LOCAL_OAUTH_HANDLER
    t = t.replace("<dynamic-service>//", "{service}/")
    t = t.replace('<regex("[0-9a-zA-Z-]+"):file_id>', "{file_id:fileid}")

    def var(m):
        conv, name = m.group(1), m.group(2)
        if conv:
            return "{%s:%s}" % (name, CONVERTERS[conv])
        if tracker_family == "web" and name == "namespace":
            return "{namespace:webns}"
        return "{%s}" % name

    t = re.sub(r"<(?:([a-z0-9]+):)?([A-Za-z_][A-Za-z0-9_]*)>", var, t)
    assert "<" not in t and ">" not in t, template
    return t


def family_of(row, path):
    fam = FAMILY_OF_TRACKER[row["route_family"]]
    if fam == "OTHER" and path.startswith("/api/"):
        return "API_V1"  # the tracker's parser misfiled the seven manifest routes
    if fam == "WEB" and path.startswith("/oauth/"):
        return "OAUTH"
    return fam


def is_write(method):
    return method not in ("GET", "HEAD", "OPTIONS")


def capability_of(fam, row, path):
    """-> (capability, capability switch or None, mutating override or None, extra)."""
    m, rid = row["method"], row["route_id"]
    w = is_write(m)
    if fam == "REGISTRY_V2":
        if path == "/v2/":
            return "V2_BASE", None, None, {}
        if path == "/v2/auth":
            return "V2_AUTH", None, None, {"mutating_when": "push_scope"}
        if path == "/v2/_catalog":
            return "V2_CATALOG", None, None, {}
        if path.endswith("/tags/list"):
            return "V2_TAGS_LIST", "V2_PULL", None, {}
        if "/referrers/" in path:
            return "V2_REFERRERS", "V2_PULL", None, {}
        if "/blobs/uploads/" in path:
            return "V2_BLOB_UPLOAD", "V2_PUSH", None, {}
        if "/manifests/" in path:
            if m == "PUT":
                return "V2_MANIFEST_PUSH", "V2_PUSH", None, {}
            if m == "DELETE":
                return "V2_MANIFEST_DELETE", None, None, {}
            return "V2_MANIFEST_PULL", "V2_PULL", None, {}
        if "/blobs/" in path:
            if m == "DELETE":
                return "V2_BLOB_DELETE", None, None, {}
            return "V2_BLOB_PULL", "V2_PULL", None, {}
    if fam == "REGISTRY_V1":
        if path in ("/v1", "/v1/", "/v1/_ping", "/v1/_internal_ping"):
            return "V1_PING", None, None, {}
        if path.startswith("/v1/images/"):
            return ("V1_IMAGE_PUSH" if w else "V1_IMAGE_PULL"), None, None, {}
        if path.startswith("/v1/repositories/") and "/tags" in path:
            return ("V1_TAG_WRITE" if w else "V1_TAG_READ"), None, None, {}
        if path.startswith("/v1/repositories/"):
            return ("V1_REPO_PUSH" if w else "V1_REPO_PULL"), None, None, {}
        if path == "/v1/search":
            return "V1_SEARCH", None, None, {}
        if path.startswith("/v1/users"):
            return ("V1_USER_WRITE" if w else "V1_USER_LOGIN"), None, None, {}
    if fam == "API_V1":
        if path in ("/api/v1/signin", "/api/v1/signin/verify"):
            return "API_SIGNIN", None, False, {}
        base = os.path.splitext(os.path.basename(row["file"]))[0].upper()
        if base == "WEB":
            base = "USER"
        return "API_%s_%s" % (base, "WRITE" if w else "READ"), None, None, {}
    if fam == "OAUTH":
        if path.startswith("/oauth2/{service}/callback"):
            kind = path[len("/oauth2/{service}/callback"):].strip("/").upper() or "LOGIN"
            if kind == "CAPTCHA":
                kind = "LOGIN"
            return "OAUTH_%s" % kind, None, True, {}  # login callbacks create users
        if "/callback/trigger" in path:
            return "OAUTH_TRIGGER_ATTACH", None, True, {}
        if path == "/oauth2/federation/robot/token":
            return "OAUTH_ROBOT_FEDERATION", None, None, {}
        if path == LOCAL_OAUTH_HANDLER:
            return "OAUTH_LOCAL_HANDLER", None, None, {}
        if path == "/oauth/access_token":
            return "OAUTH_TOKEN", None, None, {}
        if path.startswith("/oauth/authorize") or path in ("/oauth/authorizeapp", "/oauth/denyapp"):
            return "OAUTH_AUTHORIZE", None, True, {}  # GET may issue a code
    if fam == "WEBHOOKS":
        return ("WEBHOOK_STRIPE" if path.endswith("/stripe") else "WEBHOOK_BUILD_TRIGGER"), None, None, {}
    if fam == "KEYS":
        return ("KEYS_WRITE" if w else "KEYS_READ"), None, None, {}
    if fam == "SECSCAN":
        return ("SECSCAN_NOTIFICATION" if path.endswith("/notification") else "SECSCAN_STATUS"), None, None, {}
    if fam == "REALTIME":
        if path.endswith("/test"):
            return "REALTIME_TEST", None, True, {}  # publishes an event
        return "REALTIME_SUBSCRIBE", None, None, {"streaming": True}
    if fam == "WELLKNOWN":
        return "WELLKNOWN_" + path.rsplit("/", 1)[1].upper().replace("-", "_"), None, None, {}
    if fam == "OTHER":
        if path.startswith("/userfiles/"):
            return ("USERFILES_WRITE" if w else "USERFILES_READ"), None, None, {}
        return "STORAGE_PROXY_AUTH", None, None, {}
    if fam == "WEB":
        if path in ("/health", "/status", "/_internal_ping") or path.startswith("/health/"):
            return "WEB_HEALTH", None, None, {}
        if path in ("/config", "/csrf_token"):
            return "WEB_CONFIG", None, None, {}
        if "{namespace:webns}" in path or "{repository:webrepo}" in path:
            return "WEB_REDIRECT", None, None, {}
        if path.startswith(("/buildlogs/", "/exportedlogs/", "/logarchive/")):
            return "WEB_LOGS", None, None, {}
        if path.endswith("/status"):
            return "WEB_BADGE", None, None, {}
        return "WEB_PAGE", None, None, {}
    raise SystemExit("no capability for %s %s %s" % (rid, m, path))


def q(s):
    return "'" + s.replace("'", "''") + "'"


def main():
    rows = list(csv.DictReader(open(CSV, newline="")))
    fams = {f: {} for f in FAMILY_ORDER}
    for row in rows:
        path = pattern_of(row["path_template"], row["route_family"])
        fam = family_of(row, path)
        cap, cap_switch, mut, extra = capability_of(fam, row, path)
        caps = fams[fam]
        entry = caps.setdefault(cap, {"switch": cap_switch, "routes": []})
        route = {"id": row["route_id"], "method": row["method"], "path": path,
                 "switch": row["cutover_switch_id"]}
        if mut is not None and mut != is_write(row["method"]):
            route["mutating"] = mut
        route.update(extra)
        entry["routes"].append(route)

    out = []
    w = out.append
    w("# pmirror capability map for Quay. GENERATED by tools/gen_capabilities.py from")
    w("# fixtures/quay/quay-route-tracker.csv (all %d routes): edit the script, not this file." % len(rows))
    w("#")
    w("# families.<FAMILY>.switch           the family's owner switch (ROUTE_OWNER_FAMILY_*)")
    w("# families.<F>.capabilities.<CAP>    routes promoted and scored together; `switch` is the")
    w("#                                    capability switch (ROUTE_OWNER_CAP_*) where the plan has one")
    w("# routes[].path                      `{name}` is one segment, `{name:type}` uses `types`")
    w("# routes[].mutating                  default: every method but GET/HEAD/OPTIONS; set where a")
    w("#                                    GET writes (or a POST does not)")
    w("# routes[].mutating_when: push_scope mutating when the /v2/auth scope asks for push")
    w("# HEAD is answered by the GET route of the same path unless a HEAD route exists.")
    w("# When several routes match, the one with the most literal characters wins (then the")
    w("# fewest multi-segment variables), as Werkzeug orders Flask's rules.")
    w("version: 1")
    w("types:")
    for k, v in TYPES.items():
        w("  %s: %s" % (k, q(v)))
    w("namespace_vars: [orgname, namespace, username]")
    w("repository_vars: [repository]")
    w("families:")
    for fam in FAMILY_ORDER:
        w("  %s:" % fam)
        w("    switch: ROUTE_OWNER_FAMILY_%s" % fam)
        w("    capabilities:")
        for cap, entry in fams[fam].items():
            w("      %s:" % cap)
            if entry["switch"]:
                w("        switch: ROUTE_OWNER_CAP_%s" % entry["switch"])
            w("        routes:")
            for r in entry["routes"]:
                parts = ["id: %s" % r["id"], "method: %s" % r["method"], "path: %s" % q(r["path"]),
                         "switch: %s" % r["switch"]]
                for k in ("mutating", "mutating_when", "streaming"):
                    if k in r:
                        v = r[k]
                        parts.append("%s: %s" % (k, str(v).lower() if isinstance(v, bool) else v))
                w("          - {%s}" % ", ".join(parts))
    os.makedirs(os.path.dirname(OUT), exist_ok=True)
    with open(OUT, "w") as f:
        f.write("\n".join(out) + "\n")
    print("wrote %s: %d routes" % (os.path.relpath(OUT, ROOT), len(rows)), file=sys.stderr)


if __name__ == "__main__":
    main()
