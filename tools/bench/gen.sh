#!/usr/bin/env bash
# Benchmark of metriflow-gen: records per second to /dev/null for ga and psi
# in both framings (and one gzip run), several runs each, median reported.
# Writes the "Generator" section of docs/BENCHMARKS.md (replacing an older
# one) and prints it.
#
# Settings: MF_BENCH_RECORDS (10000000), MF_BENCH_RUNS (5),
# MF_BENCH_BUILD (build-bench: a Release build of metriflow-gen only).
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
cd "$ROOT"
N=${MF_BENCH_RECORDS:-10000000}
RUNS=${MF_BENCH_RUNS:-5}
BUILD=${MF_BENCH_BUILD:-$ROOT/build-bench}
DOC=$ROOT/docs/BENCHMARKS.md

cmake -S . -B "$BUILD" -DCMAKE_BUILD_TYPE=Release -DMF_SANITIZE=OFF >/dev/null
cmake --build "$BUILD" -j 2 --target metriflow-gen >/dev/null
GEN=$BUILD/bin/metriflow-gen

# one_run N ARGS...: prints "wall_rate cpu_rate bytes_per_record" of one
# run; wall from the generator's own summary (ms resolution), CPU from time.
one_run() {
    local n=$1 t err
    shift
    t=$(mktemp)
    err=$(mktemp)
    /usr/bin/time -f '%U %S' -o "$t" "$GEN" --records "$n" "$@" -o /dev/null 2>"$err"
    local bytes wall
    bytes=$(grep -o 'written=[0-9]*' "$err" | cut -d= -f2)
    wall=$(grep -o 'elapsed_s=[0-9.]*' "$err" | cut -d= -f2)
    read -r user sys <"$t"
    rm -f "$t" "$err"
    awk -v n="$n" -v w="$wall" -v u="$user" -v s="$sys" -v b="$bytes" \
        'BEGIN { printf "%.0f %.0f %.0f\n", n / (w > 0 ? w : 0.001), n / ((u + s) > 0 ? u + s : 0.01), b / n }'
}

median() { sort -n | awk '{ a[NR] = $1 } END { print (NR % 2) ? a[(NR + 1) / 2] : int((a[NR / 2] + a[NR / 2 + 1]) / 2) }'; }

rows=()
measure() {
    local label=$1 n=$2
    shift 2
    local walls=() cpus=() bytes=0 r
    for ((i = 0; i < RUNS; i++)); do
        r=$(one_run "$n" "$@")
        walls+=("$(cut -d' ' -f1 <<<"$r")")
        cpus+=("$(cut -d' ' -f2 <<<"$r")")
        bytes=$(cut -d' ' -f3 <<<"$r")
    done
    local mw mc lo hi
    mw=$(printf '%s\n' "${walls[@]}" | median)
    mc=$(printf '%s\n' "${cpus[@]}" | median)
    lo=$(printf '%s\n' "${walls[@]}" | sort -n | head -n 1)
    hi=$(printf '%s\n' "${walls[@]}" | sort -n | tail -n 1)
    rows+=("| $label | $(awk -v x="$mw" 'BEGIN{printf "%.2f", x/1e6}') | $(awk -v a="$lo" -v b="$hi" 'BEGIN{printf "%.2f–%.2f", a/1e6, b/1e6}') | $(awk -v x="$mc" 'BEGIN{printf "%.2f", x/1e6}') | $bytes |")
    echo "$label: median $mw records/s wall, $mc records/s of CPU time" >&2
}

load_before=$(cut -d' ' -f1-3 /proc/loadavg)
measure "ga, ndjson" "$N" --source ga
measure "ga, array" "$N" --source ga --format array
measure "psi, ndjson" "$N" --source psi
measure "psi, array" "$N" --source psi --format array
measure "ga, ndjson, every share 0.05" "$N" --source ga --late 0.05 \
    --duplicates 0.05 --corrections 0.05 --invalid 0.05
# gzip is an order of magnitude slower: a fifth of the records.
measure "ga, ndjson, --gzip ($((N / 5)) records; bytes compressed)" \
    $((N / 5)) --source ga --gzip
load_after=$(cut -d' ' -f1-3 /proc/loadavg)

cpu=$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ *//')
section=$(cat <<MD
## Generator

Command: \`tools/bench/gen.sh\` (MF_BENCH_RECORDS=$N, MF_BENCH_RUNS=$RUNS):
\`metriflow-gen --source ga|psi --records $N [--format array] -o /dev/null\`
(wall time from the generator's own summary line),
Release build (\`-O3\`), default grid (100 pages, 5 sites, seed 1), $RUNS runs
per row, median. "CPU" divides by the user + system time of the process
(all its threads): the rate one idle core gives. "Wall" is what this run
saw; the generator writes with one thread per core ($(nproc) here), so on an
idle machine wall can exceed the CPU figure, and on a busy one wall ÷ CPU
is the share of a core the run got. Goal: at least 2.5 M records/s, 5 M
wanted.

Machine: $cpu, $(nproc) cores, Debian 12; load average $load_before
before, $load_after after (anything else running on the machine shows
there and lowers the wall figures). Measured $(date -u +%Y-%m-%d) UTC.

| stream | wall M records/s (median) | wall range | CPU M records/s (median) | bytes/record |
|---|---|---|---|---|
$(printf '%s\n' "${rows[@]}")
MD
)

# Replace our section (up to the next "## " heading) or append it.
mkdir -p "$(dirname "$DOC")"
[ -f "$DOC" ] || printf '# Benchmarks\n\nEach section: command, data, machine, figures.\n' >"$DOC"
python3 - "$DOC" "$section" <<'PY'
import re, sys
path, section = sys.argv[1], sys.argv[2].rstrip("\n") + "\n"
text = open(path, encoding="utf-8").read()
pat = re.compile(r"^## Generator\n.*?(?=^## |\Z)", re.S | re.M)
if pat.search(text):
    text = pat.sub(lambda m: section + "\n", text, count=1)
else:
    text = text.rstrip("\n") + "\n\n" + section
open(path, "w", encoding="utf-8").write(text.rstrip("\n") + "\n")
PY
echo "$section"
