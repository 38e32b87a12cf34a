#!/usr/bin/env bash
# Three workers of every stage on the real pipeline procedures, with workers
# killed by SIGKILL in the middle of their runs and restarted, and late,
# duplicate and corrected batches arriving meanwhile. Once the pipeline is
# idle, every staged and aggregate table must equal what one worker per
# stage produces from the same data in a second database.
source "$MF_ROOT/tests/lib.sh"
source "$MF_ROOT/tests/integration/data/worker_lib.sh"
trap stop_all_workers EXIT

mf_fresh_db worker_chaos && mf_fresh_vhost worker_chaos ||
    { not_ok "fresh database and vhost"; mf_done; exit 1; }
load_batches 1 10

start_instance() { # STAGE N
    start_worker "$1-$2" "$1" --batch "$(worker_batch "$1")" --prefetch 10 \
        --sweep-seconds 2
}
for s in "${STAGES[@]}"; do
    for n in 1 2 3; do start_instance "$s" "$n"; done
done

# Batches keep arriving (one per round, with notices, as the ingest daemon
# sends them) while one worker per round, round-robin over stages and
# instances, is killed with SIGKILL and restarted. Note whether the
# pipeline had work at each kill.
busy_kills=0
for round in $(seq 1 24); do
    load_batches $((10 + round)) $((10 + round))
    "$MFT_AMQP" publish stage-ga '{"stage":"stage-ga"}'
    "$MFT_AMQP" publish stage-psi '{"stage":"stage-psi"}'
    # Soon after the notices, while the chain works on the new batch: on an
    # idle machine a batch goes through all seven stages in about 0.3 s.
    sleep 0.05
    s=${STAGES[$((round % 7))]}
    n=$((round % 3 + 1))
    pending=$(mf_sql "SELECT sum(pending) FROM mf_pipeline_status()")
    [ "${pending:-0}" -gt 0 ] && busy_kills=$((busy_kills + 1))
    kill_worker "$s-$n"
    start_instance "$s" "$n"
done
diag "kills while work was pending: $busy_kills of 24"
check "most kills hit a busy pipeline ($busy_kills of 24)" [ "$busy_kills" -ge 12 ]
check "the pipeline becomes idle" wait_until 180 pipeline_idle
alive=0
for l in "${!W_PID[@]}"; do kill -0 "${W_PID[$l]}" 2>/dev/null && alive=$((alive + 1)); done
check_eq "all 21 workers still running" 21 "$alive"
check "no sanitizer report in any log" \
    bash -c "! grep -l 'Sanitizer' '$T_OUT'/*.log"
check_eq "no dead letters" 0 "$("$MFT_AMQP" count mf.dead)"
snapshot >"$T_OUT/chaos.snap"
check_eq "30 pages reached the yearly level" 30 \
    "$(mf_sql "SELECT count(*) FROM agg_year")"
bad=0
for l in "${!W_PID[@]}"; do
    stop_worker "$l"
    [ "$W_RC" = 0 ] || bad=$((bad + 1))
done
check_eq "every worker stopped with exit 0" 0 "$bad"

# The reference: the same 34 batches, one worker per stage.
mf_fresh_db worker_chaos_ref && mf_fresh_vhost worker_chaos_ref ||
    { not_ok "reference database"; mf_done; exit 1; }
load_batches 1 34
for s in "${STAGES[@]}"; do start_worker "ref-$s" "$s" --batch "$(worker_batch "$s")"; done
check "the reference pipeline becomes idle" wait_until 120 pipeline_idle
snapshot >"$T_OUT/ref.snap"
stop_all_workers
while IFS='|' read -r table sum; do
    check_eq "$table equals the single-worker run" "$sum" \
        "$(grep "^$table|" "$T_OUT/chaos.snap" | cut -d'|' -f2)"
done <"$T_OUT/ref.snap"
check_eq "the reference compared seven tables" 7 "$(wc -l <"$T_OUT/ref.snap")"
mf_done
