#!/usr/bin/env bash
# tools/bench/pipeline_sql.sh: the pipeline's SQL alone, at scale.
#
#   tools/bench/pipeline_sql.sh [RECORDS] [PAGES] [BATCH] [DRIVERS] [MODE]
#
# Loads RECORDS GA and RECORDS PSI raw rows (hourly, PAGES pages, in raw
# batches of BATCH records, as the ingest would commit them) into a fresh
# database bench_pipeline_PID (left for inspection), then drives the stages until idle:
#   MODE=seq  each stage drained in turn by one session: the time per stage
#   MODE=par  DRIVERS concurrent drivers per stage (tests/tools/stage_driver.sh),
#             all stages at once: the time from the first call to idle
# Prints the load time, the time to idle and each stage's busy time
# (mf_pipeline_status). Needs the local stack (MF_LOCAL_DIR) and a build
# (MF_BIN, default build/bin) for metriflow-admin migrate.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
N=${1:-2000000} PAGES=${2:-1000} BATCH=${3:-100000} DRIVERS=${4:-2} MODE=${5:-par}
BIN=${MF_BIN:-$ROOT/build/bin}
eval "$("$ROOT/tools/metriflow-local" env)"
export METRIFLOW_PG_URL
METRIFLOW_PG_URL=$("$ROOT/tools/metriflow-local" createdb "bench_pipeline_$$")
"$BIN/metriflow-admin" migrate >/dev/null 2>&1
units_ga=8 units_page=2000 units=5000

# shellcheck source=tools/bench/lib.sh
. "$ROOT/tools/bench/lib.sh"

t0=$(now)
load_raw "$N" "$PAGES" "$BATCH" 2025-01-01T00:00:00Z
echo "load: $N GA + $N PSI raw rows in $(since "$t0" 2) s (not part of the pipeline time)"

t0=$(now)
if [ "$MODE" = seq ]; then
    for s in stage-ga stage-psi page interval daily monthly yearly; do
        u=$units; case $s in stage-*) u=$units_ga ;; page) u=$units_page ;; esac
        t1=$(now)
        while [ "$(psql "$METRIFLOW_PG_URL" -qAtX -c "SELECT mf_stage_run('$s', $u)")" != 0 ]; do :; done
        echo "stage $s drained in $(since "$t1" 2) s"
    done
else
    stop=$(mktemp); pids=()
    for s in stage-ga stage-psi page interval daily monthly yearly; do
        u=$units; case $s in stage-*) u=$units_ga ;; page) u=$units_page ;; esac
        for _ in $(seq "$DRIVERS"); do
            "$ROOT/tests/tools/stage_driver.sh" "$s" "$u" "$stop" 2>/dev/null &
            pids+=($!)
        done
    done
    for p in "${pids[@]}"; do wait "$p"; done
    rm -f "$stop"
fi
echo "pipeline: raw to idle in $(since "$t0" 2) s ($MODE, $DRIVERS drivers per stage)"
psql "$METRIFLOW_PG_URL" -X -c "SELECT stage, units, runs, round(busy_s::numeric, 1) AS busy_s FROM mf_pipeline_status()"
psql "$METRIFLOW_PG_URL" -qAtX -c "SELECT 'rows: staged ' || (SELECT count(*) FROM staged_ga) + (SELECT count(*) FROM staged_psi) || ', hour ' || (SELECT count(*) FROM agg_hour) || ', interval ' || (SELECT count(*) FROM agg_interval) || ', day ' || (SELECT count(*) FROM agg_day)"
