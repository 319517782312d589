# SPDX-License-Identifier: Apache-2.0
"""quay_front_app.py — the Python app behind quay_front.sh's nginx, standing in for Quay's
gunicorn (stdlib only; gunicorn imports it as quay_front_app:app). Each answer is JSON that
echoes what reached it — method, path, query, X-Forwarded-For, the body's length and SHA-256,
and Host when the query asks (echo_host) — and nothing that changes between two identical requests, so an answer through
nginx and the tee can be compared byte for byte with one straight from the socket, and the
shadow (the same app on TCP) answers every copy alike."""
import hashlib
import json


def app(environ, start_response):
    length = int(environ.get("CONTENT_LENGTH") or 0)
    body = environ["wsgi.input"].read(length) if length else b""
    path = environ.get("PATH_INFO", "")
    if path == "/v2/":
        status, answer = "200 OK", {}
    elif path.startswith("/missing"):
        status, answer = "404 NOT FOUND", {"error": "not found"}
    else:
        status = "201 CREATED" if environ["REQUEST_METHOD"] == "POST" else "200 OK"
        answer = {
            "method": environ["REQUEST_METHOD"],
            "path": path,
            "query": environ.get("QUERY_STRING", ""),
            "forwarded_for": environ.get("HTTP_X_FORWARDED_FOR", ""),
            "body_length": len(body),
            "body_sha256": hashlib.sha256(body).hexdigest(),
        }
        if "echo_host" in answer["query"]:  # the shadow on TCP sees its own Host: only when asked
            answer["host"] = environ.get("HTTP_HOST", "")
    out = json.dumps(answer, sort_keys=True).encode() + b"\n"
    start_response(status, [("Content-Type", "application/json"), ("Content-Length", str(len(out))),
                            ("Docker-Distribution-API-Version", "registry/2.0")])
    return [out]
