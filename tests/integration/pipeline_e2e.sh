#!/usr/bin/env bash
# The whole chain: metriflow-gen files (late, duplicate and corrected
# records, every spelling of ts and page) -> metriflow-ingest -> two
# metriflow-worker instances of every stage over RabbitMQ -> idle; then
# every level is compared with tests/tools/pipeline_ref.py's reference,
# computed from the generator's files themselves (records.md normalisation
# and identity rule in Python, exact decimals), and verify must be clean.
# A second, late wave (corrections of the first file's records, loaded
# later) must bring the levels to the new reference too.
source "$MF_ROOT/tests/lib.sh"
REF="$MF_ROOT/tests/tools/pipeline_ref.py"
STAGES=(stage-ga stage-psi page interval daily monthly yearly)
D=$T_OUT/files
mkdir -p "$D"

mf_fresh_db pipeline_e2e || { not_ok "fresh database"; mf_done; exit 1; }
mf_fresh_vhost pipeline_e2e || { not_ok "fresh vhost"; mf_done; exit 1; }

PIDS=()
cleanup() {
    for p in "${PIDS[@]}"; do kill -TERM "$p" 2>/dev/null; done
    for p in "${PIDS[@]}"; do wait "$p" 2>/dev/null; done
}
trap cleanup EXIT

gen() { "$MF_BIN/metriflow-gen" --seed 11 --pages 12 --sites 3 --start 2025-12-31 "$@" 2>>"$T_OUT/gen.log"; }
gen --source ga --records 3000 --late 0.05 --duplicates 0.05 --corrections 0.05 -o "$D/ga.ndjson" &&
    gen --source psi --records 3000 --late 0.05 --duplicates 0.05 --corrections 0.05 --format array --gzip -o "$D/psi.json.gz" &&
    gen --source ga --records 1200 --corrections 0.3 --late 0.1 -o "$D/ga2.ndjson" ||
    { not_ok "metriflow-gen writes the files"; mf_done; exit 1; }

for s in "${STAGES[@]}"; do
    for i in 1 2; do
        "$MF_BIN/metriflow-worker" --stage "$s" --sweep-seconds 2 \
            >>"$T_OUT/worker-$s-$i.log" 2>&1 &
        PIDS+=($!)
    done
done

idle() { [ "$(mf_sql "SELECT count(*) FROM mf_pipeline_status() WHERE pending > 0")" = 0 ]; }
wait_idle() {
    local i
    for i in $(seq 600); do idle && return 0; sleep 0.2; done
    return 1
}

# compare LABEL KIND FILE...: dumps the levels and compares.
compare() {
    local label=$1; shift
    local args=()
    while [ $# -gt 0 ]; do args+=(--json "$1" "$2"); shift 2; done
    psql "$METRIFLOW_PG_URL" -qAtX -f "$MF_ROOT/tests/tools/dump_levels.sql" \
        >"$T_OUT/actual-$label.tsv" 2>"$T_OUT/dump.err" ||
        { not_ok "$label: dump the levels"; return; }
    if python3 "$REF" compare "${args[@]}" --actual "$T_OUT/actual-$label.tsv" \
        >"$T_OUT/compare-$label.log" 2>&1; then
        ok "$label: every level equals the reference ($(tail -n 1 "$T_OUT/compare-$label.log"))"
    else
        not_ok "$label: levels differ from the reference"
        head -n 20 "$T_OUT/compare-$label.log" | sed 's/^/# /' >&2
    fi
}

"$MF_BIN/metriflow-ingest" --source ga "$D/ga.ndjson" >"$T_OUT/ingest-ga.log" 2>&1 &
ga_pid=$!
"$MF_BIN/metriflow-ingest" --source psi "$D/psi.json.gz" >"$T_OUT/ingest-psi.log" 2>&1
check_eq "ingest of the PSI file exits 0" 0 $?
wait $ga_pid
check_eq "ingest of the GA file exits 0" 0 $?
check "the workers reach idle" wait_idle
compare first ga "$D/ga.ndjson" psi "$D/psi.json.gz"

"$MF_BIN/metriflow-ingest" --source ga "$D/ga2.ndjson" >"$T_OUT/ingest-ga2.log" 2>&1
check_eq "ingest of the late wave exits 0" 0 $?
check "the workers reach idle again" wait_idle
compare late-wave ga "$D/ga.ndjson" ga "$D/ga2.ndjson" psi "$D/psi.json.gz"

"$MF_BIN/metriflow-admin" verify >"$T_OUT/verify.log" 2>&1
check_eq "verify is clean" 0 $?
check_eq "every raw batch was staged" 0 "$(mf_sql "SELECT count(*) FROM pending_batch")"
check "no worker logged an error" bash -c "! grep -l 'level=error' $T_OUT/worker-*.log"
mf_done
