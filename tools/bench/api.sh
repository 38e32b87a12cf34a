#!/usr/bin/env bash
# API benchmark with wrk on loopback against a Release build:
#   1. cached /reports/range (50 connections, one page and range, warm);
#   2. uncached 10-year /reports/range (every request a new page/start,
#      so each one is a real cache miss: levels read, then stored);
#   3. a year of daily rows for one page (/reports/daily, 365 rows);
#   then 2 and 3 again at one connection (latency alone).
# Data: the database metriflow_bench when it exists (the pipeline
# benchmark's store); otherwise metriflow_api_bench, filled once with SQL:
# MF_BENCH_PAGES pages (default 1000) x 10 years (2015-2024) of agg_day,
# and agg_month / agg_year summed from it.
# Settings: MF_BENCH_SECONDS (20), MF_BENCH_THREADS (API threads, default
# the number of CPUs),
# MF_BENCH_API_ARGS (more flags for the API, e.g. --rate-lease 1),
# MF_BENCH_BUILD (build-bench), MF_BENCH_MODES (which rows, default
# "cached uncached daily"), MF_BENCH_API (the metriflow-api binary to
# measure, default the one just built: another build's, to compare two
# versions side by side). Built without -Werror: a Release (-O3) build
# may warn where the Debug build does not. Uses the local stack (tools/metriflow-local).
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
cd "$ROOT"
SECONDS_RUN=${MF_BENCH_SECONDS:-20}
API_THREADS=${MF_BENCH_THREADS:-$(nproc)}
NPAGES=${MF_BENCH_PAGES:-1000}
BUILD=${MF_BENCH_BUILD:-$ROOT/build-bench}
OUT=$BUILD/bench-out
mkdir -p "$OUT"

eval "$(tools/metriflow-local env)"
command -v wrk >/dev/null || { echo "wrk missing: tools/install-deps --dev" >&2; exit 1; }

echo "== Release build in $BUILD"
cmake -S . -B "$BUILD" -DCMAKE_BUILD_TYPE=Release -DMF_SANITIZE=OFF -DMF_WERROR=OFF \
    >"$OUT/cmake.log"
cmake --build "$BUILD" -j2 --target metriflow-api metriflow-admin >>"$OUT/cmake.log"

BASE=${METRIFLOW_PG_URL%/*}
if psql "$BASE/postgres" -AtXc "SELECT 1 FROM pg_database WHERE datname = 'metriflow_bench'" | grep -q 1; then
    DB=metriflow_bench
    echo "== using the pipeline benchmark's store $DB"
else
    DB=metriflow_api_bench
    if ! psql "$BASE/postgres" -AtXc "SELECT 1 FROM pg_database WHERE datname = '$DB'" | grep -q 1; then
        psql "$BASE/postgres" -qAtXc "CREATE DATABASE $DB"
    fi
fi
export METRIFLOW_PG_URL=$BASE/$DB
"$BUILD/bin/metriflow-admin" migrate >"$OUT/migrate.log" 2>&1
sql() { psql "$METRIFLOW_PG_URL" -qAtX -v ON_ERROR_STOP=1 -c "$1"; }

if [ "$DB" = metriflow_api_bench ] && [ "$(sql "SELECT count(*) FROM page")" = 0 ]; then
    echo "== filling $DB: $NPAGES pages x 10 years of days, months, years"
    t0=$(date +%s)
    sql "
    INSERT INTO page (site, path) SELECT 'bench', '/page/' || g FROM generate_series(1, $NPAGES) g;
    INSERT INTO agg_day (page_id, day, users, sessions, views, bounces, duration_s,
      psi_samples, performance_score_n, performance_score_sum, lcp_ms_n, lcp_ms_sum,
      cls_n, cls_sum, inp_ms_n, inp_ms_sum, fcp_ms_n, fcp_ms_sum, ttfb_ms_n, ttfb_ms_sum)
    SELECT page_id, d, 10 + (page_id + k) % 90, 12 + (page_id + k) % 95,
      30 + (page_id * 7 + k) % 300, (page_id + k) % 12, ((page_id + k) % 600) * 1.5,
      2, 2, 1.6, 2, 2400 + k % 500, 2, 0.2, 1, 180, 2, 1800, 2, 400
    FROM page, generate_series(date '2015-01-01', date '2024-12-31', '1 day') gs,
      LATERAL (SELECT gs::date AS d, gs::date - date '2015-01-01' AS k) x;
    INSERT INTO agg_month SELECT * FROM (SELECT page_id, sum(users), sum(sessions),
      sum(views), sum(bounces), sum(duration_s), sum(psi_samples),
      sum(performance_score_n), sum(performance_score_sum), min(performance_score_min), max(performance_score_max),
      sum(lcp_ms_n), sum(lcp_ms_sum), min(lcp_ms_min), max(lcp_ms_max),
      sum(cls_n), sum(cls_sum), min(cls_min), max(cls_max),
      sum(inp_ms_n), sum(inp_ms_sum), min(inp_ms_min), max(inp_ms_max),
      sum(fcp_ms_n), sum(fcp_ms_sum), min(fcp_ms_min), max(fcp_ms_max),
      sum(ttfb_ms_n), sum(ttfb_ms_sum), min(ttfb_ms_min), max(ttfb_ms_max),
      date_trunc('month', day)::date FROM agg_day GROUP BY page_id, date_trunc('month', day)) s;
    INSERT INTO agg_year SELECT * FROM (SELECT page_id, sum(users), sum(sessions),
      sum(views), sum(bounces), sum(duration_s), sum(psi_samples),
      sum(performance_score_n), sum(performance_score_sum), min(performance_score_min), max(performance_score_max),
      sum(lcp_ms_n), sum(lcp_ms_sum), min(lcp_ms_min), max(lcp_ms_max),
      sum(cls_n), sum(cls_sum), min(cls_min), max(cls_max),
      sum(inp_ms_n), sum(inp_ms_sum), min(inp_ms_min), max(inp_ms_max),
      sum(fcp_ms_n), sum(fcp_ms_sum), min(fcp_ms_min), max(fcp_ms_max),
      sum(ttfb_ms_n), sum(ttfb_ms_sum), min(ttfb_ms_min), max(ttfb_ms_max),
      extract(year FROM month)::int FROM agg_month GROUP BY page_id, extract(year FROM month)) s;
    "
    for t in page agg_day agg_month agg_year; do sql "VACUUM ANALYZE $t"; done
    echo "   filled in $(( $(date +%s) - t0 )) s"
fi
echo "== store: $(sql "SELECT (SELECT count(*) FROM page) || ' pages, ' || (SELECT count(*) FROM agg_day) || ' day rows, ' || (SELECT count(*) FROM agg_month) || ' month rows, ' || (SELECT count(*) FROM agg_year) || ' year rows'")"
sql "SELECT site || E'\t' || path FROM page ORDER BY page_id LIMIT 1000" >"$OUT/pages.tsv"

# A user, and an API with limits far above the load.
BENCH_PW=bench-password-$$
sql "DELETE FROM app_user WHERE email = 'bench@example.org'"
echo "$BENCH_PW" | "$BUILD/bin/metriflow-admin" user add bench@example.org --role viewer >/dev/null 2>&1
PREFIX="mfbench:$$:"
# shellcheck disable=SC2086 # MF_BENCH_API_ARGS: extra flags
"${MF_BENCH_API:-$BUILD/bin/metriflow-api}" --http-addr 127.0.0.1:0 --threads "$API_THREADS" \
    --rate-user 1000000 --burst-user 100000000 --rate-auth 1000 --burst-auth 1000 \
    ${MF_BENCH_API_ARGS:-} \
    --redis-prefix "$PREFIX" --log warn >"$OUT/api.log" 2>&1 &
API_PID=$!
trap 'kill -TERM $API_PID 2>/dev/null; wait $API_PID 2>/dev/null' EXIT
# The log level is warn (no access log under load): find the port from
# the listening socket.
PORT=
for _ in $(seq 1 100); do
    PORT=$(ss -ltnp 2>/dev/null | grep "pid=$API_PID," | grep -oE '127.0.0.1:[0-9]+' | head -1 | cut -d: -f2 || true)
    [ -n "$PORT" ] && break
    sleep 0.1
done
API=http://127.0.0.1:$PORT
TOKEN=$(curl -s -X POST "$API/api/v1/auth/login" -d "{\"email\":\"bench@example.org\",\"password\":\"$BENCH_PW\"}" | jq -r .access_token)
[ -n "$TOKEN" ] && [ "$TOKEN" != null ] || { echo "login failed" >&2; cat "$OUT/api.log" >&2; exit 1; }
export MF_BENCH_TOKEN=$TOKEN MF_BENCH_PAGES=$OUT/pages.tsv

run() { # run MODE CONNECTIONS
    local threads=2
    [ "$2" -lt 2 ] && threads=1
    MF_BENCH_MODE=$1 wrk -t$threads -c"$2" -d"${SECONDS_RUN}s" --latency -s tools/bench/api.lua "$API" \
        >"$OUT/wrk-$1-$2.txt" 2>&1
    echo "$(grep RESULT "$OUT/wrk-$1-$2.txt") connections=$2 loadavg=$(cut -d" " -f1 /proc/loadavg)"
}
echo "== machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs), load $(cut -d' ' -f1-3 /proc/loadavg)"
# Warm the cached entry, then measure.
curl -s -o /dev/null -H "Authorization: Bearer $TOKEN" \
    "$API/api/v1/reports/range?from=2015-03-10&to=2024-11-20&site=$(head -1 "$OUT/pages.tsv" | cut -f1)&page=$(head -1 "$OUT/pages.tsv" | cut -f2)"
MODES=" ${MF_BENCH_MODES:-cached uncached daily} "
case $MODES in *" cached "*) run cached 50 ;; esac
case $MODES in *" uncached "*) run uncached 10 ;; esac
case $MODES in *" daily "*) run daily 10 ;; esac
# The same two at one connection: the latency of a request alone.
case $MODES in *" uncached "*) MF_BENCH_SALT=1800 run uncached 1 ;; esac
case $MODES in *" daily "*) run daily 1 ;; esac
curl -s "$API/metrics" | grep -E '^metriflow_api_cache_(hits|misses)_total' | tr '\n' ' '
echo
