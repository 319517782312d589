# SPDX-License-Identifier: Apache-2.0
# layout.sh — the rooms of DESIGN.md ("Pipeline and layout") hold in the built tree, read
# from the stage libraries' symbols and the headers the build exposes:
#  - dependencies point one way: core <- capture, har, tee, replay, worker, diff, reports <-
#    pipeline <- cli (no stage calls a later one or a sibling);
#  - a capture-only build links no libmicrohttpd and no libcurl (capture, worker's queue
#    capture and core call neither; the worker replay's effects sink calls libmicrohttpd);
#  - each stage exposes only its public header(s) to the others (build/api/<stage>/).
. "$(dirname "$0")/lib.sh"

BUILD=$(dirname "$PMIRROR_BIN")
for s in core capture har tee replay worker diff reports pipeline; do
    [ -f "$BUILD/$s/libpm_$s.a" ] || { bad "no $BUILD/$s/libpm_$s.a"; finish; exit 1; }
done

# Which stage defines each global symbol, and which symbols each stage leaves undefined.
python3 - "$BUILD" >"$WORK/edges" 2>"$WORK/edges.err" <<'PY' || bad "reading the libraries' symbols: $(cat "$WORK/edges.err")"
import subprocess, sys
build = sys.argv[1]
stages = "core capture har tee replay worker diff reports pipeline".split()
defined, undefined = {}, {}
for s in stages:
    lib = "%s/%s/libpm_%s.a" % (build, s, s)
    out = subprocess.run(["nm", "-g", lib], capture_output=True, text=True, check=True).stdout
    for line in out.splitlines():
        parts = line.split()
        if len(parts) == 2 and parts[0] == "U":
            undefined.setdefault(s, set()).add(parts[1])
        elif len(parts) == 3 and parts[1] not in ("U", "w", "v"):
            defined[parts[2]] = s
for s in stages:
    for sym in sorted(undefined.get(s, ())):
        if sym in defined and defined[sym] != s:
            print(s, defined[sym], sym)
        elif sym.startswith(("MHD_", "curl_")):
            print(s, sym.split("_")[0], sym)
PY
allowed() { # allowed FROM TO
    case "$1:$2" in
    capture:core | har:core | tee:core | replay:core | worker:core | diff:core | reports:core) return 0 ;;
    tee:MHD | tee:curl | replay:MHD | replay:curl | worker:MHD) return 0 ;; # worker: the effects sink
    pipeline:*) return 0 ;;
    esac
    return 1
}
n=0
while read -r from to sym; do
    n=$((n + 1))
    allowed "$from" "$to" || bad "$from calls $to ($sym): DESIGN.md's arrows point core <- stages <- pipeline"
done <"$WORK/edges"
[ "$n" -gt 20 ] && ok || bad "only $n cross-library calls read: the symbol reading is broken"
grep -q '^capture core ' "$WORK/edges" && ok || bad "capture's calls into core were not seen"
grep -q '^pipeline reports ' "$WORK/edges" && ok || bad "pipeline's calls into reports were not seen"
grep -q '^worker core ' "$WORK/edges" && ok || bad "worker's calls into core were not seen"

# The headers other targets see: exactly the public ones, no *_internal.h.
for s in capture har tee replay worker diff reports pipeline; do
    got=$(cd "$BUILD/api/$s/$s" && ls)
    [ "$got" = "$s.h" ] && ok || bad "build/api/$s exposes '$got', want only $s.h"
done
[ -z "$(find "$BUILD/api" -name '*_internal.h')" ] && ok || bad "a private header is exposed: $(find "$BUILD/api" -name '*_internal.h')"
[ -f "$BUILD/api/core/core/core.h" ] && [ -f "$BUILD/api/core/core/jsonl.h" ] && ok || bad "core's headers are not exposed"

finish
