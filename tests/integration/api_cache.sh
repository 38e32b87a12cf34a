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
mf_done
