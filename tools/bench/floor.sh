#!/usr/bin/env bash
# tools/bench/floor.sh: the least PostgreSQL needs to write the levels.
#
#   tools/bench/floor.sh [RECORDS] [PAGES]
#
# Loads RECORDS GA and RECORDS PSI synthetic raw rows (load_raw.sql: PAGES
# pages, hourly, as the ingest would commit them; not timed) into a fresh
# database bench_floor_PID, then writes every level from scratch with plain
# INSERT ... SELECT statements (floor.sql): pages, staged GA, staged PSI,
# hours, intervals, days, months, years, the big levels in chunks the size
# of the stages' claims. No claims, queues, identity rule or comparisons:
# the cost of the rows alone, one backend, no parallel workers.
# Prints per step the wall seconds, the backend's CPU seconds and the WAL
# written, and the totals. MF_BENCH_VERIFY=1 then runs metriflow-admin
# verify on the result, which must find no difference: the floor writes the
# same rows as the pipeline. The database is dropped at the end unless
# MF_BENCH_KEEP=1. Needs the local stack (MF_LOCAL_DIR) and a build (MF_BIN,
# default build/bin) for metriflow-admin migrate; reads the backend's CPU
# time from /proc, so PostgreSQL must run on this machine.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
N=${1:-1000000} PAGES=${2:-1000}
BIN=${MF_BIN:-$ROOT/build/bin}
eval "$("$ROOT/tools/metriflow-local" env)"
NAME=bench_floor_$$
METRIFLOW_PG_URL=$("$ROOT/tools/metriflow-local" createdb "$NAME")
export METRIFLOW_PG_URL
cleanup() {
    [ "${MF_BENCH_KEEP:-}" = 1 ] || psql "${METRIFLOW_PG_URL%/*}/postgres" -qX \
        -c "DROP DATABASE IF EXISTS $NAME WITH (FORCE)" >/dev/null 2>&1 || true
}
trap cleanup EXIT
"$BIN/metriflow-admin" migrate >/dev/null 2>&1
# shellcheck source=tools/bench/lib.sh
. "$ROOT/tools/bench/lib.sh"
load_raw "$N" "$PAGES" 100000 2020-01-01T00:00:00Z
hz=$(getconf CLK_TCK)
echo "floor: $N GA + $N PSI raw rows, $PAGES pages ($(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'))"
psql "$METRIFLOW_PG_URL" -qX -f "$ROOT/tools/bench/floor.sql" |
    awk -v hz="$hz" '
    BEGIN { printf "%-11s %8s %8s %9s\n", "step", "wall s", "CPU s", "WAL MB" }
    $1 == "step" { step = $2; c0 = -1; next }
    $1 == "wall" { wall = $2; next }
    $1 == "wal" { wal = $2 / 1048576; next }
    $1 == "cpu" && c0 < 0 { c0 = $2; next }
    $1 == "cpu" {
        cpu = ($2 - c0) / hz
        printf "%-11s %8.2f %8.2f %9.0f\n", step, wall, cpu, wal
        tw += wall; tc += cpu; tm += wal
    }
    END { printf "%-11s %8.2f %8.2f %9.0f\n", "total", tw, tc, tm }'
if [ "${MF_BENCH_VERIFY:-}" = 1 ]; then
    out=${MF_BENCH_DIR:-/tmp/mf-bench}/floor-verify.txt
    mkdir -p "$(dirname "$out")"
    "$BIN/metriflow-admin" verify >"$out" 2>&1 && rc=0 || rc=$?
    echo "verify: exit $rc; its output: $out"
    tail -n 1 "$out"
    exit "$rc"
fi
