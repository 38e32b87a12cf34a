# Helpers for the worker integration tests (sourced after tests/lib.sh).

MFT_AMQP=$MF_BIN/../tests/mft_amqp
declare -A W_PID

# start_worker LABEL STAGE [ARGS...]: a worker in the background, its log
# in $T_OUT/LABEL.log (appended, so restarts keep one log per label).
start_worker() {
    local label=$1 stage=$2
    shift 2
    "$MF_BIN/metriflow-worker" --stage "$stage" "$@" >>"$T_OUT/$label.log" 2>&1 &
    W_PID[$label]=$!
}

# stop_worker LABEL: SIGTERM, then waits; the exit status is in W_RC.
stop_worker() {
    local pid=${W_PID[$1]}
    kill -TERM "$pid" 2>/dev/null
    wait "$pid"
    W_RC=$?
    unset "W_PID[$1]"
}

# kill_worker LABEL: SIGKILL, no clean-up at all.
kill_worker() {
    kill -KILL "${W_PID[$1]}" 2>/dev/null
    wait "${W_PID[$1]}" 2>/dev/null
    unset "W_PID[$1]"
}

# Stops every worker still running (for the end of a test or a trap).
stop_all_workers() {
    local l
    for l in "${!W_PID[@]}"; do kill -TERM "${W_PID[$l]}" 2>/dev/null; done
    for l in "${!W_PID[@]}"; do wait "${W_PID[$l]}" 2>/dev/null; unset "W_PID[$l]"; done
}

# wait_until SECONDS COMMAND...: polls until the command succeeds; 1 when
# it never did (the caller turns that into a failed check).
wait_until() {
    local limit=$1 i=0
    shift
    until "$@" >/dev/null 2>&1; do
        i=$((i + 1))
        [ $i -ge $((limit * 5)) ] && return 1
        sleep 0.2
    done
}

# sql_is "SQL" EXPECTED: succeeds when the query prints EXPECTED.
sql_is() { [ "$(mf_sql "$1" 2>/dev/null)" = "$2" ]; }

# queue_is QUEUE N: succeeds when QUEUE holds N ready messages.
queue_is() { [ "$("$MFT_AMQP" count "$1" 2>/dev/null)" = "$2" ]; }

# log_has LABEL TEXT: the worker's log contains TEXT.
log_has() { grep -qF -- "$2" "$T_OUT/$1.log"; }

# Installs the stand-in mf_stage_run of data/worker_fake_stage.sql.
use_fake_stage() {
    psql "$METRIFLOW_PG_URL" -qAtX -v ON_ERROR_STOP=1 \
        -f "$MF_ROOT/tests/integration/data/worker_fake_stage.sql" >/dev/null
}

STAGES=(stage-ga stage-psi page interval daily monthly yearly)

# load_batches FIRST LAST: raw batches of data/worker_load.sql.
load_batches() {
    psql "$METRIFLOW_PG_URL" -qAtX -v ON_ERROR_STOP=1 -v first="$1" \
        -v last="$2" -f "$MF_ROOT/tests/integration/data/worker_load.sql" >/dev/null
}

# snapshot: the md5 of each staged and aggregate table (data/worker_snapshot.sql).
snapshot() {
    psql "$METRIFLOW_PG_URL" -qAtX -v ON_ERROR_STOP=1 \
        -f "$MF_ROOT/tests/integration/data/worker_snapshot.sql"
}

# pipeline_idle: every stage has nothing pending, read in one snapshot.
pipeline_idle() { sql_is "SELECT sum(pending) FROM mf_pipeline_status()" 0; }

# worker_batch STAGE: the --batch the tests use, small so that runs are many.
worker_batch() {
    case "$1" in stage-ga | stage-psi) echo 1 ;; *) echo 25 ;; esac
}

# reference_run: one pass of every stage in chain order, each called until
# it returns 0 and committed after every call: what one worker per stage,
# run one after another, produces.
reference_run() {
    mf_sql "DO \$\$
        DECLARE s text;
        BEGIN
            FOREACH s IN ARRAY ARRAY['stage-ga', 'stage-psi', 'page',
                'interval', 'daily', 'monthly', 'yearly'] LOOP
                WHILE mf_stage_run(s, 1000) > 0 LOOP
                    COMMIT;
                END LOOP;
                COMMIT;
            END LOOP;
        END \$\$"
}
