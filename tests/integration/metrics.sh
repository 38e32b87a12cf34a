#!/usr/bin/env bash
# Metrics of metriflow-ingest and metriflow-worker (--metrics-addr,
# METRIFLOW_METRICS_ADDR): a watch-mode ingest and one worker per stage,
# each on its own listener, load a GA file with known valid and invalid
# records; once the pipeline is idle, /metrics shows the real numbers,
# checked against the file and against mf_pipeline_status(). Bad addresses
# are usage errors (exit 2), a busy port is a fatal error (exit 1).
source "$MF_ROOT/tests/lib.sh"
source "$MF_ROOT/tests/integration/data/worker_lib.sh"
ING_PID=
ING2_PID=
cleanup() {
    stop_all_workers
    local p
    for p in $ING_PID $ING2_PID; do kill -TERM "$p" 2>/dev/null; wait "$p" 2>/dev/null; done
}
trap cleanup EXIT

ING=$MF_BIN/metriflow-ingest
WRK=$MF_BIN/metriflow-worker

# --- usage errors ------------------------------------------------------------
for bad in nonsense 127.0.0.1 127.0.0.1:65536 localhost:9100 :9100 127.0.0.1:x; do
    "$WRK" --stage daily --metrics-addr "$bad" >/dev/null 2>"$T_OUT/usage.err"
    check_eq "worker --metrics-addr '$bad' is a usage error" 2 $?
done
"$WRK" --stage nosuch --prefetch 0 --metrics-addr nonsense >/dev/null 2>"$T_OUT/usage.err"
check_eq "worker: several bad options exit 2" 2 $?
check "... and every error is listed together" \
    bash -c "grep -q -- '--metrics-addr' '$T_OUT/usage.err' &&
             grep -q -- '--prefetch' '$T_OUT/usage.err' &&
             grep -q -- '--stage' '$T_OUT/usage.err'"
METRIFLOW_METRICS_ADDR=1.2.3:80 "$ING" --jobs 0 x.ndjson >/dev/null 2>"$T_OUT/usage.err"
check_eq "ingest: bad METRIFLOW_METRICS_ADDR and --jobs exit 2" 2 $?
check "... and both errors are listed" \
    bash -c "grep -q -- '--metrics-addr' '$T_OUT/usage.err' && grep -q -- '--jobs' '$T_OUT/usage.err'"
"$ING" --metrics-addr off --help >/dev/null 2>&1
check_eq "ingest --help with --metrics-addr off exits 0" 0 $?

# --- a stack with metrics ----------------------------------------------------
mf_fresh_db metrics && mf_fresh_vhost metrics ||
    { not_ok "fresh database and vhost"; mf_done; exit 1; }

# port_of LOG: the port a daemon's metrics listener bound (from its log).
port_of() { grep 'msg="metrics listening"' "$1" | grep -o 'port=[0-9]*' | head -n 1 | cut -d= -f2; }
# metric PORT 'NAME{LABELS}': the sample's value ("" when absent).
metric() {
    curl -sf "http://127.0.0.1:$1/metrics" | awk -v k="$2" '$1 == k { print $2 }'
}
metric_is() { [ "$(metric "$1" "$2")" = "$3" ]; }

declare -A PORT
for s in "${STAGES[@]}"; do
    start_worker "$s" "$s" --sweep-seconds 1 --metrics-addr 127.0.0.1:0
done
listening() {
    for s in "${STAGES[@]}"; do
        PORT[$s]=$(port_of "$T_OUT/$s.log")
        [ -n "${PORT[$s]}" ] || return 1
    done
}
check "every worker serves metrics on its own port" wait_until 60 listening
connected() { for s in "${STAGES[@]}"; do log_has "$s" "connected to RabbitMQ" || return 1; done; }
check "all seven workers connected" wait_until 60 connected

W=$T_OUT/inbox
rm -rf "$W" && mkdir -p "$W"
METRIFLOW_METRICS_ADDR=127.0.0.1:0 "$ING" --source ga --watch "$W" >"$T_OUT/ingest.log" 2>&1 &
ING_PID=$!
ing_port() { IPORT=$(port_of "$T_OUT/ingest.log"); [ -n "$IPORT" ]; }
check "the watch-mode ingest serves metrics (METRIFLOW_METRICS_ADDR)" wait_until 30 ing_port
check_eq "before any file: 0 records read" 0 "$(metric "$IPORT" mf_ingest_records_read_total)"

# 600 GA records, 60 of them invalid (10%), in two files.
"$MF_BIN/metriflow-gen" --source ga --records 400 --pages 8 --seed 3 --invalid 0.1 \
    -o "$T_OUT/a.ndjson" 2>>"$T_OUT/gen.log"
"$MF_BIN/metriflow-gen" --source ga --records 200 --pages 8 --seed 4 --invalid 0.1 \
    --start 2026-02-01 -o "$T_OUT/b.ndjson" 2>>"$T_OUT/gen.log"
mv "$T_OUT/a.ndjson" "$W/" && mv "$T_OUT/b.ndjson" "$W/"
check "both files loaded" wait_until 60 test -f "$W/done/a.ndjson" -a -f "$W/done/b.ndjson"
check "the pipeline becomes idle" wait_until 120 pipeline_idle

check_eq "records in the database: 540 accepted, 60 rejected" "540 60" \
    "$(mf_sql "SELECT (SELECT count(*) FROM raw_ga), (SELECT count(*) FROM rejected_record)" | tr '|' ' ')"
check_eq "mf_ingest_records_read_total" 600 "$(metric "$IPORT" mf_ingest_records_read_total)"
check_eq "mf_ingest_records_accepted_total{kind=ga}" 540 \
    "$(metric "$IPORT" 'mf_ingest_records_accepted_total{kind="ga"}')"
check_eq "mf_ingest_records_accepted_total{kind=psi}" 0 \
    "$(metric "$IPORT" 'mf_ingest_records_accepted_total{kind="psi"}')"
check_eq "mf_ingest_records_rejected_total: 60 over all kinds" 60 \
    "$(curl -sf "http://127.0.0.1:$IPORT/metrics" |
        awk '$1 ~ /^mf_ingest_records_rejected_total[{]/ { n += $2 } END { print n }')"
# A record whose "source" contradicts --source has no kind: "unknown".
for k in ga unknown; do
    check_eq "mf_ingest_records_rejected_total{kind=$k} equals rejected_record" \
        "$(mf_sql "SELECT count(*) FROM rejected_record WHERE coalesce(kind::text, 'unknown') = '$k'")" \
        "$(metric "$IPORT" "mf_ingest_records_rejected_total{kind=\"$k\"}")"
done
check_eq "chunks committed: one per file" 2 "$(metric "$IPORT" mf_ingest_chunks_committed_total)"
check_eq "commit histogram counts every chunk" 2 "$(metric "$IPORT" mf_ingest_commit_seconds_count)"
check_eq "notifications published: one per batch" \
    "$(mf_sql "SELECT count(*) FROM ingest_batch WHERE accepted > 0")" \
    "$(metric "$IPORT" mf_ingest_notifications_published_total)"
check_eq "no failed notifications" 0 "$(metric "$IPORT" mf_ingest_notifications_failed_total)"
check_eq "no reconnects to PostgreSQL" 0 \
    "$(metric "$IPORT" 'mf_ingest_reconnects_total{server="postgresql"}')"
check_eq "files done" 2 "$(metric "$IPORT" 'mf_ingest_files_total{result="done"}')"
check_eq "files failed" 0 "$(metric "$IPORT" 'mf_ingest_files_total{result="failed"}')"

# Each worker against mf_pipeline_status() (one worker per stage, fresh db),
# all values of a worker from one scrape (its sweeps keep calling).
for s in "${STAGES[@]}"; do
    l="stage=\"$s\""
    p=${PORT[$s]}
    check "$s: pending gauge reaches 0" wait_until 30 metric_is "$p" "mf_worker_pending{$l}" 0
    curl -sf "http://127.0.0.1:$p/metrics" >"$T_OUT/$s.prom"
    m() { awk -v k="$1{$l}" '$1 == k { print $2 }' "$T_OUT/$s.prom"; }
    read -r runs units <<<"$(mf_sql "SELECT runs, units FROM mf_pipeline_status() WHERE stage = '$s'" | tr '|' ' ')"
    if [ "$s" = stage-psi ]; then
        check_eq "$s: no runs (no PSI data)" 0 "$(m mf_worker_stage_runs_total)"
    else
        check "$s: stage runs > 0" [ "$(m mf_worker_stage_runs_total)" -gt 0 ]
        check "$s: units > 0" [ "$(m mf_worker_units_total)" -gt 0 ]
    fi
    check_eq "$s: stage runs equal mf_pipeline_status().runs" "$runs" "$(m mf_worker_stage_runs_total)"
    check_eq "$s: units equal mf_pipeline_status().units" "$units" "$(m mf_worker_units_total)"
    check "$s: stage calls >= runs" [ "$(m mf_worker_stage_calls_total)" -ge "$runs" ]
    check_eq "$s: the call histogram counts every call" \
        "$(m mf_worker_stage_calls_total)" "$(m mf_worker_stage_call_seconds_count)"
    check "$s: sweeps counted" [ "$(m mf_worker_sweeps_total)" -gt 0 ]
    check_eq "$s: oldest pending 0" 0 "$(m mf_worker_oldest_pending_seconds)"
    check_eq "$s: no dead letters, no retries" "0 0" \
        "$(m mf_worker_dead_letters_total) $(m mf_worker_failed_messages_total)"
    check_eq "$s: one connection to each server (no reconnect)" "1 1" \
        "$(m mf_worker_pg_reconnects_total) $(m mf_worker_amqp_reconnects_total)"
done
p=${PORT[stage-ga]}
check "stage-ga: messages received" [ "$(metric "$p" 'mf_worker_messages_total{stage="stage-ga"}')" -gt 0 ]
acked_all() {
    [ "$(metric "$p" 'mf_worker_messages_total{stage="stage-ga"}')" = \
        "$(metric "$p" 'mf_worker_messages_acked_total{stage="stage-ga"}')" ]
}
check "stage-ga: every received message is acknowledged" wait_until 30 acked_all
check "a metrics listener answers 404 elsewhere" \
    bash -c "[ \"\$(curl -s -o /dev/null -w '%{http_code}' http://127.0.0.1:$p/nothing)\" = 404 ]"

# Every worker's PostgreSQL connection cut: each reconnects, and says so.
mf_sql "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity
        WHERE datname = current_database() AND application_name LIKE 'metriflow-worker/%'" >/dev/null
reconnected() {
    for s in "${STAGES[@]}"; do
        metric_is "${PORT[$s]}" "mf_worker_pg_reconnects_total{stage=\"$s\"}" 2 || return 1
    done
}
check "after pg_terminate_backend every worker counts a PostgreSQL reconnect" \
    wait_until 60 reconnected

# An ingest that cannot reach RabbitMQ still commits, and counts each
# notification it could not send; the sweep finds the batches.
W2=$T_OUT/inbox2
rm -rf "$W2" && mkdir -p "$W2"
METRIFLOW_AMQP_URL=amqp://nobody:nothing@127.0.0.1:1/ "$ING" --source ga --watch "$W2" \
    --metrics-addr 127.0.0.1:0 >"$T_OUT/ingest2.log" 2>&1 &
ING2_PID=$!
ing2_port() { I2PORT=$(port_of "$T_OUT/ingest2.log"); [ -n "$I2PORT" ]; }
check "a second ingest serves metrics on its own port" wait_until 30 ing2_port
"$MF_BIN/metriflow-gen" --source ga --records 100 --pages 8 --seed 5 \
    --start 2026-03-01 -o "$T_OUT/c.ndjson" 2>>"$T_OUT/gen.log"
mv "$T_OUT/c.ndjson" "$W2/"
check "its file is loaded" wait_until 60 test -f "$W2/done/c.ndjson"
check_eq "its notification counted as failed" "0 1" \
    "$(metric "$I2PORT" mf_ingest_notifications_published_total) $(metric "$I2PORT" mf_ingest_notifications_failed_total)"
check_eq "its records counted" 100 \
    "$(metric "$I2PORT" 'mf_ingest_records_accepted_total{kind="ga"}')"
kill -TERM "$ING2_PID"; wait "$ING2_PID"
check_eq "the second ingest stops with exit 0" 0 $?
ING2_PID=
check "the sweep takes the unannounced batch: idle again" wait_until 120 pipeline_idle

# A port already taken: the worker says so and exits 1.
"$WRK" --stage daily --metrics-addr "127.0.0.1:$p" >"$T_OUT/busy.log" 2>&1
check_eq "a busy metrics port is a fatal error" 1 $?
check "... explained in the log" grep -q "cannot start the metrics listener" "$T_OUT/busy.log"

kill -TERM "$ING_PID"; wait "$ING_PID"
check_eq "the ingest stops with exit 0" 0 $?
ING_PID=
bad=0
for s in "${STAGES[@]}"; do
    stop_worker "$s"
    [ "$W_RC" = 0 ] || bad=$((bad + 1))
done
check_eq "every worker stopped with exit 0" 0 "$bad"
mf_done
