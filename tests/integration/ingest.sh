#!/usr/bin/env bash
# metriflow-ingest one-shot mode against real PostgreSQL and RabbitMQ:
# counts per table, rejected rows with reasons and positions, exit codes,
# both framings, gzip, standard input, exact values, chunk bookkeeping,
# notifications, a second load of the same file, two ingests in parallel.
source "$MF_ROOT/tests/lib.sh"

mf_fresh_db ingest || { not_ok "fresh database"; mf_done; exit 1; }
mf_fresh_vhost ingest || { not_ok "fresh vhost"; mf_done; exit 1; }
ING=$MF_BIN/metriflow-ingest
GEN=$MF_BIN/metriflow-gen
DRAIN=$MF_BIN/../tests/mft_drain
D=$T_OUT/data
mkdir -p "$D"

# ---- usage and exit codes ---------------------------------------------------
"$ING" --help >/dev/null 2>&1
check_eq "--help exits 0" 0 $?
"$ING" >/dev/null 2>&1
check_eq "no FILE and no --watch is bad usage (2)" 2 $?
"$ING" --source xx f >/dev/null 2>&1
check_eq "an unknown --source is bad usage (2)" 2 $?
"$ING" - - </dev/null >/dev/null 2>&1
check_eq "standard input twice is bad usage (2)" 2 $?
"$ING" "$D/missing.ndjson" >"$T_OUT/missing.log" 2>&1
check_eq "a missing file is a fatal error (1)" 1 $?
METRIFLOW_PG_URL=postgresql://nobody@127.0.0.1:1/none "$ING" --source ga \
    /dev/null >"$T_OUT/nodb.log" 2>&1
check_eq "an unreachable database is a fatal error in one-shot mode (1)" 1 $?
check "the reason is logged" grep -q 'cannot connect to PostgreSQL' "$T_OUT/nodb.log"
"$ING" --source ga /dev/null >/dev/null 2>&1
check_eq "an empty stream: exit 0" 0 $?

# ---- a hand-written NDJSON stream: accepted, rejected, positions -------------
cat >"$D/mixed.ndjson" <<'JSON'
{"site":"Shop.Example","page":"/pricing/","ts":"2026-03-14T10:00:00Z","users":120,"sessions":150,"views":410,"bounces":60,"duration_s":10234.5}

{"page":"https://Blog.Example/a/b/?q=1#x","ts":1773482400,"views":1e3,"duration_s":0.123456789012345,"extra":{"deep":[1,{"users":"no"}]}}
{"page":"/y","ts":1773482400,"users":1.5}
{"page":"/y","ts":1773482400,"users":1,}
{"page":"/z","ts":1773482400,"views":2} trailing
{"page":"/big","ts":"2199-12-31T23:59:59Z","users":1000000000000,"duration_s":1e12}
{"page":"/over","ts":1773482400,"users":1,"duration_s":1000000000000.0000001}
JSON
"$ING" --source ga "$D/mixed.ndjson" >"$T_OUT/mixed.log" 2>&1
check_eq "some records rejected: exit 3" 3 $?
check_eq "accepted GA rows" 3 "$(mf_sql "SELECT count(*) FROM raw_ga")"
check_eq "normalised pages and exact values" \
    "shop.example|/pricing|1|120|150|410|60|10234.5
blog.example|/a/b|2|0|0|1000|0|0.123456789012345
default|/big|6|1000000000000|0|0|0|1000000000000" \
    "$(mf_sql "SELECT site, path, ord, users, sessions, views, bounces, duration_s FROM raw_ga ORDER BY ord")"
check_eq "ts stored as UTC" "2026-03-14 10:00:00+00|2199-12-31 23:59:59+00" \
    "$(mf_sql "SET TIME ZONE 'UTC'; SELECT string_agg(ts::text, '|' ORDER BY ord) FROM raw_ga WHERE ord IN (1, 6)")"
check_eq "rejected rows: kind, ordinal, byte offset, reason" \
    "ga|3|283|users must be an integer (it has a fractional part)
ga|4|325|syntax error at byte 364: expected a member name (a string)
ga|5|366|syntax error at byte 406: unexpected data after the record
ga|7|499|duration_s is out of range (0 to 10^12)" \
    "$(mf_sql "SELECT kind, ordinal, byte_offset, reason FROM rejected_record ORDER BY ordinal")"
check_eq "rejected text is the record's line" \
    '{"page":"/z","ts":1773482400,"views":2} trailing' \
    "$(mf_sql "SELECT text FROM rejected_record WHERE ordinal = 5")"
check_eq "stream name recorded" "$D/mixed.ndjson" \
    "$(mf_sql "SELECT DISTINCT stream FROM rejected_record")"
check_eq "one batch with its counts" "ga|1|3|4" \
    "$(mf_sql "SELECT kind, first_ord, accepted, rejected FROM ingest_batch")"
batch=$(mf_sql "SELECT batch_id FROM ingest_batch")
check_eq "pending work recorded with the batch" "stage-ga|$batch" \
    "$(mf_sql "SELECT stage, batch_id FROM pending_batch")"
check_eq "confirmed notification to stage-ga" "mf.stage-ga {\"batch_id\":$batch}" \
    "$("$DRAIN" mf.stage-ga mf.stage-psi 2>&1)"
check "summary line on standard error" grep -q 'msg="ingest finished" files=1 failed_files=0 records=7 accepted=3 rejected=4' "$T_OUT/mixed.log"

# ---- kinds from the records; mixed kinds in one stream ------------------------
cat >"$D/kinds.ndjson" <<'JSON'
{"source":"psi","page":"https://shop.example/p/","ts":1773482400,"performance_score":87,"lcp_ms":2350,"cls":0.04}
{"source":"ga","page":"/g","ts":1773482400,"users":5}
{"page":"/nokind","ts":1773482400,"users":5}
{"source":"psi","page":"/q","ts":"2026-03-14T10:00:00.5+01:00","performance_score":100,"lcp_ms":6e5,"cls":100,"inp_ms":0,"fcp_ms":0.5,"ttfb_ms":1.25}
JSON
"$ING" "$D/kinds.ndjson" >"$T_OUT/kinds.log" 2>&1
check_eq "kinds told by the source member: exit 3 (one unknown)" 3 $?
check_eq "psi rows with NULL for absent metrics" \
    "shop.example|/p|87|2350|0.04|||
default|/q|100|600000|100|0|0.5|1.25" \
    "$(mf_sql "SELECT site, path, performance_score, lcp_ms, cls, inp_ms, fcp_ms, ttfb_ms FROM raw_psi ORDER BY ord")"
check_eq "psi ts with offset and fraction, as UTC" "2026-03-14 09:00:00.5+00" \
    "$(mf_sql "SET TIME ZONE 'UTC'; SELECT ts FROM raw_psi WHERE path = '/q'")"
check_eq "one batch per kind in the chunk" "ga|1|0
psi|2|0" \
    "$(mf_sql "SELECT kind, accepted, rejected FROM ingest_batch WHERE stream LIKE '%kinds.ndjson' ORDER BY kind")"
check_eq "a record of no kind is kept with kind NULL" "|3|the record's kind cannot be told: no source member and no --source" \
    "$(mf_sql "SELECT coalesce(kind, ''), ordinal, reason FROM rejected_record WHERE stream LIKE '%kinds.ndjson'")"
check_eq "one notification per kind" "2" "$("$DRAIN" mf.stage-ga mf.stage-psi | wc -l)"

# ---- exact numerics: base-10000 groups on both sides of the point ---------------
cat >"$D/numbers.ndjson" <<'JSON'
{"page":"/n1","ts":1,"users":1,"duration_s":123456789012.123456789012345}
{"page":"/n2","ts":2,"users":1,"duration_s":0.000000000000001}
{"page":"/n3","ts":3,"users":1,"duration_s":10000.0001e0}
{"page":"/n4","ts":4,"users":1,"duration_s":99990000e-4}
{"page":"/n5","ts":5,"users":1,"duration_s":-0.0}
JSON
"$ING" --source ga "$D/numbers.ndjson" >"$T_OUT/numbers.log" 2>&1
check_eq "numbers: exit 0" 0 $?
check_eq "numerics stored exactly" \
    "123456789012.123456789012345 0.000000000000001 10000.0001 9999 0" \
    "$(mf_sql "SELECT string_agg(duration_s::text, ' ' ORDER BY ord) FROM raw_ga JOIN ingest_batch USING (batch_id) WHERE stream LIKE '%numbers.ndjson'")"

# ---- RabbitMQ unreachable: the data is committed, the work is recorded ---------
METRIFLOW_AMQP_URL=amqp://guest:guest@127.0.0.1:1/ "$ING" --source ga \
    "$D/numbers.ndjson" >"$T_OUT/noamqp.log" 2>&1
check_eq "without RabbitMQ: exit 0" 0 $?
check "without RabbitMQ: a warning" grep -q 'cannot reach RabbitMQ; the batch waits for the sweep' "$T_OUT/noamqp.log"
check_eq "without RabbitMQ: rows and pending work committed" "10|2" \
    "$(mf_sql "SELECT (SELECT count(*) FROM raw_ga JOIN ingest_batch USING (batch_id) WHERE stream LIKE '%numbers.ndjson') || '|' || (SELECT count(*) FROM pending_batch JOIN ingest_batch USING (batch_id) WHERE stream LIKE '%numbers.ndjson')")"
"$DRAIN" mf.stage-ga >/dev/null

# ---- array framing: a syntax error ends the stream, what came before stays ---
printf '[\n{"page":"/a1","ts":0,"users":1},\n{"page":"/a2","ts":0,"users":1},\n7,\n{"page":"/a3","ts":0,"users":1} x\n{"page":"/a4","ts":0,"users":1}]\n' >"$D/broken.json"
"$ING" --source ga "$D/broken.json" >"$T_OUT/broken.log" 2>&1
check_eq "array with a syntax error: exit 3" 3 $?
check_eq "records before the error kept" "/a1 /a2 /a3" \
    "$(mf_sql "SELECT string_agg(path, ' ' ORDER BY ord) FROM raw_ga JOIN ingest_batch USING (batch_id) WHERE stream LIKE '%broken.json'")"
check_eq "non-object element rejected, syntax error names its offset" \
    "3|68|the record is not a JSON object
5|103|syntax error at byte 103: expected ',' or ']' after an element" \
    "$(mf_sql "SELECT ordinal, byte_offset, reason FROM rejected_record WHERE stream LIKE '%broken.json' ORDER BY ordinal")"
check "the log names the offset" grep -q 'syntax error at byte 103' "$T_OUT/broken.log"

# ---- generated data: both framings, gzip, standard input ---------------------
"$GEN" --source ga --records 3000 --invalid 0.02 --duplicates 0.05 --format array --gzip -o "$D/ga.json.gz" 2>/dev/null
"$GEN" --source psi --records 3000 --late 0.1 --format ndjson -o "$D/psi.ndjson" 2>/dev/null
before_ga=$(mf_sql "SELECT count(*) FROM raw_ga")
"$ING" --source ga "$D/ga.json.gz" >"$T_OUT/ga.log" 2>&1
check_eq "gzip array with 2% invalid: exit 3" 3 $?
check_eq "gzip array: accepted rows" 2940 "$(($(mf_sql "SELECT count(*) FROM raw_ga") - before_ga))"
check_eq "gzip array: rejected rows" 60 "$(mf_sql "SELECT count(*) FROM rejected_record WHERE stream LIKE '%ga.json.gz'")"
gzip -c "$D/psi.ndjson" | "$ING" --source psi - >"$T_OUT/stdin.log" 2>&1
check_eq "gzip NDJSON on standard input: exit 0" 0 $?
check_eq "standard input is the stream '-'" "3000|0" \
    "$(mf_sql "SELECT sum(accepted), sum(rejected) FROM ingest_batch WHERE stream = '-'")"
check_eq "every ordinal of the stream stored once" "3000|1|3000" \
    "$(mf_sql "SELECT count(DISTINCT ord), min(ord), max(ord) FROM raw_psi r JOIN ingest_batch b USING (batch_id) WHERE b.stream = '-'")"
"$DRAIN" mf.stage-ga mf.stage-psi >/dev/null

# ---- chunks: bounded transactions whose bookkeeping matches their rows --------
"$GEN" --source ga --records 60000 --format ndjson -o "$D/big.ndjson" 2>/dev/null
"$ING" --source ga "$D/big.ndjson" >"$T_OUT/big.log" 2>&1
check_eq "60000 records: exit 0" 0 $?
check "more than one chunk" test "$(mf_sql "SELECT count(*) FROM ingest_batch WHERE stream LIKE '%big.ndjson'")" -ge 2
check_eq "each batch holds exactly its accepted rows, from first_ord on" 0 \
    "$(mf_sql "SELECT count(*) FROM ingest_batch b LEFT JOIN (SELECT batch_id, count(*) n, min(ord) lo FROM raw_ga GROUP BY 1) r USING (batch_id) WHERE b.stream LIKE '%big.ndjson' AND (r.n IS DISTINCT FROM b.accepted::bigint OR r.lo IS DISTINCT FROM b.first_ord)")"
check_eq "batch ids follow the stream order (two loaders)" 0 \
    "$(mf_sql "SELECT count(*) FROM (SELECT first_ord, lag(first_ord) OVER (ORDER BY batch_id) AS prev FROM ingest_batch WHERE stream LIKE '%big.ndjson') x WHERE first_ord <= prev")"
check_eq "pending work for every batch" 0 \
    "$(mf_sql "SELECT count(*) FROM ingest_batch b WHERE b.kind = 'ga' AND b.accepted > 0 AND NOT EXISTS (SELECT 1 FROM pending_batch p WHERE p.batch_id = b.batch_id AND p.stage = 'stage-ga')")"
nb=$(mf_sql "SELECT count(*) FROM ingest_batch WHERE stream LIKE '%big.ndjson'")
check_eq "one notification per batch" "$nb" "$("$DRAIN" mf.stage-ga | wc -l)"

# ---- a second load of the same file ---------------------------------------
"$ING" --source ga "$D/big.ndjson" >"$T_OUT/big2.log" 2>&1
check_eq "second load: exit 0" 0 $?
check_eq "second load stored again in new batches" "120000|60000" \
    "$(mf_sql "SELECT count(*), count(DISTINCT (site, path, ts)) FROM raw_ga r JOIN ingest_batch b USING (batch_id) WHERE b.stream LIKE '%big.ndjson'")"
"$DRAIN" mf.stage-ga >/dev/null

# ---- two ingests in parallel: GA and PSI do not block each other ---------------
"$GEN" --source ga --records 20000 --seed 7 -o "$D/par_ga.ndjson" 2>/dev/null
"$GEN" --source psi --records 20000 --seed 7 --format array -o "$D/par_psi.json" 2>/dev/null
"$ING" --source ga "$D/par_ga.ndjson" >"$T_OUT/par_ga.log" 2>&1 &
p1=$!
"$ING" --source psi "$D/par_psi.json" >"$T_OUT/par_psi.log" 2>&1 &
p2=$!
wait $p1
r1=$?
wait $p2
r2=$?
check_eq "parallel GA ingest: exit 0" 0 $r1
check_eq "parallel PSI ingest: exit 0" 0 $r2
check_eq "parallel: both complete" "20000 20000" \
    "$(mf_sql "SELECT (SELECT count(*) FROM raw_ga r JOIN ingest_batch b USING (batch_id) WHERE b.stream LIKE '%par_ga.ndjson') || ' ' || (SELECT count(*) FROM raw_psi r JOIN ingest_batch b USING (batch_id) WHERE b.stream LIKE '%par_psi.json')")"
# and two files in one process, loaded side by side
"$ING" --jobs 2 --source ga "$D/par_ga.ndjson" "$D/mixed.ndjson" >"$T_OUT/two.log" 2>&1
check_eq "two files in one run: exit 3 (mixed.ndjson has rejects)" 3 $?
check "two files in one run: summary" grep -q 'files=2 failed_files=0 records=20007 accepted=20003 rejected=4' "$T_OUT/two.log"

mf_done
