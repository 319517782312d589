#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# deploy.sh — the Kubernetes examples under deploy/ (issue 21; no cluster here): every file
# parses as YAML (Debian's python3-yaml, as /usr/bin/python3 has it), every pmirror command
# line in them (a container's args under the image's `pmirror` entrypoint, or in its
# /bin/sh -c script) names a subcommand that exists and only options that its --help lists,
# and the nightly Indexed Job replays shard index+1 of as many shards as it has completions.
. "$(dirname "$0")/lib.sh"

PY=/usr/bin/python3
"$PY" -c 'import yaml' 2>/dev/null || { bad "/usr/bin/python3 has no yaml module (make deps installs python3-yaml)"; finish; exit 1; }
run "$PY" - "$PMIRROR" "$SRC"/deploy/*.yaml <<'PY'
import re, shlex, subprocess, sys
import yaml

exe, files = sys.argv[1], sys.argv[2:]
problems, helps, seen = [], {}, 0

def options_of(sub):
    """The long and short options `pmirror SUB --help` lists (None: no such subcommand)."""
    if sub not in helps:
        p = subprocess.run([exe, *sub.split(), "--help"], capture_output=True, text=True)
        pairs = re.findall(r"^ *(?:(-[a-zA-Z]), )?(--[a-z0-9-]+)", p.stdout, re.M)
        helps[sub] = None if p.returncode != 0 else {o for pair in pairs for o in pair if o}
    return helps[sub]

def check(where, argv):
    global seen
    seen += 1
    sub = argv[1] if len(argv) > 1 else ""
    if sub == "profile" and len(argv) > 2:
        sub = "profile " + argv[2]
    opts = options_of(sub)
    if opts is None:
        problems.append("%s: pmirror %s: no such subcommand" % (where, sub))
        return
    for a in argv[2:]:
        if a.startswith("-") and a != "-":
            name = a.split("=", 1)[0]
            if not name.startswith("--"):
                name = name[:2]  # -xVALUE
            if name not in opts:
                problems.append("%s: pmirror %s %s: not in pmirror %s --help" % (where, sub, name, sub))

def shell_commands(script):
    """The simple commands of a sh -c script, each split into words."""
    script = script.replace("\\\n", " ")
    for line in script.splitlines():
        for part in re.split(r"\|\||&&|;|\|", re.sub(r"(^|\s)#.*", "", line)):
            try:
                words = shlex.split(part)
            except ValueError as e:
                problems.append("cannot split %r: %s" % (part, e))
                continue
            if words and words[0] == "exec":
                words = words[1:]
            if words:
                yield words

def containers(doc):
    spec = doc.get("spec", {})
    if doc.get("kind") == "CronJob":
        spec = spec["jobTemplate"]["spec"]
    pod = spec.get("template", {}).get("spec", {})
    return spec, pod.get("containers", []) + pod.get("initContainers", [])

for path in files:
    try:
        docs = [d for d in yaml.safe_load_all(open(path)) if d]
    except yaml.YAMLError as e:
        problems.append("%s: not YAML: %s" % (path, e))
        continue
    for doc in docs:
        job, cs = containers(doc)
        for c in cs:
            where = "%s: %s/%s" % (path.rsplit("/", 1)[-1], doc["metadata"]["name"], c["name"])
            if "pmirror" not in c.get("image", ""):
                continue
            cmd, args = c.get("command"), c.get("args", [])
            if cmd is None:  # the image's entrypoint: pmirror
                check(where, ["pmirror", *args])
                continue
            script = " ".join(args) if cmd[:2] == ["/bin/sh", "-c"] else ""
            for words in shell_commands(script):
                if words[0] == "pmirror":
                    check(where, words)
            if job.get("completionMode") == "Indexed":
                n = job.get("completions")
                if not re.search(r"\$\(\(\s*JOB_COMPLETION_INDEX\s*\+\s*1\s*\)\)", script):
                    problems.append("%s: the shard is not $((JOB_COMPLETION_INDEX + 1))" % where)
                if not re.search(r"--shard[= ]\"?\$\{?k\}?/%d\"?" % n, script):
                    problems.append("%s: --shard K/%s not found (completions: %s)" % (where, n, n))
print("%d pmirror command lines checked" % seen)
print("\n".join(problems), file=sys.stderr)
sys.exit(1 if problems or seen < 3 else 0)
PY
expect_rc 0 "deploy/: YAML, pmirror's subcommands and options"
expect_out "command lines checked" "deploy/: the command lines read"
finish
