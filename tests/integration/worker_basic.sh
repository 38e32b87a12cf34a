#!/usr/bin/env bash
# metriflow-worker against the real PostgreSQL and RabbitMQ, with a
# stand-in mf_stage_run (data/worker_fake_stage.sql) that records every
# unit each stage processed: a message makes the stage run and notify the
# next one; waiting messages are coalesced into one drain; a poison
# message and a failing stage end in mf.dead without holding up other
# work; dead-letters list and replay; SIGTERM exits 0.
source "$MF_ROOT/tests/lib.sh"
source "$MF_ROOT/tests/integration/data/worker_lib.sh"
trap stop_all_workers EXIT

mf_fresh_db worker_basic && mf_fresh_vhost worker_basic && use_fake_stage ||
    { not_ok "fresh database and vhost"; mf_done; exit 1; }
ADMIN=$MF_BIN/metriflow-admin

# --- usage ---------------------------------------------------------------------
"$MF_BIN/metriflow-worker" --stage nosuch --prefetch 0 --amqp-url http://x \
    >"$T_OUT/usage.out" 2>&1
check_eq "bad options: exit 2" 2 $?
check "all option errors reported together" \
    grep -q -- "--prefetch" "$T_OUT/usage.out"
check "the stage error is among them" grep -q -- "--stage" "$T_OUT/usage.out"
check "the URL error is among them" grep -q -- "--amqp-url" "$T_OUT/usage.out"

# --- a message drives the chain ------------------------------------------------
# Sweeps only at start: from then on only messages make a stage run.
start_worker stage-ga stage-ga --sweep-seconds 3600 --batch 7 \
    --metrics-addr 127.0.0.1:0
for s in page interval daily monthly yearly; do
    start_worker "$s" "$s" --sweep-seconds 3600 --batch 7
done
check "six workers swept once at start" \
    wait_until 60 sql_is "SELECT count(DISTINCT stage) FROM t_calls" 6
mf_sql "INSERT INTO t_work (stage, origin)
        SELECT 'stage-ga', g FROM generate_series(1, 200) g"
"$MFT_AMQP" publish stage-ga '{"stage":"stage-ga"}'
check "one message carried 200 units through every stage" \
    wait_until 60 sql_is "SELECT count(*) FROM t_done WHERE stage = 'yearly'" 200
check_eq "every stage processed every unit exactly once" \
    "daily|200|200 interval|200|200 monthly|200|200 page|200|200 stage-ga|200|200 yearly|200|200" \
    "$(mf_sql "SELECT stage, count(*), count(DISTINCT origin) FROM t_done
               GROUP BY stage ORDER BY stage" | tr '\n' ' ' | sed 's/ $//')"
check_eq "no work left" 0 "$(mf_sql "SELECT count(*) FROM t_work")"
check_eq "calls were bounded by --batch" 0 \
    "$(mf_sql "SELECT count(*) FROM t_calls WHERE n > 7")"
check "the stage-ga log has a batch line with units" \
    log_has stage-ga 'msg="batch done" batch=1 msgs=1 units=200'
check "log lines carry the stage" log_has page 'stage=page msg="batch done"'
port=$(grep -o 'msg="metrics listening" port=[0-9]*' "$T_OUT/stage-ga.log" | sed 's/.*port=//')
curl -s "http://127.0.0.1:${port:-1}/metrics" >"$T_OUT/metrics.txt"
check "metrics count the units" \
    grep -qx 'mf_worker_units_total{stage="stage-ga"} 200' "$T_OUT/metrics.txt"
check "metrics count the message" \
    grep -qx 'mf_worker_messages_total{stage="stage-ga"} 1' "$T_OUT/metrics.txt"
check "metrics count notices to page" \
    grep -qx 'mf_worker_notices_total{stage="stage-ga"} [1-9][0-9]*' "$T_OUT/metrics.txt"
check "every queue drained" wait_until 30 queue_is mf.yearly 0

# --- coalescing ----------------------------------------------------------------
mf_sql "INSERT INTO t_work (stage, origin)
        SELECT 'stage-psi', g FROM generate_series(1001, 1100) g"
"$MFT_AMQP" publish stage-psi '{"stage":"stage-psi"}' 20
check_eq "20 notices wait for stage-psi" 20 "$("$MFT_AMQP" count mf.stage-psi)"
start_worker stage-psi stage-psi --sweep-seconds 3600 --batch 7
check "the psi units reached yearly" \
    wait_until 60 sql_is "SELECT count(*) FROM t_done WHERE stage = 'yearly'" 300
check "all 20 notices acknowledged" wait_until 30 queue_is mf.stage-psi 0
msgs=$(grep -o 'msg="batch done" batch=[0-9]* msgs=[0-9]*' "$T_OUT/stage-psi.log" |
    sed 's/.*msgs=//' | paste -sd+ | bc)
check_eq "the batches held the 20 notices" 20 "$msgs"
batches=$(grep -c 'msg="batch done"' "$T_OUT/stage-psi.log")
check "fewer drains than notices (coalesced: $batches batches)" [ "$batches" -lt 20 ]
empty=$(mf_sql "SELECT count(*) FROM t_calls WHERE stage = 'stage-psi' AND n = 0")
check "fewer empty stage calls than notices ($empty)" [ "$empty" -lt 20 ]

# --- poison, failing stage, dead letters ------------------------------------------
# A poison body and a misaddressed notice among valid page work: the work
# goes through, the two end in mf.dead.
"$MFT_AMQP" publish page 'not json'
"$MFT_AMQP" publish page '{"stage":"daily"}'
mf_sql "INSERT INTO t_work (stage, origin)
        SELECT 'page', g FROM generate_series(2001, 2050) g"
"$MFT_AMQP" publish page '{"stage":"page"}'
check "valid page work went on past the poison" \
    wait_until 60 sql_is "SELECT count(*) FROM t_done WHERE stage = 'yearly'" 350
check "the two bad notices reach mf.dead" wait_until 60 queue_is mf.dead 2
# A failing stage: its notice fails five times and ends in mf.dead too.
mf_sql "INSERT INTO t_fail VALUES ('yearly')"
mf_sql "INSERT INTO t_work (stage, origin)
        SELECT 'yearly', g FROM generate_series(3001, 3010) g"
"$MFT_AMQP" publish yearly '{"stage":"yearly"}'
check "the failing stage's notice reaches mf.dead" wait_until 60 queue_is mf.dead 3
"$ADMIN" dead-letters list >"$T_OUT/dead.list" 2>"$T_OUT/dead.err"
check_eq "dead-letters list exits 0" 0 $?
check "the header names the columns" \
    grep -qP '^TIME\tSTAGE\tATTEMPTS\tERROR\tBODY$' "$T_OUT/dead.list"
check "the poison is listed with stage, attempts, error and body" \
    grep -qP '^20\d\d-\d\d-\d\dT[0-9:]+Z\tpage\t5\tmessage body is not a JSON object.*\tnot json$' \
    "$T_OUT/dead.list"
check "the misaddressed notice is listed" \
    grep -qP '\tpage\t5\tmessage is addressed to another stage: daily\t' "$T_OUT/dead.list"
check "the failing stage's notice is listed with the database error" \
    grep -qP '\tyearly\t5\t.*injected failure in stage yearly.*\t\{"stage":"yearly"\}$' \
    "$T_OUT/dead.list"
"$ADMIN" dead-letters list --limit 1 >"$T_OUT/dead1.list" 2>/dev/null
check_eq "--limit 1 lists one letter" 2 "$(wc -l <"$T_OUT/dead1.list")"
check_eq "listing leaves the letters in place" 3 "$("$MFT_AMQP" count mf.dead)"
check_eq "the failed yearly work is still pending" 10 \
    "$(mf_sql "SELECT count(*) FROM t_work WHERE stage = 'yearly'")"

# Fix the stage, replay: the yearly notice drives the work to the end
# (no sweep would); the poison fails again and returns to mf.dead.
mf_sql "DELETE FROM t_fail"
"$ADMIN" dead-letters replay >"$T_OUT/replay.out" 2>"$T_OUT/replay.err"
check_eq "dead-letters replay exits 0" 0 $?
check "replay reports three letters" grep -q "replayed 3 dead letter" "$T_OUT/replay.out"
check "the replayed notice finished the work" \
    wait_until 60 sql_is "SELECT count(*) FROM t_done WHERE stage = 'yearly'" 360
check "the two bad notices are dead again" wait_until 60 queue_is mf.dead 2
check_eq "every unit processed exactly once per stage" 0 \
    "$(mf_sql "SELECT count(*) FROM (SELECT stage, origin FROM t_done
               GROUP BY 1, 2 HAVING count(*) > 1) d")"

# --- SIGTERM ------------------------------------------------------------------
for s in stage-ga stage-psi page interval daily monthly yearly; do
    stop_worker "$s"
    check_eq "$s stops with exit 0 on SIGTERM" 0 "$W_RC"
    check "$s logged its stop" log_has "$s" 'msg="worker stopped" signal=15'
done
mf_done
