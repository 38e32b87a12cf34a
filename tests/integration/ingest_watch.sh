#!/usr/bin/env bash
# metriflow-ingest --watch DIR against real PostgreSQL and RabbitMQ: files
# present at start, files renamed into place, a file still being written is
# not read early, ignored names, done/ and failed/, SIGTERM.
source "$MF_ROOT/tests/lib.sh"

mf_fresh_db ingest_watch || { not_ok "fresh database"; mf_done; exit 1; }
mf_fresh_vhost ingest_watch || { not_ok "fresh vhost"; mf_done; exit 1; }
ING=$MF_BIN/metriflow-ingest
GEN=$MF_BIN/metriflow-gen
W=$T_OUT/inbox
D=$T_OUT/data
rm -rf "$W" "$D"
mkdir -p "$W" "$D"

# wait_for SECONDS COMMAND...: polls until the command succeeds.
wait_for() {
    local limit=$(($1 * 10)) i=0
    shift
    until "$@"; do
        i=$((i + 1))
        [ $i -ge $limit ] && return 1
        sleep 0.1
    done
}
rows_of() { mf_sql "SELECT count(*) FROM raw_ga r JOIN ingest_batch b USING (batch_id) WHERE b.stream = '$W/$1'"; }

"$GEN" --source ga --records 500 --seed 1 -o "$W/pre.ndjson" 2>/dev/null
"$GEN" --source ga --records 400 --seed 2 -o "$D/slow.ndjson" 2>/dev/null
"$GEN" --source ga --records 300 --seed 3 --format array -o "$D/next.json" 2>/dev/null

"$ING" --source ga --watch "$W" >"$T_OUT/watch.log" 2>&1 &
pid=$!

check "a file present at start is loaded and moved to done/" wait_for 60 test -f "$W/done/pre.ndjson"
check_eq "its records are committed" 500 "$(rows_of pre.ndjson)"
check "done/ and failed/ exist" test -d "$W/done" -a -d "$W/failed"

# A file still open for writing, half written, is not taken...
exec 3>"$W/slow.ndjson"
head -n 200 "$D/slow.ndjson" >&3
# ...while files renamed into place are, and ignored names are not.
cp "$D/next.json" "$W/.hidden.json"
cp "$D/next.json" "$W/x.tmp"
cp "$D/next.json" "$W/y.part"
cp "$D/next.json" "$W/next.json.tmp"
mv "$W/next.json.tmp" "$W/next.json"
check "a file renamed into place is loaded" wait_for 60 test -f "$W/done/next.json"
check_eq "its records are committed" 300 "$(rows_of next.json)"
check_eq "the file being written was not read" 0 \
    "$(mf_sql "SELECT count(*) FROM ingest_batch WHERE stream = '$W/slow.ndjson'")"
check "the file being written is still in place" test -f "$W/slow.ndjson"
tail -n +201 "$D/slow.ndjson" >&3
exec 3>&-
check "once closed it is loaded" wait_for 60 test -f "$W/done/slow.ndjson"
check_eq "all of it" 400 "$(rows_of slow.ndjson)"
check "dotfiles stay" test -f "$W/.hidden.json"
check "*.tmp stays" test -f "$W/x.tmp"
check "*.part stays" test -f "$W/y.part"
check_eq "ignored files were not read" 0 \
    "$(mf_sql "SELECT count(*) FROM ingest_batch WHERE stream ~ '(hidden|x\.tmp|y\.part)'")"

# A broken array: what precedes the error is committed, the file fails.
printf '[{"page":"/f1","ts":0,"users":1},\n{"page":"/f2","ts":0,"users":1} oops]' >"$W/bad.json.tmp"
mv "$W/bad.json.tmp" "$W/bad.json"
check "an array with a syntax error goes to failed/" wait_for 60 test -f "$W/failed/bad.json"
check_eq "the records before the error are committed" 2 "$(rows_of bad.json)"
check_eq "the error is kept with its offset" "syntax error at byte 66: expected ',' or ']' after an element" \
    "$(mf_sql "SELECT reason FROM rejected_record WHERE stream = '$W/bad.json'")"
# A corrupt gzip stream fails too.
gzip -c "$D/slow.ndjson" | head -c 2000 >"$W/cut.ndjson.gz.part"
mv "$W/cut.ndjson.gz.part" "$W/cut.ndjson.gz"
check "a truncated gzip stream goes to failed/" wait_for 60 test -f "$W/failed/cut.ndjson.gz"
check "the reason is logged" grep -q 'gzip stream is truncated' "$T_OUT/watch.log"

# The same name again: loaded again, kept beside the first one.
cp "$D/next.json" "$W/n.tmp"
mv "$W/n.tmp" "$W/next.json"
check "a second file of the same name is kept as done/next.json.1" wait_for 60 test -f "$W/done/next.json.1"
check_eq "both loads committed" 600 "$(rows_of next.json)"

kill -TERM $pid
wait $pid
check_eq "SIGTERM: clean exit 0" 0 $?
check "SIGTERM: logged" grep -q 'msg="stopped"' "$T_OUT/watch.log"
check "nothing left in failed/ but the broken files" test "$(ls "$W/failed" | wc -l)" -eq 2

"$ING" --watch "$T_OUT/does-not-exist" >"$T_OUT/nodir.log" 2>&1
check_eq "a missing directory is a fatal error (1)" 1 $?
mf_done
