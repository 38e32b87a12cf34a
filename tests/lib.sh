# Shared helpers for integration tests (bash). Each test script sources this,
# prints TAP ("ok N - what" / "not ok N - what") and ends with mf_done.
# The runner (tests/run) has exported MF_BIN, MF_ROOT and the METRIFLOW_*
# variables of the local stack.

set -uo pipefail
T_N=0
T_FAIL=0
T_NAME=$(basename "$0" .sh)
T_OUT=${MF_TEST_OUT:-$MF_ROOT/tests/out}/$T_NAME
mkdir -p "$T_OUT"

ok() { T_N=$((T_N + 1)); echo "ok $T_N - $*"; }
not_ok() { T_N=$((T_N + 1)); T_FAIL=$((T_FAIL + 1)); echo "not ok $T_N - $*"; }

# check "description" command args...: passes when the command succeeds.
check() {
    local d=$1; shift
    if "$@"; then ok "$d"; else not_ok "$d"; fi
}

# check_eq "description" expected actual
check_eq() {
    if [ "$2" = "$3" ]; then ok "$1"; else not_ok "$1 (expected '$2', got '$3')"; fi
}

# Diagnostics go to standard error, prefixed as TAP comments.
diag() { echo "# $*" >&2; }

# mf_fresh_db NAME: a new empty database, migrated; exports METRIFLOW_PG_URL.
mf_fresh_db() {
    local db="mft_${1}_$$"
    METRIFLOW_PG_URL=$("$MF_ROOT/tools/metriflow-local" createdb "$db") || return 1
    export METRIFLOW_PG_URL
    "$MF_BIN/metriflow-admin" migrate >"$T_OUT/migrate.log" 2>&1
}

# mf_fresh_vhost NAME: a new RabbitMQ vhost; exports METRIFLOW_AMQP_URL.
mf_fresh_vhost() {
    METRIFLOW_AMQP_URL=$("$MF_ROOT/tools/metriflow-local" vhost "mft_${1}_$$") || return 1
    export METRIFLOW_AMQP_URL
}

# mf_sql "SQL": runs SQL on METRIFLOW_PG_URL, unaligned, tuples only.
mf_sql() { psql "$METRIFLOW_PG_URL" -qAtX -v ON_ERROR_STOP=1 -c "$1"; }

mf_done() {
    echo "1..$T_N"
    [ "$T_N" -gt 0 ] || { echo "not ok - $T_NAME ran no checks"; exit 1; }
    [ "$T_FAIL" -eq 0 ]
}
