#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""creds_capture.py SPEC_OUT SECRETS_OUT — the clear traffic of credentials.sh and
one_key.sh (issue 17 items 9 and 10): make_capture.py's spec of six exchanges carrying five
secrets (a Bearer token twice, an access_token query parameter, a password JSON field, a
session cookie issued by a Set-Cookie answer and sent back, a token only an answer holds),
and the secrets by name. token(KEY_FILE, VALUE) is the `redacted:` token pmirror writes
for VALUE under that key file (redact.c: HMAC-SHA256 keyed by SHA-256 of the file's text).
Python 3 standard library only; imported by the tests' inline Python too."""
import hashlib
import hmac
import json
import sys

SECRETS = {"bearer": "BearerTok-7f00d1", "query": "QueryTok-5ecret99", "password": "Passw0rd-secret!x",
           "session": "SessVal-c00k1e42", "issued": "IssuedTok-1ss3d77"}
PW_BODY = json.dumps({"username": "alice", "password": SECRETS["password"]}, separators=(",", ":"))


def spec():
    s = SECRETS
    return [
        {"id": "x0", "target": "/v2/acme/app/manifests/latest", "add_headers": [["Authorization", "Bearer " + s["bearer"]]]},
        {"id": "x1", "target": "/v2/acme/app/tags/list", "add_headers": [["Authorization", "Bearer " + s["bearer"]]]},
        {"id": "x2", "target": "/api/v1/user/?access_token=" + s["query"]},
        {"id": "x3", "method": "POST", "target": "/api/v1/signin", "body": PW_BODY,
         "add_headers": [["Content-Type", "application/json"], ["Content-Length", str(len(PW_BODY))]],
         "resp_headers": [["Content-Type", "application/json"],
                          ["Set-Cookie", "session=%s; Path=/; HttpOnly" % s["session"]]],
         "resp_body": "{\"success\":true}"},
        {"id": "x4", "target": "/api/v1/repository/acme/app", "add_headers": [["Cookie", "session=" + s["session"]]]},
        {"id": "x5", "target": "/v2/auth?service=quay", "resp_body": json.dumps({"token": s["issued"]})},
    ]


def token(key_file, value):
    key = hashlib.sha256(open(key_file, "rb").read().rstrip()).digest()
    return "redacted:" + hmac.new(key, value.encode(), hashlib.sha256).hexdigest()[:16]


if __name__ == "__main__":
    json.dump(spec(), open(sys.argv[1], "w"))
    json.dump(SECRETS, open(sys.argv[2], "w"))
