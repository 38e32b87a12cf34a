#!/usr/bin/env bash
# End to end: metriflow-gen writes GA and PSI records with late, duplicate
# and corrected ones, metriflow-ingest loads them and notifies, the seven
# workers (sweep off, so only the notices drive them) bring the pipeline to
# idle, and every aggregate level is present, consistent with the staged
# records and confirmed by metriflow-admin verify.
source "$MF_ROOT/tests/lib.sh"
source "$MF_ROOT/tests/integration/data/worker_lib.sh"
trap stop_all_workers EXIT

mf_fresh_db worker_e2e && mf_fresh_vhost worker_e2e ||
    { not_ok "fresh database and vhost"; mf_done; exit 1; }
for s in "${STAGES[@]}"; do start_worker "$s" "$s" --sweep-seconds 3600; done
connected() { for s in "${STAGES[@]}"; do log_has "$s" "connected to RabbitMQ" || return 1; done; }
check "all seven workers connected" wait_until 60 connected

gen() { # KIND RECORDS
    "$MF_BIN/metriflow-gen" --source "$1" --records "$2" --pages 20 --sites 3 \
        --seed 7 --late 0.05 --duplicates 0.05 --corrections 0.05 \
        -o "$T_OUT/$1.ndjson" 2>>"$T_OUT/gen.log"
}
check "generate 6000 GA records" gen ga 6000
check "generate 4000 PSI records" gen psi 4000
"$MF_BIN/metriflow-ingest" --source ga "$T_OUT/ga.ndjson" >"$T_OUT/ingest-ga.out" 2>&1
check_eq "ingest GA exits 0" 0 $?
"$MF_BIN/metriflow-ingest" --source psi "$T_OUT/psi.ndjson" >"$T_OUT/ingest-psi.out" 2>&1
check_eq "ingest PSI exits 0" 0 $?

check "the pipeline becomes idle" wait_until 120 pipeline_idle
check_eq "mf_pipeline_status: nothing pending at any stage" \
    "stage-ga|0 stage-psi|0 page|0 interval|0 daily|0 monthly|0 yearly|0" \
    "$(mf_sql "SELECT stage, pending FROM mf_pipeline_status()" | tr '\n' ' ' | sed 's/ $//')"
check_eq "every stage did work" 7 \
    "$(mf_sql "SELECT count(*) FROM mf_pipeline_status() WHERE units > 0")"
check_eq "20 pages at the yearly level" 20 "$(mf_sql "SELECT count(*) FROM agg_year")"
check_eq "views: yearly total equals the staged records" \
    "$(mf_sql "SELECT sum(views) FROM staged_ga")" \
    "$(mf_sql "SELECT sum(views) FROM agg_year")"
check_eq "PSI samples: yearly total equals the staged records" \
    "$(mf_sql "SELECT count(*) FROM staged_psi")" \
    "$(mf_sql "SELECT sum(psi_samples) FROM agg_year")"
check_eq "one hourly row per page and hour of either kind" \
    "$(mf_sql "SELECT count(*) FROM (SELECT page_id, date_trunc('hour', ts)
               FROM staged_ga UNION SELECT page_id, date_trunc('hour', ts)
               FROM staged_psi) k")" \
    "$(mf_sql "SELECT count(*) FROM agg_hour")"
"$MF_BIN/metriflow-admin" verify >"$T_OUT/verify.out" 2>&1
check_eq "metriflow-admin verify finds no drift" 0 $?
check_eq "no dead letters" 0 "$("$MFT_AMQP" count mf.dead)"
bad=0
for s in "${STAGES[@]}"; do
    stop_worker "$s"
    [ "$W_RC" = 0 ] || bad=$((bad + 1))
done
check_eq "every worker stopped with exit 0" 0 "$bad"
mf_done
