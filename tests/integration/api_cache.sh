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
# --- Page lookups, batched -------------------------------------------------
# The range route hands its page lookup to one thread that answers all the
# lookups waiting with one query, and the pool threads serve other requests
# meanwhile. A table lock held for 1.5 s stalls the first lookup; the ten
# requests that come in meanwhile (the same page, other pages, a path with
# the characters of an array literal, a page that does not exist) wait in
# the queue and are then answered by one more round trip, each with its
# own page's answer, and the server keeps answering.
mf_sql "
INSERT INTO page (site, path) SELECT 'default', '/m' || g FROM generate_series(1, 5) g;
INSERT INTO page (site, path) VALUES ('default', '/q\"\\,{}x y');
INSERT INTO agg_day (page_id, day, users, sessions, views, bounces)
SELECT page_id, date '2024-01-01', 1, 1, 1000 + substr(path, 3)::int, 0 FROM page WHERE path LIKE '/m%';
INSERT INTO agg_day (page_id, day, users, sessions, views, bounces)
SELECT page_id, date '2024-01-01', 1, 1, 777, 0 FROM page WHERE path LIKE '/q%';
" >/dev/null
api_start --redis-url "redis://:private-pass@127.0.0.1:$REDIS_PORT/3" --threads 2 ||
    not_ok "api starts (lookups)"
TOKEN=$(login c@example.org 'cache-password-1')
metric_of() { curl -s "$API/metrics" | awk -v m="$1" '$1 == m { print $2 }'; }
check_eq "a range before: 200" 200 "$(get "$Q")"
l0=$(metric_of metriflow_api_page_lookups_total)
t0=$(metric_of metriflow_api_page_lookup_round_trips_total)
psql "$METRIFLOW_PG_URL" -qAtX -c "BEGIN; LOCK TABLE page IN ACCESS EXCLUSIVE MODE; SELECT pg_sleep(1.5); COMMIT;" >/dev/null &
LOCK_PID=$!
for _ in $(seq 1 50); do
    [ "$(mf_sql "SELECT count(*) FROM pg_locks WHERE relation = 'page'::regclass AND mode = 'AccessExclusiveLock' AND granted")" = 1 ] && break
    sleep 0.02
done
day='from=2024-01-01&to=2024-01-01'
lk() { # lk N QUERY: one range request in the background, answer in lkN
    curl -s -o "$T_OUT/lk$1" -w '%{http_code}' -H "Authorization: Bearer $TOKEN" "$API$2" >"$T_OUT/lk$1.code" &
    CURLS+=($!)
}
CURLS=()
lk 0 "$Q"
sleep 0.2
lk 1 "$Q"; lk 2 "$Q"; lk 3 "$Q"
lk 4 "/api/v1/reports/range?page=/m1&$day"; lk 5 "/api/v1/reports/range?page=/m2&$day"
lk 6 "/api/v1/reports/range?page=/m1&$day"; lk 7 "/api/v1/reports/range?page=/m5&$day"
lk 8 "/api/v1/reports/range?page=/q%22%5C%2C%7B%7Dx%20y&$day"
lk 9 "/api/v1/reports/range?page=/nope&$day"
lk 10 "/api/v1/reports/range?page=/m2&$day"
sleep 0.3
check_eq "  while the lookups wait, the server still answers" 200 \
    "$(curl -s -o /dev/null -w '%{http_code}' --max-time 1 "$API/healthz")"
wait "$LOCK_PID" "${CURLS[@]}"
answers=$(for i in $(seq 0 10); do
    printf '%s ' "$(cat "$T_OUT/lk$i.code")"
    jq -r 'if .totals then .page + " " + (.totals.views | tostring) else .title end' "$T_OUT/lk$i"
done | paste -sd, -)
want_q=$(jq -r '.page + " " + (.totals.views | tostring)' "$T_OUT/lk0")
check_eq "  all eleven answered, each with its own page's numbers" \
    "200 $want_q,200 $want_q,200 $want_q,200 $want_q,200 /m1 1001,200 /m2 1002,200 /m1 1001,200 /m5 1005,200 /q\"\\,{}x y 777,404 Page not found,200 /m2 1002" \
    "$answers"
check_eq "  eleven lookups in two round trips" "11 2" \
    "$(( $(metric_of metriflow_api_page_lookups_total) - l0 )) $(( $(metric_of metriflow_api_page_lookup_round_trips_total) - t0 ))"
# Many at once, several pages: each answer is its own page's.
for i in $(seq 1 60); do echo "$(( i % 5 + 1 ))"; done |
    xargs -P 12 -I{} sh -c "curl -s -H 'Authorization: Bearer $TOKEN' '$API/api/v1/reports/range?page=/m{}&$day' | jq -r '.page + \" \" + (.totals.views | tostring)'" |
    sort | uniq -c | awk '{ print $1, $2, $3 }' >"$T_OUT/many"
check_eq "  60 concurrent ranges of 5 pages: 12 each, each with its page's numbers" \
    "12 /m1 1001,12 /m2 1002,12 /m3 1003,12 /m4 1004,12 /m5 1005" "$(paste -sd, "$T_OUT/many")"
check "api stops cleanly (lookups)" api_stop
check "  no sanitizer report" bash -c "! grep -qE 'AddressSanitizer|LeakSanitizer|ThreadSanitizer|runtime error' '$API_LOG'"
mf_done
