#!/usr/bin/env bash
# `make run` on a private instance with a small sample: it must come up,
# print an API address and a login that works there, and stop everything it
# started on Ctrl-C (SIGINT to its process group).
source "$MF_ROOT/tests/lib.sh"
cd "$MF_ROOT"

export MF_LOCAL_DIR=$T_OUT/stack
export MF_PG_PORT=17432 MF_AMQP_PORT=17672 MF_REDIS_PORT=17379 MF_HTTP_PORT=17080
export MF_SKIP_BUILD=1 MF_RUN_RECORDS=2000 MF_RUN_PAGES=40
log=$T_OUT/run.log
rm -rf "$MF_LOCAL_DIR"

# make run in its own process group, with job control so that SIGINT is
# not ignored (a non-interactive shell starts background jobs ignoring it,
# and a script cannot trap a signal ignored on entry).
set -m
make --no-print-directory run >"$log" 2>&1 </dev/null &
pid=$!
set +m
ready=0
for _ in $(seq 1 300); do
    grep -q "ready; press Ctrl-C to stop" "$log" && { ready=1; break; }
    kill -0 $pid 2>/dev/null || break
    sleep 1
done
check_eq "make run reports ready" 1 "$ready"

api=$(sed -n 's/^ *API: *\(http:[^ ]*\).*/\1/p' "$log" | head -n 1)
email=$(sed -n 's/^ *Login: *\([^ ]*\).*/\1/p' "$log" | head -n 1)
password=$(sed -n 's/^ *Password: *\([^ ]*\).*/\1/p' "$log" | head -n 1)
check_eq "the printed address is the private API" "http://127.0.0.1:$MF_HTTP_PORT" "$api"
check "a login is printed" test -n "$email" -a -n "$password"
check "the pipeline went idle" grep -q "pipeline idle" "$log"
check "the sample report has totals" grep -q '"totals"' "$log"

body=$(jq -nc --arg e "$email" --arg p "$password" '{email: $e, password: $p}')
code=$(curl -s -o "$T_OUT/login.json" -w '%{http_code}' -X POST \
    -H 'Content-Type: application/json' -d "$body" "$api/api/v1/auth/login")
check_eq "the printed login works against the printed address" 200 "$code"
token=$(jq -r .access_token "$T_OUT/login.json" 2>/dev/null)
code=$(curl -s -o "$T_OUT/pipeline.json" -w '%{http_code}' \
    -H "Authorization: Bearer $token" "$api/api/v1/pipeline")
check_eq "the token reads the pipeline" 200 "$code"
check_eq "the pipeline is idle" true "$(jq -r .idle "$T_OUT/pipeline.json" 2>/dev/null)"
wrong=$(jq -nc --arg e "$email" '{email: $e, password: "not-the-password"}')
code=$(curl -s -o /dev/null -w '%{http_code}' -X POST \
    -H 'Content-Type: application/json' -d "$wrong" "$api/api/v1/auth/login")
check_eq "a wrong password is refused" 401 "$code"

# Ctrl-C: SIGINT to the process group, as a terminal would send it.
kill -INT -- -"$pid" 2>/dev/null
stopped=0
for _ in $(seq 1 90); do
    st=$(tools/metriflow-local status 2>&1)
    if ! grep -q ' running$' <<<"$st"; then
        stopped=1
        break
    fi
    sleep 1
done
check_eq "Ctrl-C stops every process make run started" 1 "$stopped"
tools/metriflow-local status >"$T_OUT/status.txt" 2>&1
check "nothing listens on the private ports any more" \
    bash -c "! ss -ltn | grep -qE ':(17432|17672|17379|17080)\\b'"
wait "$pid" 2>/dev/null
# Whatever happened, leave nothing running.
tools/metriflow-local down >/dev/null 2>&1
mf_done
