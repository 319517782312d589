# SPDX-License-Identifier: Apache-2.0
# installed_demo.bash — what install.sh and install_deb.sh share (sourced after lib.sh;
# not a test of its own: ctest runs *.sh): the demo's `run` (tools/demo.sh steps 1-3) with
# an installed pmirror, from a directory outside the source tree, on the profile the
# installed binary finds itself: the suite names none and $PMIRROR_PROFILE is unset.

# installed_demo BIN PROFILE: BIN (an installed pmirror) captures fixtures/demo/quay.pcap,
# serves the two recorded backends, runs the suite; the report must name PROFILE (the
# installed profile's real path) and the seeded outcome hold for the families of routes.
installed_demo() {
    local bin=$1 profile=$2 out=$WORK/installed-demo fx=$SRC/fixtures/demo
    mkdir -p "$out" && cd "$out" || { bad "cannot make $out"; return; }
    install -m 600 "$fx/demo.key" "$out/demo.key"
    ( unset PMIRROR_PROFILE
      "$bin" capture -q -r "$fx/quay.pcap" -o capture.jsonl.gz --key demo.key &&
      "$bin" capture -q -r "$fx/quay.pcap" -o python-backend.jsonl.gz --no-redact ) 2>"$out/capture.err" &&
        ok || { bad "capture with $bin: $(cat "$out/capture.err")"; return; }
    local name fixture ports=()
    for name in python go; do
        fixture=$out/python-backend.jsonl.gz
        [ "$name" = go ] && fixture=$fx/go.jsonl.gz
        env -u PMIRROR_PROFILE "$bin" serve --fixture "$fixture" --listen 127.0.0.1:0 --port-file "$out/$name.port" \
            --recorded-latency 2>"$out/$name.log" &
        pids+=($!)
        wait_for 20 test -s "$out/$name.port" || { bad "serve $name did not start: $(cat "$out/$name.log")"; return; }
        ports+=("$(cat "$out/$name.port")")
    done
    {
        echo "targets:" # no profile: the one the binary finds
        for name in python go; do
            echo "  - name: $name"
            [ "$name" = python ] && echo "    url: http://127.0.0.1:${ports[0]}" || echo "    url: http://127.0.0.1:${ports[1]}"
            [ "$name" = python ] && echo "    role: baseline" || echo "    role: candidate"
            echo "    sandbox: true"
            echo "    credentials:"
            sed 's/^/      /' "$fx/credentials.yaml"
        done
    } >suite.yaml
    run env -u PMIRROR_PROFILE "$bin" run -c suite.yaml -i capture.jsonl.gz --out-dir out --allow-writes \
        --concurrency 64 --progress never
    expect_rc 1 "installed run: the gate fails, as the demo seeded"
    run python3 - out/report.json "$profile" <<'PY'
import json, os, sys
r = json.load(open(sys.argv[1]))
problems = []
used = os.path.realpath(r["run"]["profile"])
if used != sys.argv[2]:
    problems.append("run.profile is %s, not the installed %s" % (used, sys.argv[2]))
fam = r["families"]
for f, want in (("REGISTRY_V2", "promote"), ("KEYS", "promote"), ("API_V1", "hold"), ("REGISTRY_V1", "hold")):
    got = fam.get(f, {}).get("decision")
    if got != want:
        problems.append("%s: %s, seeded %s" % (f, got, want))
print("\n".join(problems), file=sys.stderr)
sys.exit(1 if problems else 0)
PY
    expect_rc 0 "installed run: the installed profile used, the seeded decisions"
    cd "$WORK" || true
}
