#!/usr/bin/env bash
# Every program answers --help and --version with exit 0 and bad usage with
# exit 2 (operations.md), and says what went wrong on standard error.
source "$MF_ROOT/tests/lib.sh"

PROGRAMS=(metriflow-ingest metriflow-worker metriflow-api metriflow-admin metriflow-gen)

# usage_exit CMD...: runs it; succeeds when it exits 2 and explains itself.
usage_exit() {
    "$@" >"$T_OUT/stdout" 2>"$T_OUT/stderr"
    local rc=$?
    [ $rc -eq 2 ] || { diag "$* exited $rc"; return 1; }
    grep -q "Usage: " "$T_OUT/stderr"
}

for p in "${PROGRAMS[@]}"; do
    bin=$MF_BIN/$p
    check "$p exists" [ -x "$bin" ]
    out=$("$bin" --help 2>"$T_OUT/$p.help.err")
    check_eq "$p --help exits 0" 0 $?
    check "$p --help prints a usage line on standard output" grep -q "^Usage: $p " <<<"$out"
    check "$p --help lists --version" grep -q -- "--version" <<<"$out"
    out=$("$bin" --version 2>"$T_OUT/$p.version.err")
    check_eq "$p --version exits 0" 0 $?
    check "$p --version prints name and version" grep -qE "^$p [0-9]+\.[0-9]+\.[0-9]+$" <<<"$out"
    check "$p with an unknown option exits 2" usage_exit "$bin" --no-such-option
    check "$p names the unknown option" grep -q -- "--no-such-option" "$T_OUT/stderr"
    check "$p with an option lacking its value exits 2" usage_exit "$bin" --log
done

check "metriflow-worker with an unknown stage exits 2" usage_exit "$MF_BIN/metriflow-worker" --stage nope
check "metriflow-worker without --stage exits 2" usage_exit "$MF_BIN/metriflow-worker"
check "metriflow-admin without a command exits 2" usage_exit "$MF_BIN/metriflow-admin"
check "metriflow-admin with an unknown command exits 2" usage_exit "$MF_BIN/metriflow-admin" frobnicate
check "metriflow-admin migrate with an argument exits 2" usage_exit "$MF_BIN/metriflow-admin" migrate extra
check "metriflow-gen without --records exits 2" usage_exit "$MF_BIN/metriflow-gen" --source ga
check "metriflow-gen with a bad --source exits 2" usage_exit "$MF_BIN/metriflow-gen" --source web --records 1
check "a bad --log level exits 2" usage_exit "$MF_BIN/metriflow-admin" --log loud migrate
check "--help wins over bad usage" \
    bash -c "'$MF_BIN/metriflow-gen' --records x --help >/dev/null 2>&1"

mf_done
