#!/usr/bin/env bash
# tools/bench/pipeline.sh: the whole chain at scale, end to end.
#
#   tools/bench/pipeline.sh [RECORDS] [PAGES] [WORKERS] [LATE]
#
# 1. metriflow-gen writes RECORDS GA and RECORDS PSI records (NDJSON, PAGES
#    pages, one seed; not timed) into $MF_BENCH_DIR (default /tmp/mf-bench).
# 2. A fresh database and vhost bench_e2e_PID; WORKERS metriflow-worker
#    instances per stage.
# 3. Timed: both files ingested at once (two metriflow-ingest processes) until
#    mf_pipeline_status() shows every queue empty: "ingest start to idle".
# 4. Timed: LATE GA records ingested into that store, half for hours before
#    the stored ones (late data), half corrections of stored identities,
#    until idle again.
# 5. With MF_BENCH_SETTLED=1: waits until no autovacuum worker has run for
#    10 s (at most 20 minutes), then a second wave like 4 (other hours,
#    other corrected values), timed the same way: the late wave into a
#    settled store, against the first one that directly follows the load.
# Prints the times and each stage's busy seconds (mf_pipeline_status), and
# how many autovacuum workers ran when each late wave started.
# MF_BENCH_WORKER_ARGS adds flags to every worker (e.g. "--batch 250").
# MF_BENCH_DROP_CACHES=1 (root only) empties the kernel's page cache before
# the timed part, so that runs start alike whatever ran before them (the
# input files alone are 4 GB at 13 M + 13 M, the store about 14 GB).
# Also prints the WAL the load wrote. MF_BENCH_CPU=1 prints the CPU seconds
# each kind of process used from ingest start to idle (cpu_sample.py; the
# stage backends by their application_name, metriflow-worker/STAGE).
# Needs the local stack (MF_LOCAL_DIR) and a build (MF_BIN, default
# build/bin).
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
N=${1:-13000000} PAGES=${2:-1000} WORKERS=${3:-1} LATE=${4:-10000}
BIN=${MF_BIN:-$ROOT/build/bin}
DIR=${MF_BENCH_DIR:-/tmp/mf-bench}
mkdir -p "$DIR"
eval "$("$ROOT/tools/metriflow-local" env)"
export METRIFLOW_PG_URL METRIFLOW_AMQP_URL
# A database and vhost of this run's own (concurrent runs must not share
# them), dropped at the end unless MF_BENCH_KEEP=1.
NAME=bench_e2e_$$
METRIFLOW_PG_URL=$("$ROOT/tools/metriflow-local" createdb "$NAME")
METRIFLOW_AMQP_URL=$("$ROOT/tools/metriflow-local" vhost "$NAME")
"$BIN/metriflow-admin" migrate >/dev/null 2>&1

# shellcheck source=tools/bench/lib.sh
. "$ROOT/tools/bench/lib.sh"
gen() { "$BIN/metriflow-gen" --seed 3 --pages "$PAGES" --start 2020-01-01 "$@" 2>/dev/null; }

for k in ga psi; do
    f=$DIR/$k-$N-$PAGES.ndjson
    [ -s "$f" ] || gen --source "$k" --records "$N" --late 0.01 \
        --duplicates 0.01 --corrections 0.01 -o "$f"
done
# the late wave: half records for past hours (a grid that starts before the
# stored one), half corrections of stored identities (the stored grid again,
# with --corrections)
"$BIN/metriflow-gen" --seed 4 --pages "$PAGES" --start 2019-06-01 --source ga \
    --records $((LATE / 2)) -o "$DIR/late-past.ndjson" 2>/dev/null
gen --source ga --records $((LATE - LATE / 2)) --corrections 0.6 -o "$DIR/late-corr.ndjson"
# the second wave: other past hours, and the stored grid with other values
"$BIN/metriflow-gen" --seed 5 --pages "$PAGES" --start 2019-01-01 --source ga \
    --records $((LATE / 2)) -o "$DIR/late2-past.ndjson" 2>/dev/null
"$BIN/metriflow-gen" --seed 6 --pages "$PAGES" --start 2020-01-01 --source ga \
    --records $((LATE - LATE / 2)) --corrections 0.6 -o "$DIR/late2-corr.ndjson" 2>/dev/null

cleanup() {
    stop_workers
    [ "${MF_BENCH_KEEP:-}" = 1 ] || psql "${METRIFLOW_PG_URL%/*}/postgres" -qX \
        -c "DROP DATABASE IF EXISTS $NAME WITH (FORCE)" >/dev/null 2>&1 || true
}
trap cleanup EXIT
for s in stage-ga stage-psi page interval daily monthly yearly; do
    for _ in $(seq "$WORKERS"); do
        # shellcheck disable=SC2086 # MF_BENCH_WORKER_ARGS: extra flags
        "$BIN/metriflow-worker" --stage "$s" --log warn ${MF_BENCH_WORKER_ARGS:-} \
            >>"$DIR/worker-$s.log" 2>&1 &
        pids+=($!)
    done
done
sleep 2

if [ "${MF_BENCH_DROP_CACHES:-}" = 1 ]; then
    sync && echo 3 >/proc/sys/vm/drop_caches ||
        { echo "cannot drop the page cache (needs root)" >&2; exit 1; }
fi
lsn0=$(psql "$METRIFLOW_PG_URL" -qAtX -c "SELECT pg_current_wal_lsn()")
if [ "${MF_BENCH_CPU:-}" = 1 ]; then
    "$ROOT/tools/bench/cpu_sample.py" "$DIR/cpu.txt" "${METRIFLOW_PG_URL%/*}/postgres" &
    sampler=$!
fi
t0=$(now)
"$BIN/metriflow-ingest" --source ga "$DIR/ga-$N-$PAGES.ndjson" >"$DIR/ingest-ga.log" 2>&1 &
ga=$!
"$BIN/metriflow-ingest" --source psi "$DIR/psi-$N-$PAGES.ndjson" >"$DIR/ingest-psi.log" 2>&1
wait "$ga"
echo "ingest: $N GA + $N PSI records loaded in $(since "$t0") s"
wait_idle
echo "pipeline: ingest start to idle in $(since "$t0") s ($WORKERS worker(s) per stage)"
if [ -n "${sampler:-}" ]; then
    kill -TERM "$sampler" && wait "$sampler" || true
    echo "CPU seconds from ingest start to idle, by process:"; cat "$DIR/cpu.txt"
fi
psql "$METRIFLOW_PG_URL" -qAtX -c "SELECT 'WAL written: ' || pg_size_pretty(pg_wal_lsn_diff(pg_current_wal_lsn(), '$lsn0'))"
psql "$METRIFLOW_PG_URL" -X -c "SELECT stage, units, runs, round(busy_s::numeric, 1) AS busy_s FROM mf_pipeline_status()"

autovacuums() {
    psql "$METRIFLOW_PG_URL" -qAtX -c "SELECT count(*) FROM pg_stat_activity WHERE backend_type = 'autovacuum worker'"
}
late_wave() { # late_wave NAME PAST CORR
    local av t1
    av=$(autovacuums)
    t1=$(now)
    "$BIN/metriflow-ingest" --source ga "$2" "$3" >"$DIR/ingest-$1.log" 2>&1
    wait_idle
    echo "$1: $LATE late and corrected records, ingest start to idle in $(since "$t1") s ($av autovacuum workers running at the start)"
}
late_wave late "$DIR/late-past.ndjson" "$DIR/late-corr.ndjson"
if [ "${MF_BENCH_SETTLED:-}" = 1 ]; then
    t2=$(now) quiet=0
    while [ "$quiet" -lt 50 ] && [ "$(echo "$(now) - $t2 < 1200" | bc)" = 1 ]; do
        if [ "$(autovacuums)" = 0 ]; then quiet=$((quiet + 1)); else quiet=0; fi
        sleep 0.2
    done
    echo "settled: $(since "$t2") s until no autovacuum worker ran for 10 s"
    late_wave late-settled "$DIR/late2-past.ndjson" "$DIR/late2-corr.ndjson"
fi
psql "$METRIFLOW_PG_URL" -qAtX -c "SELECT 'rows: staged ' || (SELECT count(*) FROM staged_ga) + (SELECT count(*) FROM staged_psi) || ', hour ' || (SELECT count(*) FROM agg_hour) || ', interval ' || (SELECT count(*) FROM agg_interval) || ', day ' || (SELECT count(*) FROM agg_day)"
