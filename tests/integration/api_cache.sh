#!/usr/bin/env bash
# The /reports/range cache over real HTTP: a miss then a hit, a changed
# aggregate (with the page's data_version bump, as the stages do) making the
# old entry unreachable, and a PRIVATE Redis stopped under the server:
# answers go on uncached, /readyz says degraded, rate limits hold locally,
# and everything resumes when Redis is back; the process's own copy of
# recent answers, in front of Redis.
source "$MF_ROOT/tests/lib.sh"
source "$MF_ROOT/tests/api_helpers.sh"

mf_fresh_db api_cache || { not_ok "fresh database"; mf_done; exit 1; }
mk_user c@example.org viewer 'cache-password-1'
mf_sql "
INSERT INTO page (site, path) VALUES ('default', '/c');
INSERT INTO agg_day (page_id, day, users, sessions, views, bounces)
SELECT page_id, d::date, 1, 2, 3, 1 FROM page,
  generate_series(date '2024-01-01', date '2024-03-31', '1 day') d;
INSERT INTO agg_month (page_id, month, users, sessions, views, bounces)
SELECT page_id, date_trunc('month', day)::date, sum(users), sum(sessions),
  sum(views), sum(bounces) FROM agg_day GROUP BY 1, 2;
" >/dev/null || not_ok "test data loads"

# A private Redis on a free port, never the shared one.
REDIS_PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
REDIS_DIR=$T_OUT/redis
mkdir -p "$REDIS_DIR"
redis_up() {
    redis-server --port "$REDIS_PORT" --bind 127.0.0.1 --save '' \
        --appendonly no --dir "$REDIS_DIR" --requirepass private-pass \
        --daemonize yes --pidfile "$REDIS_DIR/redis.pid" \
        --logfile "$REDIS_DIR/redis.log" >/dev/null
    for _ in $(seq 1 50); do
        redis-cli -p "$REDIS_PORT" -a private-pass --no-auth-warning ping 2>/dev/null | grep -q PONG && return 0
        sleep 0.1
    done
    return 1
}
redis_down() {
    local pid
    pid=$(cat "$REDIS_DIR/redis.pid" 2>/dev/null) || return 0
    kill "$pid" 2>/dev/null
    for _ in $(seq 1 50); do kill -0 "$pid" 2>/dev/null || return 0; sleep 0.1; done
}
trap 'api_stop >/dev/null 2>&1; redis_down' EXIT
check "private redis starts" redis_up

api_start --redis-url "redis://:private-pass@127.0.0.1:$REDIS_PORT/3" \
    --burst-user 4 --rate-user 0.01 || { not_ok "api starts"; mf_done; exit 1; }
TOKEN=$(login c@example.org 'cache-password-1')
Q="/api/v1/reports/range?page=/c&from=2024-01-01&to=2024-03-15"

check_eq "first range: 200" 200 "$(get "$Q")"
check_eq "  Cache-Status miss" "metriflow; fwd=miss" "$(header Cache-Status)"
FIRST=$(cat "$T_OUT/body")
check_eq "  totals (Jan + Feb + 15 days)" "$(mf_sql "SELECT sum(views) FROM agg_day WHERE day <= '2024-03-15'")" "$(body_jq .totals.views)"
check_eq "second range: 200" 200 "$(get "$Q")"
check_eq "  Cache-Status hit" "metriflow; hit" "$(header Cache-Status)"
check_eq "  same body" "$FIRST" "$(cat "$T_OUT/body")"
check_eq "  entry stored in the chosen database" 1 \
    "$(redis-cli -p "$REDIS_PORT" -a private-pass --no-auth-warning -n 3 --scan --pattern '*range*' | wc -l)"

# A stage changes an aggregate and bumps the page's data_version in the
# same transaction: the old entry is unreachable at once.
mf_sql "BEGIN;
UPDATE agg_month SET views = views + 1000 WHERE month = '2024-02-01';
UPDATE page SET data_version = data_version + 1 WHERE path = '/c';
COMMIT;" >/dev/null
check_eq "after a change: 200" 200 "$(get "$Q")"
check_eq "  Cache-Status miss" "metriflow; fwd=miss" "$(header Cache-Status)"
check_eq "  the new numbers" "$(( $(echo "$FIRST" | jq .totals.views) + 1000 ))" "$(body_jq .totals.views)"
check_eq "and then a hit with the new numbers" "metriflow; hit $(( $(echo "$FIRST" | jq .totals.views) + 1000 ))" \
    "$(get "$Q" >/dev/null; echo "$(header Cache-Status) $(body_jq .totals.views)")"
check_eq "the user's bucket is exhausted: 429" 429 "$(get "$Q")"
check_eq "  Retry-After" 1 "$(r=$(header Retry-After); [ "$r" -ge 1 ] && echo 1)"
redis-cli -p "$REDIS_PORT" -a private-pass --no-auth-warning SCRIPT FLUSH >/dev/null
check_eq "after SCRIPT FLUSH the script is reloaded: still 429 from Redis" 429 "$(get "$Q")"
check "  bucket lives in Redis" bash -c "redis-cli -p $REDIS_PORT -a private-pass --no-auth-warning -n 3 --scan --pattern '*rl:u:*' | grep -q rl"

check "/metrics counts hits and misses" bash -c \
    "curl -s $API/metrics | grep -qE '^metriflow_api_cache_hits_total 2$' &&
     curl -s $API/metrics | grep -qE '^metriflow_api_cache_misses_total 2$'"
check_eq "readyz with Redis: ready" "200 ready up" \
    "$(call GET /readyz) $(body_jq '.status + " " + .dependencies.redis')"
check "api stops" api_stop

# --- Redis goes away -----------------------------------------------------------
api_start --redis-url "redis://:private-pass@127.0.0.1:$REDIS_PORT/3" \
    --burst-user 4 --rate-user 0.01 || not_ok "api starts again"
TOKEN=$(login c@example.org 'cache-password-1')
check_eq "a new key prefix: miss" "200 metriflow; fwd=miss" "$(get "$Q") $(header Cache-Status)"
check_eq "hit before Redis stops" "200 metriflow; hit" "$(get "$Q") $(header Cache-Status)"
check "private redis stops" redis_down
check_eq "without Redis: still 200" 200 "$(get "$Q")"
check_eq "  uncached" "metriflow; fwd=miss" "$(header Cache-Status)"
check_eq "  the current numbers" "$(( $(echo "$FIRST" | jq .totals.views) + 1000 ))" "$(body_jq .totals.views)"
check_eq "  RateLimit headers from the local bucket" 1 "$(test -n "$(header RateLimit-Remaining)" && echo 1)"
check_eq "readyz without Redis: 200 degraded" "200 degraded down up" \
    "$(call GET /readyz) $(body_jq '.status + " " + .dependencies.redis + " " + .dependencies.postgresql')"
check "  logged" grep -q 'Redis unavailable' "$API_LOG"
# The local bucket starts full (burst 4) at the first request Redis could
# not take, which was the one above.
codes=
for i in 1 2 3 4; do codes="$codes $(get "$Q")"; done
check_eq "local buckets still limit (burst 4)" " 200 200 200 429" "$codes"
check "redis starts again" redis_up
sleep 1.2 # the pool retries a lost server at most once a second
check_eq "readyz with Redis back: ready" "200 ready" "$(call GET /readyz) $(body_jq .status)"
check "  logged" grep -q 'Redis available again' "$API_LOG"
check "api stops cleanly" api_stop

# --- The process's own copy in front of Redis ----------------------------------
# Entries removed from Redis are still served from the process's copy, under
# the same versioned key, so a change still makes them unreachable; with
# --local-cache 0 only Redis holds them.
rcli() { redis-cli -p "$REDIS_PORT" -a private-pass --no-auth-warning -n 3 "$@"; }
api_start --redis-url "redis://:private-pass@127.0.0.1:$REDIS_PORT/3" ||
    not_ok "api starts with the local cache"
TOKEN=$(login c@example.org 'cache-password-1')
check_eq "local cache: miss, then hit" "200 metriflow; fwd=miss 200 metriflow; hit" \
    "$(get "$Q") $(header Cache-Status) $(get "$Q") $(header Cache-Status)"
SECOND=$(cat "$T_OUT/body")
rcli FLUSHDB >/dev/null
check_eq "  the entry gone from Redis: a hit from the process" "200 metriflow; hit" \
    "$(get "$Q") $(header Cache-Status)"
check_eq "  same body" "$SECOND" "$(cat "$T_OUT/body")"
check_eq "  nothing written back to Redis on a local hit" 0 "$(rcli --scan --pattern '*range*' | wc -l)"
mf_sql "BEGIN;
UPDATE agg_month SET views = views + 5 WHERE month = '2024-02-01';
UPDATE page SET data_version = data_version + 1 WHERE path = '/c';
COMMIT;" >/dev/null
check_eq "  after a change: a miss with the new numbers, not the local copy" \
    "200 metriflow; fwd=miss $(( $(echo "$SECOND" | jq .totals.views) + 5 ))" \
    "$(get "$Q") $(header Cache-Status) $(body_jq .totals.views)"
check "api stops" api_stop
api_start --redis-url "redis://:private-pass@127.0.0.1:$REDIS_PORT/3" --local-cache 0 ||
    not_ok "api starts without the local cache"
TOKEN=$(login c@example.org 'cache-password-1')
check_eq "--local-cache 0: miss, then hit from Redis" "200 metriflow; fwd=miss 200 metriflow; hit" \
    "$(get "$Q") $(header Cache-Status) $(get "$Q") $(header Cache-Status)"
rcli FLUSHDB >/dev/null
check_eq "  the entry gone from Redis: a miss" "200 metriflow; fwd=miss" \
    "$(get "$Q") $(header Cache-Status)"
check "api stops cleanly" api_stop

# --- Rate-limit leases ------------------------------------------------------
# With a lease, one Redis call takes several tokens of the user's shared
# bucket and the process spends them itself; the headers still count every
# request, two replicas together never get more than the bucket holds, and
# a lease not spent within a second is dropped.
bucket_tokens() { # bucket_tokens PREFIX: whole tokens in the user's bucket
    local k
    k=$(rcli --scan --pattern "$1rl:u:*" | head -1)
    rcli HGET "$k" tk | awk '{ printf "%d", $1 / 1000 }'
}
api_start --redis-url "redis://:private-pass@127.0.0.1:$REDIS_PORT/3" \
    --burst-user 100 --rate-user 0.01 || not_ok "api starts with default leases"
TOKEN=$(login c@example.org 'cache-password-1')
P="mft:$T_NAME:$$:$API_N:"
check_eq "default lease (burst/20 = 5): one request, Redis gave 5 tokens" "200 99 95" \
    "$(get "$Q") $(header RateLimit-Remaining) $(bucket_tokens "$P")"
check "api stops" api_stop
api_start --redis-url "redis://:private-pass@127.0.0.1:$REDIS_PORT/3" \
    --burst-user 100 --rate-user 0.01 --rate-lease 10 || not_ok "api starts with --rate-lease 10"
TOKEN=$(login c@example.org 'cache-password-1')
P="mft:$T_NAME:$$:$API_N:"
check_eq "--rate-lease 10: first request takes 10 tokens from Redis" "200 99 90" \
    "$(get "$Q") $(header RateLimit-Remaining) $(bucket_tokens "$P")"
seen=
for i in $(seq 1 9); do seen="$seen $(get "$Q"):$(header RateLimit-Remaining)"; done
check_eq "  the next 9 spend the lease: Remaining counts down" \
    " 200:98 200:97 200:96 200:95 200:94 200:93 200:92 200:91 200:90" "$seen"
check_eq "  without asking Redis" 90 "$(bucket_tokens "$P")"
check_eq "  the 11th takes a new lease" "200 89 80" \
    "$(get "$Q") $(header RateLimit-Remaining) $(bucket_tokens "$P")"
sleep 1.2
check_eq "  a lease unspent for a second is dropped, not kept" "200 79 70" \
    "$(get "$Q") $(header RateLimit-Remaining) $(bucket_tokens "$P")"
# A second replica on the same bucket (same key prefix): 79 tokens are left
# in all (70 in Redis, 9 in the first replica's lease).
API_A=$API
"$MF_BIN/metriflow-api" --http-addr 127.0.0.1:0 --redis-prefix "$P" \
    --redis-url "redis://:private-pass@127.0.0.1:$REDIS_PORT/3" \
    --burst-user 100 --rate-user 0.01 --rate-lease 10 >"$T_OUT/api-b.log" 2>&1 &
B_PID=$!
for _ in $(seq 1 100); do
    B_PORT=$(grep -oE 'msg="listening".* port=[0-9]+' "$T_OUT/api-b.log" 2>/dev/null | grep -oE 'port=[0-9]+' | cut -d= -f2)
    [ -n "$B_PORT" ] && break
    sleep 0.1
done
check "second replica starts" test -n "$B_PORT"
ok_a=0 ok_b=0 last_a= last_b=
for i in $(seq 1 60); do
    API=$API_A; last_a=$(get "$Q"); [ "$last_a" = 200 ] && ok_a=$((ok_a + 1))
    API=http://127.0.0.1:$B_PORT; last_b=$(get "$Q"); [ "$last_b" = 200 ] && ok_b=$((ok_b + 1))
done
API=$API_A
check_eq "two replicas never get more than the shared bucket (79 left)" 1 \
    "$([ $((ok_a + ok_b)) -le 79 ] && echo 1)"
check_eq "  both were served from it, and both end refused" "1 429 429" \
    "$([ "$ok_a" -gt 0 ] && [ "$ok_b" -gt 0 ] && echo 1) $last_a $last_b"
check_eq "  the bucket in Redis is empty" 0 "$(bucket_tokens "$P")"
kill -TERM "$B_PID"; wait "$B_PID"
check_eq "second replica stops cleanly" 0 $?
check "api stops cleanly" api_stop
mf_done
