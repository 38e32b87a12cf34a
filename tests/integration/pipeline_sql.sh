#!/usr/bin/env bash
# The pipeline's SQL against real PostgreSQL, without RabbitMQ or workers:
# raw batches are written as the ingest writes them (raw rows and their
# pending_batch row in one transaction), three concurrent drivers per stage
# call mf_stage_run as workers would, and once idle every level is compared
# with a reference that tests/tools/pipeline_ref.py computes from the same
# input files with exact decimals. The data has late records, duplicates and
# corrections across batches, the same identity twice in one batch,
# corrections that lower a maximum and raise a minimum, batches loaded out
# of order, a whole reload of every batch, and a page-day that disappears.
# Also: metriflow-admin verify (0 when clean, 1 after tampering) and status.
source "$MF_ROOT/tests/lib.sh"
REF="$MF_ROOT/tests/tools/pipeline_ref.py"
DRIVER="$MF_ROOT/tests/tools/stage_driver.sh"
DATA=$T_OUT/data
STOP=$T_OUT/stop
STAGES=(stage-ga stage-psi page interval daily monthly yearly)
NB=24

mf_fresh_db pipeline_sql || { not_ok "fresh database"; mf_done; exit 1; }
rm -rf "$DATA" "$STOP"
python3 "$REF" gen --seed 7 --out "$DATA" --batches $NB --size 150 ||
    { not_ok "reference generator"; mf_done; exit 1; }

# load_batch ID FILE: one ingest transaction: the batch row, its raw rows,
# its pending_batch row.
load_batch() {
    local id=$1 file=$2 kind
    kind=$(awk -v b="$id" '$1 == b { print $2 }' "$DATA/batches.tsv")
    psql "$METRIFLOW_PG_URL" -qX -v ON_ERROR_STOP=1 >/dev/null <<SQL
BEGIN;
INSERT INTO ingest_batch (batch_id, kind, stream, first_ord)
    OVERRIDING SYSTEM VALUE VALUES ($id, '$kind', 'test-$id', 1);
\\copy raw_$kind FROM '$file'
INSERT INTO pending_batch (stage, batch_id) VALUES ('stage-$kind', $id);
COMMIT;
SQL
}

# run_drivers N UNITS: N drivers per stage until the pipeline is idle after
# STOP appears; returns non-zero if any failed.
DRIVER_PIDS=()
start_drivers() {
    rm -f "$STOP"
    DRIVER_PIDS=()
    for s in "${STAGES[@]}"; do
        for _ in $(seq "$1"); do
            "$DRIVER" "$s" "$2" "$STOP" 2>>"$T_OUT/drivers.log" &
            DRIVER_PIDS+=($!)
        done
    done
}
wait_drivers() {
    local rc=0
    touch "$STOP"
    for p in "${DRIVER_PIDS[@]}"; do wait "$p" || rc=1; done
    return $rc
}

# compare LABEL [--exclude SITE PATH DAY]: dump and compare with the
# reference over the batch files listed in batches.tsv.
compare() {
    local label=$1; shift
    psql "$METRIFLOW_PG_URL" -qAtX -f "$MF_ROOT/tests/tools/dump_levels.sql" \
        >"$T_OUT/actual.tsv" 2>"$T_OUT/dump.err" ||
        { not_ok "$label: dump the levels"; return; }
    if python3 "$REF" compare --dir "$DATA" --actual "$T_OUT/actual.tsv" "$@" \
        >"$T_OUT/compare-$label.log" 2>&1; then
        ok "$label: every level equals the reference ($(tail -n 1 "$T_OUT/compare-$label.log"))"
    else
        not_ok "$label: levels differ from the reference"
        head -n 20 "$T_OUT/compare-$label.log" | sed 's/^/# /' >&2
    fi
}

idle() { [ "$(mf_sql "SELECT count(*) FROM mf_pipeline_status() WHERE pending > 0")" = 0 ]; }

# 1. Batches arrive out of order (even ids descending, then odd ids
# ascending) while three drivers per stage run.
start_drivers 3 4
for id in $(seq $NB -2 1) $(seq 1 2 $NB); do
    load_batch "$id" "$DATA/$id.tsv" || not_ok "load batch $id"
done
check "three drivers per stage reach idle without errors" wait_drivers
check "mf_pipeline_status reports idle" idle
compare "concurrent-out-of-order"

# 2. Every batch loaded again under new batch ids (the same files ingested
# twice): the identity rule makes it change nothing.
for id in $(seq 1 $NB); do
    new=$((id + 100))
    sed "s/^$id\t/$new\t/" "$DATA/$id.tsv" >"$DATA/$new.tsv"
    kind=$(awk -v b="$id" '$1 == b { print $2 }' "$DATA/batches.tsv")
    echo -e "$new\t$kind" >>"$DATA/batches.tsv.new"
done
cat "$DATA/batches.tsv.new" >>"$DATA/batches.tsv"
v_before=$(mf_sql "SELECT sum(data_version) FROM page")
for id in $(seq 101 $((100 + NB))); do
    load_batch "$id" "$DATA/$id.tsv" || not_ok "reload batch $id"
done
# Staged in one run per kind, so no intermediate state (an older copy of a
# corrected record winning until its correction is staged) reaches the
# aggregates; then the other stages.
check_eq "stage-ga stages the reloaded GA batches at once" $((NB / 2)) \
    "$(mf_sql "SELECT mf_stage_run('stage-ga', 1000)")"
check_eq "stage-psi stages the reloaded PSI batches at once" $((NB / 2)) \
    "$(mf_sql "SELECT mf_stage_run('stage-psi', 1000)")"
start_drivers 2 3
check "reload reaches idle" wait_drivers
compare "reloaded"
check_eq "a reload changes no data_version" "$v_before" \
    "$(mf_sql "SELECT sum(data_version) FROM page")"

# 3. verify: clean, then after tampering with a stored aggregate.
"$MF_BIN/metriflow-admin" verify >"$T_OUT/verify-clean.log" 2>&1
check_eq "verify exits 0 on exact levels" 0 $?
mf_sql "UPDATE agg_month SET views = views + 1 WHERE (page_id, month) =
        (SELECT page_id, month FROM agg_month ORDER BY 1, 2 LIMIT 1)"
mf_sql "DELETE FROM agg_interval WHERE (page_id, day, interval) =
        (SELECT page_id, day, interval FROM agg_interval ORDER BY 1, 2, 3 LIMIT 1)"
"$MF_BIN/metriflow-admin" verify --limit 5 >"$T_OUT/verify-drift.log" 2>&1
check_eq "verify exits 1 on drift" 1 $?
check "verify names the tampered measure" grep -q "views" "$T_OUT/verify-drift.log"
check "verify names the missing row" grep -qE "^interval .* row .*absent" "$T_OUT/verify-drift.log"
check "verify counts both differences" grep -q "verify: 2 differences" "$T_OUT/verify-drift.log"
"$MF_BIN/metriflow-admin" verify --from 2030-01-01 --to 2030-12-31 >/dev/null 2>&1
check_eq "verify of an untouched range exits 0" 0 $?
# repair: mark the keys pending, as a re-run of the stages would
mf_sql "INSERT INTO pending_interval (page_id, day) SELECT page_id, day FROM agg_day"
mf_sql "INSERT INTO pending_monthly (page_id, month) SELECT page_id, month FROM agg_month"
start_drivers 1 50
check "recompute after tampering reaches idle" wait_drivers
"$MF_BIN/metriflow-admin" verify >/dev/null 2>&1
check_eq "recomputing repairs the drift" 0 $?

# 4. A page-day disappears (its records purged from raw and staged) and a
# correction arrives late for another: the emptied hours, intervals and day
# are deleted, month and year recomputed.
read -r psite ppath pday <<<"$(mf_sql "SELECT p.site, p.path, s.ts::date FROM staged_ga s JOIN page p USING (page_id) ORDER BY s.ts DESC, 1, 2 LIMIT 1" | tr '|' ' ')"
mf_sql "BEGIN;
  DELETE FROM raw_ga WHERE site = '$psite' AND path = '$ppath' AND ts::date = '$pday';
  DELETE FROM raw_psi WHERE site = '$psite' AND path = '$ppath' AND ts::date = '$pday';
  DELETE FROM staged_ga s USING page p WHERE p.page_id = s.page_id AND p.site = '$psite' AND p.path = '$ppath' AND s.ts::date = '$pday';
  DELETE FROM staged_psi s USING page p WHERE p.page_id = s.page_id AND p.site = '$psite' AND p.path = '$ppath' AND s.ts::date = '$pday';
  INSERT INTO pending_page (page_id, day) SELECT page_id, '$pday' FROM page WHERE site = '$psite' AND path = '$ppath';
  COMMIT;" >/dev/null
start_drivers 1 10
check "purge reaches idle" wait_drivers
check_eq "no stored hour is left for the purged page-day" 0 \
    "$(mf_sql "SELECT count(*) FROM agg_hour a JOIN page p USING (page_id) WHERE p.site = '$psite' AND p.path = '$ppath' AND a.hour::date = '$pday'")"
check_eq "no stored day is left for the purged page-day" 0 \
    "$(mf_sql "SELECT count(*) FROM agg_day a JOIN page p USING (page_id) WHERE p.site = '$psite' AND p.path = '$ppath' AND a.day = '$pday'")"
compare "purged" --exclude "$psite" "$ppath" "$pday"

# 5. The interface: bad arguments, isolation, status.
check_eq "an unknown stage is refused with 22023" 22023 \
    "$(psql "$METRIFLOW_PG_URL" -qAtX -v VERBOSITY=verbose -c "SELECT mf_stage_run('nope', 1)" 2>&1 | grep -oE '22023' | head -n 1)"
check_eq "REPEATABLE READ is refused with 0A000" 0A000 \
    "$(psql "$METRIFLOW_PG_URL" -qAtX -v VERBOSITY=verbose -c "BEGIN ISOLATION LEVEL REPEATABLE READ" -c "SELECT mf_stage_run('page', 1)" 2>&1 | grep -oE '0A000' | head -n 1)"
check_eq "an idle run returns 0" 0 "$(mf_sql "SELECT mf_stage_run('yearly', 10)")"
check_eq "status has one row per stage, in chain order" \
    "stage-ga stage-psi page interval daily monthly yearly" \
    "$(mf_sql "SELECT string_agg(stage, ' ') FROM mf_pipeline_status()")"
check_eq "idle: no pending age" "" \
    "$(mf_sql "SELECT string_agg(oldest_pending_s::text, ',') FROM mf_pipeline_status()")"
check_eq "mf_pipeline_idle: true when idle" t "$(mf_sql "SELECT mf_pipeline_idle()")"
# One pending row in any queue is work (inserted and rolled back, so no
# stage ever sees it).
for row in "pending_batch (stage, batch_id) VALUES ('stage-psi', -1)" \
    "pending_page (page_id, day) VALUES (-1, '2020-01-01')" \
    "pending_interval (page_id, day) VALUES (-1, '2020-01-01')" \
    "pending_daily (page_id, day) VALUES (-1, '2020-01-01')" \
    "pending_monthly (page_id, month) VALUES (-1, '2020-01-01')" \
    "pending_yearly (page_id, year) VALUES (-1, 2020)"; do
    check_eq "mf_pipeline_idle: false with one row in ${row%% *}" f \
        "$(psql "$METRIFLOW_PG_URL" -qAtX -c "BEGIN" -c "INSERT INTO $row" \
            -c "SELECT mf_pipeline_idle()" -c "ROLLBACK")"
done
# mf_stage_should_wait: only while an earlier stage has work, only for the
# stage's own pending work, only until its oldest unit has waited max_wait_s.
# Each case runs in a transaction that is rolled back.
wait_case() { # ANSWER STAGE MAX_WAIT_S ROWS... (each "table (cols) VALUES (...)")
    local want=$1 stage=$2 max=$3 rows=() r
    shift 3
    for r in "$@"; do rows+=(-c "INSERT INTO $r"); done
    check_eq "mf_stage_should_wait($stage, $max) with ${*:-nothing pending}" "$want" \
        "$(psql "$METRIFLOW_PG_URL" -qAtX -c BEGIN "${rows[@]}" \
            -c "SELECT mf_stage_should_wait('$stage', $max)" -c ROLLBACK)"
}
MONTH="pending_monthly (page_id, month) VALUES (-1, '2020-01-01')"
OLD_MONTH="pending_monthly (page_id, month, created_at) VALUES (-1, '2020-01-01', now() - interval '2 min')"
DAY="pending_daily (page_id, day) VALUES (-1, '2020-01-01')"
BATCH="pending_batch (stage, batch_id) VALUES ('stage-ga', -1)"
wait_case f monthly 30
wait_case f monthly 30 "$DAY"
wait_case f monthly 30 "$MONTH"
wait_case t monthly 30 "$MONTH" "$DAY"
wait_case t monthly 30 "$MONTH" "$BATCH"
wait_case t monthly 30 "$MONTH" "pending_page (page_id, day) VALUES (-1, '2020-01-01')"
wait_case t monthly 30 "$MONTH" "pending_interval (page_id, day) VALUES (-1, '2020-01-01')"
wait_case f monthly 0 "$MONTH" "$DAY"
wait_case f monthly 60 "$OLD_MONTH" "$DAY"
wait_case t monthly 600 "$OLD_MONTH" "$DAY"
wait_case t yearly 30 "pending_yearly (page_id, year) VALUES (-1, 2020)" "$MONTH"
wait_case f daily 30 "$DAY" "$MONTH"
wait_case t daily 30 "$DAY" "$BATCH"
wait_case f stage-ga 30 "$BATCH" "pending_batch (stage, batch_id) VALUES ('stage-psi', -2)"
check_eq "mf_stage_should_wait: an unknown stage is an error (22023)" 22023 \
    "$(psql "$METRIFLOW_PG_URL" -qAtX -v VERBOSITY=verbose -c "SELECT mf_stage_should_wait('nosuch', 30)" 2>&1 | grep -oE '22023' | head -n 1)"
"$MF_BIN/metriflow-admin" status >"$T_OUT/status.log" 2>&1
check_eq "metriflow-admin status exits 0" 0 $?
check "status lists every stage" grep -qE "^yearly +0 " "$T_OUT/status.log"
check "status says idle" grep -q "pipeline idle" "$T_OUT/status.log"
mf_sql "INSERT INTO pending_daily (page_id, day, created_at) SELECT page_id, day, now() - interval '90 s' FROM agg_day ORDER BY 1, 2 LIMIT 3" >/dev/null
check "status shows pending work and its age" \
    grep -qE "^daily +3 +1 min [3-5][0-9] s" <("$MF_BIN/metriflow-admin" status 2>&1)
check_eq "pending age in mf_pipeline_status" t \
    "$(mf_sql "SELECT oldest_pending_s BETWEEN 89 AND 200 FROM mf_pipeline_status() WHERE stage = 'daily'")"
check_eq "a run reports the units it claimed" 3 "$(mf_sql "SELECT mf_stage_run('daily', 10)")"
check_eq "stage_state records the run" t \
    "$(mf_sql "SELECT last_run_at > now() - interval '1 min' AND last_work_at IS NOT NULL AND units > 0 FROM mf_pipeline_status() WHERE stage = 'daily'")"
mf_done
