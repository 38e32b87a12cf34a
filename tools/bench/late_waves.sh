#!/usr/bin/env bash
# tools/bench/late_waves.sh: late waves into a loaded store, two worker
# configurations side by side.
#
#   tools/bench/late_waves.sh DATABASE [ROUNDS] [LATE]
#
# DATABASE is a store that tools/bench/pipeline.sh left behind
# (MF_BENCH_KEEP=1 keeps its bench_e2e_PID database and vhost). Each of
# ROUNDS rounds (default 3) times one wave with the workers started with
# MF_BENCH_ARGS_A, then one with MF_BENCH_ARGS_B (flags added to every
# worker; both empty by default). A wave is LATE GA records (default
# 10,000), new each time: half for past hours no earlier wave used, half
# corrections of stored hours with values of the wave's own seed. Timed
# from the start of the ingest until mf_pipeline_idle(); the workers of a
# configuration are started (one per stage) before the wave and stopped
# after it. Prints one line per wave and the times of each configuration.
# Needs the local stack (MF_LOCAL_DIR) and a build (MF_BIN, default
# build/bin); generated files go to $MF_BENCH_DIR (default /tmp/mf-bench).
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
[ -n "${1:-}" ] || { sed -n '2,19p' "$0" | sed 's/^# \{0,1\}//'; exit 2; }
NAME=$1 ROUNDS=${2:-3} LATE=${3:-10000}
BIN=${MF_BIN:-$ROOT/build/bin}
DIR=${MF_BENCH_DIR:-/tmp/mf-bench}
mkdir -p "$DIR"
eval "$("$ROOT/tools/metriflow-local" env)"
METRIFLOW_PG_URL=${METRIFLOW_PG_URL%/*}/$NAME
METRIFLOW_AMQP_URL=$("$ROOT/tools/metriflow-local" vhost "$NAME")
export METRIFLOW_PG_URL METRIFLOW_AMQP_URL
psql "$METRIFLOW_PG_URL" -qAtX -c "SELECT 1 FROM agg_hour LIMIT 1" >/dev/null ||
    { echo "late_waves: $NAME is not a pipeline store" >&2; exit 1; }
PAGES=$(psql "$METRIFLOW_PG_URL" -qAtX -c "SELECT count(*) FROM page")

# shellcheck source=tools/bench/lib.sh
. "$ROOT/tools/bench/lib.sh"
trap stop_workers EXIT
start_workers() { # start_workers ARGS
    for s in stage-ga stage-psi page interval daily monthly yearly; do
        # shellcheck disable=SC2086 # ARGS: extra flags
        "$BIN/metriflow-worker" --stage "$s" --log warn $1 \
            >>"$DIR/late-worker-$s.log" 2>&1 &
        pids+=($!)
    done
}
autovacuums() {
    psql "$METRIFLOW_PG_URL" -qAtX -c "SELECT count(*) FROM pg_stat_activity
        WHERE backend_type = 'autovacuum worker'"
}

wave=0
times_a=() times_b=()
for r in $(seq "$ROUNDS"); do
    for cfg in A B; do
        wave=$((wave + 1))
        if [ "$cfg" = A ]; then args=${MF_BENCH_ARGS_A:-}; else args=${MF_BENCH_ARGS_B:-}; fi
        # past hours: each wave starts a day earlier than the one before,
        # and covers fewer hours than a day (LATE / 2 records over PAGES pages)
        start=$(date -u -d "2019-06-01 - $wave days" +%F)
        "$BIN/metriflow-gen" --seed $((100 + wave)) --pages "$PAGES" --start "$start" \
            --source ga --records $((LATE / 2)) -o "$DIR/wave-past.ndjson" 2>/dev/null
        "$BIN/metriflow-gen" --seed $((200 + wave)) --pages "$PAGES" --start 2020-01-01 \
            --source ga --records $((LATE - LATE / 2)) --corrections 0.6 \
            -o "$DIR/wave-corr.ndjson" 2>/dev/null
        start_workers "$args"
        sleep 2
        wait_idle 0.05
        av=$(autovacuums)
        t1=$(now)
        "$BIN/metriflow-ingest" --source ga "$DIR/wave-past.ndjson" "$DIR/wave-corr.ndjson" \
            >"$DIR/ingest-wave.log" 2>&1
        wait_idle 0.05
        t=$(since "$t1" 2)
        stop_workers
        echo "round $r, $cfg [${args:-no flags}]: $LATE late and corrected records, ingest start to idle in $t s ($av autovacuum workers running at the start)"
        if [ "$cfg" = A ]; then times_a+=("$t"); else times_b+=("$t"); fi
    done
done
echo "A [${MF_BENCH_ARGS_A:-no flags}]: ${times_a[*]} s"
echo "B [${MF_BENCH_ARGS_B:-no flags}]: ${times_b[*]} s"
