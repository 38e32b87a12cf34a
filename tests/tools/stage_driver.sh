#!/usr/bin/env bash
# stage_driver.sh STAGE UNITS STOPFILE: drives one stage as a worker would,
# over one psql session: mf_stage_run(STAGE, UNITS) in its own transaction
# (autocommit), again and again; a deadlock (40P01) or serialization failure
# (40001) is retried. When a call returns 0 and STOPFILE exists and the whole
# pipeline is idle, it exits 0. Any other error: prints it, exits 1.
# Needs METRIFLOW_PG_URL.
set -uo pipefail
stage=$1 units=$2 stop=$3
coproc PSQL { exec psql "$METRIFLOW_PG_URL" -qAtX -v VERBOSITY=verbose 2>&1; }

# ask SQL: sends one statement, reads its output lines into $reply.
ask() {
    printf '%s\n\\echo __end__\n' "$1" >&"${PSQL[1]}"
    reply=""
    local line
    while IFS= read -r line <&"${PSQL[0]}"; do
        [ "$line" = __end__ ] && return 0
        reply+="$line"$'\n'
    done
    echo "stage_driver $stage: psql ended" >&2
    exit 1
}

retries=0
while :; do
    ask "SELECT mf_stage_run('$stage', $units);"
    case $reply in
    *ERROR*40P01* | *ERROR*40001*)
        retries=$((retries + 1))
        continue ;;
    *ERROR*)
        echo "stage_driver $stage: $reply" >&2
        exit 1 ;;
    esac
    [ "${reply%$'\n'}" != 0 ] && continue
    if [ -e "$stop" ]; then
        ask "SELECT count(*) FROM mf_pipeline_status() WHERE pending > 0;"
        [ "${reply%$'\n'}" = 0 ] && break
    fi
    sleep 0.05
done
echo "stage_driver $stage: done, $retries retried" >&2
exit 0
