#!/usr/bin/env bash
# Benchmark of metriflow-ingest (docs/BENCHMARKS.md, section "Ingest").
#
#  1. 2 M GA records from NDJSON against psql's own \copy of the same rows
#     as CSV into a table of the same columns (and index), alternating,
#     ROUNDS times; each run starts from an empty table after a CHECKPOINT.
#     A third run per round loads the same rows with psql's \copy in
#     binary format: the server's own cost of the two COPY formats.
#  2. 13 M GA and 13 M PSI records loaded in parallel (two processes).
#  3. Peak RSS (/usr/bin/time -v) for 1 M and for the 13 M runs.
#
# Uses a Release build in build-bench, a dedicated database and vhost on
# the local stack (MF_LOCAL_DIR), and drops the database at the end.
# Settings: BENCH_DIR (data, default /var/tmp/mf-bench-ingest), ROUNDS (3),
# SMALL (2000000), BIG (13000000), SKIP_BIG=1 to skip parts 2-3 for 13 M.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
cd "$ROOT"
DIR=${BENCH_DIR:-/var/tmp/mf-bench-ingest}
ROUNDS=${ROUNDS:-3}
SMALL=${SMALL:-2000000}
BIG=${BIG:-13000000}
B=$ROOT/build-bench
mkdir -p "$DIR"

echo "== Release build in $B"
cmake -S . -B "$B" -DCMAKE_BUILD_TYPE=Release -DMF_WERROR=OFF >/dev/null 2>&1
cmake --build "$B" -j 2 --target metriflow-ingest metriflow-gen metriflow-admin >/dev/null 2>&1
ING=$B/bin/metriflow-ingest
GEN=$B/bin/metriflow-gen

eval "$(tools/metriflow-local env)"
DB=mfbench_ingest
METRIFLOW_PG_URL=$(tools/metriflow-local createdb $DB)
METRIFLOW_AMQP_URL=$(tools/metriflow-local vhost mfbench_ingest)
export METRIFLOW_PG_URL METRIFLOW_AMQP_URL METRIFLOW_LOG=warn
trap 'tools/metriflow-local psql -d postgres -qc "DROP DATABASE IF EXISTS $DB WITH (FORCE)" >/dev/null 2>&1 || true' EXIT
"$B/bin/metriflow-admin" migrate >/dev/null 2>&1
sql() { psql "$METRIFLOW_PG_URL" -qAtX -v ON_ERROR_STOP=1 -c "$1"; }
now() { date +%s.%N; }
calc() { awk "BEGIN { print $1 }"; }

echo "== machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs), load $(cut -d' ' -f1-3 /proc/loadavg)"

# ---- 1. ingest against psql \copy of the same rows ----------------------------
echo "== generating $SMALL GA records (NDJSON) and the same rows as CSV"
"$GEN" --source ga --records "$SMALL" --seed 11 -o "$DIR/ga_small.ndjson" 2>/dev/null
"$ING" --source ga "$DIR/ga_small.ndjson" 2>/dev/null
sql "CREATE TABLE bench_copy (LIKE raw_ga INCLUDING ALL)"
psql "$METRIFLOW_PG_URL" -qc "\\copy (SELECT batch_id, ord, site, path, ts, users, sessions, views, bounces, duration_s FROM raw_ga) TO '$DIR/ga_small.csv' WITH (FORMAT csv)"
psql "$METRIFLOW_PG_URL" -qc "\\copy (SELECT batch_id, ord, site, path, ts, users, sessions, views, bounces, duration_s FROM raw_ga) TO '$DIR/ga_small.bin' WITH (FORMAT binary)"
echo "   NDJSON $(du -h "$DIR/ga_small.ndjson" | cut -f1), CSV $(du -h "$DIR/ga_small.csv" | cut -f1)"

ti=0
tc=0
tb=0
for r in $(seq 1 "$ROUNDS"); do
    sql "TRUNCATE raw_ga, ingest_batch, pending_batch; CHECKPOINT"
    t0=$(now)
    "$ING" --source ga "$DIR/ga_small.ndjson" 2>/dev/null
    t1=$(now)
    n=$(sql "SELECT count(*) FROM raw_ga")
    sql "TRUNCATE bench_copy; CHECKPOINT"
    t2=$(now)
    psql "$METRIFLOW_PG_URL" -qc "\\copy bench_copy FROM '$DIR/ga_small.csv' WITH (FORMAT csv)"
    t3=$(now)
    m=$(sql "SELECT count(*) FROM bench_copy")
    sql "TRUNCATE bench_copy; CHECKPOINT"
    t4=$(now)
    psql "$METRIFLOW_PG_URL" -qc "\\copy bench_copy FROM '$DIR/ga_small.bin' WITH (FORMAT binary)"
    t5=$(now)
    b=$(calc "$t5 - $t4")
    tb=$(calc "$tb + $b")
    a=$(calc "$t1 - $t0")
    c=$(calc "$t3 - $t2")
    ti=$(calc "$ti + $a")
    tc=$(calc "$tc + $c")
    printf '   round %d: ingest %.2f s (%d rows, %.0f rec/s)  psql \\copy csv %.2f s (%d rows, %.0f rec/s)  ratio %.2f  [psql \\copy binary %.2f s]\n' \
        "$r" "$a" "$n" "$(calc "$n / $a")" "$c" "$m" "$(calc "$m / $c")" "$(calc "$c / $a")" "$b"
done
printf '   total: ingest %.2f s, psql \\copy csv %.2f s: ingest rate / COPY rate = %.2f\n' \
    "$ti" "$tc" "$(calc "$tc / $ti")"
printf '   psql \\copy binary %.2f s: binary rate / csv rate = %.2f\n' "$tb" "$(calc "$tc / $tb")"
sql "DROP TABLE bench_copy; TRUNCATE raw_ga, ingest_batch, pending_batch; CHECKPOINT"

# ---- 2 and 3. peak RSS for 1 M; 13 M GA and 13 M PSI in parallel --------------
echo "== peak RSS, 1 M GA records"
head -n 1000000 "$DIR/ga_small.ndjson" >"$DIR/ga_1m.ndjson"
/usr/bin/time -f '   1 M GA: %e s, peak RSS %M KiB' "$ING" --source ga "$DIR/ga_1m.ndjson" 2>&1 | grep 'peak RSS'
rm -f "$DIR/ga_1m.ndjson" "$DIR/ga_small.csv" "$DIR/ga_small.bin"
sql "TRUNCATE raw_ga, ingest_batch, pending_batch; CHECKPOINT"
if [ "${SKIP_BIG:-0}" = 1 ]; then
    rm -f "$DIR/ga_small.ndjson"
    exit 0
fi

echo "== generating $BIG GA and $BIG PSI records (NDJSON)"
"$GEN" --source ga --records "$BIG" --seed 21 --pages 5000 -o "$DIR/ga_big.ndjson" 2>/dev/null
"$GEN" --source psi --records "$BIG" --seed 21 --pages 5000 -o "$DIR/psi_big.ndjson" 2>/dev/null
echo "   GA $(du -h "$DIR/ga_big.ndjson" | cut -f1), PSI $(du -h "$DIR/psi_big.ndjson" | cut -f1)"
echo "== $BIG GA and $BIG PSI in parallel"
t0=$(now)
/usr/bin/time -f '%e %M' -o "$DIR/ga.time" "$ING" --source ga "$DIR/ga_big.ndjson" 2>/dev/null &
p1=$!
/usr/bin/time -f '%e %M' -o "$DIR/psi.time" "$ING" --source psi "$DIR/psi_big.ndjson" 2>/dev/null &
p2=$!
wait $p1 $p2
t1=$(now)
tot=$(calc "$t1 - $t0")
ng=$(sql "SELECT count(*) FROM raw_ga")
np=$(sql "SELECT count(*) FROM raw_psi")
read -r eg mg <"$DIR/ga.time"
read -r ep mp <"$DIR/psi.time"
printf '   GA: %d rows in %.1f s (%.0f rec/s), peak RSS %d KiB\n' "$ng" "$eg" "$(calc "$ng / $eg")" "$mg"
printf '   PSI: %d rows in %.1f s (%.0f rec/s), peak RSS %d KiB\n' "$np" "$ep" "$(calc "$np / $ep")" "$mp"
printf '   together: %d rows in %.1f s = %.0f records/s\n' "$((ng + np))" "$tot" "$(calc "($ng + $np) / $tot")"
rm -f "$DIR/ga_big.ndjson" "$DIR/psi_big.ndjson" "$DIR/ga_small.ndjson" "$DIR"/*.time
