#!/usr/bin/env bash
# demo.sh — what `make demo` shows today: the capability map classifying Quay-shaped
# requests into families, capabilities, owner switches and cohorts. (The full parity
# pipeline demo replaces this when capture, replay, diff and report exist.)
set -euo pipefail
PMIRROR=${1:-build/pmirror}

echo "pmirror demo — classifying Quay traffic with config/quay/capabilities.yaml"
echo
printf '%-7s %-58s %-12s %-26s %s\n' METHOD TARGET FAMILY CAPABILITY COHORT
while read -r method target header; do
    args=("$method" "$target")
    [ -n "$header" ] && args+=(-H "$header")
    json=$("$PMIRROR" classify --compact "${args[@]}")
    field() { printf '%s' "$json" | sed -n "s/.*\"$1\":\"\\{0,1\\}\\([^\",}]*\\).*/\\1/p"; }
    cohort="org=$(field org) repo=$(field repo) user=$(field user)"
    printf '%-7s %-58s %-12s %-26s %s\n' "$method" "${target:0:58}" "$(field family)" \
        "$(field capability)" "$cohort"
done <<'REQUESTS'
GET /v2/
GET /v2/auth?service=quay&scope=repository:acme/app:pull Authorization: Basic YWxpY2U6cHc=
GET /v2/acme/app/manifests/latest
HEAD /v2/acme/app/blobs/sha256:9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08
POST /v2/acme/app/blobs/uploads/
PUT /v2/acme/app/manifests/v1.2
GET /v1/repositories/acme/app/tags
GET /api/v1/repository/acme/app/tag/?limit=50
DELETE /api/v1/organization/acme/robots/builder
POST /oauth/access_token
GET /keys/services/quay/keys
GET /.well-known/app-capabilities
GET /acme/app
PROPFIND /v2/
REQUESTS
echo
echo "Next: pmirror classify --help, pmirror cat --help; README.md says what works so far."
