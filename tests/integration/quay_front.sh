# SPDX-License-Identifier: Apache-2.0
# quay_front.sh — the tee where Quay runs it (issue 20), rebuilt from real parts: Debian's
# nginx in front, as conf/nginx/http-base.conf.jnj has it but with the upstream pointed at
# the tee's socket and gunicorn's own socket as the `backup` server
# (`proxy_next_upstream error timeout`), `pmirror tee --listen unix:TEE --primary
# unix:GUNICORN`, Debian's gunicorn serving quay_front_app.py on that socket, and the same
# app on TCP as the shadow. The README's "Inline in a Quay pod" recipe is this
# configuration. Checked: answers through nginx and the tee are byte for byte those straight
# from gunicorn's socket (Host and X-Forwarded-For as nginx sent them); the copies are
# diffed (the metrics) and recorded; the socket is mode 0660; a second tee on the live
# socket is refused (exit 2); after SIGKILL, nginx answers through the backup server, and
# the stale socket file is replaced by a new tee, to which nginx comes back; SIGTERM
# removes the file; --metrics stays TCP.
source "$(dirname "$0")/lib.sh"
source "$HERE/tee_helpers.bash"

NGINX=$(command -v nginx || echo /usr/sbin/nginx)
GUNICORN=$(command -v gunicorn || command -v gunicorn3 || true)
if [ ! -x "$NGINX" ] || [ -z "$GUNICORN" ]; then
    bad "nginx or gunicorn is not installed (make deps installs both)"
    finish
    exit
fi
chmod 755 "$WORK"
GSOCK=$WORK/gunicorn_web.sock
TSOCK=$WORK/pmirror_tee_web.sock

# gunicorn NAME BIND: the app under Debian's gunicorn (its log in $WORK/NAME.log)
gunicorn() {
    "$GUNICORN" --bind "$2" --workers 2 --chdir "$HERE" --error-logfile "$WORK/$1.log" quay_front_app:app \
        >"$WORK/$1.out" 2>&1 &
    pids+=($!)
}
gunicorn primary "unix:$GSOCK"
gunicorn shadow 127.0.0.1:0
wait_until 20 grep -qs 'Listening at: http://127.0.0.1:' "$WORK/shadow.log" || { bad "shadow gunicorn: $(cat "$WORK/shadow.log")"; finish; exit; }
wait_until 20 test -S "$GSOCK" || { bad "primary gunicorn: $(cat "$WORK/primary.log")"; finish; exit; }
SHADOW=$(sed -n 's|.*Listening at: \(http://127.0.0.1:[0-9]*\).*|\1|p' "$WORK/shadow.log" | head -1)

# tee NAME: pmirror tee on $TSOCK; sets NAME_tee (its pid) and waits for its start line
tee_on_socket() {
    local name=$1
    "$PMIRROR" tee --listen "unix:$TSOCK" --primary "unix:$GSOCK" --shadow "$SHADOW" \
        --record "$WORK/$name.record.jsonl" --metrics 127.0.0.1:0 --progress never --workers 2 \
        2>"$WORK/$name.tee.err" &
    pids+=($!)
    eval "${name}_tee=$!"
    wait_until 30 grep -qs 'metrics http' "$WORK/$name.tee.err" || { bad "tee $name did not start: $(cat "$WORK/$name.tee.err")"; finish; exit; }
}
tee_on_socket web
M=$(metrics_url web)
[ "$(stat -c %a "$TSOCK")" = 660 ] && ok || bad "the tee's socket is mode $(stat -c %a "$TSOCK"), want 660"

# nginx: Quay's upstream, pointed at the tee, gunicorn as the backup
NPORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
mkdir -p "$WORK/nginx/tmp"
chmod 777 "$WORK/nginx/tmp"
user=
[ "$(id -u)" -eq 0 ] && user="user root root;" # workers reach the 0660 socket as its owner does
cat >"$WORK/nginx.conf" <<CONF
$user
$(nginx_conf_head)
    upstream web_app_server {
        server unix:$TSOCK max_fails=1 fail_timeout=2s;
        server unix:$GSOCK backup;
    }
    server {
        listen 127.0.0.1:$NPORT;
        location / {
            proxy_pass http://web_app_server;
            proxy_next_upstream error timeout;
            proxy_http_version 1.1;
            proxy_set_header Connection "";
            proxy_set_header Host \$http_host;
            proxy_set_header X-Forwarded-For \$proxy_add_x_forwarded_for;
        }
    }
}
CONF
"$NGINX" -p "$WORK/nginx" -c "$WORK/nginx.conf" -e "$WORK/nginx/error.log" >"$WORK/nginx/out" 2>&1 &
pids+=($!)
wait_until 10 bash -c "exec 3<>/dev/tcp/127.0.0.1/$NPORT" 2>/dev/null || { bad "nginx did not start: $(cat "$WORK/nginx/out")"; finish; exit; }

# same WHAT METHOD TARGET [BODY]: through nginx and straight to gunicorn's socket, the status
# and body byte for byte alike (nginx sends Host as the client's and X-Forwarded-For with
# 127.0.0.1 appended: the direct request carries the same)
same() {
    local what=$1 method=$2 target=$3 body=${4:-}
    local data=()
    [ -n "$body" ] && data=(--data-binary "$body" -H 'Content-Type: application/octet-stream')
    local s1 s2
    s1=$(curl -s -o "$WORK/via_nginx" -w '%{http_code}' -X "$method" "${data[@]}" -H 'X-Forwarded-For: 10.1.2.3' \
        "http://127.0.0.1:$NPORT$target")
    s2=$(curl -s -o "$WORK/direct" -w '%{http_code}' -X "$method" "${data[@]}" --unix-socket "$GSOCK" \
        -H "Host: 127.0.0.1:$NPORT" -H 'X-Forwarded-For: 10.1.2.3, 127.0.0.1' "http://localhost$target")
    [ "$s1" = "$s2" ] && [ "$s1" != 000 ] && [ "$s1" != 502 ] && cmp -s "$WORK/via_nginx" "$WORK/direct" && ok ||
        bad "$what: $method $target through nginx ($s1: $(head -c 300 "$WORK/via_nginx")) and straight to gunicorn ($s2: $(head -c 300 "$WORK/direct")) differ"
}
requests() {
    same "$1" GET /v2/
    same "$1" GET '/api/v1/repository/acme/app?includeTags=true'
    same "$1" GET /v2/acme/app/tags/list
    same "$1" GET '/api/v1/repository/acme/app?echo_host=1' # the Host gunicorn saw, in the body
    same "$1" GET /missing/thing
    same "$1" POST /api/v1/repository/acme/app/tag/ '{"name": "v1", "blob": "0123456789"}'
}
for _ in 1 2; do requests "through the tee"; done
[ "$(scrape "$M" pmirror_tee_requests_total)" -eq 12 ] && ok ||
    bad "the tee saw $(scrape "$M" pmirror_tee_requests_total) of nginx's 12 requests (nginx: $(cat "$WORK/nginx/error.log"))"
wait_until 30 all_diffed "$M" && ok || bad "copies not all diffed: $(curl -s "$M" | grep -E '^pmirror_tee_(shadow|diffed|requests)')"
matches=$(curl -s "$M" | awk '$1 ~ /^pmirror_tee_exchanges_total.*verdict="match"/ { n += $2 } END { print n + 0 }')
[ "$matches" -ge 8 ] && ok || bad "$matches copies matched the shadow, want >= 8: $(curl -s "$M" | grep exchanges_total | grep -v ' 0$')"
[ "$(curl -s "$M" | awk '$1 == "pmirror_tee_primary_errors_total" { print $2 }')" = 0 ] && ok || bad "primary errors"

# a second tee on the live socket: refused, one clear line, exit 2; the first keeps serving
run "$PMIRROR" tee --listen "unix:$TSOCK" --primary "unix:$GSOCK" --shadow "$SHADOW" --progress never
expect_rc 2 "a second tee on a live socket"
expect_err "another process is listening" "a second tee on a live socket"
expect_one_err_line "a second tee on a live socket"
run "$PMIRROR" tee --listen 127.0.0.1:0 --primary "unix:$GSOCK" --shadow "$SHADOW" --metrics "unix:$WORK/m.sock"
expect_rc 2 "--metrics unix:"
expect_err "TCP" "--metrics unix:"
run "$PMIRROR" tee --listen 127.0.0.1:0 --primary "unix:relative.sock" --shadow "$SHADOW"
expect_rc 2 "--primary unix:relative"

# SIGKILL: nginx meets a refused socket and answers through the backup, gunicorn itself
kill -KILL "$web_tee"
wait "$web_tee" 2>/dev/null
test -S "$TSOCK" && ok || bad "SIGKILL left no socket file (the stale case is not tested)"
requests "tee killed, through the backup"
grep -c ' 200 \| 201 \| 404 ' "$WORK/nginx/access.log" | grep -q '^18$' && ok ||
    bad "nginx's access log: $(tail -3 "$WORK/nginx/access.log")"

# a new tee replaces the stale socket; nginx comes back to it once fail_timeout is over
tee_on_socket again
M2=$(metrics_url again)
[ "$(stat -c %a "$TSOCK")" = 660 ] && ok || bad "the new socket is mode $(stat -c %a "$TSOCK")"
back() { same "back to the tee" GET /v2/acme/app/tags/list; [ "$(scrape "$M2" pmirror_tee_requests_total)" -gt 0 ]; }
wait_until 20 back && ok || bad "nginx did not come back to the new tee: $(cat "$WORK/again.tee.err")"
requests "through the new tee"
wait_until 30 all_diffed "$M2" && ok || bad "new tee: copies not all diffed"
recorded() { [ "$(grep -c . "$WORK/again.record.jsonl")" -eq "$(scrape "$M2" pmirror_tee_shadow_queued_total)" ]; }
wait_until 10 recorded && ok ||
    bad "the record holds $(grep -c . "$WORK/again.record.jsonl") of $(scrape "$M2" pmirror_tee_shadow_queued_total) copies"
grep -q '"host": "127.0.0.1:'"$NPORT"'"' "$WORK/again.record.jsonl" 2>/dev/null ||
    grep -q '\["Host", *"127.0.0.1:'"$NPORT"'"\]' "$WORK/again.record.jsonl" && ok ||
    bad "the record's Host is not the client's: $(head -c 600 "$WORK/again.record.jsonl")"

# SIGTERM: a clean exit, the socket file removed; gunicorn's own socket untouched
kill -TERM "$again_tee"
wait "$again_tee"
rc=$?
[ "$rc" -eq 0 ] && ok || bad "SIGTERM: exit $rc: $(cat "$WORK/again.tee.err")"
[ ! -e "$TSOCK" ] && ok || bad "the socket file is still there after SIGTERM"
test -S "$GSOCK" && ok || bad "gunicorn's socket is gone"
same "tee stopped, through the backup" GET /v2/
finish
