# shellcheck shell=bash
# tools/bench/lib.sh: helpers the benchmark scripts share. wait_idle and
# load_raw work on the database of METRIFLOW_PG_URL at the time of the call.

now() { date +%s.%N; }
# since T0 [DECIMALS]: seconds from T0 (a now) until now, DECIMALS (1) places.
since() { printf "%.${2:-1}f" "$(echo "$(now) - $1" | bc)"; }

# load_raw N PAGES BATCH START: N GA and N PSI synthetic raw rows, hourly
# from START over PAGES pages, in raw batches of BATCH records, each batch
# pending for staging (load_raw.sql); then raw analysed and a checkpoint,
# so that what is timed next starts from settled tables.
load_raw() {
    psql "$METRIFLOW_PG_URL" -qX -v n="$1" -v pages="$2" -v bsize="$3" \
        -v start="$4" -f "$ROOT/tools/bench/load_raw.sql"
    psql "$METRIFLOW_PG_URL" -qX -c "VACUUM ANALYZE raw_ga" \
        -c "VACUUM ANALYZE raw_psi" -c CHECKPOINT
}

# Workers a script started: add each pid to pids; stop_workers sends them
# SIGTERM, waits for them to finish their stage call and forgets them.
pids=()
stop_workers() {
    local p
    for p in "${pids[@]}"; do kill -TERM "$p" 2>/dev/null || true; done
    for p in "${pids[@]}"; do wait "$p" 2>/dev/null || true; done
    pids=()
}

# wait_idle [POLL]: returns when mf_pipeline_idle() is true. One session
# asks every POLL seconds (default 0.2), committing in between: a new psql
# per poll, or counting the queues with mf_pipeline_status(), cost the
# pipeline up to a tenth of the machine. Exits the script when the status
# cannot be read.
# shellcheck disable=SC2120 # POLL is optional
wait_idle() {
    psql "$METRIFLOW_PG_URL" -qAtX -v ON_ERROR_STOP=1 -c "DO \$\$ BEGIN LOOP
        PERFORM 1 WHERE mf_pipeline_idle(); EXIT WHEN FOUND;
        COMMIT; PERFORM pg_sleep(${1:-0.2}); END LOOP; END \$\$" ||
        { echo "pipeline status unreadable: run aborted" >&2; exit 1; }
}
