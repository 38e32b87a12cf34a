#!/usr/bin/env bash
# metriflow-gen against the independent validator of records.md
# (tests/tools/validate_records.py): both framings, gzip, every share alone
# and all together, exact counts, determinism, and the shared grid of ga and
# psi. Needs no server.
source "$MF_ROOT/tests/lib.sh"

GEN=$MF_BIN/metriflow-gen
VAL=$MF_ROOT/tests/tools/validate_records.py

# field JSON KEY: one member of the validator's report.
field() { python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))[sys.argv[2]])' "$1" "$2"; }

# run NAME SOURCE N GEN-ARGS...: generates, validates, checks every count.
run() {
    local name=$1 src=$2 n=$3
    shift 3
    local f=$T_OUT/$name.out rep=$T_OUT/$name.json
    local late=0 dup=0 corr=0 inv=0
    local args=("$@")
    for ((i = 0; i < ${#args[@]}; i++)); do
        case "${args[$i]}" in
        --late) late=${args[$((i + 1))]} ;;
        --duplicates) dup=${args[$((i + 1))]} ;;
        --corrections) corr=${args[$((i + 1))]} ;;
        --invalid) inv=${args[$((i + 1))]} ;;
        esac
    done
    if ! "$GEN" --source "$src" --records "$n" "$@" -o "$f" 2>"$T_OUT/$name.err"; then
        not_ok "$name: metriflow-gen failed ($(tail -n 1 "$T_OUT/$name.err"))"
        return
    fi
    if ! python3 "$VAL" --source "$src" --keys "$T_OUT/$name.keys" "$f" >"$rep" 2>"$T_OUT/$name.verr"; then
        not_ok "$name: the validator failed ($(tail -n 1 "$T_OUT/$name.verr"))"
        return
    fi
    # One python run computes what is expected and reads what was found.
    local lines want got
    lines=$(python3 - "$rep" "$n" "$late" "$dup" "$corr" "$inv" <<'EOF2'
import json, math, sys
rep = json.load(open(sys.argv[1]))
n = int(sys.argv[2])
late, dup, corr, inv = (math.floor(float(f) * n + 0.5) for f in sys.argv[3:7])
want = dict(records=n, stream_error=None, invalid=inv, multi_reason=0,
            new=n - inv - dup - corr, late=late, duplicates=dup,
            corrections=corr)
print(" ".join("%s=%s" % (k, v) for k, v in want.items()))
print(" ".join("%s=%s" % (k, rep[k]) for k in want))
EOF2
)
    want=$(sed -n 1p <<<"$lines")
    got=$(sed -n 2p <<<"$lines")
    check_eq "$name: every record of the kind the generator meant" "$want" "$got"
}

# --- every share alone, both framings, both kinds -------------------------
run ga-plain ga 3000
run psi-plain-array psi 3000 --format array
run ga-late ga 2000 --late 0.1
run psi-late-array psi 2000 --late 0.25 --format array
run ga-dup-array ga 2000 --duplicates 0.1 --format array
run psi-dup psi 2000 --duplicates 0.3
run ga-corr ga 2000 --corrections 0.1
run psi-corr-array psi 2000 --corrections 0.2 --format array
run ga-inv ga 2000 --invalid 0.1
run psi-inv psi 2000 --invalid 0.1
run ga-inv-array ga 2000 --invalid 0.1 --format array
run psi-inv-array psi 2000 --invalid 0.1 --format array
# Nearly all corrections of very few records: each differs from the last.
run psi-corr-many psi 3000 --pages 1 --sites 1 --corrections 0.999
run ga-dup-many ga 3000 --pages 1 --sites 1 --duplicates 0.999
# The last hours the records allow: local times in 2200 with + offsets.
run ga-year-end ga 96 --pages 2 --sites 1 --start 2199-12-30 --late 0.2
run psi-epoch psi 96 --pages 2 --sites 1 --start 1970-01-01 --late 0.2
# Shares whose products end in .5: rounding is half up.
run ga-round ga 30 --pages 2 --sites 1 --late 0.05 --duplicates 0.15 --corrections 0.25 --invalid 0.35

# --- all shares together, gzip ---------------------------------------------
ALL=(--late 0.05 --duplicates 0.04 --corrections 0.03 --invalid 0.06 --seed 7)
run ga-all-gz ga 8000 "${ALL[@]}" --gzip
run psi-all-gz psi 8000 "${ALL[@]}" --gzip
run ga-all-array-gz ga 8000 "${ALL[@]}" --gzip --format array
run psi-all-array psi 8000 "${ALL[@]}" --format array
check_eq "gzip output starts with the gzip magic" "1f8b" \
    "$(head -c 2 "$T_OUT/ga-all-gz.out" | od -An -tx1 | tr -d ' \n')"
check_eq "validator saw gzip" "True" "$(field "$T_OUT/ga-all-gz.json" gzip)"
check_eq "array framing detected" "array" "$(field "$T_OUT/psi-all-array.json" framing)"

# --- invalid kinds: many rules; syntax errors only in NDJSON --------------
reasons() { python3 -c 'import json,sys; print("\n".join(json.load(open(sys.argv[1]))["reasons"]))' "$1"; }
n_nd=$(reasons "$T_OUT/ga-inv.json" | wc -l)
n_ar=$(reasons "$T_OUT/ga-inv-array.json" | wc -l)
check "ndjson invalid records break at least 24 different rules ($n_nd)" [ "$n_nd" -ge 24 ]
check "array invalid records break at least 20 different rules ($n_ar)" [ "$n_ar" -ge 20 ]
r_nd=$(reasons "$T_OUT/psi-inv.json")
r_ar=$(reasons "$T_OUT/psi-all-array.json")
check "ndjson invalid records include malformed JSON lines" grep -q '^json: ' <<<"$r_nd"
check "array invalid records are never malformed JSON" bash -c "! grep -q '^json: ' <<<'$r_ar'"

# --- spelling variety: each form occurs in a plain run --------------------
spell=$(python3 -c 'import json,sys; d=json.load(open(sys.argv[1]))["spellings"]; print(" ".join(sorted(k for k, v in d.items() if v > 0)))' "$T_OUT/ga-plain.json")
for s in ts_utc ts_offset ts_fraction ts_unix page_path page_url \
    page_url_mixed_case_host page_query page_fragment page_trailing_slash \
    site_absent site_mixed_case source_member unknown_member optional_absent \
    number_with_fraction; do
    check "spelling $s occurs" grep -qw "$s" <<<"$spell"
done
check_eq "a site member never disagrees with an URL's host" "" \
    "$(grep -o 'site_url_conflict' <<<"$spell")"

# --- the grid: pages x hours, the same for ga and psi ----------------------
grid=$(python3 - "$T_OUT/ga-plain.keys" <<'EOF'
import sys
rows = [l.rstrip("\n").split("\t") for l in open(sys.argv[1])]
pages = {(s, p) for s, p, h in rows}
hours = sorted({int(h) for s, p, h in rows})
sites = {s for s, p, h in rows}
print(len(rows), len(pages), len(sites), len(hours), hours[0],
      hours[-1] - hours[0] == 3600 * (len(hours) - 1))
EOF
)
# 3000 records over 100 pages and 5 sites from 2026-01-01: 30 hours.
check_eq "grid: 3000 keys, 100 pages, 5 sites, 30 consecutive hours from --start" \
    "3000 100 5 30 1767225600 True" "$grid"
check "ga and psi of one seed cover the same (site, path, hour) set" \
    cmp -s "$T_OUT/ga-plain.keys" "$T_OUT/psi-plain-array.keys"
check "... also with every share set" \
    cmp -s "$T_OUT/ga-all-gz.keys" "$T_OUT/psi-all-gz.keys"

# --- determinism ------------------------------------------------------------
sum() { sha256sum | cut -d' ' -f1; }
a=$("$GEN" --source ga --records 3000 "${ALL[@]}" 2>/dev/null | sum)
b=$("$GEN" --source ga --records 3000 "${ALL[@]}" 2>/dev/null | sum)
c=$("$GEN" --source ga --records 3000 "${ALL[@]}" --seed 8 2>/dev/null | sum)
d=$("$GEN" --source ga --records 3000 --late 0.05 --duplicates 0.04 \
    --corrections 0.03 --invalid 0.06 --seed 7 --gzip 2>/dev/null | gzip -dc | sum)
check_eq "same arguments, same sha256" "$a" "$b"
check "another seed gives other bytes" [ "$a" != "$c" ]
check_eq "gzip holds the same bytes" "$a" "$d"
check_eq "gzip output is deterministic too" \
    "$("$GEN" --source psi --records 2000 --gzip 2>/dev/null | sum)" \
    "$("$GEN" --source psi --records 2000 --gzip 2>/dev/null | sum)"
"$GEN" --source ga --records 3000 "${ALL[@]}" -o "$T_OUT/o1" 2>/dev/null
"$GEN" --source ga --records 3000 "${ALL[@]}" -o"$T_OUT/o2" 2>/dev/null
"$GEN" --source ga --records 3000 "${ALL[@]}" --output "$T_OUT/o3" 2>/dev/null
check_eq "-o FILE, -oFILE and --output FILE write what standard output gets" \
    "$a $a $a" "$(sum <"$T_OUT/o1") $(sum <"$T_OUT/o2") $(sum <"$T_OUT/o3")"

# --- the summary and bad usage ---------------------------------------------
"$GEN" --source psi --records 100 -o /dev/null 2>"$T_OUT/summary.err"
check_eq "one summary line on standard error (not a terminal: no progress)" \
    "1" "$(wc -l <"$T_OUT/summary.err" | tr -d ' ')"
check "the summary names the counts" grep -q 'records=100 grid=100' "$T_OUT/summary.err"
usage() {
    "$GEN" "$@" >/dev/null 2>"$T_OUT/usage.err"
    [ $? -eq 2 ]
}
check "shares over 1 in all: exit 2" usage --source ga --records 10 --duplicates 0.6 --invalid 0.6
check "more late records than the grid allows: exit 2" usage --source ga --records 150 --late 0.9
check "a share outside 0..1: exit 2" usage --source ga --records 10 --late 1.5
check "--sites above --pages: exit 2" usage --source ga --records 10 --pages 3 --sites 4
check "a bad --start: exit 2" usage --source ga --records 10 --start 2026-02-30
check "a grid past 2199: exit 2" usage --source ga --records 1000 --pages 1 --start 2199-12-31
check "no --source: exit 2" usage --records 10
check "a bad --format: exit 2" usage --source ga --records 10 --format csv
check "an unwritable -o: exit 1" bash -c "'$GEN' --source ga --records 1 -o /nonexistent/x 2>/dev/null; [ \$? -eq 1 ]"
check_eq "zero records: an empty array" "[]" \
    "$("$GEN" --source ga --records 0 --format array 2>/dev/null | tr -d ' \n')"

mf_done
