#!/usr/bin/env bash
# tools/bench/worker.sh: what the workers add on top of the stage procedures.
#
#   tools/bench/worker.sh [BATCHES] [NOTICES]
#
# 1. Loads BATCHES raw batches (default 200; 300 GA + 300 PSI records each,
#    tests/integration/data/worker_load.sql) into two fresh databases.
# 2. Timed: database A, every stage called straight from SQL, one after the
#    other, until each returns 0 ("procedures alone").
# 3. Timed: database B, one metriflow-worker per stage started at once (the
#    start sweep finds the work), until mf_pipeline_status() is idle
#    ("through the workers"). The two results are compared.
# 4. Timed: NOTICES notices (default 10000) waiting in mf.yearly, then a
#    yearly worker started; until the queue is empty: how fast notices are
#    coalesced and acknowledged.
# Needs the local stack (MF_LOCAL_DIR) and a build (MF_BIN, default
# build/bin; tests/mft_amqp next to it).
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
BATCHES=${1:-200} NOTICES=${2:-10000}
BIN=${MF_BIN:-$ROOT/build/bin}
AMQ=$BIN/../tests/mft_amqp
DIR=$(mktemp -d /tmp/mf-bench-worker.XXXXXX)
STAGES=(stage-ga stage-psi page interval daily monthly yearly)
eval "$("$ROOT/tools/metriflow-local" env)"

# shellcheck source=tools/bench/lib.sh
. "$ROOT/tools/bench/lib.sh"
sql() { psql "$METRIFLOW_PG_URL" -qAtX -v ON_ERROR_STOP=1 "$@"; }
fresh() { # NAME
    METRIFLOW_PG_URL=$("$ROOT/tools/metriflow-local" createdb "$1" 2>/dev/null)
    METRIFLOW_AMQP_URL=$("$ROOT/tools/metriflow-local" vhost "$1")
    export METRIFLOW_PG_URL METRIFLOW_AMQP_URL
    "$BIN/metriflow-admin" migrate >/dev/null 2>&1
    sql -v first=1 -v last="$BATCHES" -f "$ROOT/tests/integration/data/worker_load.sql"
}
trap stop_workers EXIT

echo "data: $BATCHES GA and $BATCHES PSI batches of 300 records ($((BATCHES * 600)) records)"
fresh bench_worker_sql
t=$(now)
sql -c "DO \$\$ DECLARE s text; BEGIN
    FOREACH s IN ARRAY ARRAY['stage-ga','stage-psi','page','interval','daily','monthly','yearly'] LOOP
        WHILE mf_stage_run(s, CASE WHEN s LIKE 'stage-%' THEN 8 ELSE 2000 END) > 0 LOOP COMMIT; END LOOP;
        COMMIT;
    END LOOP; END \$\$"
echo "procedures alone (sequential SQL): $(since "$t" 2) s"
sql -X -c "SELECT stage, units, runs, round(busy_s::numeric, 2) AS busy_s FROM mf_pipeline_status()"
sql -f "$ROOT/tests/integration/data/worker_snapshot.sql" >"$DIR/sql.snap"

fresh bench_worker_workers
t=$(now)
for s in "${STAGES[@]}"; do
    "$BIN/metriflow-worker" --stage "$s" --log warn >>"$DIR/$s.log" 2>&1 &
    pids+=($!)
done
sleep 0.2
until [ "$(sql -c "SELECT sum(pending) FROM mf_pipeline_status()")" = 0 ]; do sleep 0.05; done
echo "through the workers (one per stage, default --batch): $(since "$t" 2) s"
sql -f "$ROOT/tests/integration/data/worker_snapshot.sql" >"$DIR/workers.snap"
if diff -q "$DIR/sql.snap" "$DIR/workers.snap" >/dev/null; then
    echo "results: identical (md5 of every staged and aggregate table)"
else
    echo "results: DIFFERENT (see $DIR)"
fi
sql -X -c "SELECT stage, units, runs, round(busy_s::numeric, 2) AS busy_s FROM mf_pipeline_status()"
stop_workers

"$AMQ" publish yearly '{"stage":"yearly"}' "$NOTICES"
t=$(now)
"$BIN/metriflow-worker" --stage yearly --log info >"$DIR/notices.log" 2>&1 &
pids+=($!)
acked() {
    grep -o 'msg="batch done" batch=[0-9]* msgs=[0-9]*' "$DIR/notices.log" |
        sed 's/.*msgs=//' | paste -sd+ | bc
}
until [ "$(acked)" = "$NOTICES" ]; do sleep 0.05; done
batches=$(grep -c 'msg="batch done"' "$DIR/notices.log" || true)
calls=$(grep 'msg="batch done"' "$DIR/notices.log" | sed 's/.*calls=\([0-9]*\).*/\1/' | paste -sd+ | bc)
echo "notices: $NOTICES waiting notices consumed in $(since "$t" 2) s: $batches batches, $calls stage calls"
stop_workers
rm -rf "$DIR"
