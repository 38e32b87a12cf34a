#!/usr/bin/env bash
# Coalescing (--coalesce-seconds) with the real stage procedures against
# real PostgreSQL and RabbitMQ: a monthly worker does not recompute while an
# earlier stage has work pending, acknowledges its notices meanwhile,
# recomputes every pending page-month once the earlier stages have drained
# (without a new message), and never waits past --coalesce-seconds; yearly
# waits by default, daily does not. The levels are verified at the end.
source "$MF_ROOT/tests/lib.sh"
source "$MF_ROOT/tests/integration/data/worker_lib.sh"
trap stop_all_workers EXIT

mf_fresh_db worker_coalesce && mf_fresh_vhost worker_coalesce ||
    { not_ok "fresh database and vhost"; mf_done; exit 1; }

# drain_sql STAGE: the stage called until it has nothing left, as a worker would.
drain_sql() {
    mf_sql "DO \$\$ BEGIN WHILE mf_stage_run('$1', 1000) > 0 LOOP COMMIT; END LOOP; END \$\$"
}
pending() { mf_sql "SELECT count(*) FROM pending_$1"; }
# One stored page-day pending again for the daily stage (its recompute
# changes nothing): work of an earlier stage, for as long as no daily runs.
daily_work() {
    mf_sql "INSERT INTO pending_daily (page_id, day)
            SELECT page_id, day FROM agg_day ORDER BY 1, 2 LIMIT 1"
}

load_batches 1 4
for s in stage-ga stage-psi page interval daily; do drain_sql "$s"; done
months=$(mf_sql "SELECT count(DISTINCT (page_id, month)) FROM pending_monthly")
check "the daily stage left page-months pending ($months)" [ "$months" -gt 1 ]
daily_work

start_worker monthly monthly --coalesce-seconds 600 --sweep-seconds 3600 \
    --metrics-addr 127.0.0.1:0
check "monthly worker started" wait_until 30 log_has monthly "metrics listening"
port=$(grep -o 'msg="metrics listening" port=[0-9]*' "$T_OUT/monthly.log" | sed 's/.*port=//')
waits_at_least() {
    local n
    n=$(curl -s "http://127.0.0.1:${port:-1}/metrics" |
        sed -n 's/^mf_worker_coalesce_waits_total{stage="monthly"} //p')
    [ "${n:-0}" -ge "$1" ]
}
check "monthly asks again while daily has work (3 waits counted)" \
    wait_until 30 waits_at_least 3
"$MFT_AMQP" publish monthly '{"stage":"monthly"}' 3
check "its notices are acknowledged meanwhile" wait_until 30 queue_is mf.monthly 0
check_eq "nothing was recomputed meanwhile" 0 "$(mf_sql "SELECT count(*) FROM agg_month")"
check_eq "the page-months are still pending" "$months" \
    "$(mf_sql "SELECT count(DISTINCT (page_id, month)) FROM pending_monthly")"
check "the worker logged that it waited" log_has monthly "waiting=1"

start_worker yearly yearly --sweep-seconds 3600
check "yearly waits 30 s by default" wait_until 30 log_has yearly "coalesce_s=30"

drain_sql daily
check "monthly recomputes once daily has drained, with no new message" \
    wait_until 30 sql_is "SELECT count(*) FROM pending_monthly" 0
check_eq "every pending page-month was recomputed" "$months" \
    "$(mf_sql "SELECT count(*) FROM agg_month")"
check "yearly follows" wait_until 30 sql_is \
    "SELECT count(*) > 0 AND NOT EXISTS (SELECT 1 FROM pending_yearly) FROM agg_year" t

# The bound: a page-month pending for longer than --coalesce-seconds is
# recomputed although daily still has work.
daily_work
mf_sql "INSERT INTO pending_monthly (page_id, month, created_at)
        SELECT page_id, month, now() - interval '11 min'
        FROM agg_month ORDER BY 1, 2 LIMIT 1"
"$MFT_AMQP" publish monthly '{"stage":"monthly"}' 1
check "monthly stops waiting after --coalesce-seconds" \
    wait_until 30 sql_is "SELECT count(*) FROM pending_monthly" 0
check_eq "while daily still has work" 1 "$(pending daily)"

# daily does not wait by default: its work goes ahead although interval
# has work pending too.
mf_sql "INSERT INTO pending_interval (page_id, day)
        SELECT page_id, day FROM agg_day ORDER BY 1, 2 LIMIT 1"
start_worker daily daily --sweep-seconds 3600
check "daily does not wait by default" wait_until 30 log_has daily "coalesce_s=0"
check "daily drains while interval has work" \
    wait_until 30 sql_is "SELECT count(*) FROM pending_daily" 0
check_eq "interval's work is still there" 1 "$(pending interval)"

bad=0
for s in monthly yearly daily; do
    stop_worker "$s"
    [ "$W_RC" = 0 ] || bad=$((bad + 1))
done
check_eq "every worker stopped with exit 0" 0 "$bad"
for s in interval daily monthly yearly; do drain_sql "$s"; done
"$MF_BIN/metriflow-admin" verify >"$T_OUT/verify.out" 2>&1
check_eq "metriflow-admin verify finds no drift" 0 $?
mf_done
