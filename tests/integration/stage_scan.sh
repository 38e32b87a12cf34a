#!/usr/bin/env bash
# Staging reads only the claimed batches' block ranges of raw, through the
# BRIN index, never the whole table, whatever the planner estimates (in a
# bulk load raw's statistics lag far behind the rows the ingest appends).
# Counted with the transaction's own scan statistics.
source "$MF_ROOT/tests/lib.sh"

mf_fresh_db stage_scan || { not_ok "fresh database"; mf_done; exit 1; }
load() { # RECORDS START: RECORDS raw rows of each kind, batches of 10,000
    psql "$METRIFLOW_PG_URL" -qX -v pages=200 -v n="$1" -v bsize=10000 \
        -v start="$2" -f "$MF_ROOT/tools/bench/load_raw.sql" >/dev/null
}
# 30 batches of each kind, analysed; then 30 more that the statistics have
# never seen. Only the new ones are pending.
load 300000 2025-01-01T00:00:00Z || not_ok "first raw rows load"
mf_sql "ANALYZE raw_ga; ANALYZE raw_psi" || not_ok "analyze"
old=$(mf_sql "SELECT max(batch_id) FROM ingest_batch")
load 300000 2026-01-01T00:00:00Z || not_ok "second raw rows load"
mf_sql "DELETE FROM pending_batch WHERE batch_id <= $old" >/dev/null

for k in ga psi; do
    # The first run summarises raw's new block ranges for the BRIN index
    # (which reads them, and counts as sequential scans); the second has
    # nothing new to summarise, so its scans are the staging statements'.
    check_eq "stage-$k: a first run stages 8 batches" 8 \
        "$(mf_sql "SELECT mf_stage_run('stage-$k', 8)")"
    # Estimates that make index reads look dear, as lagging statistics did
    # in a bulk load (the planner then read all of raw for every run).
    # (A plan that reads raw whole is also far slower here: the timeout
    # turns it into a failure instead of a hang.)
    out=$(mf_sql "BEGIN;
        SET LOCAL random_page_cost = 1000;
        SET LOCAL statement_timeout = '60s';
        SELECT mf_stage_run('stage-$k', 8);
        SELECT seq_scan || ' ' || coalesce(idx_scan, 0)
        FROM pg_stat_xact_user_tables WHERE relname = 'raw_$k';
        COMMIT;")
    units=$(sed -n 1p <<<"$out")
    read -r seq idx <<<"$(sed -n 2p <<<"$out")"
    check_eq "  a second run stages 8 more" 8 "$units"
    check_eq "  no sequential scan of raw_$k" 0 "$seq"
    check "  raw_$k read through its index ($idx scans)" [ "${idx:-0}" -ge 1 ]
    check_eq "  160,000 staged records" 160000 "$(mf_sql "SELECT count(*) FROM staged_$k")"
done
mf_done
