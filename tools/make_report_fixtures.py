#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""make_report_fixtures.py [--pmirror BIN] [--expect-only] [OUT_DIR] — the golden data for
`pmirror report` and `pmirror gate` (tests/integration/report_golden.sh). OUT_DIR defaults
to fixtures/report beside this script's repository.

Writes:
  current.diffs.jsonl.gz   a nightly run: result records made here, diffed by `pmirror diff`
  previous.diffs.jsonl.gz  the run before it (for --previous)
  switches.yaml            Quay's switch snapshot at the time (for --switches)
  expect.json              what the report must say, computed here from the records this
                           script made and from the spec (DESIGN.md "Score and gate",
                           quay-facts.md budgets, config/quay/gate.yaml), not from the code
                           under test: counts, parity, the Wilson bound, error rates, exact
                           percentiles (the report's are within 1%), coverage, cohorts, the
                           top differences, every decision with its reasons, the proposal,
                           and the regressions against the previous run.
With --expect-only, only expect.json (no pmirror needed): the test regenerates it to check
that the committed file is in sync with this script.

The story of the current run, family by family (shipped gate.yaml thresholds):
  REGISTRY_V2  1 220 samples, one mismatch, one Python timeout, Go faster: promote, and the
               V2_PULL capability switch too (2 of its 4 capabilities promoted = 0.5)
  REGISTRY_V1  60 samples, 2 of 6 read capabilities: insufficient (owner go: not rolled back)
  OAUTH        400 samples, all match, Go 1.6x slower: hold on PB-REG-AUTH; owner go: rollback
  API_V1       460 samples over 17 of 32 read capabilities, 12 mismatches in three shapes:
               parity upper bound 0.985 < 0.99 (the whole interval below): owner go: rollback
  KEYS         410 samples, 20 Go errors (timeout, reset): error rate; owner "Go" (not a
               known value, so python as Quay reads it): hold
  WEBHOOKS     30 skipped writes only: insufficient
  UNKNOWN      5 requests no route matched: reported, no switch, outside the gate's scope
The previous run had API_V1 at one mismatch in 400 (interval 0.986..1.000 across 0.99:
insufficient) and Go's REGISTRY_V2 p95 much lower:
both are regressions now.

Deterministic (fixed seeds), Python 3 standard library only.
"""
import argparse
import gzip
import json
import math
import os
import random
import re
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.join(HERE, "..")
Z95 = 1.959963984540054
NASTY = 'a|b\nc <script>alert(1)</script> ]]> &amp; \u0001\u0007 "q" `t` *s* _u_'

SWITCH = {f: "ROUTE_OWNER_FAMILY_" + f for f in
          ["REGISTRY_V2", "REGISTRY_V1", "OAUTH", "API_V1", "WEBHOOKS", "KEYS"]}
CAP_SWITCH = {"V2_MANIFEST_PULL": "ROUTE_OWNER_CAP_V2_PULL", "V2_BLOB_PULL": "ROUTE_OWNER_CAP_V2_PULL",
              "V2_TAGS_LIST": "ROUTE_OWNER_CAP_V2_PULL", "V2_REFERRERS": "ROUTE_OWNER_CAP_V2_PULL"}

# Switch snapshot (quay-facts.md: a versioned owner map; unknown values mean python).
SNAPSHOT = """# Quay switch snapshot (config.yaml) at the time of the current run.
version: 42
updated_at: "2026-11-26T23:00:00Z"
owners:
  ROUTE_OWNER_FAMILY_REGISTRY_V2: python
  ROUTE_OWNER_CAP_V2_PULL: python
  ROUTE_OWNER_FAMILY_REGISTRY_V1: go
  ROUTE_OWNER_FAMILY_OAUTH: go
  ROUTE_OWNER_FAMILY_API_V1: go
  ROUTE_OWNER_FAMILY_KEYS: Go        # not a known value: python
  WORKER_OWNER_BUILDER: go           # a worker switch: not a route, ignored
"""

# What config/quay/gate.yaml sets (its budgets restated from quay-facts.md).
DEFAULTS = {"budget": None, "min_samples": 200, "min_parity_lower": 0.99, "max_error_rate": 0.01,
            "max_error_rate_increase": None, "max_p95_ratio": 1.10, "max_p99_ratio": None,
            "max_mismatches": None, "min_capability_coverage": 0.5}
PULL = {"budget": "PB-REG-PULL", "max_p95_ratio": 1.10, "max_error_rate_increase": 0.002}
AUTH = {"budget": "PB-REG-AUTH", "max_p95_ratio": 1.10, "max_p99_ratio": 1.15}
PUSH = {"budget": "PB-REG-PUSH", "max_p95_ratio": 1.15, "max_error_rate_increase": None, "max_mismatches": 0}
FAMILY_GATE = {"REGISTRY_V2": PULL, "REGISTRY_V1": PULL, "OAUTH": AUTH,
               "API_V1": {"budget": "PB-API-HOT", "max_p95_ratio": 1.10}}
CAPABILITY_GATE = {("REGISTRY_V2", "V2_AUTH"): AUTH, ("REGISTRY_V2", "V2_BLOB_UPLOAD"): PUSH,
                   ("REGISTRY_V2", "V2_MANIFEST_PUSH"): PUSH, ("REGISTRY_V1", "V1_IMAGE_PUSH"): PUSH,
                   ("REGISTRY_V1", "V1_REPO_PUSH"): PUSH}
TREND = {"max_parity_drop": 0.005, "max_p95_increase": 0.10}

API_READS = ["API_REPOSITORY_READ", "API_ORGANIZATION_READ", "API_DISCOVERY_READ", "API_SEARCH_READ",
             "API_LOGS_READ", "API_ROBOT_READ", "API_TEAM_READ", "API_TAG_READ", "API_USER_READ",
             "API_PERMISSION_READ", "API_BUILD_READ", "API_MANIFEST_READ", "API_SECSCAN_READ",
             "API_CAPABILITIES_READ", "API_PROTOTYPE_READ", "API_TRIGGER_READ", "API_MIRROR_READ"]

# (family, capability, [(count, outcome)], go latency factor). Outcomes: "match", "skipped",
# ("mismatch", shape name), ("error", "baseline" | "candidate", code).
CURRENT = [
    ("REGISTRY_V2", "V2_MANIFEST_PULL", [(499, "match"), (1, ("error", "baseline", "timeout"))], 0.6),
    ("REGISTRY_V2", "V2_BLOB_PULL", [(420, "match")], 0.6),
    ("REGISTRY_V2", "V2_TAGS_LIST", [(149, "match"), (1, ("mismatch", "tags_null"))], 0.6),
    ("REGISTRY_V2", "V2_BASE", [(50, "match")], 0.6),
    ("REGISTRY_V2", "V2_AUTH", [(100, "match")], 0.6),
    ("REGISTRY_V1", "V1_PING", [(30, "match")], 0.8),
    ("REGISTRY_V1", "V1_TAG_READ", [(30, "match")], 0.8),
    ("OAUTH", "OAUTH_ROBOT_FEDERATION", [(400, "match")], 1.6),
    ("API_V1", "API_REPOSITORY_READ", [(240, "match"), (6, ("mismatch", "name_missing")),
                                       (4, ("mismatch", "description"))], 0.9),
    ("API_V1", "API_ORGANIZATION_READ", [(148, "match"), (2, ("mismatch", "email_nasty"))], 0.9),
] + [("API_V1", cap, [(4, "match")], 0.9) for cap in API_READS[2:]] + [
    ("KEYS", "KEYS_READ", [(390, "match"), (12, ("error", "candidate", "timeout")),
                           (8, ("error", "candidate", "reset"))], 0.8),
    ("WEBHOOKS", "WEBHOOKS_PUSH_TRIGGER", [(30, "skipped")], 0.8),
    ("UNKNOWN", "UNKNOWN", [(5, "match")], 0.8),
]
PREVIOUS = [
    ("REGISTRY_V2", "V2_MANIFEST_PULL", [(600, "match")], 0.4),
    ("API_V1", "API_REPOSITORY_READ", [(399, "match"), (1, ("mismatch", "description"))], 0.9),
]

# The body each side sends, and the differences `pmirror diff` must find, per shape.
SHAPES = {
    "tags_null": ({"name": "acme/app", "tags": ["latest", "v1"]}, {"name": "acme/app", "tags": None},
                  [("body", "$.tags", "type")]),
    "name_missing": ({"name": "app", "namespace": "acme", "description": "d"},
                     {"namespace": "acme", "description": "d"}, [("body", "$.name", "missing")]),
    "description": ({"name": "app", "namespace": "acme", "description": "d"},
                    {"name": "app", "namespace": "acme", "description": "the app"},
                    [("body", "$.description", "value")]),
    "email_nasty": ({"name": "acme", "email": "ops@acme.example"}, {"name": "acme", "email": NASTY},
                    [("body", "$.email", "value")]),
}
MATCH_BODY = {"name": "acme/app", "tags": ["latest"]}
ORGS = [("acme", 6), ("globex", 3), ("initech", 1)]
REPOS = ["app", "web", "db"]
USERS = {"acme": ["alice", "acme+ci"], "globex": ["bob"], "initech": ["carol", "dave"]}


def cohort(rng, family):
    if family == "UNKNOWN":
        return {"org": None, "repo": None, "user": None}
    org = rng.choices([o for o, _ in ORGS], [w for _, w in ORGS])[0]
    repo = org + "/" + rng.choice(REPOS) if family != "OAUTH" else None
    return {"org": org, "repo": repo, "user": rng.choice(USERS[org])}


def answer(role, body, latency, error=None, skipped=False):
    a = {"role": role}
    if skipped:
        a.update({"skipped": True, "error": "skipped_unsafe"})
        return a
    if error:
        a.update({"error": error, "latency_us": latency})
        return a
    text = json.dumps(body, separators=(",", ":"))
    a.update({"status": 200, "headers": [["Content-Type", "application/json"]], "body": text,
              "body_len": len(text.encode()), "latency_us": latency, "error": None})
    return a


def make_run(name, groups, seed):
    """Result records of one run and, per record, what the report must count."""
    rng = random.Random(seed)
    records, facts = [], []
    for family, cap, outcomes, go_factor in groups:
        n = 0
        for count, outcome in outcomes:
            for _ in range(count):
                rid = "%s-%s-%04d" % (name, cap.lower(), n)
                n += 1
                c = cohort(rng, family)
                py_lat = int(3000 * math.exp(rng.gauss(0, 0.3)))
                go_lat = int(3000 * go_factor * math.exp(rng.gauss(0, 0.3)))
                kind = outcome if isinstance(outcome, str) else outcome[0]
                base_body = cand_body = MATCH_BODY
                shape = None
                if kind == "mismatch":
                    base_body, cand_body, shape = SHAPES[outcome[1]]
                py = answer("baseline", base_body, py_lat, skipped=kind == "skipped")
                go = answer("candidate", cand_body, go_lat, skipped=kind == "skipped")
                failed = None
                if kind == "error":
                    failed = outcome[1]
                    if failed == "baseline":
                        py = answer("baseline", None, 30000000, error=outcome[2])
                    else:
                        go = answer("candidate", None, 30000000 if outcome[2] == "timeout" else 15, error=outcome[2])
                # what the report times: each target that answered (a failed one's time is no speed)
                latency = {} if kind == "skipped" else {"python": py_lat, "go": go_lat}
                latency.pop({"baseline": "python", "candidate": "go"}.get(failed), None)
                rec = {"v": 1, "id": rid, "ts": "2026-11-27T02:00:00.000000Z", "session": rid, "seq": 0,
                       "family": family, "capability": cap, "switch": SWITCH.get(family),
                       "cap_switch": CAP_SWITCH.get(cap), "route_id": None, "mutating": kind == "skipped",
                       "cohort": c,
                       "request": {"method": "POST" if kind == "skipped" else "GET", "target": "/x/" + rid,
                                   "version": "HTTP/1.1", "headers": [], "body_len": 0},
                       "responses": {"python": py, "go": go}}
                records.append(rec)
                facts.append({"id": rid, "family": family, "capability": cap, "verdict": kind, "cohort": c,
                              "latency": latency,
                              "failed": failed, "code": outcome[2] if kind == "error" else None,
                              "shape": shape})
    order = list(range(len(records)))
    rng.shuffle(order)  # a real file is in completion order, not grouped
    return [records[i] for i in order], [facts[i] for i in order]


# ----- the expected report, from the facts --------------------------------------------------

def wilson_bound(k, n, sign):
    if n == 0:
        return None
    p, z2 = k / n, Z95 * Z95
    bound = (p + z2 / (2 * n) + sign * Z95 * math.sqrt(p * (1 - p) / n + z2 / (4 * n * n))) / (1 + z2 / n)
    return min(max(bound, 0.0), 1.0)


def wilson_lower(k, n):
    return wilson_bound(k, n, -1)


def wilson_upper(k, n):
    return wilson_bound(k, n, +1)


def r6(x):
    return None if x is None else round(x * 1e6) / 1e6


def ratio(a, b):
    return None if b == 0 else a / b


def latency_bucket(v):
    """reports/histogram.c's bucket: exact below 128 us, then 2% wide."""
    if v < 128:
        return v
    v = min(v, 1 << 40)
    return min(128 + max(0, math.floor(math.log(v / 128) / math.log(1.02))), 128 + 1156 - 1)


def mann_whitney_p_slower(base, cand):
    """One-sided Mann-Whitney U (candidate slower), values in one bucket tied; normal
    approximation with tie and continuity corrections (README "Reports and the gate")."""
    a, c = {}, {}
    for v in base:
        a[latency_bucket(v)] = a.get(latency_bucket(v), 0) + 1
    for v in cand:
        c[latency_bucket(v)] = c.get(latency_bucket(v), 0) + 1
    below = u = ties = 0.0
    for b in sorted(set(a) | set(c)):
        x, y = a.get(b, 0), c.get(b, 0)
        u += y * (below + x / 2)
        below += x
        ties += (x + y) ** 3 - (x + y)
    n1, n2 = len(base), len(cand)
    n = n1 + n2
    var = n1 * n2 / 12 * ((n + 1) - ties / (n * (n - 1)))
    if var <= 0:
        return 0.5
    d = u - n1 * n2 / 2
    d = d - 0.5 if d > 0.5 else d + 0.5 if d < -0.5 else 0
    return 0.5 * math.erfc(d / math.sqrt(var) / math.sqrt(2))


def tail_p(values, limit, quant):
    """The tail test: P(X >= over) for X ~ Binomial(n, 1 - quant), over = the values in
    buckets wholly over limit (reports/histogram.c's rpt_histogram_count_over)."""
    def lo(b):
        return b if b < 128 else 128 * 1.02 ** (b - 128)
    over = sum(1 for v in values if lo(latency_bucket(v)) > limit)
    n, p = len(values), 1 - quant
    return sum(math.comb(n, i) * p ** i * (1 - p) ** (n - i) for i in range(over, n + 1)) if over else 1.0


def without_private(x):
    """x without the keys that start with "_" (the generator's working data)."""
    if isinstance(x, dict):
        return {k: without_private(v) for k, v in x.items() if not k.startswith("_")}
    if isinstance(x, list):
        return [without_private(v) for v in x]
    return x


def nearest_rank(values, q):
    if not values:
        return None
    v = sorted(values)
    return v[max(1, math.ceil(q * len(v))) - 1]


def fmt_distinct(x, other, decimals, unit):
    for d in range(decimals, 7):
        s = "%.*f%s" % (d, x, unit)
        if other is None or x == other or s != "%.*f%s" % (d, other, unit):
            return s
    return s


def fmt_ratio(x, other=None):
    return fmt_distinct(x, other, 3, "")


def fmt_ms(us, other=None):
    ms = us / 1000
    return fmt_distinct(ms, None if other is None else other / 1000, 1 if ms >= 1 else 2 if ms >= 0.1 else 3, " ms")


def read_capabilities():
    """Read capabilities per family, from the capability map's text (an independent reading:
    a capability is a read when none of its routes is mutating by default)."""
    caps, fam, cap = {}, None, None
    with open(os.path.join(ROOT, "config", "quay", "capabilities.yaml")) as f:
        for line in f:
            m = re.match(r"^  ([A-Z0-9_]+):\s*$", line)
            if m:
                fam = m.group(1)
                continue
            m = re.match(r"^      ([A-Z0-9_]+):\s*$", line)
            if m and fam:
                cap = m.group(1)
                caps.setdefault(fam, {})[cap] = True
                continue
            m = re.match(r"^          - \{(.*)\}\s*$", line)
            if m and fam and cap:
                r = m.group(1)
                reads = "mutating: false" in r or (re.search(r"method: (GET|HEAD|OPTIONS)\b", r) and "mutating: true" not in r)
                caps[fam][cap] = caps[fam][cap] and bool(reads)
    return {f: {c for c, read in cs.items() if read} for f, cs in caps.items()}


def counts(facts):
    c = {k: 0 for k in ("total", "match", "mismatch", "error", "skipped")}
    for x in facts:
        c["total"] += 1
        c[x["verdict"]] += 1
    samples = c["match"] + c["mismatch"] + c["error"]
    c.update({"samples": samples, "parity": r6(ratio(c["match"], c["match"] + c["mismatch"])),
              "parity_lower": r6(wilson_lower(c["match"], c["match"] + c["mismatch"])),
              "error_rate": r6(ratio(c["error"], samples))})
    return c


def scope(facts):
    s = counts(facts)
    s["error_rate_by_role"] = {
        "baseline": r6(ratio(sum(1 for x in facts if x["failed"] == "baseline"), s["samples"])),
        "candidate": r6(ratio(sum(1 for x in facts if x["failed"] == "candidate"), s["samples"]))}
    errors = {}
    for x in facts:
        if x["code"]:
            errors[x["code"]] = errors.get(x["code"], 0) + 1
    s["errors"] = errors
    lat = {}
    for target, role in (("go", "candidate"), ("python", "baseline")):
        values = [x["latency"][target] for x in facts if target in x["latency"]]
        if values:
            lat[target] = {"role": role, "count": len(values), "p50": nearest_rank(values, 0.5),
                           "p95": nearest_rank(values, 0.95), "p99": nearest_rank(values, 0.99)}
    s["latency"] = lat
    values = {t: [x["latency"][t] for x in facts if t in x["latency"]] for t in ("python", "go")}
    s["latency_test"] = ({"n_baseline": len(values["python"]), "n_candidate": len(values["go"]),
                          "p_slower": mann_whitney_p_slower(values["python"], values["go"])}
                         if values["python"] and values["go"] else None)
    s["_go_latencies"] = values["go"]
    return s


def thresholds(family, cap=None):
    t = dict(DEFAULTS)
    t.update(FAMILY_GATE.get(family, {}))
    if cap:
        t.update(CAPABILITY_GATE.get((family, cap), {}))
        del t["min_capability_coverage"]
    return t


def decide(t, s, owner, switch_name, family):
    """The gate as DESIGN.md and README "Reports and the gate" state it."""
    # fail: every failing check, those in `decisive` deciding at any count (the others need
    # min_samples); straddle and short: not decided yet (the parity interval across the
    # threshold; samples or coverage short)
    decisive, short, straddle, fail, ok, note = [], [], [], [], [], []
    n = s["samples"]
    if n < t["min_samples"]:
        short.append("%d sample%s < min_samples %d" % (n, "" if n == 1 else "s", t["min_samples"]))
    if t["min_parity_lower"] is not None:
        lo, thr = s["parity_lower"], t["min_parity_lower"]
        up = r6(wilson_upper(s["match"], s["match"] + s["mismatch"]))
        if lo is None:
            fail.append("no comparable answers (0 match + mismatch): parity unknown")
        elif up < thr:
            decisive.append("parity upper bound %s < %s at %d sample%s" % (
                fmt_ratio(up, thr), fmt_ratio(thr, up), n, "" if n == 1 else "s"))
            fail.append(decisive[-1])
        elif lo < thr:
            straddle.append("parity interval %s..%s straddles %s at %d sample%s" % (
                fmt_ratio(lo, thr), fmt_ratio(up, thr), fmt_ratio(thr, lo), n, "" if n == 1 else "s"))
        else:
            ok.append("parity lower bound %s >= %s over %d samples" % (fmt_ratio(lo, t["min_parity_lower"]),
                                                                       fmt_ratio(t["min_parity_lower"], lo), n))
    cov = s.get("coverage")
    need = t.get("min_capability_coverage")
    if family and cov and need is not None:
        text = "capability coverage %d of %d read capabilities = %s %s %s" % (
            cov["seen"], cov["read_capabilities"], fmt_ratio(cov["share"], need),
            "<" if cov["share"] < need else ">=", fmt_ratio(need, cov["share"]))
        (short if cov["share"] < need else ok).append(text)
    budget = (", " + t["budget"]) if t["budget"] else ""
    if t["max_mismatches"] is not None:
        m = s["mismatch"]
        (fail if m > t["max_mismatches"] else ok).append("%d mismatches %s max_mismatches %d%s" % (
            m, ">" if m > t["max_mismatches"] else "<=", t["max_mismatches"], budget))
        if m > t["max_mismatches"]:
            decisive.append(fail[-1])
    rate = s["error_rate"]
    if t["max_error_rate"] is not None and rate is not None:
        bad = rate > t["max_error_rate"]
        (fail if bad else ok).append("error rate %s %s %s (%d of %d)" % (
            fmt_ratio(rate, t["max_error_rate"]), ">" if bad else "<=", fmt_ratio(t["max_error_rate"], rate),
            s["error"], n))
    base, cand = s["error_rate_by_role"]["baseline"], s["error_rate_by_role"]["candidate"]
    if t["max_error_rate_increase"] is not None and base is not None and cand is not None:
        limit = base + t["max_error_rate_increase"]
        bad = cand > limit + 1e-12
        (fail if bad else ok).append("candidate error rate %s %s baseline %s + %s%s" % (
            fmt_ratio(cand, limit), ">" if bad else "<=", fmt_ratio(base), fmt_ratio(t["max_error_rate_increase"]),
            budget))
    # latency budgets: the quantile's ratio AND the Mann-Whitney U test (p < 0.05); fewer
    # than 5 answers beyond the quantile on a side: too few to judge, a note only
    for q, key, quant in (("p95", "max_p95_ratio", 0.95), ("p99", "max_p99_ratio", 0.99)):
        b, c = s["latency"].get("python", {}).get(q), s["latency"].get("go", {}).get(q)
        if t[key] is None or b is None or c is None:
            continue
        nb, nc = s["latency"]["python"]["count"], s["latency"]["go"]["count"]
        least = math.ceil(5 / (1 - quant) - 1e-9)
        if nb < least or nc < least:
            note.append("too few to judge latency: %s on %d baseline and %d candidate answers, fewer than %d each "
                        "(5 beyond the %s)" % (q, nb, nc, least, q))
            continue
        limit = b * t[key]
        bad = c > limit
        p = s["latency_test"]["p_slower"]
        text = "candidate %s %s %s baseline %s %s x %.2f (= %s%s)" % (
            q, fmt_ms(c, limit), ">" if bad else "<=", q, fmt_ms(b), t[key], fmt_ms(limit, c), budget)
        if bad and p < 0.05:
            fail.append("%s; Mann-Whitney: slower, p = %.2g on %d/%d" % (text, p, nb, nc))
        elif bad and tail_p(s["_go_latencies"], limit, quant) < 0.05:
            fail.append("%s; its tail over the limit by the tail test (p < 0.05), though Mann-Whitney does not show "
                        "the whole slower" % text)
        elif bad:
            straddle.append("%s, but neither Mann-Whitney (p = %.2g on %d/%d) nor the tail test shows it: latency "
                            "not decided" % (text, p, nb, nc))
        else:
            ok.append(text)
    for name, cap in sorted(s.get("capabilities", {}).items()):
        if cap["decision"] in ("hold", "rollback"):
            fail.append("capability %s holds: %s" % (name, cap["reasons"][0]))
            decisive.append(fail[-1])
    go = owner == "go"
    if decisive or (fail and n >= t["min_samples"]):
        reasons = list(fail) + note
        if go:
            reasons.append("%s is go in the switch snapshot and fails: roll back to python" % switch_name)
        return ("rollback" if go else "hold"), reasons
    if short or straddle:
        reasons = short + straddle + fail + note
        if go:
            reasons.append("%s is go in the switch snapshot: too little evidence to roll it back" % switch_name)
        return "insufficient", reasons
    return "promote", ok + note


def owners():
    m = {}
    for line in SNAPSHOT.splitlines():
        mm = re.match(r"^  (ROUTE_OWNER_[A-Z0-9_]+): (\S+)", line)
        if mm:
            m[mm.group(1)] = "go" if mm.group(2) == "go" else "python"
    return m


def expected_report(facts, with_owners):
    reads = read_capabilities()
    own = owners() if with_owners else None
    fams = {}
    for x in facts:
        fams.setdefault(x["family"], []).append(x)
    out = {}
    for family in sorted(fams, key=lambda f: (["REGISTRY_V2", "REGISTRY_V1", "OAUTH", "API_V1", "WEBHOOKS", "KEYS",
                                               "SECSCAN", "REALTIME", "WELLKNOWN", "WEB", "OTHER",
                                               "UNKNOWN"].index(f), f)):
        ff = fams[family]
        sw = SWITCH.get(family)
        f_owner = None if own is None else (own.get(sw, "python") if sw else "python")
        caps = {}
        for cap in sorted({x["capability"] for x in ff}):
            cf = [x for x in ff if x["capability"] == cap]
            cs = scope(cf)
            csw = CAP_SWITCH.get(cap)
            c_owner = None if own is None else (own[csw] if csw in own else f_owner)
            t = thresholds(family, cap)
            cs["switch"], cs["owner"], cs["thresholds"] = csw, c_owner, t
            cs["decision"], cs["reasons"] = decide(t, cs, c_owner, csw or sw, False)
            caps[cap] = cs
        fs = scope(ff)
        fs["switch"], fs["owner"] = sw, f_owner
        seen = {c for c, v in caps.items() if v["samples"] > 0}
        r = reads.get(family, set())
        fs["coverage"] = ({"seen": len(seen & r), "read_capabilities": len(r),
                           "share": r6(len(seen & r) / len(r))} if r else None)
        fs["capabilities"] = caps
        t = thresholds(family)
        fs["thresholds"] = t
        fs["decision"], fs["reasons"] = decide(t, fs, f_owner, sw, True)
        # capability switches
        css = {}
        for csw in sorted({v["switch"] for v in caps.values() if v["switch"]}):
            members = [c for c, v in caps.items() if v["switch"] == csw]
            in_map = sum(1 for c, s in CAP_SWITCH.items() if s == csw)
            failing = [c for c in members if caps[c]["decision"] in ("hold", "rollback")]
            promoted = sum(1 for c in members if caps[c]["decision"] == "promote")
            if failing:
                d = "rollback" if any(caps[c]["decision"] == "rollback" for c in failing) else "hold"
            else:
                share = promoted / in_map
                d = "promote" if promoted > 0 and share >= t["min_capability_coverage"] else "insufficient"
            css[csw] = {"capabilities": sorted(members), "in_map": in_map, "decision": d}
        fs["cap_switches"] = css
        # cohorts: top 10 by total, then name
        fs["cohorts"] = {}
        for kind in ("org", "repo", "user"):
            names = {}
            for x in ff:
                if x["cohort"][kind]:
                    names.setdefault(x["cohort"][kind], []).append(x)
            rows = []
            for name, xs in names.items():
                c = counts(xs)
                rows.append(dict(name=name, **{k: c[k] for k in ("total", "match", "mismatch", "error", "skipped")}))
            rows.sort(key=lambda row: (-row["total"], row["name"]))
            fs["cohorts"][kind] = rows[:10]
        # top differences: one group per (capability, shape), exemplar = smallest id
        groups = {}
        for x in ff:
            if x["verdict"] == "mismatch":
                key = (x["capability"], tuple(x["shape"]))
                g = groups.setdefault(key, {"capability": x["capability"], "shape": [list(s) for s in x["shape"]],
                                            "count": 0, "exemplar": x["id"]})
                g["count"] += 1
                g["exemplar"] = min(g["exemplar"], x["id"])
        fs["top_differences"] = sorted(groups.values(), key=lambda g: (-g["count"], g["exemplar"]))
        out[family] = fs
    proposal = {}
    for family, fs in out.items():
        for sw, d in [(fs["switch"], fs["decision"])] + [(k, v["decision"]) for k, v in fs["cap_switches"].items()]:
            if sw and d == "promote":
                proposal[sw] = "go"
            elif sw and d == "rollback":
                proposal[sw] = "python"
    totals = counts(facts)
    return {"records": len(facts), "totals": totals, "families": out, "family_order": list(out),
            "proposal": proposal}


def regressions(current, previous):
    out = []
    for family, fs in current["families"].items():
        old = previous["families"].get(family)
        if not old:
            continue
        if fs["parity"] is not None and old["parity"] is not None and \
                old["parity"] - fs["parity"] > TREND["max_parity_drop"] + 1e-12:
            out.append({"family": family, "metric": "parity", "target": None})
        for target, l in sorted(fs["latency"].items()):
            p = old["latency"].get(target, {}).get("p95")
            if l["role"] == "candidate" and p and l["p95"] / p - 1 > TREND["max_p95_increase"] + 1e-12:
                out.append({"family": family, "metric": "p95", "target": target})
    return out


def write_gz_jsonl(path, text):
    with open(path, "wb") as raw:
        with gzip.GzipFile(filename="", mode="wb", fileobj=raw, mtime=0) as f:
            f.write(text.encode())


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("out_dir", nargs="?", default=os.path.join(ROOT, "fixtures", "report"))
    ap.add_argument("--pmirror", default=os.path.join(ROOT, "build", "pmirror"))
    ap.add_argument("--expect-only", action="store_true")
    a = ap.parse_args()
    os.makedirs(a.out_dir, exist_ok=True)
    runs = {"current": make_run("cur", CURRENT, 20261127), "previous": make_run("prev", PREVIOUS, 20261126)}
    current = expected_report(runs["current"][1], with_owners=True)
    current_plain = expected_report(runs["current"][1], with_owners=False)
    previous = expected_report(runs["previous"][1], with_owners=False)
    expect = {"current_with_switches": current, "current_without_switches": current_plain, "previous": previous,
              "regressions": regressions(current, previous), "trend_limits": TREND, "nasty": NASTY}
    with open(os.path.join(a.out_dir, "expect.json"), "w") as f:
        json.dump(without_private(expect), f, indent=1, sort_keys=True)
        f.write("\n")
    if a.expect_only:
        return
    with open(os.path.join(a.out_dir, "switches.yaml"), "w") as f:
        f.write(SNAPSHOT)
    with tempfile.TemporaryDirectory() as tmp:
        for name, (records, _) in runs.items():
            results = os.path.join(tmp, name + ".results.jsonl")
            with open(results, "w") as f:
                for r in records:
                    f.write(json.dumps(r, separators=(",", ":"), ensure_ascii=False) + "\n")
            diffs = os.path.join(tmp, name + ".diffs.jsonl")
            subprocess.run([a.pmirror, "diff", "-i", results, "-o", diffs], check=True, stderr=subprocess.DEVNULL)
            with open(diffs) as f:
                write_gz_jsonl(os.path.join(a.out_dir, name + ".diffs.jsonl.gz"), f.read())


if __name__ == "__main__":
    sys.exit(main())
