#!/usr/bin/env bash
# metriflow-ingest killed in the middle of a file: with SIGKILL nothing
# committed is lost and no batch is partial; a rerun loads the whole file
# again (the staged identity rule makes the repeat harmless). With SIGTERM
# it finishes the chunk in hand and exits.
source "$MF_ROOT/tests/lib.sh"

mf_fresh_db ingest_crash || { not_ok "fresh database"; mf_done; exit 1; }
mf_fresh_vhost ingest_crash || { not_ok "fresh vhost"; mf_done; exit 1; }
ING=$MF_BIN/metriflow-ingest
GEN=$MF_BIN/metriflow-gen
DRAIN=$MF_BIN/../tests/mft_drain
D=$T_OUT/data
mkdir -p "$D"
N=150000
F=$D/big.ndjson
"$GEN" --source ga --records $N --seed 5 -o "$F" 2>/dev/null

wait_for() {
    local limit=$(($1 * 10)) i=0
    shift
    until "$@"; do
        i=$((i + 1))
        [ $i -ge $limit ] && return 1
        sleep 0.1
    done
}
batches() { mf_sql "SELECT count(*) FROM ingest_batch WHERE stream = '$F'"; }
has_batch() { [ "$(batches)" -ge 1 ]; }

# Every batch holds exactly its accepted rows and has its pending work.
# (Two loaders may commit chunks in either order, so after SIGKILL the
# committed chunks need not be the first ones; after SIGTERM they are.)
consistent() {
    mf_sql "SELECT (SELECT count(*) FROM ingest_batch b LEFT JOIN (SELECT batch_id, count(*) n FROM raw_ga GROUP BY 1) r USING (batch_id) WHERE r.n IS DISTINCT FROM b.accepted::bigint)
              + (SELECT count(*) FROM ingest_batch b WHERE b.accepted > 0 AND NOT EXISTS (SELECT 1 FROM pending_batch p WHERE p.batch_id = b.batch_id))"
}
prefix() {
    mf_sql "SELECT count(*) = max(ord) AND min(ord) = 1 FROM raw_ga"
}

# ---- SIGKILL in the middle ----------------------------------------------------
"$ING" --source ga "$F" >"$T_OUT/kill.log" 2>&1 &
pid=$!
check "a first chunk is committed" wait_for 120 has_batch
kill -KILL $pid
wait $pid 2>/dev/null
committed=$(mf_sql "SELECT count(*) FROM raw_ga")
diag "killed after $committed of $N records"
check "killed before the end of the file" test "$committed" -lt $N
check_eq "no partial batch, pending work for every batch" 0 "$(consistent)"
check_eq "committed rows are whole chunks of the stream" 0 \
    "$(mf_sql "SELECT count(*) FROM ingest_batch b WHERE (SELECT count(*) FROM raw_ga r WHERE r.batch_id = b.batch_id AND r.ord BETWEEN b.first_ord AND b.first_ord + b.accepted - 1) <> b.accepted")"

# ---- rerun: everything loaded, the repeat is the same identities ---------------
before=$(mf_sql "SELECT coalesce(max(batch_id), 0) FROM ingest_batch")
"$ING" --source ga "$F" >"$T_OUT/rerun.log" 2>&1
check_eq "rerun: exit 0" 0 $?
check_eq "rerun: batches consistent" 0 "$(consistent)"
check_eq "rerun: every record once more, no new identity" "$((committed + N))|$N" \
    "$(mf_sql "SELECT count(*), count(DISTINCT (site, path, ts)) FROM raw_ga")"
check_eq "rerun: the second load is complete" "$N|1|$N|$N" \
    "$(mf_sql "SELECT count(*), min(ord), max(ord), count(DISTINCT ord) FROM raw_ga WHERE batch_id > $before")"

# ---- PostgreSQL connections killed in the middle: reconnect and retry ----------
mf_sql "TRUNCATE raw_ga, ingest_batch, pending_batch, rejected_record" >/dev/null
"$DRAIN" mf.stage-ga >/dev/null
"$ING" --source ga "$F" >"$T_OUT/reconnect.log" 2>&1 &
pid=$!
check "a first chunk is committed" wait_for 120 has_batch
killed=$(mf_sql "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE application_name = 'metriflow-ingest' AND datname = current_database()")
diag "terminated $killed ingest connections"
wait $pid
check_eq "connections terminated: the ingest still finishes (exit 0)" 0 $?
check "the lost connection was logged" grep -qE 'lost PostgreSQL during a chunk|cannot reach PostgreSQL' "$T_OUT/reconnect.log"
check_eq "connections terminated: batches consistent" 0 "$(consistent)"
check_eq "connections terminated: every record stored" "$N|1|$N" \
    "$(mf_sql "SELECT count(DISTINCT ord), min(ord), max(ord) FROM raw_ga")"

# ---- SIGTERM in the middle: the chunk in hand is finished ------------------------
mf_sql "TRUNCATE raw_ga, ingest_batch, pending_batch, rejected_record" >/dev/null
"$DRAIN" mf.stage-ga >/dev/null
"$ING" --source ga "$F" >"$T_OUT/term.log" 2>&1 &
pid=$!
check "a first chunk is committed" wait_for 120 has_batch
kill -TERM $pid
wait $pid
rc=$?
committed=$(mf_sql "SELECT count(*) FROM raw_ga")
diag "stopped after $committed of $N records"
if [ "$committed" -lt $N ]; then
    check_eq "stopped early: exit 1" 1 $rc
    check "stopped early: logged" grep -q 'stream stopped before its end' "$T_OUT/term.log"
else
    check_eq "finished before the signal: exit 0" 0 $rc
fi
check_eq "SIGTERM: batches consistent" 0 "$(consistent)"
check_eq "SIGTERM: the committed rows are the stream's first records" t "$(prefix)"
check_eq "SIGTERM: every committed batch was notified" "$(batches)" \
    "$("$DRAIN" mf.stage-ga | wc -l)"
mf_done
