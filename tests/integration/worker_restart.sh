#!/usr/bin/env bash
# Workers on a PRIVATE stack (own PostgreSQL, RabbitMQ and Redis on other
# ports) survive RabbitMQ and then PostgreSQL being stopped and started in
# the middle of the work: they reconnect with backoff and lose nothing. The
# sweep is off (once an hour), so only messages drive the stages: what the
# workers held unacknowledged is redelivered and the notices they could not
# send are sent after the reconnect. The result must equal a reference run
# of the same data.
source "$MF_ROOT/tests/lib.sh"
source "$MF_ROOT/tests/integration/data/worker_lib.sh"

# Ports of our own, spread by process id so that two runs (or another
# engineer's private stack) do not collide: AMQP uses +1 (Erlang
# distribution) and -1000 (epmd) as well.
base=$((10000 + ($$ % 400) * 10))
export MF_LOCAL_DIR=$T_OUT/stack MF_PG_PORT=$base MF_AMQP_PORT=$((base + 2)) \
    MF_REDIS_PORT=$((base + 5)) MF_HTTP_PORT=$((base + 6))
LOCAL=$MF_ROOT/tools/metriflow-local
finish() {
    stop_all_workers
    "$LOCAL" down >"$T_OUT/down.log" 2>&1
}
trap finish EXIT
rm -rf "$MF_LOCAL_DIR"
if ! "$LOCAL" up --services-only >"$T_OUT/up.log" 2>&1; then
    not_ok "private stack starts on ports from $base (see $T_OUT/up.log)"
    sed 's/^/# /' "$T_OUT/up.log" >&2
    mf_done
    exit 1
fi
eval "$("$LOCAL" env)"
mf_fresh_db restart && mf_fresh_vhost restart ||
    { not_ok "fresh database and vhost"; mf_done; exit 1; }

for s in "${STAGES[@]}"; do
    start_worker "$s" "$s" --batch "$(worker_batch "$s")" --sweep-seconds 3600
done
connected() { for s in "${STAGES[@]}"; do log_has "$s" "connected to RabbitMQ" || return 1; done; }
check "all seven workers connected" wait_until 60 connected
notify_raw() {
    "$MFT_AMQP" publish stage-ga '{"stage":"stage-ga"}' &&
        "$MFT_AMQP" publish stage-psi '{"stage":"stage-psi"}'
}

# --- RabbitMQ goes away in the middle of the work --------------------------
load_batches 1 20
notify_raw
"$LOCAL" stop rabbitmq >"$T_OUT/stop-rabbitmq.log" 2>&1
check "RabbitMQ stopped" bash -c "! '$MFT_AMQP' count mf.page"
load_batches 21 30
sleep 2
"$LOCAL" start rabbitmq >"$T_OUT/start-rabbitmq.log" 2>&1
check "RabbitMQ started again" queue_is mf.dead 0
# What the ingest daemon does after its own reconnect: announce the
# batches it stored while the broker was away.
notify_raw
check "the pipeline becomes idle after the RabbitMQ restart" \
    wait_until 120 pipeline_idle
lost=0
for s in "${STAGES[@]}"; do log_has "$s" "lost the RabbitMQ connection" && lost=$((lost + 1)); done
check_eq "every worker noticed the lost RabbitMQ connection" 7 "$lost"
back=$(grep -l 'connected to RabbitMQ" queue=.* after_failures=[1-9]' "$T_OUT"/*.log | wc -l)
check_eq "every worker reconnected after failed attempts" 7 "$back"
snapshot >"$T_OUT/after-rabbitmq.snap"

# --- PostgreSQL goes away ----------------------------------------------------
load_batches 31 40
notify_raw
"$LOCAL" stop postgresql >"$T_OUT/stop-postgresql.log" 2>&1
check "PostgreSQL stopped" bash -c "! psql '$METRIFLOW_PG_URL' -qAtXc 'SELECT 1'"
# Notices while the database is away: the raw stages try, fail and back
# off, holding the messages unacknowledged.
notify_raw
check "stage-ga retries PostgreSQL while it is away" \
    wait_until 30 log_has stage-ga "cannot connect to PostgreSQL; retrying"
"$LOCAL" start postgresql >"$T_OUT/start-postgresql.log" 2>&1
check "PostgreSQL started again" sql_is "SELECT 1" 1
check "the pipeline becomes idle after the PostgreSQL restart" \
    wait_until 120 pipeline_idle
check "stage-ga reconnected after failed attempts" \
    grep -q 'connected to PostgreSQL" after_failures=[1-9]' "$T_OUT/stage-ga.log"
check_eq "no dead letters" 0 "$("$MFT_AMQP" count mf.dead)"
snapshot >"$T_OUT/after-postgresql.snap"

bad=0
for s in "${STAGES[@]}"; do
    stop_worker "$s"
    [ "$W_RC" = 0 ] || bad=$((bad + 1))
done
check_eq "every worker stopped with exit 0" 0 "$bad"
check "no sanitizer report in any log" bash -c "! grep -l 'Sanitizer' '$T_OUT'/*.log"

# --- the reference -----------------------------------------------------------
mf_fresh_db restart_ref || { not_ok "reference database"; mf_done; exit 1; }
load_batches 1 30
reference_run
snapshot >"$T_OUT/ref30.snap"
check "after the RabbitMQ restart the tables equal the reference" \
    diff "$T_OUT/ref30.snap" "$T_OUT/after-rabbitmq.snap"
load_batches 31 40
reference_run
snapshot >"$T_OUT/ref40.snap"
check "after the PostgreSQL restart the tables equal the reference" \
    diff "$T_OUT/ref40.snap" "$T_OUT/after-postgresql.snap"
check_eq "30 pages reached the yearly level" 30 "$(mf_sql "SELECT count(*) FROM agg_year")"
mf_done
